"""CKKS and TFHE key sets: generated keys work, uploads are checked, workers contain crashes.

Only cheap parameter sets run by default (CKKS "testing" rings, one N=8192 128-bit key, TFHE
`toy`); the secure TFHE preset test is marked slow and runs only with WAVIS_SLOW_TESTS=1.
Untrusted bytes are always parsed through FheWorkerPool, so a crash in OpenFHE fails a test
instead of killing pytest.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openfhe
import pytest

from support.fhe_client import make_ckks_client
from wavis.core.errors import WavisError
from wavis.core.tfhe_catalog import PRESETS
from wavis.fhe.binfhe_io import (
    BinFheFormatError,
    deserialize_binfhe_file,
    deserialize_binfhe_from_bytes,
    serialize_binfhe_to_bytes,
)
from wavis.fhe.ckks_keys import (
    KEY_FILES,
    generate_ckks_key,
    inspect_ckks_key,
)
from wavis.fhe.ckks_params import CkksParams, default_rotations, validate_ckks_params
from wavis.fhe.tfhe_keys import generate_tfhe_key, inspect_tfhe_key
from wavis.fhe.workers import FheWorkerPool, WorkerCrashed

TESTING = CkksParams(poly_degree=4096, scale_bits=40, max_depth=2, security_level="testing")


@pytest.fixture(scope="module")
def pool() -> Iterator[FheWorkerPool]:
    workers = FheWorkerPool(workers=2, omp_threads=1)
    yield workers
    workers.close()


@pytest.fixture(scope="module")
def ckks_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("ckks")
    return folder, generate_ckks_key(TESTING, None, "key_made", str(folder))


@pytest.fixture(scope="module")
def tfhe_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("tfhe")
    return folder, generate_tfhe_key("toy", str(folder))


def upload_files(folder: Path, *, rotations: bool = True) -> dict[str, str]:
    names = ["crypto_context", "public_key", "eval_mult_key"]
    if rotations:
        names.append("eval_rotation_keys")
    return {name: str(folder / KEY_FILES[name]) for name in names}


def clear_openfhe_globals() -> None:
    openfhe.ClearEvalMultKeys()
    openfhe.CryptoContext.ClearEvalAutomorphismKeys()
    openfhe.ReleaseAllContexts()


# --- CKKS parameters --------------------------------------------------------------------------


@pytest.mark.parametrize("rotations", [[0], [2048], [-2048], [1, 2.5]])
def test_rotations_must_be_nonzero_ints_inside_the_slots(tmp_path: Path,
                                                         rotations: list[Any]) -> None:
    with pytest.raises(WavisError) as caught:
        generate_ckks_key(TESTING, rotations, "key_made", str(tmp_path))
    assert (caught.value.code, caught.value.details) == ("INVALID_PARAMS", {"field": "rotations"})


async def test_depth_3_at_8192_is_insufficient_for_128_bit(pool: FheWorkerPool,
                                                           tmp_path: Path) -> None:
    # Raised in the worker, it arrives here as the same WavisError.
    with pytest.raises(WavisError) as caught:
        await pool.run(generate_ckks_key, CkksParams(8192, 40, 3, "128-bit"), None, "key_made",
                       str(tmp_path))
    assert caught.value.code == "INSUFFICIENT_SECURITY"
    assert caught.value.details == {"required_poly_degree": 16384}
    assert "16384" in caught.value.message


async def test_scale_bits_openfhe_refuses_is_invalid_params(pool: FheWorkerPool,
                                                           tmp_path: Path) -> None:
    # The API's range reaches 60, but OpenFHE 1.6.1 wants scalingModSize below 60.
    with pytest.raises(WavisError) as caught:
        await pool.run(generate_ckks_key, CkksParams(4096, 60, 1, "testing"), [1], "key_made",
                       str(tmp_path))
    assert (caught.value.code, caught.value.details) == ("INVALID_PARAMS", {"field": "scale_bits"})


# --- CKKS generation --------------------------------------------------------------------------


async def test_generate_128_bit_key_at_8192_depth_1(pool: FheWorkerPool, tmp_path: Path) -> None:
    metadata = await pool.run(generate_ckks_key, CkksParams(8192, 40, 1, "128-bit"), None,
                              "key_made", str(tmp_path))
    assert metadata["params"]["poly_degree"] == 8192
    assert metadata["params"]["max_depth"] == 1
    assert metadata["security_bits"] >= 128
    assert metadata["params"]["security_level"] == f"{metadata['security_bits']}-bit"
    assert metadata["rotations"] == default_rotations(4096)
    assert sorted(os.listdir(tmp_path)) == sorted(KEY_FILES.values())


def test_testing_key_files_and_metadata(ckks_key: tuple[Path, dict[str, Any]]) -> None:
    folder, metadata = ckks_key
    assert sorted(os.listdir(folder)) == sorted(KEY_FILES.values())
    for name in KEY_FILES.values():
        assert (folder / name).stat().st_size > 0
    assert metadata["params"] == {"poly_degree": 4096, "scale_bits": 40, "max_depth": 2,
                                  "security_level": "testing"}
    assert metadata["slot_count"] == 2048
    assert metadata["max_level"] == 2
    assert metadata["rotations"] == default_rotations(2048)
    assert metadata["security_bits"] == 0
    assert (metadata["scaling_technique"], metadata["key_switching"]) == ("FIXEDMANUAL", "HYBRID")


def test_written_keys_encrypt_multiply_rotate_and_decrypt(
        ckks_key: tuple[Path, dict[str, Any]]) -> None:
    folder, metadata = ckks_key
    read = {name: (folder / file).read_bytes() for name, file in KEY_FILES.items()}
    clear_openfhe_globals()
    try:
        cc = openfhe.DeserializeCryptoContextString(read["crypto_context"], openfhe.BINARY)
        public_key = openfhe.DeserializePublicKeyString(read["public_key"], openfhe.BINARY)
        secret_key = openfhe.DeserializePrivateKeyString(read["secret_key"], openfhe.BINARY)
        openfhe.DeserializeEvalMultKeyString(read["eval_mult_key"], openfhe.BINARY)
        openfhe.DeserializeEvalAutomorphismKeyString(read["eval_rotation_keys"], openfhe.BINARY)
        # Every part carries the key id as its tag (the server's, not a chosen one).
        assert public_key.GetKeyTag() == secret_key.GetKeyTag() == "key_made"
        assert set(openfhe.CryptoContext.GetAllEvalMultKeys()) == {"key_made"}
        assert set(openfhe.CryptoContext.GetAllEvalAutomorphismKeys()) == {"key_made"}
        slots = metadata["slot_count"]
        values = [((i * 7) % 23) / 10 - 1.1 for i in range(slots)]
        ciphertext = cc.Encrypt(public_key, cc.MakeCKKSPackedPlaintext(values))
        squared = cc.Rescale(cc.EvalMult(ciphertext, ciphertext))
        rotated = cc.EvalRotate(squared, 1)
        plaintext = cc.Decrypt(secret_key, rotated)
        plaintext.SetLength(slots)
        result = plaintext.GetRealPackedValue()
        expected = [values[(i + 1) % slots] ** 2 for i in range(slots)]
        assert max(abs(a - b) for a, b in zip(result, expected, strict=True)) < 1e-3
    finally:
        clear_openfhe_globals()


# --- CKKS inspection of uploads ---------------------------------------------------------------


async def test_inspect_reads_the_same_metadata(pool: FheWorkerPool, tmp_path: Path,
                                               ckks_key: tuple[Path, dict[str, Any]]) -> None:
    folder, metadata = ckks_key
    checked = tmp_path / "checked"
    assert await pool.run(inspect_ckks_key, upload_files(folder), "key_up",
                          str(checked)) == metadata
    without_rotations = await pool.run(inspect_ckks_key, upload_files(folder, rotations=False),
                                       "key_up", str(tmp_path / "without"))
    assert without_rotations == {**metadata, "rotations": []}


async def test_an_upload_whose_ciphertexts_could_not_be_stored_is_refused(
        pool: FheWorkerPool, tmp_path: Path) -> None:
    """N=2048 at depth 64: a fresh ciphertext takes 2.03 MB, above the 2 MB a ciphertext may
    be, so the key could upload or compute nothing."""
    client = make_ckks_client(ring_dim=2048, depth=64, scale_bits=30, rotations=())
    folder = tmp_path / "deep"
    folder.mkdir()
    for name, data in client.wire(rotations=False).items():
        (folder / KEY_FILES[name]).write_bytes(base64.b64decode(data))
    with pytest.raises(WavisError) as caught:
        await pool.run(inspect_ckks_key, upload_files(folder, rotations=False), "key_deep",
                       str(tmp_path / "checked"))
    assert caught.value.code == "INVALID_KEY"
    assert caught.value.details == {"field": "crypto_context"}
    assert "2.03 MB" in caught.value.message


async def test_one_worker_checks_keys_of_other_parameters_in_turn(tmp_path: Path) -> None:
    # A 1024/30/1 key then a 2048/40/3 key in one long-lived worker: OpenFHE keeps a
    # process-global estimate that a refused security probe of the first left behind, and the
    # second was refused ("EstimateLogP() failure: expected sizeP [1], but got sizeP [2]").
    workers = FheWorkerPool(workers=1, omp_threads=1)
    try:
        made = []
        for params in (CkksParams(1024, 30, 1, "testing"), CkksParams(2048, 40, 3, "testing")):
            folder = tmp_path / f"n{params.poly_degree}"
            made.append((folder, await workers.run_fresh(generate_ckks_key, params, None,
                                                         "key_made", str(folder))))
        for folder, metadata in made:
            checked = await workers.run(inspect_ckks_key, upload_files(folder), "key_checked",
                                        str(folder / "checked"))
            assert checked["params"] == metadata["params"]
    finally:
        workers.close()


async def test_a_checked_key_is_written_under_its_key_id_and_still_computes(
        pool: FheWorkerPool, tmp_path: Path, ckks_key: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = ckks_key
    checked = tmp_path / "checked"
    found = await pool.run(inspect_ckks_key, upload_files(folder), "key_up", str(checked))
    assert found["client_key_tag"] == "key_made"  # the tag the key came with
    assert sorted(os.listdir(checked)) == sorted(
        KEY_FILES[name] for name in KEY_FILES if name != "secret_key")
    read = {name: (checked / file).read_bytes() for name, file in KEY_FILES.items()
            if name != "secret_key"}
    clear_openfhe_globals()
    try:
        cc = openfhe.DeserializeCryptoContextString(read["crypto_context"], openfhe.BINARY)
        public_key = openfhe.DeserializePublicKeyString(read["public_key"], openfhe.BINARY)
        openfhe.DeserializeEvalMultKeyString(read["eval_mult_key"], openfhe.BINARY)
        openfhe.DeserializeEvalAutomorphismKeyString(read["eval_rotation_keys"], openfhe.BINARY)
        assert public_key.GetKeyTag() == "key_up"
        assert set(openfhe.CryptoContext.GetAllEvalMultKeys()) == {"key_up"}
        assert set(openfhe.CryptoContext.GetAllEvalAutomorphismKeys()) == {"key_up"}
        secret_key = openfhe.DeserializePrivateKeyString(
            (folder / KEY_FILES["secret_key"]).read_bytes(), openfhe.BINARY)
        values = [0.5, -0.25, 1.5, 2.0]
        ciphertext = cc.Encrypt(public_key, cc.MakeCKKSPackedPlaintext(values))
        assert ciphertext.GetKeyTag() == "key_up"
        rotated = cc.EvalRotate(cc.Rescale(cc.EvalMult(ciphertext, ciphertext)), 1)
        plaintext = cc.Decrypt(secret_key, rotated)  # the client's secret, its own tag
        plaintext.SetLength(3)
        expected = [v * v for v in values[1:]]
        assert max(abs(a - b) for a, b in zip(plaintext.GetRealPackedValue(), expected,
                                              strict=True)) < 1e-3
    finally:
        clear_openfhe_globals()


def _garbage(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def write_damaged(source: str | Path, target: Path, damage: str) -> str:
    """A copy of source that is random bytes of its size, its first part only, or empty."""
    original = Path(source).read_bytes()
    damaged = {"garbage": _garbage(len(original)), "truncated": original[: len(original) // 3],
               "empty": b""}[damage]
    target.write_bytes(damaged)
    return str(target)


@pytest.mark.parametrize(("part", "damage"), [
    ("crypto_context", "garbage"),
    ("crypto_context", "truncated"),
    ("crypto_context", "empty"),
    ("public_key", "garbage"),
    ("public_key", "truncated"),
    ("eval_mult_key", "garbage"),
    ("eval_mult_key", "truncated"),
    ("eval_rotation_keys", "garbage"),
    ("eval_rotation_keys", "truncated"),
])
async def test_inspect_rejects_damaged_parts(pool: FheWorkerPool, tmp_path: Path,
                                             ckks_key: tuple[Path, dict[str, Any]],
                                             part: str, damage: str) -> None:
    folder, _ = ckks_key
    files = upload_files(folder)
    files[part] = write_damaged(files[part], tmp_path / "part.bin", damage)
    with pytest.raises(WavisError) as caught:
        await pool.run(inspect_ckks_key, files, "key_up", str(tmp_path / "out"))
    assert (caught.value.code, caught.value.details) == ("INVALID_KEY", {"field": part})
    # The workers survived (or were replaced) and still answer.
    assert (await pool.run(inspect_ckks_key, upload_files(folder), "key_up",
                           str(tmp_path / "out")))["slot_count"] == 2048


async def test_inspect_rejects_parts_of_other_key_sets(
        pool: FheWorkerPool, tmp_path: Path, ckks_key: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = ckks_key
    same_params, other_params = tmp_path / "same", tmp_path / "other"
    generate_ckks_key(TESTING, [1], "key_same", str(same_params))
    generate_ckks_key(CkksParams(2048, 40, 2, "testing"), [1], "key_other", str(other_params))
    cases = [
        # A public key made under other parameters: another crypto context.
        ("public_key", other_params, "public_key"),
        # Same parameters, other secret: the eval keys are not under this public key's tag.
        ("public_key", same_params, "eval_mult_key"),
        ("eval_mult_key", same_params, "eval_mult_key"),
        ("eval_rotation_keys", same_params, "eval_rotation_keys"),
        ("eval_mult_key", other_params, "eval_mult_key"),
    ]
    for part, source, field in cases:
        files = {**upload_files(folder), part: str(source / KEY_FILES[part])}
        with pytest.raises(WavisError) as caught:
            await pool.run(inspect_ckks_key, files, "key_up", str(tmp_path / "out"))
        assert (caught.value.code, caught.value.details) == ("INVALID_KEY", {"field": field}), part


async def test_inspect_rejects_a_non_ckks_context(pool: FheWorkerPool, tmp_path: Path,
                                                  ckks_key: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = ckks_key
    parameters = openfhe.CCParamsBFVRNS()
    parameters.SetPlaintextModulus(65537)
    parameters.SetMultiplicativeDepth(1)
    (tmp_path / "bfv.bin").write_bytes(
        openfhe.Serialize(openfhe.GenCryptoContext(parameters), openfhe.BINARY))
    files = {**upload_files(folder), "crypto_context": str(tmp_path / "bfv.bin")}
    with pytest.raises(WavisError, match="not a CKKS") as caught:
        await pool.run(inspect_ckks_key, files, "key_up", str(tmp_path / "out"))
    assert caught.value.code == "INVALID_KEY"


# --- TFHE -------------------------------------------------------------------------------------


def test_toy_key_metadata(tfhe_key: tuple[Path, dict[str, Any]]) -> None:
    folder, metadata = tfhe_key
    assert sorted(os.listdir(folder)) == ["bootstrap_key.bin", "context.bin", "secret_key.bin"]
    assert metadata == {"preset": "toy", "n": 64, "big_n": 512, "security_bits": 0,
                        "bootstrap_key_bytes": (folder / "bootstrap_key.bin").stat().st_size}


def test_unknown_preset_is_invalid_params(tmp_path: Path) -> None:
    with pytest.raises(WavisError) as caught:
        generate_tfhe_key("fast_64", str(tmp_path))
    assert (caught.value.code, caught.value.details) == ("INVALID_PARAMS", {"field": "preset"})


def test_toy_bootstrap_key_evaluates_nand(tfhe_key: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = tfhe_key
    # Through bytes, as the services receive them (memfd round trip).
    cc = deserialize_binfhe_from_bytes("context", (folder / "context.bin").read_bytes())
    cc.BTKeyLoad(deserialize_binfhe_from_bytes(
        "bootstrap_key", (folder / "bootstrap_key.bin").read_bytes()))
    secret_key = deserialize_binfhe_file("secret_key", str(folder / "secret_key.bin"))
    for a in (0, 1):
        for b in (0, 1):
            left = deserialize_binfhe_from_bytes(
                "ciphertext", serialize_binfhe_to_bytes(cc.Encrypt(secret_key, a)))
            result = cc.EvalBinGate(openfhe.NAND, left, cc.Encrypt(secret_key, b))
            assert cc.Decrypt(secret_key, result) == 1 - (a & b), (a, b)


def test_binfhe_bytes_reject_garbage() -> None:
    for kind in ("context", "bootstrap_key", "secret_key", "ciphertext"):
        with pytest.raises(BinFheFormatError):
            deserialize_binfhe_from_bytes(kind, _garbage(600))
    with pytest.raises(ValueError, match="unknown BinFHE object kind"):
        deserialize_binfhe_from_bytes("public_key", b"")


async def test_inspect_toy_key(pool: FheWorkerPool,
                               tfhe_key: tuple[Path, dict[str, Any]]) -> None:
    folder, metadata = tfhe_key
    inspected = await pool.run(inspect_tfhe_key, str(folder / "context.bin"),
                               str(folder / "bootstrap_key.bin"))
    assert inspected == metadata


@pytest.mark.parametrize(("part", "damage"), [
    ("context", "garbage"), ("context", "truncated"),
    ("bootstrap_key", "garbage"), ("bootstrap_key", "truncated"), ("bootstrap_key", "empty"),
])
async def test_inspect_rejects_damaged_tfhe_parts(pool: FheWorkerPool, tmp_path: Path,
                                                  tfhe_key: tuple[Path, dict[str, Any]],
                                                  part: str, damage: str) -> None:
    folder, _ = tfhe_key
    paths = {"context": str(folder / "context.bin"),
             "bootstrap_key": str(folder / "bootstrap_key.bin")}
    paths[part] = write_damaged(paths[part], tmp_path / "part.bin", damage)
    with pytest.raises(WavisError) as caught:
        await pool.run(inspect_tfhe_key, paths["context"], paths["bootstrap_key"])
    assert (caught.value.code, caught.value.details) == ("INVALID_KEY", {"field": part})


async def test_inspect_rejects_unsupported_parameter_sets(
        pool: FheWorkerPool, tmp_path: Path, tfhe_key: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = tfhe_key
    cc = openfhe.BinFHEContext()
    cc.GenerateBinFHEContext(openfhe.TOY, openfhe.AP)  # TOY's sizes, a method no preset has
    (tmp_path / "context.bin").write_bytes(serialize_binfhe_to_bytes(cc))
    with pytest.raises(WavisError, match="unsupported parameter set") as caught:
        await pool.run(inspect_tfhe_key, str(tmp_path / "context.bin"),
                       str(folder / "bootstrap_key.bin"))
    assert (caught.value.code, caught.value.details) == ("INVALID_KEY", {"field": "context"})


def test_every_preset_has_a_parameter_record_of_its_own() -> None:
    """Uploads are matched to a preset by the context's parameter record (0020): no two
    presets may share one."""
    records = {}
    for preset in PRESETS:
        cc = openfhe.BinFHEContext()
        cc.GenerateBinFHEContext(getattr(openfhe, preset.paramset),
                                 getattr(openfhe, preset.method))
        records[preset.name] = serialize_binfhe_to_bytes(cc, as_json=True)
    assert len(set(records.values())) == len(records) == 8


async def test_toy_3_key_is_told_from_toy(pool: FheWorkerPool, tmp_path: Path,
                                          tfhe_key: tuple[Path, dict[str, Any]]) -> None:
    """toy_3 is TOY's sizes with LMKCDEY: its uploads name toy_3. A toy_3 (LMKCDEY) key under
    a toy (GINX) context is refused; a toy key under a toy_3 context only computes garbage
    for its owner (both methods' keys have the same shape, and LMKCDEY reads GINX's larger
    entries within bounds), so checking it must not crash the checker."""
    metadata = await pool.run(generate_tfhe_key, "toy_3", str(tmp_path))
    assert (metadata["preset"], metadata["n"], metadata["big_n"], metadata["security_bits"]) \
        == ("toy_3", 64, 512, 0)
    assert await pool.run(inspect_tfhe_key, str(tmp_path / "context.bin"),
                          str(tmp_path / "bootstrap_key.bin")) == metadata
    toy_folder, _ = tfhe_key
    try:
        await pool.run(inspect_tfhe_key, str(toy_folder / "context.bin"),
                       str(tmp_path / "bootstrap_key.bin"))
    except WorkerCrashed:
        pass  # the keys service maps this to INVALID_KEY
    except WavisError as error:
        assert (error.code, error.details) == ("INVALID_KEY", {"field": "bootstrap_key"})
    else:
        pytest.fail("a toy_3 bootstrapping key was accepted for a toy context")
    crossed = await pool.run(inspect_tfhe_key, str(tmp_path / "context.bin"),
                             str(toy_folder / "bootstrap_key.bin"))
    assert crossed["preset"] == "toy_3"


async def test_bootstrap_key_for_other_parameters_is_contained(
        pool: FheWorkerPool, tmp_path: Path, tfhe_key: tuple[Path, dict[str, Any]]) -> None:
    # A STD128 context (cheap: no key) with the toy bootstrapping key: OpenFHE reads out of
    # bounds in the probe gate and segfaults, in the worker only.
    folder, _ = tfhe_key
    cc = openfhe.BinFHEContext()
    cc.GenerateBinFHEContext(openfhe.STD128, openfhe.GINX)
    (tmp_path / "context.bin").write_bytes(serialize_binfhe_to_bytes(cc))
    try:
        await pool.run(inspect_tfhe_key, str(tmp_path / "context.bin"),
                       str(folder / "bootstrap_key.bin"))
    except WorkerCrashed:
        pass  # the keys service maps this to INVALID_KEY
    except WavisError as error:
        assert error.code == "INVALID_KEY"
    else:
        pytest.fail("a toy bootstrapping key was accepted for a STD128 context")
    assert (await pool.run(inspect_tfhe_key, str(folder / "context.bin"),
                           str(folder / "bootstrap_key.bin")))["preset"] == "toy"


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("WAVIS_SLOW_TESTS") != "1",
                    reason="secure TFHE keygen takes ~10 s and ~2 GB: set WAVIS_SLOW_TESTS=1")
async def test_fast_128_generate_and_inspect(pool: FheWorkerPool, tmp_path: Path) -> None:
    metadata = await pool.run(generate_tfhe_key, "fast_128", str(tmp_path))
    assert metadata["preset"] == "fast_128"
    assert (metadata["n"], metadata["big_n"], metadata["security_bits"]) == (554, 1024, 128)
    inspected = await pool.run(inspect_tfhe_key, str(tmp_path / "context.bin"),
                               str(tmp_path / "bootstrap_key.bin"))
    assert inspected == metadata
    shutil.rmtree(tmp_path)  # ~1 GB


# --- worker pool ------------------------------------------------------------------------------


@pytest.mark.parametrize("kill", [(os._exit, 1), (os.abort,)])
async def test_dead_worker_raises_worker_crashed_and_is_replaced(
        pool: FheWorkerPool, kill: tuple[Any, ...]) -> None:
    with pytest.raises(WorkerCrashed):
        await pool.run(*kill)
    assert await pool.run(pow, 2, 10) == 1024


async def test_crash_does_not_fail_a_call_running_beside_it(pool: FheWorkerPool) -> None:
    started = time.monotonic()
    crashed, slept = await asyncio.gather(pool.run(os._exit, 1), pool.run(time.sleep, 0.5),
                                          return_exceptions=True)
    assert isinstance(crashed, WorkerCrashed)
    assert slept is None
    assert time.monotonic() - started >= 0.5


async def test_worker_exceptions_arrive_unchanged(pool: FheWorkerPool) -> None:
    with pytest.raises(WavisError) as caught:
        await pool.run(validate_ckks_params, CkksParams(8192, 40, 0))
    assert (caught.value.code, caught.value.details) == ("INVALID_PARAMS", {"field": "max_depth"})
