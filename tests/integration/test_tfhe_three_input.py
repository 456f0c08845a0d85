"""Three-input TFHE gates (AND3, OR3, MAJORITY) through HTTP on the toy_3 preset: truth tables
in server mode and FHE-blind mode, single gates and batches, chains, prices, and the plaintext
modulus each gate's ciphertexts must carry (docs/decisions/0045-three-input-tfhe-presets.md)."""

from __future__ import annotations

import itertools
import os

import pytest

from support.accounts import Tenant, create_account
from support.http import Api
from support.tfhe_client import ToyTfheClient
from support.tfhe_sessions import ready_session
from wavis.devstack.stack import Stack

THREE_INPUT = {
    "AND3": lambda a, b, c: a & b & c,
    "OR3": lambda a, b, c: a | b | c,
    "MAJORITY": lambda a, b, c: int(a + b + c >= 2),
}
# What a user relies on: AND3 and OR3 take ciphertexts encrypted with plaintext modulus 6,
# MAJORITY (like every other gate) the default 4; each is one bootstrap, 5 FCU.
MODULUS = {"AND3": 6, "OR3": 6, "MAJORITY": 4}
THREE_INPUT_PRESETS = ["fast_128_3", "standard_128_3", "conservative_128_3", "toy_3"]
INPUTS = list(itertools.product((0, 1), repeat=3))


async def _fcu_used(api: Api, tenant: Tenant) -> int:
    usage = await api.get("/api/v1/billing/usage", headers=tenant.auth())
    assert usage.status == 200, usage.text
    return int(usage.json["total_fcu"])


async def _gate(api: Api, tenant: Tenant, session_id: str, op: str, **inputs: str):
    return await api.post("/api/v1/tfhe/gate", headers=tenant.auth(),
                          json={"session_id": session_id, "op": op, **inputs})


async def _batch(api: Api, tenant: Tenant, session_id: str, gates: list[dict]):
    return await api.post("/api/v1/tfhe/batch", headers=tenant.auth(),
                          json={"session_id": session_id, "gates": gates})


async def test_server_mode_truth_tables(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh, plan="payg")
    made = await api.post("/api/v1/tfhe/session", headers=tenant.auth(),
                          json={"preset": "toy_3"})
    assert made.status == 201, made.text
    assert made.headers.get("X-Security-Warning")
    assert (made.json["preset"], made.json["is_blind"], made.json["security_bits"]) == \
        ("toy_3", False, 0)
    sid = made.json["session_id"]
    results, expected, batch = [], [], []
    for op, table in THREE_INPUT.items():
        bits = [bit for row in INPUTS for bit in row]
        encrypted = await api.post(f"/api/v1/tfhe/session/{sid}/encrypt",
                                   headers=tenant.auth(),
                                   json={"bits": bits, "plaintext_modulus": MODULUS[op]})
        assert encrypted.status == 200, encrypted.text
        cts = encrypted.json["ciphertexts_b64"]
        for row, (a, b, c) in enumerate(INPUTS):
            inputs = {"a": cts[3 * row], "b": cts[3 * row + 1], "c": cts[3 * row + 2]}
            reply = await _gate(api, tenant, sid, op, **inputs)
            assert reply.status == 200, reply.text
            assert reply.headers.get("X-Security-Warning")
            assert (reply.json["op"], reply.json["bootstraps"], reply.json["cost_units"]) == \
                (op, 1, 5)
            results.append(reply.json["result_b64"])
            expected.append(table(a, b, c))
            batch.append({"op": op, **inputs})
    decrypted = await api.post(f"/api/v1/tfhe/session/{sid}/decrypt", headers=tenant.auth(),
                               json={"ciphertexts_b64": results})
    assert decrypted.status == 200, decrypted.text
    assert decrypted.json["bits"] == expected
    # The same 24 gates in one batch.
    batched = await _batch(api, tenant, sid, batch)
    assert batched.status == 200, batched.text
    assert (batched.json["bootstraps"], batched.json["cost_units"]) == (24, 120)
    decrypted = await api.post(f"/api/v1/tfhe/session/{sid}/decrypt", headers=tenant.auth(),
                               json={"ciphertexts_b64": batched.json["results_b64"]})
    assert decrypted.json["bits"] == expected
    assert await _fcu_used(api, tenant) == 2 * 5 * len(expected)
    # Both moduli decrypt, each with its own.
    for modulus in (4, 6):
        one = await api.post(f"/api/v1/tfhe/session/{sid}/encrypt", headers=tenant.auth(),
                             json={"bit": 1, "plaintext_modulus": modulus})
        bit = await api.post(f"/api/v1/tfhe/session/{sid}/decrypt", headers=tenant.auth(),
                             json={"ciphertext_b64": one.json["ciphertext_b64"]})
        assert bit.json == {"bit": 1}
    # Two-input gates work on three-input presets too.
    a, b = (await api.post(f"/api/v1/tfhe/session/{sid}/encrypt", headers=tenant.auth(),
                           json={"bits": [1, 1]})).json["ciphertexts_b64"]
    nand = await _gate(api, tenant, sid, "NAND", a=a, b=b)
    assert nand.status == 200, nand.text
    assert (await api.post(f"/api/v1/tfhe/session/{sid}/decrypt", headers=tenant.auth(),
                           json={"ciphertext_b64": nand.json["result_b64"]})).json == {"bit": 0}
    assert (await api.request("DELETE", f"/api/v1/tfhe/session/{sid}",
                              headers=tenant.auth())).status == 204


