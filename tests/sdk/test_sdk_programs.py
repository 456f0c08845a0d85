"""CKKS programs through the SDK on the real stack: built on handles (sync and async), sent
raw, queued and waited for; blind results decrypted here, server ones there, against numpy;
refusals typed with their step; compact downloads."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import wavis_sdk
from sdk_support import sdk_client
from wavis_sdk.ckks import CkksKeys

from support.accounts import Tenant
from wavis.devstack.stack import Stack

TOLERANCE = 1e-3  # max abs error at 40-bit scale, N=2048 (testing parameters)
rng = np.random.default_rng(21)


@pytest.fixture(scope="module")
def blind(ckks_keys: CkksKeys, mesh: Stack, tenant: Tenant,
          tmp_path_factory: pytest.TempPathFactory) -> tuple[CkksKeys, str]:
    """The session's local keys, uploaded once. (Uploaded again after keys of other
    parameters, they can be refused: see the report on the keys service's worker.)"""
    if ckks_keys.key_id is None:
        with sdk_client(mesh, tenant, tmp_path_factory.mktemp("state")) as client:
            client.keys.upload(ckks_keys)
    assert ckks_keys.key_id is not None
    return ckks_keys, ckks_keys.key_id


def _close(actual: np.ndarray, expected: np.ndarray) -> None:
    error = float(np.max(np.abs(actual - expected)))
    assert error < TOLERANCE, error


def test_a_program_on_handles_decrypts_here(client: wavis_sdk.Client, blind) -> None:
    keys, key_id = blind
    x, w = rng.uniform(-1, 1, keys.slot_count), rng.uniform(-1, 1, keys.slot_count)
    cx = client.ciphertexts.upload(keys.encrypt(x))
    cw = client.ciphertexts.upload(keys.encrypt(w))
    with client.program(key_id, return_ciphertext=True) as p:
        y = p.input(cx) * cw + 1  # a stored ciphertext is an input by itself
        z = y.rotate(1) - y
        q = (p.input(cx) * 0.5).poly_eval([0.1, 0.2, 0.3])
        p.output(y, z, q)
    assert p.result is not None and p.result.steps_evaluated == 7
    # multiply 5, add-plain 1, rotate 5, negate 1, add 1, multiply-plain 2, poly-eval 10
    assert p.result.cost_units == 25
    _close(keys.decrypt(y), x * w + 1)
    _close(keys.decrypt(z), np.roll(x * w + 1, -1) - (x * w + 1))
    _close(keys.decrypt(q), np.polynomial.polynomial.polyval(x * 0.5, [0.1, 0.2, 0.3]))
    assert q.output.level == 3 and q.output.noise_budget_remaining == 0
    compact = client.ciphertexts.get(y, compact=True)
    full = client.ciphertexts.get(y)
    assert compact.data is not None and full.data is not None
    assert len(compact.data) < len(full.data) / 2
    _close(keys.decrypt(compact), x * w + 1)


def test_the_async_client_runs_programs_on_server_keys(mesh: Stack, tenant: Tenant,
                                                       tmp_path: Path) -> None:
    x = rng.uniform(-1, 1, 8)

    async def run() -> tuple[wavis_sdk.Decrypted, wavis_sdk.Decrypted]:
        client = wavis_sdk.AsyncClient(tenant.api_key, mesh.gateway_url,
                                       state_dir=str(tmp_path),
                                       default_headers={"X-Forwarded-For": tenant.client_ip})
        async with client:
            # A 55-bit scale leaves room for the noise server-mode decryption adds.
            key = await client.keys.generate_ckks(2048, 55, 3, "testing")
            cx = await client.ciphertexts.encrypt(key.key_id, x.tolist())
            async with client.program(key.key_id) as p:  # an id: its slot count is fetched
                y = 2 - p.input(cx) * p.input(cx)
            return (await client.ciphertexts.decrypt(y, count=8),
                    await client.ciphertexts.decrypt(y, count=8, noise_margin_bits=8))

    decrypted, wider = asyncio.run(run())
    error = np.max(np.abs(np.array(decrypted.values) - (2 - x * x)))
    assert error < 2 ** -decrypted.precision_bits, (error, decrypted.precision_bits)
    # A wider margin: stated, and a precision lower by the difference.
    assert wider.noise_margin_bits == 8 == decrypted.noise_margin_bits + 2
    assert wider.precision_bits == pytest.approx(decrypted.precision_bits - 2)


def test_raw_programs_queued_programs_and_refusals(client: wavis_sdk.Client, blind) -> None:
    keys, key_id = blind
    x = rng.uniform(-1, 1, keys.slot_count)
    cx = client.ciphertexts.upload(keys.encrypt(x))
    steps = [{"op": "multiply", "args": ["x", "x"]}, {"op": "negate", "args": ["$0"]}]
    result = client.compute.program(key_id, {"x": cx}, steps, return_ciphertext=True)
    assert [o.ref for o in result.outputs] == ["$1"] and result.cost_units == 6
    _close(keys.decrypt(result["$1"]), -x * x)
    queued = client.compute.submit_program(key_id, {"x": cx}, steps, outputs=["$0", "$1"])
    waited = queued.wait_program(timeout=60)
    assert [o.ref for o in waited.outputs] == ["$0", "$1"]
    with pytest.raises(wavis_sdk.ValidationError):
        queued.wait(timeout=5)  # a program: wait_program
    with pytest.raises(wavis_sdk.ValidationError) as refused:
        client.compute.program(key_id, {"x": cx}, [{"op": "negate", "args": ["$3"]}])
    assert refused.value.code == "INVALID_PROGRAM" and refused.value.details["step"] == 0
    with pytest.raises(wavis_sdk.ValidationError) as exhausted:
        with client.program(key_id) as p:
            value = p.input(cx)
            for _ in range(4):  # one level more than the key has
                value = value * value
    assert exhausted.value.code == "NOISE_BUDGET_EXHAUSTED"
    assert exhausted.value.details["step"] == 3
