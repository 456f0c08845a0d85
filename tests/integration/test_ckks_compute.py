"""CKKS ciphertexts and compute through HTTP, checked against numpy after decryption."""

from __future__ import annotations

import asyncio
import base64

import numpy as np
import openfhe as fhe
import pytest

from support.accounts import Tenant, create_account
from support.fhe_client import make_ckks_client
from support.http import Api
from support.server_secret import decrypt_with_the_servers_secret
from wavis.devstack.stack import Stack

SLOTS = 1024
TOLERANCE = 1e-3  # max abs error at 40-bit scale, N=2048 (blind keys, decrypted here)
# Server-mode decryption adds noise at the key's published precision (docs/security.md): a
# 55-bit scale leaves it about 10 bits at N=2048 on the test stack's budget.
PARAMS = {"poly_degree": 2048, "scale_bits": 55, "max_depth": 3, "security_level": "testing"}
rng = np.random.default_rng(7)


class Session:
    """One account with a server-mode key and helpers to encrypt, compute and decrypt."""

    def __init__(self, api: Api, tenant: Tenant, key: dict) -> None:
        self.api, self.tenant, self.key = api, tenant, key

    async def encrypt(self, values: np.ndarray) -> str:
        reply = await self.api.post("/api/v1/ciphertexts/encrypt", headers=self.tenant.auth(),
                                    json={"key_id": self.key["key_id"],
                                          "values": values.tolist()})
        assert reply.status == 201, reply.text
        return str(reply.json["ciphertext_id"])

    async def compute(self, operation: str, ids: list[str], **fields: object):
        return await self.api.post(f"/api/v1/compute/{operation}", headers=self.tenant.auth(),
                                   json={"key_id": self.key["key_id"], "ciphertext_ids": ids,
                                         **fields})

    async def decrypt(self, ciphertext_id: str, length: int = SLOTS,
                      noise_margin_bits: int | None = None) -> np.ndarray:
        body = None if noise_margin_bits is None else {"noise_margin_bits": noise_margin_bits}
        reply = await self.api.post(f"/api/v1/ciphertexts/{ciphertext_id}/decrypt",
                                    headers=self.tenant.auth(), json=body)
        assert reply.status == 200, reply.text
        self.tolerance = 2.0 ** -reply.json["precision_bits"]  # what the server states
        return np.array(reply.json["values"][:length])

    async def check(self, ciphertext_id: str, expected: np.ndarray) -> None:
        """Decrypted, the ciphertext is within the key's published precision of expected."""
        _close(await self.decrypt(ciphertext_id, len(expected)), expected, self.tolerance)


@pytest.fixture
async def session(api: Api, mesh: Stack) -> Session:
    tenant = await create_account(mesh)
    reply = await api.post("/api/v1/keys/generate", headers=tenant.auth(),
                           json={"scheme": "ckks", "params": PARAMS})
    assert reply.status == 201, reply.text
    return Session(api, tenant, reply.json)


def _vector(low: float = -1.0, high: float = 1.0) -> np.ndarray:
    return rng.uniform(low, high, SLOTS)


def _close(actual: np.ndarray, expected: np.ndarray, tolerance: float = TOLERANCE) -> None:
    assert np.max(np.abs(actual - expected)) < tolerance, np.max(np.abs(actual - expected))


async def test_every_operation_matches_numpy(session: Session) -> None:
    x, y = _vector(), _vector()
    cx, cy = await session.encrypt(x), await session.encrypt(y)
    plain = _vector()
    cases = [
        ("add", [cx, cy], {}, x + y),
        ("multiply", [cx, cy], {"scale_stable": True}, x * y),
        ("add-plain", [cx], {"plain_operand": plain.tolist()}, x + plain),
        ("multiply-plain", [cx], {"plain_operand": plain.tolist(), "scale_stable": True},
         x * plain),
        ("negate", [cx], {}, -x),
        ("rotate", [cx], {"rotation_steps": 1}, np.roll(x, -1)),
        ("rotate", [cx], {"rotation_steps": -4}, np.roll(x, 4)),
        ("rotate", [cx], {"rotation_steps": 3}, np.roll(x, -3)),  # composed from 2 + 1
        ("poly-eval", [cx], {"polynomial_coeffs": [0, 1, 0, -1 / 6, 0, 1 / 120]},
         x - x ** 3 / 6 + x ** 5 / 120),
    ]
    for operation, ids, fields, expected in cases:
        reply = await session.compute(operation, ids, **fields)
        assert reply.status == 200, (operation, reply.text)
        body = reply.json
        assert body["operation"] == operation and body["status"] == "completed"
        await session.check(body["result_ciphertext_id"], expected)


