"""CKKS programs (POST /compute/program) through HTTP: each operation inside a program
decrypts to numpy's result, graphs with shared operands, refusals named by step before
anything runs (nothing billed, nothing stored), only outputs stored, programs beside other
accounts' single operations."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import numpy as np
import openfhe as fhe
import pytest

from support.accounts import Tenant, create_account, fresh_ip
from support.ckks_account import SLOTS, CkksAccount, ckks_account, generate_key
from support.fhe_client import make_ckks_client
from support.http import Api
from wavis.core.ckks_programs import MAX_PROGRAM_STEPS, MAX_RETURNED_OUTPUTS
from wavis.devstack.stack import Stack

TOLERANCE = 1e-3  # max abs error at 40-bit scale, N=2048 (blind keys, decrypted here)
rng = np.random.default_rng(11)
WIDER_MARGIN = 8  # the test stack's default margin (6) and two bits


def _vector(low: float = -1.0, high: float = 1.0) -> np.ndarray:
    return rng.uniform(low, high, SLOTS)


def _close(actual: np.ndarray, expected: np.ndarray, tolerance: float = TOLERANCE) -> None:
    error = np.max(np.abs(actual - expected))
    assert error < tolerance, error


@pytest.fixture
async def account(api: Api, mesh: Stack) -> CkksAccount:
    return await ckks_account(api, mesh)


async def test_every_operation_in_a_program_matches_numpy(account: CkksAccount) -> None:
    x, y, plain = _vector(), _vector(), _vector()
    d = 16
    matrix = rng.uniform(-1, 1, (d, d))
    v = np.zeros(SLOTS)
    v[:d] = rng.uniform(-1, 1, d)
    inputs = {"x": await account.encrypt(x), "y": await account.encrypt(y),
              "v": await account.encrypt(v)}
    coeffs = [0.5, 0.197, 0, -0.004]
    steps: list[dict[str, Any]] = [
        {"op": "add", "args": ["x", "y"]},                                              # 0
        {"op": "multiply", "args": ["x", "y"], "scale_stable": True},                   # 1
        {"op": "add-plain", "args": ["x"], "plain_operand": plain.tolist()},            # 2
        {"op": "multiply-plain", "args": ["x"], "plain_operand": plain.tolist(),
         "scale_stable": True},                                                         # 3
        {"op": "negate", "args": ["x"]},                                                # 4
        {"op": "multiply", "args": ["x", "y"]},                                         # 5
        {"op": "rescale", "args": ["$5"]},                                              # 6
        {"op": "rotate", "args": ["x"], "rotation_steps": 1},                           # 7
        {"op": "rotate", "args": ["x"], "rotation_steps": -4},                          # 8
        {"op": "rotate", "args": ["x"], "rotation_steps": 3},     # composed from 2 + 1    9
        {"op": "poly-eval", "args": ["x"], "polynomial_coeffs": coeffs},                # 10
        {"op": "matmul", "args": ["v"], "matrix": matrix.tolist(), "scale_stable": True},  # 11
        {"op": "add", "args": ["$6", "x"], "scale_stable": True},  # levels aligned      12
    ]
    expected = [x + y, x * y, x + plain, x * plain, -x, None, x * y, np.roll(x, -1),
                np.roll(x, 4), np.roll(x, -3), np.polynomial.polynomial.polyval(x, coeffs),
                None, x * y + x]
    outputs = [f"${k}" for k, value in enumerate(expected) if value is not None] + ["$11"]
    before = await account.stored()
    reply = await account.program(inputs, steps, outputs=outputs)
    assert reply.status == 200, reply.text
    body = reply.json
    assert (body["operation"], body["status"], body["steps_evaluated"]) == (
        "program", "completed", len(steps))
    # 1+5+1+2+1+5+1+5+5+5+10+20+1, under the 32 steps of the discount
    assert (body["cost_units"], body["discount_applied"]) == (62, False)
    assert body["cost_usd"] == pytest.approx(62 * 0.000002)
    assert [o["ref"] for o in body["outputs"]] == outputs
    by_ref = {o["ref"]: o for o in body["outputs"]}
    # Products, a polynomial and a 16-wide matmul carry several times a fresh encryption's
    # error, near the default margin: two bits more admit them every time, at the precision
    # each decryption states.
    for k, value in enumerate(expected):
        if value is not None:
            await account.check(by_ref[f"${k}"]["result_ciphertext_id"], value, WIDER_MARGIN)
    product = await account.decrypt(by_ref["$11"]["result_ciphertext_id"],
                                    noise_margin_bits=WIDER_MARGIN)
    _close(product[:d], matrix @ v[:d], account.tolerance)
    # Only the outputs were stored; $5, the product before its rescale, was not.
    assert await account.stored() == before | {o["result_ciphertext_id"]
                                               for o in body["outputs"]}
    # The noise headers describe the output with the least budget left (the poly-eval's).
    lowest = min(o["noise_budget_remaining"] for o in body["outputs"])
    assert by_ref["$10"]["noise_budget_remaining"] == lowest
    assert reply.headers["X-Noise-Budget-Remaining"] == f"{lowest:g}"
    assert reply.headers["X-Security-Warning"]  # testing parameters
    assert await account.fcu_used() == 62


async def test_a_diamond_and_a_default_output(account: CkksAccount) -> None:
    x, y = _vector(), _vector()
    inputs = {"x": await account.encrypt(x), "y": await account.encrypt(y)}
    before = await account.stored()
    reply = await account.program(inputs, [
        {"op": "multiply", "args": ["x", "y"], "scale_stable": True},   # top
        {"op": "rotate", "args": ["$0"], "rotation_steps": 2},          # left
        {"op": "negate", "args": ["$0"]},                               # right
        {"op": "add", "args": ["$1", "$2"]},                            # bottom
        {"op": "multiply", "args": ["$3", "$0"], "scale_stable": True},
    ])
    assert reply.status == 200, reply.text
    (output,) = reply.json["outputs"]
    assert output["ref"] == "$4" and output["level"] == 2
    product = x * y
    await account.check(output["result_ciphertext_id"],
                        (np.roll(product, -2) - product) * product)
    assert await account.stored() == before | {output["result_ciphertext_id"]}


async def test_rotations_of_one_operand_share_its_precomputation(account: CkksAccount) -> None:
    x = _vector()
    inputs = {"x": await account.encrypt(x)}
    steps: list[dict[str, Any]] = [{"op": "multiply", "args": ["x", "x"], "scale_stable": True}]
    shifts = [1, 2, -1, 5, 8, -16]
    steps += [{"op": "rotate", "args": ["$0"], "rotation_steps": s} for s in shifts]
    steps += [{"op": "rotate", "args": ["x"], "rotation_steps": s} for s in shifts]
    outputs = [f"${k}" for k in range(1, len(steps))]
    reply = await account.program(inputs, steps, outputs=outputs)
    assert reply.status == 200, reply.text
    ids = [o["result_ciphertext_id"] for o in reply.json["outputs"]]
    for index, shift in enumerate(shifts):
        await account.check(ids[index], np.roll(x * x, -shift))
        await account.check(ids[len(shifts) + index], np.roll(x, -shift))


async def test_blind_programs_decrypt_on_the_client(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    client = make_ckks_client(ring_dim=2048, depth=3, scale_bits=40, rotations=(1, 2, -1))
    key = (await api.post("/api/v1/keys/upload", headers=tenant.auth(),
                          json={"scheme": "ckks", **client.wire()})).json
    assert key["scaling_technique"] == "FLEXIBLEAUTO"
    x, y = rng.uniform(-1, 1, 8), rng.uniform(-1, 1, 8)
    ids = {}
    for name, values in (("x", x), ("y", y)):
        ciphertext = client.context.Encrypt(client.keys.publicKey,
                                            client.context.MakeCKKSPackedPlaintext(values.tolist()))
        reply = await api.post("/api/v1/ciphertexts", headers=tenant.auth(), json={
            "key_id": key["key_id"],
            "data": base64.b64encode(fhe.Serialize(ciphertext, fhe.BINARY)).decode()})
        assert reply.status == 201, reply.text
        ids[name] = reply.json["ciphertext_id"]
    coeffs = [0.1, 0.5, 0.25]
    steps = [
        {"op": "multiply", "args": ["x", "y"]},
        {"op": "rescale", "args": ["$0"]},  # automatic scaling: a free no-op
        {"op": "add", "args": ["$1", "x"], "scale_stable": True},
        {"op": "rotate", "args": ["$2"], "rotation_steps": 1},
        {"op": "rotate", "args": ["$2"], "rotation_steps": -1},
        {"op": "poly-eval", "args": ["y"], "polynomial_coeffs": coeffs},
        {"op": "negate", "args": ["$5"]},
    ]
    expected = {"$2": x * y + x, "$3": np.roll(np.pad(x * y + x, (0, 1016)), -1)[:8],
                "$4": np.roll(np.pad(x * y + x, (0, 1016)), 1)[:8],
                "$6": -np.polynomial.polynomial.polyval(y, coeffs)}
    for compact in (False, True):
        reply = await api.post("/api/v1/compute/program", headers=tenant.auth(), json={
            "key_id": key["key_id"], "inputs": ids, "steps": steps, "outputs": list(expected),
            "return_ciphertext": True, "compact": compact})
        assert reply.status == 200, reply.text
        assert reply.json["cost_units"] == 5 + 0 + 1 + 5 + 5 + 10 + 1
        for output in reply.json["outputs"]:
            data = base64.b64decode(output["result_ciphertext"])
            plain = client.context.Decrypt(fhe.DeserializeCiphertextString(data, fhe.BINARY),
                                           client.keys.secretKey)
            plain.SetLength(8)
            _close(np.array(plain.GetRealPackedValue()), expected[output["ref"]])


async def test_refusals_name_the_step_and_cost_nothing(account: CkksAccount, api: Api,
                                                       mesh: Stack) -> None:
    x = _vector()
    inputs = {"x": await account.encrypt(x), "y": await account.encrypt(x)}
    square = {"op": "multiply", "args": ["x", "x"], "scale_stable": True}
    chain = [square] + [{"op": "multiply", "args": [f"${k}", f"${k}"], "scale_stable": True}
                        for k in range(3)]  # the 4th multiply needs a 4th level of 3
    cases: list[tuple[list[dict[str, Any]], dict[str, Any], str, int]] = [
        ([square, {"op": "add", "args": ["$0", "$2"]}, square], {}, "INVALID_PROGRAM", 1),
        ([square, {"op": "negate", "args": ["$1"]}], {}, "INVALID_PROGRAM", 1),  # itself
        ([{"op": "negate", "args": ["z"]}], {}, "INVALID_PROGRAM", 0),
        ([square, {"op": "transmogrify", "args": ["x"]}], {}, "INVALID_PROGRAM", 1),
        ([{"args": ["x"]}], {}, "INVALID_PROGRAM", 0),
        ([square, {"op": "rotate", "args": ["$0"]}], {}, "INVALID_PROGRAM", 1),
        ([{"op": "add-plain", "args": ["x"]}], {}, "INVALID_PROGRAM", 0),
        ([{"op": "poly-eval", "args": ["x"]}], {}, "INVALID_PROGRAM", 0),
        ([{"op": "add", "args": ["x"]}], {}, "INVALID_PROGRAM", 0),
        ([{"op": "negate", "args": ["$x"]}], {}, "INVALID_PROGRAM", 0),
        ([{"op": "negate", "args": ["x"]}] * (MAX_PROGRAM_STEPS + 1), {}, "INVALID_PROGRAM",
         MAX_PROGRAM_STEPS),
        (chain, {}, "NOISE_BUDGET_EXHAUSTED", 3),
        ([{"op": "multiply", "args": ["x", "y"]}, {"op": "add", "args": ["$0", "x"]}], {},
         "MISMATCHED_LEVEL", 1),
        ([square, {"op": "multiply-plain", "args": ["$0"], "plain_operand": [1.0, 2.0]}],
         {}, "INVALID_PLAIN_OPERAND", 1),
        ([{"op": "negate", "args": ["x"]}, {"op": "rotate", "args": ["$0"],
                                             "rotation_steps": 0}], {}, "VALIDATION_ERROR", 1),
        ([{"op": "negate", "args": ["x"]}, {"op": "bootstrap", "args": ["$0"]}], {},
         "VALIDATION_ERROR", 1),
    ]
    for steps, extra, code, step in cases:
        reply = await account.program(inputs, steps, **extra)
        assert (reply.status, reply.json["error"]["code"]) == (400, code), (steps[:3], reply.text)
        assert reply.json["error"]["details"]["step"] == step, reply.json
    for outputs in (["$5"], ["$0", "$0"], ["x"]):
        reply = await account.program(inputs, [square], outputs=outputs)
        assert reply.status == 400 and reply.json["error"]["code"] == "INVALID_PROGRAM"
    # Not a number, deep in a step: the shape of the body is wrong (422).
    shape = await account.program(inputs, [{"op": "add-plain", "args": ["x"],
                                            "plain_operand": [1.0] * (SLOTS - 1) + ["1"]}])
    assert shape.status == 422 and shape.json["error"]["code"] == "SCHEMA_MISMATCH"
    assert shape.json["error"]["details"] == {"field": f"steps.0.plain_operand.{SLOTS - 1}"}
    no_steps = await account.program(inputs, [])
    assert no_steps.status == 400 and no_steps.json["error"]["code"] == "INVALID_PROGRAM"
    assert no_steps.json["error"]["details"]["field"] == "steps"
    # A key with rotation 1 only: rotating by 2 needs a key it does not have.
    narrow = await ckks_account(api, mesh, rotations=[1])
    narrow_inputs = {"x": await narrow.encrypt(x)}
    missing = await narrow.program(narrow_inputs, [
        {"op": "rotate", "args": ["x"], "rotation_steps": 1},
        {"op": "rotate", "args": ["$0"], "rotation_steps": 2}])
    assert missing.status == 400 and missing.json["error"]["code"] == "MISSING_ROTATION_KEY"
    assert missing.json["error"]["details"]["step"] == 1
    # Inputs of another key (400) or another account (404), as for single operations.
    other_key = await generate_key(api, account.tenant)
    other = await CkksAccount(api, mesh, account.tenant, other_key).encrypt(x)
    mixed = await account.program({"x": inputs["x"], "o": other},
                                  [{"op": "add", "args": ["x", "o"]}])
    assert mixed.status == 400 and mixed.json["error"]["code"] == "MISMATCHED_KEY"
    foreign = await narrow.program({"x": inputs["x"]}, [{"op": "negate", "args": ["x"]}])
    assert foreign.status == 404 and foreign.json["error"]["code"] == "CIPHERTEXT_NOT_FOUND"
    # Nothing ran: nothing billed, nothing stored.
    assert await account.fcu_used() == 0 and await narrow.fcu_used() == 0
    assert await account.stored() == set(inputs.values())


async def test_long_programs_get_the_batch_discount(account: CkksAccount) -> None:
    x = _vector()
    inputs = {"x": await account.encrypt(x)}
    steps = [{"op": "add", "args": ["x", "x"]}] + [
        {"op": "add", "args": [f"${k}", "x"]} for k in range(39)]
    reply = await account.program(inputs, steps)
    assert reply.status == 200, reply.text
    assert (reply.json["cost_units"], reply.json["discount_applied"]) == (28, True)  # 40 * 0.7
    # 41 x carries 41 times x's error: more than the key's decryption hides, so it is
    # checked here with the key's own secret (docs/security.md).
    total = reply.json["outputs"][0]["result_ciphertext_id"]
    assert (await account.api.post(f"/api/v1/ciphertexts/{total}/decrypt",
                                   headers=account.tenant.auth())).status == 400
    _close(await account.decrypt_here(total, SLOTS), 41 * x, tolerance=1e-2)
    assert await account.fcu_used() == 28


async def test_programs_beside_other_accounts_single_operations(api: Api, mesh: Stack) -> None:
    first, second = await ckks_account(api, mesh), await ckks_account(api, mesh)
    x, y = _vector(), _vector()
    cx, cy = await first.encrypt(x), await second.encrypt(y)

    async def program() -> str:
        reply = await first.program({"x": cx}, [
            {"op": "multiply", "args": ["x", "x"], "scale_stable": True},
            {"op": "rotate", "args": ["$0"], "rotation_steps": 1},
            {"op": "add", "args": ["$0", "$1"]},
            {"op": "multiply", "args": ["$2", "x"], "scale_stable": True}])
        assert reply.status == 200, reply.text
        return str(reply.json["outputs"][0]["result_ciphertext_id"])

    async def single() -> str:
        reply = await api.post("/api/v1/compute/multiply", headers=second.tenant.auth(), json={
            "key_id": second.key["key_id"], "ciphertext_ids": [cy, cy], "scale_stable": True})
        assert reply.status == 200, reply.text
        return str(reply.json["result_ciphertext_id"])

    results = await asyncio.gather(*(program() if i % 3 == 0 else single() for i in range(9)))
    squared = x * x
    for index, result in enumerate(results):
        if index % 3 == 0:
            await first.check(result, (squared + np.roll(squared, -1)) * x)
        else:
            await second.check(result, y * y)


async def test_returned_outputs_fit_in_one_answer(api: Api, mesh: Stack) -> None:
    """16 outputs with their bytes (~390 KB each here): over gRPC's default 4 MB message."""
    params = {"poly_degree": 4096, "scale_bits": 40, "max_depth": 5, "security_level": "testing"}
    account = await ckks_account(api, mesh, params=params)
    inputs = {"x": await account.encrypt(rng.uniform(-1, 1, 2048))}
    steps = [{"op": "negate", "args": ["x"]} for _ in range(MAX_RETURNED_OUTPUTS + 1)]
    outputs = [f"${k}" for k in range(MAX_RETURNED_OUTPUTS)]
    reply = await account.program(inputs, steps, outputs=outputs, return_ciphertext=True)
    assert reply.status == 200, reply.text[:300]
    sizes = [len(base64.b64decode(o["result_ciphertext"])) for o in reply.json["outputs"]]
    assert sum(sizes) > 4 * 1024 * 1024
    fourth = reply.json["outputs"][3]
    stored = await api.get(f"/api/v1/ciphertexts/{fourth['result_ciphertext_id']}",
                           headers=account.tenant.auth())
    assert stored.json["data"] == fourth["result_ciphertext"]
    # More outputs than one answer carries: refused before anything runs, stored or not.
    too_many = await account.program(inputs, steps, outputs=[*outputs, f"${len(outputs)}"],
                                     return_ciphertext=True)
    assert too_many.status == 400 and too_many.json["error"]["code"] == "INVALID_PROGRAM"
    assert too_many.json["error"]["details"]["field"] == "outputs"
    stored_only = await account.program(inputs, steps, outputs=[*outputs, f"${len(outputs)}"])
    assert stored_only.status == 200 and len(stored_only.json["outputs"]) == len(outputs) + 1


