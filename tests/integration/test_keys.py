"""FHE keys through HTTP: generation, blind upload, hostile bytes, limits, isolation, deletion."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable

import openfhe as fhe
import pytest
from wavis_sdk.ckks import CkksKeys

from support.accounts import Tenant, create_account
from support.fhe_client import make_ckks_client
from support.http import Api
from wavis.core.grpc_client import open_channel
from wavis.devstack.stack import Stack
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc

TESTING_CKKS = {"poly_degree": 2048, "scale_bits": 30, "max_depth": 2,
                "security_level": "testing"}


async def _generate(api: Api, who: Tenant, body: dict, **kwargs: object):
    return await api.post("/api/v1/keys/generate", json=body, headers=who.auth(), **kwargs)


async def test_generate_testing_ckks_key(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    reply = await _generate(api, tenant, {"scheme": "ckks", "params": TESTING_CKKS})
    assert reply.status == 201, reply.text
    key = reply.json
    assert key["mode"] == "server" and key["status"] == "ready" and key["scheme"] == "ckks"
    assert key["params"] == TESTING_CKKS
    assert key["slot_count"] == 1024 and key["max_level"] == 2
    assert key["rotations"] == sorted([2 ** i for i in range(10)] + [-(2 ** i) for i in range(10)])
    assert key["security_bits"] == 0
    assert reply.headers["X-Security-Warning"]
    assert "secret_key" not in key
    assert key["key_id"].startswith("key_") and key["size_bytes"] > 0
    got = await api.get(f"/api/v1/keys/{key['key_id']}", headers=tenant.auth())
    assert got.status == 200 and got.json == key


async def test_generate_128_bit_key_at_8192(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    params = {"poly_degree": 8192, "scale_bits": 40, "max_depth": 1, "security_level": "128-bit"}
    reply = await _generate(api, tenant, {"scheme": "ckks", "params": params,
                                          "rotations": [1, -1, 4]})
    assert reply.status == 201, reply.text
    assert reply.json["security_bits"] >= 128
    assert reply.json["rotations"] == [-1, 1, 4]
    assert "X-Security-Warning" not in reply.headers


@pytest.mark.parametrize(("params", "code", "field"), [
    ({"poly_degree": 8192, "scale_bits": 50, "max_depth": 3}, "INSUFFICIENT_SECURITY", None),
    ({"poly_degree": 1024, "scale_bits": 30, "max_depth": 1}, "INVALID_PARAMS", "poly_degree"),
    ({"poly_degree": 3000, "scale_bits": 30, "max_depth": 1}, "INVALID_PARAMS", "poly_degree"),
    ({"poly_degree": 8192, "scale_bits": 70, "max_depth": 1}, "INVALID_PARAMS", "scale_bits"),
    ({"poly_degree": 8192, "scale_bits": 40, "max_depth": 0}, "INVALID_PARAMS", "max_depth"),
    ({"poly_degree": 8192, "scale_bits": 40, "max_depth": 1, "security_level": "64-bit"},
     "INVALID_PARAMS", "security_level"),
])
async def test_bad_parameters_are_400(api: Api, mesh: Stack, params: dict, code: str,
                                      field: str | None) -> None:
    tenant = await create_account(mesh)
    reply = await _generate(api, tenant, {"scheme": "ckks", "params": params})
    assert reply.status == 400, reply.text
    assert reply.json["error"]["code"] == code
    if field:
        assert reply.json["error"]["details"]["field"].endswith(field)
    listed = await api.get("/api/v1/keys", headers=tenant.auth())
    assert listed.json["data"] == []  # nothing was created


async def test_schema_errors_are_422(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    for body in ({"scheme": "ckks"}, {"scheme": "ckks", "params": {"poly_degree": "big"}},
                 {"params": TESTING_CKKS}, {"scheme": "tfhe"}):
        reply = await _generate(api, tenant, body)
        assert reply.status == 422, body


async def test_tfhe_toy_key(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    reply = await _generate(api, tenant, {"scheme": "tfhe", "preset": "toy"})
    assert reply.status == 201, reply.text
    key = reply.json
    assert key["preset"] == "toy" and key["mode"] == "server"
    assert key["n"] > 0 and key["big_n"] > key["n"]
    assert reply.headers["X-Security-Warning"]


async def test_blind_upload_reads_parameters_from_the_context(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    client = make_ckks_client(ring_dim=2048, depth=3, scale_bits=35, rotations=(1, 3))
    reply = await api.post("/api/v1/keys/upload", headers=tenant.auth(),
                           json={"scheme": "ckks", **client.wire()})
    assert reply.status == 201, reply.text
    key = reply.json
    assert key["mode"] == "blind" and "server holds no secret key" in key["blind_guarantee"]
    assert key["params"]["poly_degree"] == 2048 and key["params"]["max_depth"] == 3
    assert key["params"]["scale_bits"] == 35
    assert key["rotations"] == [1, 3]
    assert key["scaling_technique"] == "FLEXIBLEAUTO"
    assert reply.headers["X-Security-Warning"]


async def test_keys_of_other_parameters_upload_one_after_the_other(api: Api,
                                                                   mesh: Stack) -> None:
    # One keys-service worker checks both (calls go to the first idle worker): the first
    # key's check must leave nothing behind that refuses the second's parameters.
    tenant = await create_account(mesh)
    for ring_dim, scale_bits, depth in ((1024, 30, 1), (2048, 40, 3)):
        keys = CkksKeys.generate(ring_dim, scale_bits, depth, "testing",
                                 scaling_technique="FIXEDMANUAL")
        wire = {name: base64.b64encode(data).decode()
                for name, data in keys.wire_parts().items()}
        reply = await api.post("/api/v1/keys/upload", headers=tenant.auth(),
                               json={"scheme": "ckks", **wire})
        assert reply.status == 201, reply.text
        assert reply.json["params"]["poly_degree"] == ring_dim
        assert reply.json["params"]["max_depth"] == depth


def _bad_tag(wire: dict[str, str], part: str, tag: str) -> dict[str, str]:
    """wire with the key tag inside `part` made invalid UTF-8 (OpenFHE's reader accepts it;
    reading the tag back as a string fails)."""
    raw = base64.b64decode(wire[part])
    assert tag.encode() in raw
    return wire | {part: base64.b64encode(raw.replace(tag.encode(), b"\xeb" + tag.encode()[1:]))
                   .decode()}


def _garbage_cases() -> list[tuple[str, dict[str, str]]]:
    client = make_ckks_client()
    other = make_ckks_client()
    wire = client.wire()
    raw_context = base64.b64decode(wire["crypto_context"])
    tag = client.keys.secretKey.GetKeyTag()
    return [
        *((f"{part} tag not UTF-8", _bad_tag(wire, part, tag))
          for part in ("public_key", "eval_mult_key", "eval_rotation_keys")),
        ("random context", wire | {"crypto_context": base64.b64encode(b"\x00\x01" * 400).decode()}),
        ("truncated context", wire | {"crypto_context": base64.b64encode(
            raw_context[: len(raw_context) // 2]).decode()}),
        ("truncated public key", wire | {"public_key": wire["public_key"][:1000]}),
        ("foreign public key", wire | {"public_key": other.wire()["public_key"]}),
        ("foreign eval key", wire | {"eval_mult_key": other.wire()["eval_mult_key"]}),
        ("not base64", wire | {"eval_mult_key": "%%%not base64%%%"}),
        ("empty", wire | {"public_key": ""}),
    ]


async def test_hostile_bytes_are_invalid_key_and_the_service_survives(
        api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    for name, body in _garbage_cases():
        reply = await api.post("/api/v1/keys/upload", headers=tenant.auth(),
                               json={"scheme": "ckks", **body})
        assert reply.status == 400, (name, reply.text)
        assert reply.json["error"]["code"] == "INVALID_KEY", name
    health = await api.get("/api/v1/health")
    assert {d["name"]: d["status"] for d in health.json["dependencies"]}["keys"] == "up"
    good = await api.post("/api/v1/keys/upload", headers=tenant.auth(),
                          json={"scheme": "ckks", **make_ckks_client().wire()})
    assert good.status == 201
    listed = await api.get("/api/v1/keys", headers=tenant.auth())
    assert [k["key_id"] for k in listed.json["data"]] == [good.json["key_id"]]


async def test_oversized_upload_names_the_chunked_upload(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    huge = "A" * (41 * 1024 * 1024)
    reply = await api.post("/api/v1/keys/upload", headers=tenant.auth(), data=json.dumps(
        {"scheme": "ckks", "crypto_context": huge, "public_key": "", "eval_mult_key": ""}))
    assert reply.status == 413
    assert "/api/v1/keys/uploads" in reply.json["error"]["message"]


async def test_other_accounts_keys_are_invisible(api: Api, mesh: Stack) -> None:
    alice, bob = await create_account(mesh), await create_account(mesh)
    key = (await _generate(api, alice, {"scheme": "ckks", "params": TESTING_CKKS})).json
    for method in ("GET", "DELETE"):
        reply = await api.request(method, f"/api/v1/keys/{key['key_id']}", headers=bob.auth())
        assert reply.status == 404 and reply.json["error"]["code"] == "KEY_NOT_FOUND"
    assert (await api.get("/api/v1/keys", headers=bob.auth())).json["data"] == []
    assert (await api.get(f"/api/v1/keys/{key['key_id']}", headers=alice.auth())).status == 200


async def test_delete_removes_material_and_announces_it(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    blobs = mesh.data_dir / "blobs"

    def stored() -> set[str]:
        return {p.name for p in blobs.glob("??/*")}

    before = stored()
    params = TESTING_CKKS | {"scale_bits": 33}  # a context no other test makes
    first = (await _generate(api, tenant, {"scheme": "ckks", "params": params})).json
    second = (await _generate(api, tenant, {"scheme": "ckks", "params": params})).json
    # Five components each; the two identical crypto contexts are stored once.
    assert len(stored() - before) == 9
    async with open_channel(f"127.0.0.1:{mesh.service_ports['keys']}") as channel:
        stream = keys_pb2_grpc.KeysServiceStub(channel).WatchKeyDeletions(
            keys_pb2.WatchKeyDeletionsRequest())
        assert (await stream.read()).key_id == ""  # subscribed
        for key, left in ((first, 5), (second, 0)):
            reply = await api.request("DELETE", f"/api/v1/keys/{key['key_id']}",
                                      headers=tenant.auth())
            assert reply.status == 204
            event = await asyncio.wait_for(stream.read(), 5)
            assert (event.key_id, event.account_id) == (key["key_id"], tenant.account_id)
            assert len(stored() - before) == left  # the shared context goes with the last
        stream.cancel()
    gone = await api.get(f"/api/v1/keys/{first['key_id']}", headers=tenant.auth())
    assert gone.status == 404
    again = await api.request("DELETE", f"/api/v1/keys/{first['key_id']}",
                              headers=tenant.auth())
    assert again.status == 404


async def test_secret_keys_are_sealed_at_rest(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    key = (await _generate(api, tenant, {"scheme": "ckks", "params": TESTING_CKKS})).json
    async with open_channel(f"127.0.0.1:{mesh.service_ports['keys']}") as channel:
        chunks = keys_pb2_grpc.KeysServiceStub(channel).FetchKeyMaterial(
            keys_pb2.FetchKeyMaterialRequest(key_id=key["key_id"], component="secret_key"))
        secret = b"".join([chunk.data async for chunk in chunks])
    stored = {p.read_bytes() for p in (mesh.data_dir / "blobs").glob("??/*")}
    assert secret not in stored  # what is on disk is not the key itself
    assert fhe.DeserializePrivateKeyString(secret, fhe.BINARY) is not None


@pytest.fixture(scope="module")
def limited(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(env={"WAVIS_PLAN_LIMITS": json.dumps({"starter": {"max_keys": 2}}),
                           "WAVIS_KEYGEN_SYNC_SECONDS": "0"})


async def test_slow_generation_answers_202_then_completes(limited: Stack, openapi_doc: dict,
                                                          ) -> None:
    import aiohttp

    tenant = await create_account(limited, plan="starter")
    async with aiohttp.ClientSession() as session:
        api = Api(session, limited.gateway_url, openapi_doc)
        reply = await _generate(api, tenant, {"scheme": "ckks", "params": TESTING_CKKS})
        assert reply.status == 202, reply.text
        assert reply.json["status"] == "pending"
        assert reply.headers["Location"] == f"/api/v1/keys/{reply.json['key_id']}"
        for _ in range(100):
            polled = await api.get(reply.headers["Location"], headers=tenant.auth())
            if polled.json["status"] != "pending":
                break
            await asyncio.sleep(0.1)
        assert polled.json["status"] == "ready" and polled.json["slot_count"] == 1024
        # The plan allows two keys: the second is fine, the third is 402.
        second = await _generate(api, tenant, {"scheme": "tfhe", "preset": "toy"})
        assert second.status in (201, 202)
        third = await _generate(api, tenant, {"scheme": "tfhe", "preset": "toy"})
        assert third.status == 402 and third.json["error"]["code"] == "QUOTA_EXHAUSTED"


async def test_a_key_whose_ciphertexts_could_not_be_stored_is_refused(api: Api,
                                                                      mesh: Stack) -> None:
    """N=32768 at depth 3: a fresh ciphertext would take 2.0 MB and more, over the 2 MB a
    ciphertext may be; the key was made, and every encrypt under it then answered 413."""
    tenant = await create_account(mesh)
    reply = await _generate(api, tenant, {"scheme": "ckks", "params": {
        "poly_degree": 32768, "scale_bits": 50, "max_depth": 3}})
    assert reply.status == 400, reply.text
    error = reply.json["error"]
    assert (error["code"], error["details"]["field"]) == ("INVALID_PARAMS", "max_depth")
    assert "max_depth at most 2" in error["message"]
    listed = await api.get("/api/v1/keys", headers=tenant.auth())
    assert listed.json["data"] == []


async def test_a_key_deleted_while_it_is_generated_stays_deleted(limited: Stack,
                                                                 openapi_doc: dict) -> None:
    """Deleting a pending key: its generation ends without bringing back a record (a partial
    one answered 500 to every read of the key, found by schemathesis), and what it stored
    (blobs, the key's bytes in the account's usage) is given back."""
    import aiohttp

    from services.keys.store import _record_key, _usage
    from support.stack_redis import stack_redis

    tenant = await create_account(limited, plan="starter")
    blobs_before = {p.name for p in (limited.data_dir / "blobs").glob("??/*")}
    async with aiohttp.ClientSession() as session:
        api = Api(session, limited.gateway_url, openapi_doc)
        reply = await _generate(api, tenant, {"scheme": "ckks", "params": TESTING_CKKS})
        assert reply.status == 202, reply.text
        key_id = reply.json["key_id"]
        deleted = await api.request("DELETE", f"/api/v1/keys/{key_id}", headers=tenant.auth())
        assert deleted.status == 204, deleted.text
        await asyncio.sleep(3)  # the generation (about a second) ends meanwhile
        polled = await api.get(f"/api/v1/keys/{key_id}", headers=tenant.auth())
        assert polled.status == 404, polled.text
        assert polled.json["error"]["code"] == "KEY_NOT_FOUND"
        listed = await api.get("/api/v1/keys", headers=tenant.auth())
        assert listed.status == 200 and listed.json["data"] == []
    async with stack_redis(limited) as redis:
        count, size = await redis.mget(_usage(tenant.account_id))
        live = set()  # blobs of the keys that exist (other tests' keys may still be made)
        async for record in redis.scan_iter(_record_key("*")):
            components = json.loads(await redis.hget(record, "components") or "{}")
            live |= {component["sha256"] for component in components.values()}
    assert int(count or 0) == 0 and int(size or 0) == 0
    blobs_after = {p.name for p in (limited.data_dir / "blobs").glob("??/*")}
    assert blobs_after - blobs_before <= live


async def test_secret_key_in_response_only_when_allowed(make_stack: Callable[..., Stack],
                                                        openapi_doc: dict) -> None:
    import aiohttp

    stack = make_stack(env={"WAVIS_ALLOW_SK_IN_RESPONSE": "true"})
    tenant = await create_account(stack)
    async with aiohttp.ClientSession() as session:
        api = Api(session, stack.gateway_url, openapi_doc)
        reply = await _generate(api, tenant, {"scheme": "ckks", "params": TESTING_CKKS})
    assert reply.status == 201, reply.text
    secret = fhe.DeserializePrivateKeyString(base64.b64decode(reply.json["secret_key"]),
                                             fhe.BINARY)
    # It is the real key: it decrypts what the stored public key encrypts.
    async with open_channel(f"127.0.0.1:{stack.service_ports['keys']}") as channel:
        stub = keys_pb2_grpc.KeysServiceStub(channel)

        async def fetch(component: str) -> bytes:
            return b"".join([c.data async for c in stub.FetchKeyMaterial(
                keys_pb2.FetchKeyMaterialRequest(key_id=reply.json["key_id"],
                                                 component=component))])

        context = fhe.DeserializeCryptoContextString(await fetch("crypto_context"), fhe.BINARY)
        public = fhe.DeserializePublicKeyString(await fetch("public_key"), fhe.BINARY)
    values = [0.5, -1.25, 3.0]
    ciphertext = context.Encrypt(public, context.MakeCKKSPackedPlaintext(values))
    plain = context.Decrypt(ciphertext, secret)
    plain.SetLength(3)
    assert [round(v, 3) for v in plain.GetRealPackedValue()] == values


async def test_toy_tfhe_key_uploads_in_one_request(api: Api, mesh: Stack) -> None:
    from support.fhe_client import toy_tfhe_archive

    tenant = await create_account(mesh)
    archive = base64.b64encode(toy_tfhe_archive()).decode()
    reply = await api.post("/api/v1/keys/upload", headers=tenant.auth(),
                           json={"scheme": "tfhe", "eval_key": archive})
    assert reply.status == 201, reply.text
    assert reply.json["preset"] == "toy" and reply.json["mode"] == "blind"
    assert reply.headers["X-Security-Warning"]
    for body in ({"scheme": "tfhe"}, {"scheme": "ckks", "crypto_context": "AAAA"}):
        refused = await api.post("/api/v1/keys/upload", headers=tenant.auth(), json=body)
        assert refused.status == 422, body
    garbage = await api.post("/api/v1/keys/upload", headers=tenant.auth(), json={
        "scheme": "tfhe", "eval_key": base64.b64encode(b"PK\x03\x04" + b"\x00" * 100).decode()})
    assert garbage.status == 400 and garbage.json["error"]["code"] == "INVALID_KEY"