async def test_matmul_block_matches_numpy(session: Session) -> None:
    d = 16
    matrix = rng.uniform(-1, 1, (d, d))
    vector = rng.uniform(-1, 1, d)
    cv = await session.encrypt(vector)
    reply = await session.compute("matmul", [cv], matrix=matrix.tolist(), scale_stable=True)
    assert reply.status == 200, reply.text
    # A 16-wide matmul carries several times a fresh encryption's error, near the default
    # margin (6): two bits more admit it every time, at the precision the decryption states.
    result = await session.decrypt(reply.json["result_ciphertext_id"], noise_margin_bits=8)
    _close(result[:d], matrix @ vector, session.tolerance)
    _close(result[d:2 * d], matrix @ vector, session.tolerance)  # repeated with period d
    assert reply.json["cost_units"] == 20


async def test_manual_rescale_and_levels(session: Session) -> None:
    x, y = _vector(), _vector()
    cx, cy = await session.encrypt(x), await session.encrypt(y)
    product = (await session.compute("multiply", [cx, cy])).json
    assert product["level"] == 1  # used its level already, still at double scale
    mismatched = await session.compute("add", [product["result_ciphertext_id"], cx])
    assert mismatched.status == 400
    assert mismatched.json["error"]["code"] == "MISMATCHED_LEVEL"
    aligned = await session.compute("add", [product["result_ciphertext_id"], cx],
                                    scale_stable=True)
    assert aligned.status == 200
    await session.check(aligned.json["result_ciphertext_id"], x * y + x)
    rescaled = (await session.compute("rescale", [product["result_ciphertext_id"]])).json
    assert rescaled["level"] == 1
    await session.check(rescaled["result_ciphertext_id"], x * y)
    nothing = await session.compute("rescale", [cx])
    assert nothing.status == 400 and "Nothing to rescale" in nothing.json["error"]["message"]


async def test_noise_budget_runs_out_exactly_where_predicted(session: Session) -> None:
    x = _vector(-1.2, 1.2)
    current = await session.encrypt(x)
    expected = x.copy()
    budgets = []
    for _ in range(PARAMS["max_depth"]):
        reply = await session.compute("multiply", [current, current], scale_stable=True)
        assert reply.status == 200, reply.text
        budgets.append((reply.json["noise_budget_remaining"],
                        reply.headers["X-Noise-Budget-Remaining"],
                        reply.headers["X-Noise-Budget-Warning"]))
        assert reply.headers["X-Noise-Budget-Recovery"].startswith("POST /api/v1/compute/")
        current = reply.json["result_ciphertext_id"]
        expected = expected * expected
    assert budgets == [(66.67, "66.67", "false"), (33.33, "33.33", "true"), (0.0, "0", "true")]
    await session.check(current, expected)  # the last level still decrypts
    refused = await session.compute("multiply", [current, current], scale_stable=True)
    assert refused.status == 400
    assert refused.json["error"]["code"] == "NOISE_BUDGET_EXHAUSTED"
    assert refused.json["error"]["details"] == {"levels_needed": 1, "levels_remaining": 0}
    assert (await session.compute("add", [current, current])).status == 200  # adds are free


async def test_costs_and_generic_endpoint(session: Session) -> None:
    cx = await session.encrypt(_vector())
    expected = {"add": 1, "negate": 1, "multiply-plain": 2, "multiply": 5, "rotate": 5,
                "poly-eval": 10}
    for operation, fcu in expected.items():
        fields: dict = {"ciphertext_ids": [cx, cx] if operation in ("add", "multiply")
                        else [cx], "scale_stable": True}
        if operation == "multiply-plain":
            fields["plain_operand"] = [1.0] * SLOTS
        if operation == "rotate":
            fields["rotation_steps"] = 2
        if operation == "poly-eval":
            fields["polynomial_coeffs"] = [1, 1]
        reply = await session.api.post("/api/v1/compute", headers=session.tenant.auth(), json={
            "operation": operation, "key_id": session.key["key_id"], **fields})
        assert reply.status == 200, (operation, reply.text)
        assert reply.json["cost_units"] == fcu
        assert reply.json["cost_usd"] == pytest.approx(fcu * 0.000002)
        assert reply.json["cost_jpy"] == pytest.approx(fcu * 0.000002 * 150)