async def test_a_program_is_one_operation_of_a_trial(api: Api, mesh: Stack) -> None:
    ip = fresh_ip()
    trial = await api.post("/api/v1/onboarding/temp-key", headers={"X-Forwarded-For": ip})
    assert trial.status == 200, trial.text
    tenant = Tenant("", trial.json["api_key"], ip)  # only its key and address are used
    account = CkksAccount(api, mesh, tenant, await generate_key(api, tenant))
    inputs = {"x": await account.encrypt(_vector())}
    steps = [{"op": "negate", "args": ["x"]}] + [
        {"op": "negate", "args": [f"${k}"]} for k in range(11)]  # 12 steps
    statuses = [(await account.program(inputs, steps)).status for _ in range(11)]
    assert statuses[:10] == [200] * 10  # the trial's 10 operations, one per program
    assert statuses[10] == 402


async def test_a_program_bootstraps_and_goes_on(api: Api, mesh: Stack) -> None:
    """Levels spent, refreshed by a bootstrap and spent again in one program (which runs
    asynchronously, as every bootstrap does)."""
    params = {"poly_degree": 4096, "scale_bits": 59, "max_depth": 2, "security_level": "testing"}
    account = await ckks_account(api, mesh, params=params, bootstrappable=True, rotations=[1])
    x = rng.uniform(-0.5, 0.5, 2048)
    inputs = {"x": await account.encrypt(x)}
    spend = {"op": "multiply-plain", "plain_operand": [1.0] * 2048, "scale_stable": True}
    levels = account.key["max_level"]
    steps = [spend | {"args": ["x"]}] + [spend | {"args": [f"${k}"]} for k in range(levels - 1)]
    refused = await account.program(inputs, [*steps, spend | {"args": [f"${levels - 1}"]}])
    assert refused.status == 400 and refused.json["error"]["details"]["step"] == levels
    steps.append({"op": "bootstrap", "args": [f"${levels - 1}"]})
    steps += [spend | {"args": [f"${levels + k}"]} for k in range(params["max_depth"])]
    queued = await account.program(inputs, steps)
    assert queued.status == 202, queued.text
    for _ in range(600):
        polled = await api.get(f"/api/v1/compute/{queued.json['op_id']}",
                               headers=account.tenant.auth())
        if polled.json["status"] in ("completed", "failed"):
            break
        await asyncio.sleep(0.1)
    assert polled.json["status"] == "completed", polled.json
    (output,) = polled.json["outputs"]
    # The bootstrap gave back the levels the key promised (max_depth), all spent again.
    assert (output["level"], output["noise_budget_remaining"]) == (levels, 0)
    assert polled.json["cost_units"] == 2 * (levels + params["max_depth"]) + 50
    # Bootstrapping's error is more than the key's decryption hides: checked here, with the
    # key's own secret (docs/security.md).
    values = await account.decrypt_here(output["result_ciphertext_id"], 2048)
    assert np.max(np.abs(values - x)) < 1e-2
