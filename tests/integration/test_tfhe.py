"""TFHE through HTTP: server-mode and FHE-blind sessions, every gate's truth table, batches as
DAGs (adders), parallelism, pricing, errors, and tenant isolation. Toy keys only."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import os
import time

import pytest

from support.accounts import Tenant, create_account
from support.http import Api
from support.tfhe_client import ToyTfheClient
from support.tfhe_sessions import ready_session
from wavis.devstack.stack import Stack

TWO_INPUT = {
    "NAND": lambda a, b: 1 - (a & b), "AND": lambda a, b: a & b, "OR": lambda a, b: a | b,
    "XOR": lambda a, b: a ^ b, "NOR": lambda a, b: 1 - (a | b),
    "XNOR": lambda a, b: 1 - (a ^ b),
}


async def _server_session(api: Api, tenant: Tenant) -> dict:
    reply = await api.post("/api/v1/tfhe/session", headers=tenant.auth(),
                           json={"preset": "toy"})
    assert reply.status == 201, reply.text
    assert reply.headers.get("X-Security-Warning")
    return dict(reply.json)


async def _encrypt(api: Api, tenant: Tenant, session_id: str, bits: list[int]) -> list[str]:
    reply = await api.post(f"/api/v1/tfhe/session/{session_id}/encrypt",
                           headers=tenant.auth(), json={"bits": bits})
    assert reply.status == 200, reply.text
    return list(reply.json["ciphertexts_b64"])


async def _decrypt(api: Api, tenant: Tenant, session_id: str, cts: list[str]) -> list[int]:
    reply = await api.post(f"/api/v1/tfhe/session/{session_id}/decrypt",
                           headers=tenant.auth(), json={"ciphertexts_b64": cts})
    assert reply.status == 200, reply.text
    return list(reply.json["bits"])


async def _gate(api: Api, tenant: Tenant, session_id: str, op: str, **inputs: str):
    return await api.post("/api/v1/tfhe/gate", headers=tenant.auth(),
                          json={"session_id": session_id, "op": op, **inputs})


def _cases() -> list[tuple[str, dict[str, int], int]]:
    cases = [(op, {"a": a, "b": b}, fn(a, b)) for op, fn in TWO_INPUT.items()
             for a, b in itertools.product((0, 1), repeat=2)]
    cases += [("NOT", {"a": a}, 1 - a) for a in (0, 1)]
    cases += [("MUX", {"a": a, "b": b, "sel": s}, a if s else b)
              for a, b, s in itertools.product((0, 1), repeat=3)]
    return cases


async def _prices(api: Api) -> dict[str, dict]:
    """GET /tfhe/pricing by gate: what each gate is advertised to cost."""
    reply = await api.get("/api/v1/tfhe/pricing")
    assert reply.status == 200, reply.text
    return {gate["op"]: gate for gate in reply.json["gates"]}


async def _fcu_used(api: Api, tenant: Tenant) -> int:
    usage = await api.get("/api/v1/billing/usage", headers=tenant.auth())
    assert usage.status == 200, usage.text
    return int(usage.json["total_fcu"])


async def test_server_mode_truth_tables(api: Api, mesh: Stack) -> None:
    # payg: no limit can refuse it, so tfhe-eval evaluates while each reservation travels
    # (wavis.core.usage_meter); the billing must come out exact all the same.
    tenant = await create_account(mesh, plan="payg")
    session = await _server_session(api, tenant)
    assert session["session_id"].startswith("sess_")
    assert (session["preset"], session["is_blind"]) == ("toy", False)
    assert session["n"] > 0 and session["big_n"] > session["n"]
    one = await api.post(f"/api/v1/tfhe/session/{session['session_id']}/encrypt",
                         headers=tenant.auth(), json={"bit": 1})
    assert one.status == 200 and one.headers.get("X-Security-Warning")
    bit = await api.post(f"/api/v1/tfhe/session/{session['session_id']}/decrypt",
                         headers=tenant.auth(), json={"ciphertext_b64": one.json["ciphertext_b64"]})
    assert bit.json == {"bit": 1}
    cases = _cases()
    prices = await _prices(api)
    results = []
    for op, bits, _ in cases:
        cts = await _encrypt(api, tenant, session["session_id"], list(bits.values()))
        inputs = dict(zip(bits, cts, strict=True))
        reply = await _gate(api, tenant, session["session_id"], op, **inputs)
        assert reply.status == 200, reply.text
        assert reply.headers.get("X-Security-Warning")
        # Charged as advertised (the figures themselves: test_pricing_and_batch_discount).
        assert reply.json["bootstraps"] == prices[op]["bootstraps"]
        assert reply.json["cost_units"] == prices[op]["cost_units"]
        results.append(reply.json["result_b64"])
    decrypted = await _decrypt(api, tenant, session["session_id"], results)
    assert decrypted == [expected for _, _, expected in cases]
    used = sum(prices[op]["cost_units"] for op, _, _ in cases)
    assert await _fcu_used(api, tenant) == used
    # A hard cap at the spend so far, set while tfhe-eval still takes the account for
    # unlimited: the next gate is refused all the same, and nothing of it is answered.
    cap = await api.post("/api/v1/billing/budget", headers=tenant.auth(),
                         json={"monthly_cap_usd": used * 0.000002, "mode": "hard"})
    assert cap.status == 200, cap.text
    a, b = await _encrypt(api, tenant, session["session_id"], [1, 0])
    refused = await _gate(api, tenant, session["session_id"], "NAND", a=a, b=b)
    assert refused.status == 402 and refused.json["error"]["code"] == "BUDGET_CAP_REACHED"
    assert "result_b64" not in refused.json
    assert await _fcu_used(api, tenant) == used


@pytest.fixture(params=["pro"])
async def blind(api: Api, mesh: Stack, request: pytest.FixtureRequest,
                ) -> tuple[Tenant, ToyTfheClient, dict]:
    """A blind toy session of an account on the plan the test names (pro if none)."""
    tenant = await create_account(mesh, plan=request.param)
    client = ToyTfheClient()
    reply = await api.post("/api/v1/tfhe/eval-session", headers=tenant.auth(),
                           json={"eval_key_b64": client.archive_b64()})
    assert reply.status == 201, reply.text
    assert reply.headers.get("X-Security-Warning")
    assert (reply.json["is_blind"], reply.json["preset"]) == (True, "toy")
    return tenant, client, dict(reply.json)


async def test_blind_mode_truth_tables(api: Api, blind) -> None:
    tenant, client, session = blind
    sid = session["session_id"]
    for op, bits, expected in _cases():
        inputs = {name: client.encrypt(bit) for name, bit in bits.items()}
        reply = await _gate(api, tenant, sid, op, **inputs)
        assert reply.status == 200, reply.text
        assert client.decrypt(reply.json["result_b64"]) == expected, (op, bits)
    for path, body in (("encrypt", {"bit": 1}),
                       ("decrypt", {"ciphertext_b64": client.encrypt(1)})):
        refused = await api.post(f"/api/v1/tfhe/session/{sid}/{path}", headers=tenant.auth(),
                                 json=body)
        assert refused.status == 400 and refused.json["error"]["code"] == "BLIND_SESSION"


def _full_adder(a: str, b: str, cin: str, base: int) -> list[dict]:
    """Gates base..base+4; the sum is gate base+3, the carry gate base+4."""
    return [{"op": "XOR", "a": a, "b": b},                              # base: a ^ b
            {"op": "AND", "a": a, "b": b},                              # base+1
            {"op": "AND", "a": f"${base}", "b": cin},                   # base+2
            {"op": "XOR", "a": f"${base}", "b": cin},                   # base+3: sum
            {"op": "OR", "a": f"${base + 1}", "b": f"${base + 2}"}]     # base+4: carry


async def _batch(api: Api, tenant: Tenant, sid: str, gates: list[dict]):
    return await api.post("/api/v1/tfhe/batch", headers=tenant.auth(),
                          json={"session_id": sid, "gates": gates})


async def test_full_adder_batch(api: Api, blind) -> None:
    tenant, client, session = blind
    for a, b, cin in itertools.product((0, 1), repeat=3):
        gates = _full_adder(client.encrypt(a), client.encrypt(b), client.encrypt(cin), 0)
        reply = await _batch(api, tenant, session["session_id"], gates)
        assert reply.status == 200, reply.text
        results = reply.json["results_b64"]
        total = a + b + cin
        assert client.decrypt(results[3]) == total & 1
        assert client.decrypt(results[4]) == total >> 1
        assert reply.json["bootstraps"] == 5 and reply.json["cost_units"] == 25
        assert reply.json["levels"] == 3 and reply.json["discount_applied"] is False


async def test_four_bit_ripple_carry_adder_on_every_input(api: Api, blind) -> None:
    tenant, client, session = blind

    async def add(x: int, y: int) -> None:
        gates: list[dict] = []
        carry = client.encrypt(0)
        sums = []
        for i in range(4):
            base = len(gates)
            gates += _full_adder(client.encrypt((x >> i) & 1), client.encrypt((y >> i) & 1),
                                 carry, base)
            sums.append(base + 3)
            carry = f"${base + 4}"
        reply = await _batch(api, tenant, session["session_id"], gates)
        assert reply.status == 200, reply.text
        results = reply.json["results_b64"]
        bits = [client.decrypt(results[i]) for i in sums] + [client.decrypt(results[-1])]
        assert sum(bit << i for i, bit in enumerate(bits)) == x + y, (x, y)

    pairs = list(itertools.product(range(16), repeat=2))
    for start in range(0, len(pairs), 8):
        await asyncio.gather(*(add(x, y) for x, y in pairs[start:start + 8]))


async def test_independent_gates_run_in_parallel(api: Api, blind) -> None:
    tenant, client, session = blind
    sid = session["session_id"]
    pairs = [(client.encrypt(i & 1), client.encrypt((i >> 1) & 1)) for i in range(64)]
    started = time.perf_counter()
    for a, b in pairs:
        reply = await _gate(api, tenant, sid, "NAND", a=a, b=b)
        assert reply.status == 200
    sequential = time.perf_counter() - started
    started = time.perf_counter()
    reply = await _batch(api, tenant, sid, [{"op": "NAND", "a": a, "b": b} for a, b in pairs])
    batch = time.perf_counter() - started
    assert reply.status == 200, reply.text
    assert reply.json["levels"] == 1 and reply.json["gates_evaluated"] == 64
    assert [client.decrypt(r) for r in reply.json["results_b64"]] == \
        [1 - ((i & 1) & ((i >> 1) & 1)) for i in range(64)]
    assert batch < 0.7 * sequential, (batch, sequential)


async def test_pricing_and_batch_discount(api: Api, blind) -> None:
    tenant, client, session = blind
    table = await _prices(api)
    assert {op: table[op]["bootstraps"] for op in (*TWO_INPUT, "NOT", "MUX")} == {
        **{op: 1 for op in TWO_INPUT}, "NOT": 0, "MUX": 3}
    assert table["NOT"]["cost_units"] == 0 and table["MUX"]["cost_units"] == 15
    assert table["NAND"]["cost_units"] == 5 and "toy" not in table["AND3"]["presets"]
    a, b = client.encrypt(1), client.encrypt(0)
    # 30 ANDs + a free NOT: 150 FCU; 31 ANDs + NOT = 32 gates: 155 x 0.7 = 108.5 -> 109.
    for count, expected, discounted in ((31, 150, False), (32, 109, True)):
        gates = [{"op": "AND", "a": a, "b": b}] * (count - 1) + [{"op": "NOT", "a": "$0"}]
        reply = await _batch(api, tenant, session["session_id"], gates)
        assert reply.status == 200, reply.text
        assert reply.json["cost_units"] == expected, reply.json
        assert reply.json["discount_applied"] is discounted
    mux = await _gate(api, tenant, session["session_id"], "MUX", a=a, b=b,
                      sel=client.encrypt(1))
    assert (mux.json["bootstraps"], mux.json["cost_units"]) == (3, 15)


@pytest.mark.parametrize("blind", ["payg"], indirect=True)
async def test_refusals_do_not_hurt_the_service(api: Api, blind) -> None:
    """Refusals, including those found only by evaluating (a ciphertext OpenFHE cannot
    read), cost nothing, also when the account's reservations travel during evaluation."""
    tenant, client, session = blind
    sid = session["session_id"]
    a = client.encrypt(1)

    async def error(reply) -> str:
        assert reply.status in (400, 413, 422), reply.text
        return str(reply.json["error"]["code"])

    assert await error(await _gate(api, tenant, sid, "AND", a=a, b=a)) == "DEPENDENT_INPUTS"
    assert await error(await _gate(api, tenant, sid, "MUX", a=a, b=client.encrypt(0),
                                   sel=a)) == "DEPENDENT_INPUTS"
    garbage = base64.b64encode(b"\x00\x01not a ciphertext" * 20).decode()
    assert await error(await _gate(api, tenant, sid, "AND", a=a, b=garbage)) == \
        "INVALID_CIPHERTEXT"
    truncated = base64.b64encode(base64.b64decode(a)[:300]).decode()
    assert await error(await _gate(api, tenant, sid, "NOT", a=truncated)) == \
        "INVALID_CIPHERTEXT"
    assert await error(await _gate(api, tenant, sid, "OR", a=a, b="%%%")) == \
        "INVALID_CIPHERTEXT"
    assert await error(await _gate(api, tenant, sid, "NOT", a=a, b=a)) == "VALIDATION_ERROR"
    assert await error(await _gate(api, tenant, sid, "AND", a=a)) == "VALIDATION_ERROR"
    assert await error(await _gate(api, tenant, sid, "AND3", a=a, b=client.encrypt(1),
                                   c=client.encrypt(0))) == "INVALID_OPERATION"
    b = client.encrypt(0)
    for gates in ([{"op": "NOT", "a": "$0"}],                                    # self
                  [{"op": "AND", "a": a, "b": b}, {"op": "OR", "a": "$2", "b": a}],  # forward
                  [{"op": "NOT", "a": "$x"}]):
        assert await error(await _batch(api, tenant, sid, gates)) == "INVALID_BATCH"
    assert await error(await _batch(api, tenant, sid, [
        {"op": "AND", "a": a, "b": b}, {"op": "XOR", "a": "$0", "b": "$0"}])) == \
        "DEPENDENT_INPUTS"
    assert await error(await _batch(api, tenant, sid, [])) in ("VALIDATION_ERROR",)
    ok = await _gate(api, tenant, sid, "AND", a=a, b=b)
    assert ok.status == 200 and client.decrypt(ok.json["result_b64"]) == 0
    assert await _fcu_used(api, tenant) == 5