async def test_contract_errors(session: Session, api: Api, mesh: Stack) -> None:
    cx = await session.encrypt(_vector())
    cases = [
        ("transmogrify", [cx], {}, 400, "INVALID_OPERATION"),
        ("add-plain", [cx], {}, 400, "MISSING_PLAIN_OPERAND"),
        ("multiply-plain", [cx], {"plain_operand": [1.0, 2.0]}, 400, "INVALID_PLAIN_OPERAND"),
        ("poly-eval", [cx], {"polynomial_coeffs": [1.0] * 66}, 400, "POLYNOMIAL_TOO_LARGE"),
        ("add", [cx], {}, 400, "VALIDATION_ERROR"),
        ("negate", ["ct_doesnotexist"], {}, 404, "CIPHERTEXT_NOT_FOUND"),
        ("negate", [cx], {"key_id": "key_nope"}, 404, "KEY_NOT_FOUND"),
    ]
    for operation, ids, fields, status, code in cases:
        body = {"key_id": session.key["key_id"], "ciphertext_ids": ids, **fields}
        reply = await api.post(f"/api/v1/compute/{operation}", headers=session.tenant.auth(),
                               json=body)
        assert (reply.status, reply.json["error"]["code"]) == (status, code), operation
    # A second key: its ciphertexts do not mix with the first's.
    other = (await api.post("/api/v1/keys/generate", headers=session.tenant.auth(), json={
        "scheme": "ckks", "params": PARAMS, "rotations": [1]})).json
    other_session = Session(api, session.tenant, other)
    co = await other_session.encrypt(_vector())
    mixed = await session.compute("add", [cx, co])
    assert mixed.status == 400 and mixed.json["error"]["code"] == "MISMATCHED_KEY"
    missing = await other_session.compute("rotate", [co], rotation_steps=5)  # 4 + 1: no 4
    assert missing.status == 400 and missing.json["error"]["code"] == "MISSING_ROTATION_KEY"
    # Another account sees none of it.
    stranger = await create_account(mesh)
    for path in (f"/api/v1/ciphertexts/{cx}",):
        assert (await api.get(path, headers=stranger.auth())).status == 404
    foreign = await api.post("/api/v1/compute/negate", headers=stranger.auth(), json={
        "key_id": session.key["key_id"], "ciphertext_ids": [cx]})
    assert foreign.status == 404


async def test_ciphertext_store_endpoints(session: Session, api: Api) -> None:
    x = _vector()
    cx = await session.encrypt(x)
    got = await api.get(f"/api/v1/ciphertexts/{cx}", headers=session.tenant.auth())
    assert got.status == 200
    assert got.json["level"] == 0 and got.json["noise_budget_remaining"] == 100.0
    data = got.json["data"]
    again = await api.post("/api/v1/ciphertexts", headers=session.tenant.auth(),
                           json={"key_id": session.key["key_id"], "data": data})
    assert again.status == 201, again.text
    # Bytes sent back are the caller's: the server computes on them but does not decrypt
    # them under a server-mode key (docs/security.md).
    refused = await api.post(f"/api/v1/ciphertexts/{again.json['ciphertext_id']}/decrypt",
                             headers=session.tenant.auth())
    assert refused.status == 400 and refused.json["error"]["code"] == "UPLOADED_CIPHERTEXT"
    gone = await api.request("DELETE", f"/api/v1/ciphertexts/{cx}",
                             headers=session.tenant.auth())
    assert gone.status == 204
    assert (await api.get(f"/api/v1/ciphertexts/{cx}",
                          headers=session.tenant.auth())).status == 404
    garbage = await api.post("/api/v1/ciphertexts", headers=session.tenant.auth(), json={
        "key_id": session.key["key_id"], "data": base64.b64encode(b"\x07" * 5000).decode()})
    assert garbage.status == 400 and garbage.json["error"]["code"] == "INVALID_CIPHERTEXT"
    too_big = await api.post("/api/v1/ciphertexts", headers=session.tenant.auth(), json={
        "key_id": session.key["key_id"],
        "data": base64.b64encode(b"\x00" * (2 * 1024 * 1024 + 1)).decode()})
    assert too_big.status == 413
    health = await api.get("/api/v1/health")
    assert {d["name"]: d["status"] for d in health.json["dependencies"]}["ckks-compute"] == "up"