@pytest.fixture(scope="module")
def toy_3_client() -> ToyTfheClient:
    return ToyTfheClient("toy_3")


@pytest.fixture
async def blind(api: Api, mesh: Stack, toy_3_client: ToyTfheClient) -> tuple[Tenant, str]:
    """A blind toy_3 session, on the module's client key, of a new payg account."""
    tenant = await create_account(mesh, plan="payg")
    reply = await api.post("/api/v1/tfhe/eval-session", headers=tenant.auth(),
                           json={"eval_key_b64": toy_3_client.archive_b64()})
    assert reply.status == 201, reply.text
    assert reply.headers.get("X-Security-Warning")
    assert (reply.json["preset"], reply.json["is_blind"]) == ("toy_3", True)
    return tenant, reply.json["session_id"]


async def test_blind_mode_truth_tables(api: Api, blind, toy_3_client: ToyTfheClient) -> None:
    tenant, sid = blind
    client = toy_3_client
    for op, table in THREE_INPUT.items():
        for a, b, c in INPUTS:
            inputs = {name: client.encrypt(bit, MODULUS[op])
                      for name, bit in zip("abc", (a, b, c), strict=True)}
            reply = await _gate(api, tenant, sid, op, **inputs)
            assert reply.status == 200, reply.text
            assert (reply.json["bootstraps"], reply.json["cost_units"]) == (1, 5)
            assert client.decrypt(reply.json["result_b64"]) == table(a, b, c), (op, a, b, c)
            # The output carries the modulus of the gate's inputs.
            assert client.plaintext_modulus(reply.json["result_b64"]) == MODULUS[op]
    assert await _fcu_used(api, tenant) == 5 * 3 * len(INPUTS)


