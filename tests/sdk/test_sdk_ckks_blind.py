"""Blind CKKS through the SDK on the real stack: keys made here, every operation on the
server, decrypted here and compared with numpy."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest
import wavis_sdk
from sdk_support import sdk_client
from wavis_sdk.ckks import CkksKeys

TOLERANCE = 1e-3  # max abs error at 40-bit scale, N=2048 (testing parameters)
rng = np.random.default_rng(15)


@pytest.fixture(scope="module")
def uploaded(ckks_keys: CkksKeys, mesh, tenant, tmp_path_factory) -> tuple[CkksKeys, str]:
    with sdk_client(mesh, tenant, tmp_path_factory.mktemp("state")) as client:
        key = client.keys.upload(ckks_keys)
    assert key.mode == "blind" and key.scheme == "ckks" and key.status == "ready"
    assert key.params is not None and key.params["poly_degree"] == 2048
    assert key.scaling_technique == "FLEXIBLEAUTO" and key.max_level == 3
    assert key.security_warning  # testing parameters say so on every answer
    assert ckks_keys.key_id == key.key_id
    return ckks_keys, key.key_id


def _close(actual: np.ndarray, expected: np.ndarray) -> None:
    error = float(np.max(np.abs(actual - expected)))
    assert error < TOLERANCE, error


def test_every_operation_decrypts_to_numpy(client: wavis_sdk.Client, uploaded) -> None:
    keys, key_id = uploaded
    slots = keys.slot_count
    x, y, plain = (rng.uniform(-1, 1, slots) for _ in range(3))
    cx = client.ciphertexts.upload(keys.encrypt(x))
    cy = client.ciphertexts.upload(keys.encrypt(y))
    assert (cx.key_id, cx.level, cx.noise_budget_remaining) == (key_id, 0, 100)
    compute = client.compute
    cases = [
        (compute.add(key_id, cx, cy, return_ciphertext=True), x + y),
        (compute.multiply(key_id, cx, cy, return_ciphertext=True), x * y),
        (compute.add_plain(key_id, cx, plain, return_ciphertext=True), x + plain),
        (compute.multiply_plain(key_id, cx, plain, return_ciphertext=True), x * plain),
        (compute.negate(key_id, cx, return_ciphertext=True), -x),
        (compute.rescale(key_id, cx, return_ciphertext=True), x),  # automatic: a no-op
        (compute.rotate(key_id, cx, 1, return_ciphertext=True), np.roll(x, -1)),
        (compute.rotate(key_id, cx, -3, return_ciphertext=True), np.roll(x, 3)),
        (compute.poly_eval(key_id, cx, [0, 1, 0, -1 / 6, 0, 1 / 120], return_ciphertext=True),
         x - x ** 3 / 6 + x ** 5 / 120),
        (compute.run("add", key_id, [cx, cy], return_ciphertext=True), x + y),
    ]
    for result, expected in cases:
        assert result.result_ciphertext is not None, result.operation
        _close(keys.decrypt(result), expected)
    levels = {result.operation: (result.level, result.noise_budget_remaining)
              for result, _ in cases}
    assert levels["multiply"] == (1, pytest.approx(66.67))
    assert levels["poly-eval"] == (3, 0)  # degree 5 takes 3 levels: the key's whole depth
    assert levels["add"] == (0, 100)
    assert [r.cost_units for r, _ in cases[:2]] == [1, 5]


def test_matmul_block(client: wavis_sdk.Client, uploaded) -> None:
    keys, key_id = uploaded
    d = 16
    matrix, vector = rng.uniform(-1, 1, (d, d)), rng.uniform(-1, 1, d)
    encrypted = client.ciphertexts.upload(keys.encrypt(vector))
    result = client.compute.matmul(key_id, encrypted, matrix.tolist(), return_ciphertext=True)
    values = keys.decrypt(result)
    _close(values[:d], matrix @ vector)
    _close(values[d:2 * d], matrix @ vector)  # repeated with period d
    assert result.cost_units == 20


def test_results_chain_and_the_noise_budget_runs_out(client: wavis_sdk.Client,
                                                     uploaded) -> None:
    keys, key_id = uploaded
    x = rng.uniform(-1.2, 1.2, 8)
    current = client.ciphertexts.upload(keys.encrypt(x))
    expected, budgets = x.copy(), []
    for _ in range(3):
        current = client.compute.multiply(key_id, current, current)  # a result is an input
        expected = expected * expected
        budgets.append((current.noise_budget_remaining, current.noise_budget_warning))
    assert budgets == [(66.67, False), (33.33, True), (0.0, True)]
    assert current.noise_budget_recovery
    downloaded = client.ciphertexts.get(current)
    assert downloaded.level == 3 and downloaded.data
    _close(keys.decrypt(downloaded, length=8), expected)
    with pytest.raises(wavis_sdk.ValidationError) as refused:
        client.compute.multiply(key_id, current, current)
    error = refused.value
    assert error.code == "NOISE_BUDGET_EXHAUSTED" and error.http_status == 400
    assert error.details == {"levels_needed": 1, "levels_remaining": 0}
    assert error.request_id and error.request_id in str(error)


def test_the_server_cannot_decrypt_a_blind_key(client: wavis_sdk.Client, uploaded) -> None:
    keys, key_id = uploaded
    stored = client.ciphertexts.upload(keys.encrypt([1.0]))
    with pytest.raises(wavis_sdk.ValidationError) as refused:
        client.ciphertexts.decrypt(stored)
    assert refused.value.code == "BLIND_KEY"
    with pytest.raises(wavis_sdk.ValidationError) as refused:
        client.ciphertexts.encrypt(key_id, [1.0])
    assert refused.value.code == "BLIND_KEY"
    client.ciphertexts.delete(stored)
    with pytest.raises(wavis_sdk.NotFoundError) as gone:
        client.ciphertexts.get(stored)
    assert gone.value.code == "CIPHERTEXT_NOT_FOUND"


def test_async_operation_waits_for_its_result(client: wavis_sdk.Client, uploaded) -> None:
    keys, key_id = uploaded
    x = rng.uniform(-1, 1, 8)
    stored = client.ciphertexts.upload(keys.encrypt(x))
    operation = client.compute.submit("negate", key_id, [stored])
    assert operation.status.status == "pending" and operation.op_id.startswith("op_")
    result = operation.wait(timeout=30)
    assert result.operation == "negate" and result.op_id == operation.op_id
    _close(keys.decrypt(client.ciphertexts.get(result), length=8), -x)
    assert operation.refresh().done and operation.cancel().status == "completed"
    with pytest.raises(wavis_sdk.ValidationError):  # refused before it is queued
        client.compute.submit("rotate", key_id, [stored], rotation_steps=0)
    with pytest.raises(wavis_sdk.NotFoundError) as unknown:
        client.operations.get("op_missing")
    assert unknown.value.code == "OPERATION_NOT_FOUND"


def test_keys_saved_to_files_decrypt_after_loading(client: wavis_sdk.Client, uploaded,
                                                   tmp_path: Path) -> None:
    keys, key_id = uploaded
    folder = keys.save(tmp_path / "ckks")
    assert stat.S_IMODE((folder / "secret_key.bin").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    loaded = CkksKeys.load(folder)
    assert loaded.key_id == key_id and loaded.params == keys.params
    x = rng.uniform(-1, 1, 4)
    product = client.compute.multiply(key_id, client.ciphertexts.upload(loaded.encrypt(x)),
                                      client.ciphertexts.upload(keys.encrypt(x)),
                                      return_ciphertext=True)
    _close(loaded.decrypt(product, length=4), x * x)
    again = client.keys.upload(CkksKeys.load(folder))  # what was saved uploads as it was
    assert again.key_id != key_id and again.rotations == tuple(keys.rotations)
    other = CkksKeys.generate(2048, 40, 3, "testing", rotations=[])
    with pytest.raises(wavis_sdk.DecryptionError) as wrong:
        other.decrypt(product, length=4)  # another secret key decodes noise: refused
    assert wrong.value.code == "DECRYPTION_FAILED" and wrong.value.http_status is None