async def test_blind_mode_round_trip(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    client = make_ckks_client(ring_dim=2048, depth=2, scale_bits=40, rotations=(1,))
    key = (await api.post("/api/v1/keys/upload", headers=tenant.auth(),
                          json={"scheme": "ckks", **client.wire()})).json
    x, y = rng.uniform(-1, 1, 8), rng.uniform(-1, 1, 8)
    ids = []
    for values in (x, y):
        ciphertext = client.context.Encrypt(client.keys.publicKey,
                                            client.context.MakeCKKSPackedPlaintext(values.tolist()))
        reply = await api.post("/api/v1/ciphertexts", headers=tenant.auth(), json={
            "key_id": key["key_id"],
            "data": base64.b64encode(fhe.Serialize(ciphertext, fhe.BINARY)).decode()})
        assert reply.status == 201, reply.text
        ids.append(reply.json["ciphertext_id"])
    product = await api.post("/api/v1/compute/multiply", headers=tenant.auth(), json={
        "key_id": key["key_id"], "ciphertext_ids": ids, "return_ciphertext": True})
    assert product.status == 200, product.text
    ciphertext = fhe.DeserializeCiphertextString(
        base64.b64decode(product.json["result_ciphertext"]), fhe.BINARY)
    plain = client.context.Decrypt(ciphertext, client.keys.secretKey)
    plain.SetLength(8)
    _close(np.array(plain.GetRealPackedValue()), x * y)
    # The uploaded context keeps its automatic scaling: rescale is a no-op, and free.
    assert key["scaling_technique"] == "FLEXIBLEAUTO"
    rescaled = await api.post("/api/v1/compute/rescale", headers=tenant.auth(), json={
        "key_id": key["key_id"], "ciphertext_ids": [product.json["result_ciphertext_id"]]})
    assert rescaled.status == 200 and rescaled.json["cost_units"] == 0, rescaled.text
    assert rescaled.json["cost_usd"] == 0 and rescaled.json["level"] == product.json["level"]
    for path in (f"/api/v1/ciphertexts/{ids[0]}/decrypt",):
        blind = await api.post(path, headers=tenant.auth())
        assert blind.status == 400 and blind.json["error"]["code"] == "BLIND_KEY"
    encrypt = await api.post("/api/v1/ciphertexts/encrypt", headers=tenant.auth(),
                             json={"key_id": key["key_id"], "values": [1.0]})
    assert encrypt.status == 400 and encrypt.json["error"]["code"] == "BLIND_KEY"
    foreign = make_ckks_client(ring_dim=2048, depth=2, scale_bits=40)
    stray = foreign.context.Encrypt(foreign.keys.publicKey,
                                    foreign.context.MakeCKKSPackedPlaintext([1.0]))
    data = base64.b64encode(fhe.Serialize(stray, fhe.BINARY)).decode()
    reply = await api.post("/api/v1/ciphertexts", headers=tenant.auth(),
                           json={"key_id": key["key_id"], "data": data})
    assert reply.status == 400 and reply.json["error"]["code"] == "INVALID_CIPHERTEXT"


async def test_async_operations(session: Session, api: Api) -> None:
    x = _vector()
    cx = await session.encrypt(x)
    reply = await session.compute("negate", [cx], **{"async": True})
    assert reply.status == 202
    op_id = reply.json["op_id"]
    for _ in range(100):
        polled = await api.get(f"/api/v1/compute/{op_id}", headers=session.tenant.auth())
        if polled.json["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    assert polled.json["status"] == "completed"
    await session.check(polled.json["result_ciphertext_id"], -x)
    cancelled = await api.request("DELETE", f"/api/v1/compute/{op_id}",
                                  headers=session.tenant.auth())
    assert cancelled.json["status"] == "completed"  # already done: nothing to cancel
    # Refused before it is queued (a rotation by 0 would bill for the input unchanged).
    refused = await session.compute("rotate", [cx], rotation_steps=0, **{"async": True})
    assert refused.status == 400 and refused.json["error"]["code"] == "VALIDATION_ERROR"
    unknown = await api.get("/api/v1/compute/op_missing", headers=session.tenant.auth())
    assert unknown.status == 404 and unknown.json["error"]["code"] == "OPERATION_NOT_FOUND"


async def test_two_accounts_interleaved(api: Api, mesh: Stack) -> None:
    sessions = []
    for _ in range(2):
        tenant = await create_account(mesh)
        key = (await api.post("/api/v1/keys/generate", headers=tenant.auth(),
                              json={"scheme": "ckks", "params": PARAMS})).json
        sessions.append(Session(api, tenant, key))
    vectors = [_vector() for _ in sessions]
    ids = [await s.encrypt(v) for s, v in zip(sessions, vectors, strict=True)]

    async def square(index: int) -> tuple[int, str]:
        reply = await sessions[index].compute("multiply", [ids[index], ids[index]],
                                              scale_stable=True)
        assert reply.status == 200, reply.text
        return index, reply.json["result_ciphertext_id"]

    results = await asyncio.gather(*(square(i % 2) for i in range(12)))
    for index, result in results[:4]:
        await sessions[index].check(result, vectors[index] ** 2)




@pytest.fixture(scope="module")
def small_store(make_stack) -> Stack:
    # About six N=2048 ciphertexts fit in 1 MiB.
    return make_stack(env={"WAVIS_CIPHERTEXT_STORE_BYTES": str(1024 * 1024)})


async def test_lru_eviction_and_key_deletion_cascade(small_store: Stack, openapi_doc: dict,
                                                     ) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        api = Api(http, small_store.gateway_url, openapi_doc)
        tenant = await create_account(small_store)
        key = (await api.post("/api/v1/keys/generate", headers=tenant.auth(),
                              json={"scheme": "ckks", "params": PARAMS})).json
        session = Session(api, tenant, key)
        first = await session.encrypt(_vector())
        evicted: list[str] = []
        ids = [first]
        for _ in range(12):
            reply = await api.post("/api/v1/ciphertexts/encrypt", headers=tenant.auth(),
                                   json={"key_id": key["key_id"], "values": [1.0, 2.0]})
            assert reply.status == 201
            evicted += reply.json["evicted_ciphertext_ids"]
            ids.append(reply.json["ciphertext_id"])
        assert evicted[0] == first  # least recently used goes first
        gone = await api.get(f"/api/v1/ciphertexts/{first}", headers=tenant.auth())
        assert gone.status == 404 and gone.json["error"]["code"] == "CIPHERTEXT_NOT_FOUND"
        health = await api.get("/api/v1/health")
        assert 50 <= health.json["ciphertext_cache_usage_pct"] <= 100
        survivor = ids[-1]
        assert (await api.get(f"/api/v1/ciphertexts/{survivor}",
                              headers=tenant.auth())).status == 200
        deleted = await api.request("DELETE", f"/api/v1/keys/{key['key_id']}",
                                    headers=tenant.auth())
        assert deleted.status == 204
        for _ in range(50):  # the compute service follows key deletions as they happen
            reply = await api.get(f"/api/v1/ciphertexts/{survivor}", headers=tenant.auth())
            if reply.status == 404:
                break
            await asyncio.sleep(0.05)
        assert reply.status == 404


async def test_bootstrap_refreshes_an_exhausted_ciphertext(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    params = {"poly_degree": 4096, "scale_bits": 59, "max_depth": 2, "security_level": "testing"}
    reply = await api.post("/api/v1/keys/generate", headers=tenant.auth(), json={
        "scheme": "ckks", "params": params, "bootstrappable": True, "rotations": [1]})
    assert reply.status in (201, 202), reply.text
    key = reply.json
    for _ in range(300):
        if key["status"] != "pending":
            break
        await asyncio.sleep(0.1)
        key = (await api.get(f"/api/v1/keys/{key['key_id']}", headers=tenant.auth())).json
    assert key["status"] == "ready" and key["bootstrappable"] is True
    assert key["params"]["max_depth"] == 2 and key["max_level"] > 2
    session = Session(api, tenant, key)
    x = rng.uniform(-0.5, 0.5, 2048)
    current = await session.encrypt(x)
    ones = [1.0] * 2048
    for _ in range(key["max_level"]):  # spend every level
        reply = await session.compute("multiply-plain", [current], plain_operand=ones,
                                      scale_stable=True)
        assert reply.status == 200, reply.text
        current = reply.json["result_ciphertext_id"]
    assert reply.json["noise_budget_remaining"] == 0
    spent = await session.compute("multiply-plain", [current], plain_operand=ones,
                                  scale_stable=True)
    assert spent.json["error"]["code"] == "NOISE_BUDGET_EXHAUSTED"
    queued = await session.compute("bootstrap", [current])
    assert queued.status == 202  # every bootstrap runs asynchronously
    for _ in range(600):
        polled = await api.get(f"/api/v1/compute/{queued.json['op_id']}",
                               headers=tenant.auth())
        if polled.json["status"] in ("completed", "failed"):
            break
        await asyncio.sleep(0.1)
    body = polled.json
    assert body["status"] == "completed", body
    assert body["bootstrap_applied"] is True and body["bootstrap_degraded"] is False
    assert body["bootstrap_effective_degree"] >= 2 and body["noise_budget_remaining"] > 0
    assert body["cost_units"] == 50
    refreshed = body["result_ciphertext_id"]
    # Bootstrapping's error is more than server-mode decryption's noise can hide: refused;
    # the values are checked here, with the key's own secret.
    hidden = await api.post(f"/api/v1/ciphertexts/{refreshed}/decrypt", headers=tenant.auth())
    assert hidden.status == 400 and hidden.json["error"]["code"] == "DECRYPTION_NOISE_TOO_HIGH"
    downloaded = await api.get(f"/api/v1/ciphertexts/{refreshed}", headers=tenant.auth())
    values = await decrypt_with_the_servers_secret(mesh, key["key_id"],
                                                   downloaded.json["data"], 2048)
    assert np.max(np.abs(values - x)) < 1e-2
    again = await session.compute("multiply-plain", [refreshed], plain_operand=ones,
                                  scale_stable=True)
    assert again.status == 200  # levels are back
    # Uploaded ciphertexts are checked against the key's parameters; bootstrapping's setup
    # must not make a key's own ciphertexts look foreign.
    uploaded = await api.post("/api/v1/ciphertexts", headers=tenant.auth(), json={
        "key_id": key["key_id"], "data": downloaded.json["data"]})
    assert uploaded.status == 201, uploaded.text
    plain_key = (await api.post("/api/v1/keys/generate", headers=tenant.auth(), json={
        "scheme": "ckks", "params": PARAMS})).json
    refused = await api.post("/api/v1/compute/bootstrap", headers=tenant.auth(), json={
        "key_id": plain_key["key_id"],
        "ciphertext_ids": [await Session(api, tenant, plain_key).encrypt(_vector())]})
    assert refused.status == 400 and "bootstrappable" in refused.json["error"]["message"]


async def test_operations_are_billed_once_and_refusals_are_free(session: Session,
                                                                api: Api) -> None:
    cx = await session.encrypt(_vector())
    assert (await session.compute("multiply", [cx, cx], scale_stable=True)).status == 200
    refused = await session.compute("multiply-plain", [cx], plain_operand=[1.0])
    assert refused.status == 400  # refused before running: costs nothing
    queued = await session.compute("negate", [cx], **{"async": True})
    assert queued.status == 202
    for _ in range(100):
        polled = await api.get(f"/api/v1/compute/{queued.json['op_id']}",
                               headers=session.tenant.auth())
        if polled.json["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    for _ in range(40):  # the async op is recorded as it completes
        usage = (await api.get("/api/v1/billing/usage", headers=session.tenant.auth())).json
        if usage["total_fcu"] >= 6:
            break
        await asyncio.sleep(0.05)
    assert usage["total_fcu"] == 6
    assert usage["by_operation"]["multiply"]["fcu"] == 5
    assert usage["by_operation"]["negate"]["count"] == 1
    assert "multiply-plain" not in usage["by_operation"]


async def test_testing_keys_warn_on_every_ciphertext_response(session: Session,
                                                              api: Api, mesh: Stack) -> None:
    cx = await session.encrypt(_vector())  # PARAMS are "testing": below 128-bit
    replies = [
        await api.get(f"/api/v1/ciphertexts/{cx}", headers=session.tenant.auth()),
        await session.compute("negate", [cx]),
        await api.post(f"/api/v1/ciphertexts/{cx}/decrypt", headers=session.tenant.auth()),
    ]
    for reply in replies:
        assert reply.status == 200 and reply.headers["X-Security-Warning"]
    tenant = await create_account(mesh)
    secure = (await api.post("/api/v1/keys/generate", headers=tenant.auth(), json={
        "scheme": "ckks", "params": {"poly_degree": 8192, "scale_bits": 40, "max_depth": 1},
        "rotations": [1]})).json
    stored = await api.post("/api/v1/ciphertexts/encrypt", headers=tenant.auth(),
                            json={"key_id": secure["key_id"], "values": [1.0]})
    assert stored.status == 201 and "X-Security-Warning" not in stored.headers


async def test_empty_rotations_means_no_rotation_keys(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)

    async def key(**fields: object) -> Session:
        reply = await api.post("/api/v1/keys/generate", headers=tenant.auth(),
                               json={"scheme": "ckks", "params": PARAMS, **fields})
        assert reply.status == 201, reply.text
        return Session(api, tenant, reply.json)

    bare, default = await key(rotations=[]), await key()
    assert bare.key["rotations"] == [] and len(default.key["rotations"]) > 0
    assert bare.key["size_bytes"] < default.key["size_bytes"]
    x = _vector()
    refused = await bare.compute("rotate", [await bare.encrypt(x)], rotation_steps=1)
    assert refused.status == 400, refused.text
    assert refused.json["error"]["code"] == "MISSING_ROTATION_KEY"
    rotated = await default.compute("rotate", [await default.encrypt(x)], rotation_steps=1)
    assert rotated.status == 200, rotated.text
    await default.check(rotated.json["result_ciphertext_id"], np.roll(x, -1))


async def test_rotate_needs_nonzero_steps_and_refusals_are_free(session: Session,
                                                                api: Api) -> None:
    x = _vector()
    cx = await session.encrypt(x)
    for fields in ({}, {"rotation_steps": 0}, {"rotation_steps": SLOTS},
                   {"plain_operand": [1.5]}, {"plain_operand": [1.0, 2.0]}):
        reply = await session.compute("rotate", [cx], **fields)
        assert reply.status == 400, (fields, reply.text)
        assert reply.json["error"]["code"] == "VALIDATION_ERROR", fields
        assert reply.json["error"]["details"]["field"] == "rotation_steps", fields
    # The older form: the steps as plain_operand[0].
    older = await session.compute("rotate", [cx], plain_operand=[2])
    assert older.status == 200, older.text
    await session.check(older.json["result_ciphertext_id"], np.roll(x, -2))
    usage = (await api.get("/api/v1/billing/usage", headers=session.tenant.auth())).json
    assert usage["total_fcu"] == 5 and usage["by_operation"]["rotate"]["count"] == 1


async def test_decrypt_returns_the_values_encrypted(session: Session, api: Api) -> None:
    async def decrypt(ciphertext_id: str, **body: object) -> tuple[int, dict]:
        reply = await api.post(f"/api/v1/ciphertexts/{ciphertext_id}/decrypt",
                               headers=session.tenant.auth(), **({"json": body} if body else {}))
        return reply.status, reply.json

    def close(answer: dict, expected: np.ndarray) -> None:
        values = np.array(answer["values"][:len(expected)])
        _close(values, expected, 2.0 ** -answer["precision_bits"])

    x = np.array([1.0, 2.0, 3.0])
    cx = await session.encrypt(x)
    status, answer = await decrypt(cx)
    assert status == 200 and len(answer["values"]) == 3
    close(answer, x)
    status, answer = await decrypt(cx, count=5)
    assert status == 200 and len(answer["values"]) == 5
    close(answer, np.array([1.0, 2.0, 3.0, 0.0, 0.0]))
    for bad in (0, SLOTS + 1):
        status, error = await decrypt(cx, count=bad)
        assert status == 400 and error["error"]["details"]["field"] == "count", (bad, error)
    cy = await session.encrypt(np.array([1.0] * 5))
    added = await session.compute("add", [cx, cy])
    assert len((await decrypt(added.json["result_ciphertext_id"]))[1]["values"]) == 5
    rotated = await session.compute("rotate", [cx], rotation_steps=-1)
    status, answer = await decrypt(rotated.json["result_ciphertext_id"])
    assert status == 200 and len(answer["values"]) == SLOTS  # values moved: every slot
    close(answer, np.array([0.0, 1.0, 2.0, 3.0]))


async def test_a_ciphertext_that_decrypts_to_noise_is_refused_not_a_500(
        session: Session, api: Api) -> None:
    """A product by a plaintext of 10^12 leaves an error OpenFHE will not decode at all;
    tampered bytes are refused before any decryption (they come from an upload)."""
    tiny = await session.encrypt(np.full(4, 1e-13))
    loud = await session.compute("multiply-plain", [tiny], plain_operand=[1e12] * SLOTS,
                                 scale_stable=True)
    assert loud.status == 200, loud.text
    reply = await api.post(f"/api/v1/ciphertexts/{loud.json['result_ciphertext_id']}/decrypt",
                           headers=session.tenant.auth())
    assert reply.status == 400, reply.text
    assert reply.json["error"]["code"] == "DECRYPTION_NOISE_TOO_HIGH"
    stored = await api.get(f"/api/v1/ciphertexts/{await session.encrypt(_vector())}",
                           headers=session.tenant.auth())
    raw = bytearray(base64.b64decode(stored.json["data"]))
    middle = len(raw) // 2 // 8 * 8  # inside the first polynomial's coefficients
    raw[middle:middle + 64] = bytes(64)
    upload = await api.post("/api/v1/ciphertexts", headers=session.tenant.auth(),
                            json={"key_id": session.key["key_id"],
                                  "data": base64.b64encode(bytes(raw)).decode()})
    assert upload.status == 201, upload.text  # it deserializes under the key
    reply = await api.post(f"/api/v1/ciphertexts/{upload.json['ciphertext_id']}/decrypt",
                           headers=session.tenant.auth())
    assert reply.status == 400, reply.text
    assert reply.json["error"]["code"] == "UPLOADED_CIPHERTEXT"


async def test_a_ciphertext_under_other_parameters_is_refused_at_upload(
        session: Session, api: Api) -> None:
    """The key's tag and ring dimension, but another context (scale and moduli): OpenFHE
    would refuse to compute with it later; the upload refuses it first."""
    stored = await api.get(f"/api/v1/ciphertexts/{await session.encrypt(_vector())}",
                           headers=session.tenant.auth())
    tag = fhe.DeserializeCiphertextString(base64.b64decode(stored.json["data"]),
                                          fhe.BINARY).GetKeyTag()
    params = fhe.CCParamsCKKSRNS()
    params.SetMultiplicativeDepth(PARAMS["max_depth"])
    params.SetScalingModSize(PARAMS["scale_bits"] - 5)
    params.SetRingDim(PARAMS["poly_degree"])
    params.SetSecurityLevel(fhe.HEStd_NotSet)
    other = fhe.GenCryptoContext(params)
    for feature in (fhe.PKE, fhe.KEYSWITCH, fhe.LEVELEDSHE):
        other.Enable(feature)
    forged = other.Encrypt(other.KeyGen().publicKey, other.MakeCKKSPackedPlaintext([1.0]))
    forged.SetKeyTag(tag)
    reply = await api.post("/api/v1/ciphertexts", headers=session.tenant.auth(), json={
        "key_id": session.key["key_id"],
        "data": base64.b64encode(fhe.Serialize(forged, fhe.BINARY)).decode()})
    assert reply.status == 400, reply.text
    assert reply.json["error"]["code"] == "INVALID_CIPHERTEXT"