async def test_batch_truth_tables_and_chains(api: Api, blind,
                                             toy_3_client: ToyTfheClient) -> None:
    tenant, sid = blind
    client = toy_3_client
    gates, expected = [], []
    for op, table in THREE_INPUT.items():
        for row in INPUTS:
            gates.append({"op": op, **{name: client.encrypt(bit, MODULUS[op])
                                       for name, bit in zip("abc", row, strict=True)}})
            expected.append(table(*row))
    reply = await _batch(api, tenant, sid, gates)
    assert reply.status == 200, reply.text
    assert [client.decrypt(r) for r in reply.json["results_b64"]] == expected
    assert (reply.json["gates_evaluated"], reply.json["levels"]) == (24, 1)
    # 24 bootstraps x 5 FCU, no discount below 32 gates.
    assert (reply.json["bootstraps"], reply.json["cost_units"]) == (24, 120)
    assert reply.json["discount_applied"] is False

    # Chains: AND3 and OR3 of AND3/OR3 outputs (nine-bit AND and OR), MAJORITY of NAND
    # outputs, NAND of MAJORITY outputs.
    for bits in ([1] * 9, [1, 1, 1, 1, 0, 1, 1, 1, 1], [0] * 9, [0, 0, 0, 0, 0, 0, 0, 1, 0]):
        six = [client.encrypt(bit, 6) for bit in bits]
        four = [client.encrypt(bit, 4) for bit in bits[:6]]
        gates = [{"op": "AND3", "a": six[0], "b": six[1], "c": six[2]},         # 0
                 {"op": "AND3", "a": six[3], "b": six[4], "c": six[5]},         # 1
                 {"op": "AND3", "a": six[6], "b": six[7], "c": six[8]},         # 2
                 {"op": "AND3", "a": "$0", "b": "$1", "c": "$2"},               # 3: AND of 9
                 {"op": "OR3", "a": "$0", "b": "$1", "c": "$2"},                # 4
                 {"op": "NAND", "a": four[0], "b": four[1]},                    # 5
                 {"op": "NAND", "a": four[2], "b": four[3]},                    # 6
                 {"op": "NAND", "a": four[4], "b": four[5]},                    # 7
                 {"op": "MAJORITY", "a": "$5", "b": "$6", "c": "$7"},           # 8
                 {"op": "MAJORITY", "a": four[0], "b": four[2], "c": four[4]},  # 9
                 {"op": "NAND", "a": "$8", "b": "$9"},                          # 10
                 {"op": "OR3", "a": six[0], "b": six[4], "c": six[8]}]          # 11
        reply = await _batch(api, tenant, sid, gates)
        assert reply.status == 200, reply.text
        out = [client.decrypt(r) for r in reply.json["results_b64"]]
        threes = [int(all(bits[i:i + 3])) for i in (0, 3, 6)]
        nands = [1 - (bits[i] & bits[i + 1]) for i in (0, 2, 4)]
        majority_of_nands = int(sum(nands) >= 2)
        majority = int(bits[0] + bits[2] + bits[4] >= 2)
        assert out[3] == int(all(bits)), bits
        assert out[4] == int(any(threes)), bits
        assert out[8] == majority_of_nands and out[9] == majority, bits
        assert out[10] == 1 - (majority_of_nands & majority), bits
        assert out[11] == bits[0] | bits[4] | bits[8], bits
        assert reply.json["levels"] == 3 and reply.json["bootstraps"] == 12


async def test_plaintext_modulus_mismatches_are_refused(
        api: Api, blind, toy_3_client: ToyTfheClient) -> None:
    """OpenFHE would evaluate another function on them (AND3 on modulus-4 ciphertexts is
    MAJORITY): each is a clear 400, and costs nothing."""
    tenant, sid = blind
    client = toy_3_client
    four = [client.encrypt(bit) for bit in (1, 1, 0)]
    six = [client.encrypt(bit, 6) for bit in (1, 1, 0)]
    for op, inputs, modulus in (("AND3", four, 4), ("OR3", [six[0], six[1], four[2]], 4),
                                ("MAJORITY", six, 6)):
        reply = await _gate(api, tenant, sid, op, a=inputs[0], b=inputs[1], c=inputs[2])
        assert reply.status == 400, reply.text
        error = reply.json["error"]
        assert error["code"] == "INVALID_CIPHERTEXT" and error["details"]["plaintext_modulus"] \
            == modulus, error
        assert f"{op} takes ciphertexts of plaintext modulus {MODULUS[op]}" in error["message"]
    nand = await _gate(api, tenant, sid, "NAND", a=six[0], b=four[1])
    assert nand.status == 400 and nand.json["error"]["code"] == "INVALID_CIPHERTEXT"
    assert nand.json["error"]["details"]["input"] == "a"
    not_ = await _gate(api, tenant, sid, "NOT", a=six[0])
    assert not_.status == 400 and not_.json["error"]["code"] == "INVALID_CIPHERTEXT"
    for gates, ref in (
            ([{"op": "NAND", "a": four[0], "b": four[1]},
              {"op": "AND3", "a": "$0", "b": six[1], "c": six[2]}], 0),
            ([{"op": "OR3", "a": six[0], "b": six[1], "c": six[2]},
              {"op": "XOR", "a": "$0", "b": four[2]}], 0),
            ([{"op": "AND3", "a": six[0], "b": six[1], "c": six[2]},
              {"op": "MAJORITY", "a": four[0], "b": four[1], "c": "$0"}], 0)):
        reply = await _batch(api, tenant, sid, gates)
        assert reply.status == 400, reply.text
        assert reply.json["error"]["code"] == "INVALID_BATCH"
        assert (reply.json["error"]["details"]["gate"], reply.json["error"]["details"]["ref"]) \
            == (1, ref)
    assert await _fcu_used(api, tenant) == 0