async def test_session_ids_deletion_and_isolation(api: Api, mesh: Stack) -> None:
    alice, bob = await create_account(mesh), await create_account(mesh)
    client = ToyTfheClient()
    archive = client.archive_b64()
    body = {"eval_key_b64": archive, "session_id": "my-session_1"}
    first = await api.post("/api/v1/tfhe/eval-session", headers=alice.auth(), json=body)
    assert first.status == 201 and first.json["session_id"] == "my-session_1"
    again = await api.post("/api/v1/tfhe/eval-session", headers=alice.auth(), json=body)
    assert again.status == 409 and again.json["error"]["code"] == "SESSION_EXISTS"
    bad = await api.post("/api/v1/tfhe/eval-session", headers=alice.auth(),
                         json={"eval_key_b64": archive, "session_id": "no spaces!"})
    assert bad.status == 400
    # Ids live in each account's namespace: bob's "my-session_1" is his own.
    bobs = await api.post("/api/v1/tfhe/eval-session", headers=bob.auth(), json=body)
    assert bobs.status == 201
    a, b = client.encrypt(1), client.encrypt(1)
    for path, payload in (("/api/v1/tfhe/gate", {"session_id": "my-session_1", "op": "AND",
                                                 "a": a, "b": b}),):
        assert (await api.post(path, headers=bob.auth(), json=payload)).status == 200
    server = await _server_session(api, alice)
    for method, path, payload in (
            ("POST", "/api/v1/tfhe/gate", {"session_id": server["session_id"], "op": "NOT",
                                           "a": a}),
            ("POST", f"/api/v1/tfhe/session/{server['session_id']}/encrypt", {"bit": 1}),
            ("DELETE", f"/api/v1/tfhe/session/{server['session_id']}", None)):
        reply = await api.request(method, path, headers=bob.auth(), json=payload)
        assert reply.status == 404 and reply.json["error"]["code"] == "SESSION_NOT_FOUND"
    gone = await api.request("DELETE", f"/api/v1/tfhe/session/{server['session_id']}",
                             headers=alice.auth())
    assert gone.status == 204 and gone.headers.get("X-Security-Warning")
    after = await _gate(api, alice, server["session_id"], "NOT", a=a)
    assert after.status == 404 and after.json["error"]["code"] == "SESSION_NOT_FOUND"
    # The key the session generated went with it.
    key = await api.get(f"/api/v1/keys/{server['key_id']}", headers=alice.auth())
    assert key.status == 404


async def test_eval_session_from_chunked_upload(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    client = ToyTfheClient()
    archive = client.archive()
    upload = await api.post("/api/v1/keys/uploads", headers=tenant.auth(), json={
        "scheme": "tfhe", "kind": "tfhe_eval_key", "size_bytes": len(archive),
        "sha256": hashlib.sha256(archive).hexdigest()})
    assert upload.status == 201, upload.text
    upload_id, part = upload.json["upload_id"], upload.json["part_size"]
    for number in range(1, upload.json["part_count"] + 1):
        put = await api.request("PUT", f"/api/v1/keys/uploads/{upload_id}/parts/{number}",
                                headers=tenant.auth() | {
                                    "Content-Type": "application/octet-stream"},
                                data=archive[(number - 1) * part:number * part])
        assert put.status == 204, put.text
    done = await api.post(f"/api/v1/keys/uploads/{upload_id}/complete", headers=tenant.auth())
    assert done.status == 201, done.text
    key_id = done.json["key_id"]
    reply = await api.post("/api/v1/tfhe/eval-session", headers=tenant.auth(),
                           json={"key_id": key_id})
    assert reply.status == 201, reply.text
    assert reply.json["key_id"] == key_id and reply.json["is_blind"] is True
    gate = await _gate(api, tenant, reply.json["session_id"], "XOR", a=client.encrypt(1),
                       b=client.encrypt(0))
    assert gate.status == 200 and client.decrypt(gate.json["result_b64"]) == 1
    # Ending that session leaves the uploaded key alone (the session did not create it).
    deleted = await api.request("DELETE", f"/api/v1/tfhe/session/{reply.json['session_id']}",
                                headers=tenant.auth())
    assert deleted.status == 204
    assert (await api.get(f"/api/v1/keys/{key_id}", headers=tenant.auth())).status == 200


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("WAVIS_SLOW_TESTS") != "1",
                    reason="fast_128 keygen takes ~5 s and ~2 GB per worker: WAVIS_SLOW_TESTS=1")