async def test_three_input_gates_need_a_three_input_preset(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh, plan="payg")
    made = await api.post("/api/v1/tfhe/session", headers=tenant.auth(), json={"preset": "toy"})
    assert made.status == 201, made.text
    sid = made.json["session_id"]
    cts = (await api.post(f"/api/v1/tfhe/session/{sid}/encrypt", headers=tenant.auth(),
                          json={"bits": [1, 0, 1]})).json["ciphertexts_b64"]
    for op in THREE_INPUT:
        reply = await _gate(api, tenant, sid, op, a=cts[0], b=cts[1], c=cts[2])
        assert reply.status == 400 and reply.json["error"]["code"] == "INVALID_OPERATION"
        assert "toy_3" in reply.json["error"]["message"]
    six = await api.post(f"/api/v1/tfhe/session/{sid}/encrypt", headers=tenant.auth(),
                         json={"bit": 1, "plaintext_modulus": 6})
    assert six.status == 400 and six.json["error"]["code"] == "VALIDATION_ERROR"
    assert six.json["error"]["details"] == {"field": "plaintext_modulus"}
    five = await api.post(f"/api/v1/tfhe/session/{sid}/encrypt", headers=tenant.auth(),
                          json={"bit": 1, "plaintext_modulus": 5})
    assert five.status in (400, 422) and "error" in five.json
    assert await _fcu_used(api, tenant) == 0


async def test_pricing_and_presets(api: Api) -> None:
    prices = await api.get("/api/v1/tfhe/pricing")
    assert prices.status == 200
    table = {gate["op"]: gate for gate in prices.json["gates"]}
    for op in THREE_INPUT:
        assert (table[op]["bootstraps"], table[op]["cost_units"]) == (1, 5)
        assert table[op]["inputs"] == ["a", "b", "c"]
        assert table[op]["plaintext_modulus"] == MODULUS[op]
        assert table[op]["presets"] == THREE_INPUT_PRESETS
    assert set(THREE_INPUT_PRESETS) < set(table["NAND"]["presets"])
    assert (table["NAND"]["plaintext_modulus"], table["MUX"]["inputs"]) == (4, ["a", "b", "sel"])
    doc = (await api.get("/api/v1/openapi.json")).json
    enum = doc["components"]["schemas"]["TfheSessionRequest"]["properties"]["preset"]["enum"]
    assert set(THREE_INPUT_PRESETS) < set(enum)


async def test_keys_service_generates_three_input_keys(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    reply = await api.post("/api/v1/keys/generate", headers=tenant.auth(),
                           json={"scheme": "tfhe", "preset": "toy_3"})
    assert reply.status == 201, reply.text
    assert (reply.json["preset"], reply.json["mode"]) == ("toy_3", "server")
    assert reply.headers["X-Security-Warning"]
    session = await api.post("/api/v1/tfhe/eval-session", headers=tenant.auth(),
                             json={"key_id": reply.json["key_id"]})
    assert session.status == 201, session.text
    assert session.json["preset"] == "toy_3"


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("WAVIS_SLOW_TESTS") != "1",
                    reason="fast_128_3 keygen takes ~7-12 s and ~1.4 GB per worker: "
                           "WAVIS_SLOW_TESTS=1")
async def test_fast_128_3_server_session(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh, plan="payg")
    made, session = await ready_session(api, tenant, "fast_128_3")
    assert "X-Security-Warning" not in made.headers
    assert (session["security_bits"], session["big_n"]) == (128, 1024)
    sid = session["session_id"]
    results, expected = [], []
    for op, row in (("AND3", (1, 1, 1)), ("AND3", (1, 0, 1)), ("OR3", (0, 0, 0)),
                    ("OR3", (0, 1, 0)), ("MAJORITY", (1, 0, 1)), ("MAJORITY", (0, 0, 1))):
        cts = (await api.post(f"/api/v1/tfhe/session/{sid}/encrypt", headers=tenant.auth(),
                              json={"bits": list(row), "plaintext_modulus": MODULUS[op]})
               ).json["ciphertexts_b64"]
        reply = await _gate(api, tenant, sid, op, a=cts[0], b=cts[1], c=cts[2])
        assert reply.status == 200, reply.text
        assert reply.json["bootstraps"] == 1
        results.append(reply.json["result_b64"])
        expected.append(THREE_INPUT[op](*row))
    decrypted = await api.post(f"/api/v1/tfhe/session/{sid}/decrypt", headers=tenant.auth(),
                               json={"ciphertexts_b64": results})
    assert decrypted.json["bits"] == expected
    assert (await api.request("DELETE", f"/api/v1/tfhe/session/{sid}",
                              headers=tenant.auth())).status == 204