async def test_fast_128_server_session(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    reply, session = await ready_session(api, tenant, "fast_128")
    assert "X-Security-Warning" not in reply.headers
    assert (session["n"], session["big_n"], session["security_bits"]) == (554, 1024, 128)
    sid = session["session_id"]
    cts = await _encrypt(api, tenant, sid, [1, 1])
    gate = await _gate(api, tenant, sid, "NAND", a=cts[0], b=cts[1])
    assert gate.status == 200, gate.text
    assert await _decrypt(api, tenant, sid, [gate.json["result_b64"]]) == [0]
    assert (await api.request("DELETE", f"/api/v1/tfhe/session/{sid}",
                              headers=tenant.auth())).status == 204


async def test_encrypt_accepts_json_booleans(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh, plan="payg")
    sid = (await _server_session(api, tenant))["session_id"]
    one = await api.post(f"/api/v1/tfhe/session/{sid}/encrypt", headers=tenant.auth(),
                         json={"bit": True})
    assert one.status == 200, one.text
    assert await _decrypt(api, tenant, sid, [one.json["ciphertext_b64"]]) == [1]
    cts = await _encrypt(api, tenant, sid, [True, False, 1, 0])  # type: ignore[list-item]
    assert await _decrypt(api, tenant, sid, cts) == [1, 0, 1, 0]
    for bad, status in (({"bit": 2}, 400), ({"bit": "1"}, 422), ({"bits": [True, None]}, 422)):
        reply = await api.post(f"/api/v1/tfhe/session/{sid}/encrypt", headers=tenant.auth(),
                               json=bad)
        assert reply.status == status, (bad, reply.text)
    doc = (await api.get("/api/v1/openapi.json")).json
    bit = doc["components"]["schemas"]["TfheEncryptRequest"]["properties"]["bit"]
    assert True in bit["enum"] and 1 in bit["enum"]


@pytest.mark.parametrize("preset", ["toy", "toy_3"])
async def test_empty_or_garbage_ciphertexts_to_decrypt_are_invalid(api: Api, mesh: Stack,
                                                                   preset: str) -> None:
    """Found by schemathesis: an empty ciphertext_b64 to decrypt answered 500. Non-empty bytes
    the session did not issue are refused before anything reads them."""
    tenant = await create_account(mesh, plan="payg")
    created = await api.post("/api/v1/tfhe/session", headers=tenant.auth(),
                             json={"preset": preset})
    assert created.status == 201, created.text
    sid = created.json["session_id"]
    for body, code in (({"ciphertext_b64": ""}, "INVALID_CIPHERTEXT"),
                       ({"ciphertexts_b64": [""]}, "INVALID_CIPHERTEXT"),
                       ({"ciphertext_b64": "AAAA"}, "UNAUTHENTICATED_CIPHERTEXT")):
        reply = await api.post(f"/api/v1/tfhe/session/{sid}/decrypt", headers=tenant.auth(),
                               json=body)
        assert reply.status == 400, (body, reply.text)
        assert reply.json["error"]["code"] == code, body
