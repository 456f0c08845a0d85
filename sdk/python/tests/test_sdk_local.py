"""What the SDK does on this machine alone: CKKS and TFHE keys, encryption, circuits, key
files, webhook signatures, upload journals."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import wavis_sdk
from wavis_sdk._files import UploadJournal, write_private
from wavis_sdk.ckks import CkksKeys
from wavis_sdk.tfhe import Circuit, TfheKeys, full_adder
from wavis_sdk.webhooks import verify


@pytest.fixture(scope="module")
def ckks() -> CkksKeys:
    return CkksKeys.generate(1024, 30, 1, "testing", rotations=[1])


@pytest.fixture(scope="module")
def toy() -> TfheKeys:
    return TfheKeys.generate("toy")


@pytest.mark.parametrize(("args", "field", "words"), [
    ((2048, 40, 2), "poly_degree", 'allowed only with security_level "testing"'),
    ((8192, 61, 1), "scale_bits", "from 20 to 60"),
    ((8192, 40, 31), "max_depth", "from 1 to 30"),
    ((8192, 40, 1, "64-bit"), "security_level", '"128-bit", "192-bit"'),
])
def test_refused_before_openfhe_is_asked(args: tuple, field: str, words: str) -> None:
    with pytest.raises(wavis_sdk.ValidationError) as refused:
        CkksKeys.generate(*args)
    error = refused.value
    assert error.code == "INVALID_PARAMS" and error.details == {"field": field}
    assert words in error.message and error.http_status is None


def test_insufficient_security_names_the_ring_it_needs() -> None:
    with pytest.raises(wavis_sdk.ValidationError) as refused:
        CkksKeys.generate(8192, 50, 5, rotations=[])
    assert refused.value.code == "INSUFFICIENT_SECURITY"
    assert refused.value.details == {"required_poly_degree": 16384}


def test_ckks_round_trip_and_limits(ckks: CkksKeys) -> None:
    values = np.linspace(-1, 1, ckks.slot_count)
    encrypted = ckks.encrypt(values)
    assert np.max(np.abs(ckks.decrypt(encrypted) - values)) < 1e-3
    assert np.allclose(ckks.decrypt(encrypted.data, length=2), values[:2], atol=1e-3)
    with pytest.raises(wavis_sdk.ValidationError, match="Between 1 and 512"):
        ckks.encrypt(np.zeros(ckks.slot_count + 1))
    with pytest.raises(wavis_sdk.ValidationError, match="return_ciphertext=True"):
        ckks.decrypt(wavis_sdk.Ciphertext("ct", "key", 0, 100, 1, ""))
    with pytest.raises(wavis_sdk.ValidationError, match="rotations"):
        CkksKeys.generate(1024, 30, 1, "testing", rotations=[0])
    assert set(ckks.wire_parts()) == {"crypto_context", "public_key", "eval_mult_key",
                                      "eval_rotation_keys"}  # never the secret key


def test_ckks_files(ckks: CkksKeys, tmp_path: Path) -> None:
    os.umask(0)  # even so, the secret key is the owner's only
    try:
        folder = ckks.save(tmp_path / "k")
    finally:
        os.umask(0o022)
    assert stat.S_IMODE((folder / "secret_key.bin").stat().st_mode) == 0o600
    loaded = CkksKeys.load(folder)
    assert loaded.params == ckks.params and loaded.rotations == [1]
    assert loaded.wire_parts() == {name: (folder / f"{name}.bin").read_bytes() for name in (
        "crypto_context", "public_key", "eval_mult_key", "eval_rotation_keys")}
    assert float(loaded.decrypt(ckks.encrypt([0.25]), length=1)[0]) == pytest.approx(0.25,
                                                                                      abs=1e-3)
    bundle = ckks.write_bundle(tmp_path / "bundle.zip")
    import zipfile

    assert sorted(zipfile.ZipFile(bundle).namelist()) == sorted(
        ["crypto_context.bin", "public_key.bin", "eval_mult_key.bin", "eval_rotation_keys.bin"])


def test_tfhe_round_trip_files_and_archive(toy: TfheKeys, tmp_path: Path) -> None:
    assert toy.decrypt_bits(toy.encrypt_bits([1, 0, 1])) == [1, 0, 1]
    with pytest.raises(wavis_sdk.ValidationError):
        toy.encrypt(2)
    with pytest.raises(wavis_sdk.ValidationError, match="Unknown TFHE preset"):
        TfheKeys.generate("fastest")
    import zipfile

    archive = zipfile.ZipFile(toy.eval_key_archive())
    assert archive.namelist() == ["context.bin", "bootstrap_key.bin"]
    assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    saved = toy.save(tmp_path / "t")
    assert stat.S_IMODE((saved / "secret_key.bin").stat().st_mode) == 0o600
    loaded = TfheKeys.load(saved)
    assert loaded.preset == "toy" and loaded.decrypt(toy.encrypt(1)) == 1
    with pytest.raises(wavis_sdk.DecryptionError):
        loaded.decrypt(b"not a ciphertext")


def test_three_input_presets_encrypt_both_moduli(toy: TfheKeys) -> None:
    keys = TfheKeys.generate("toy_3")
    six = keys.encrypt_bits([1, 0], plaintext_modulus=6)
    assert keys.decrypt_bits(six + keys.encrypt_bits([0, 1])) == [1, 0, 0, 1]
    with pytest.raises(wavis_sdk.ValidationError) as refused:
        toy.encrypt(1, plaintext_modulus=6)  # toy has no gate that takes modulus 6
    assert (refused.value.code, refused.value.details) == (
        "VALIDATION_ERROR", {"field": "plaintext_modulus"})
    with pytest.raises(wavis_sdk.ValidationError):
        keys.encrypt(1, plaintext_modulus=5)


def test_three_input_circuits_keep_moduli_apart(toy: TfheKeys) -> None:
    circuit = Circuit()
    xs = circuit.inputs(toy.encrypt_bits([1, 0, 1]))  # stand-ins: only the wiring is built
    first, second = circuit.and3(*xs), circuit.or3(xs[2], xs[0], xs[1])
    nested = circuit.and3(first, second, circuit.or3(*xs))
    vote = circuit.majority(circuit.nand(xs[0], xs[1]), xs[1], xs[2])
    assert circuit.gates[3] == {"op": "AND3", "a": "$0", "b": "$1", "c": "$2"}
    assert (nested.gate_index, nested.plaintext_modulus, vote.plaintext_modulus) == (3, 6, 4)
    for wrong in (lambda: circuit.majority(first, xs[0], xs[1]),
                  lambda: circuit.nand(second, xs[0]), lambda: ~nested,
                  lambda: circuit.or3(vote, xs[0], xs[1])):
        with pytest.raises(wavis_sdk.ValidationError) as refused:
            wrong()
        assert refused.value.code == "INVALID_BATCH"
    assert len(circuit) == 6


def test_circuits_refer_to_earlier_gates(toy: TfheKeys) -> None:
    circuit = Circuit()
    a, b, c = circuit.inputs(toy.encrypt_bits([1, 0, 1]))
    total, carry = full_adder(a, b, c)
    assert [g["op"] for g in circuit.gates] == ["XOR", "XOR", "AND", "AND", "OR"]
    assert circuit.gates[1]["a"] == "$0" and circuit.gates[4] == {"op": "OR", "a": "$2",
                                                                  "b": "$3"}
    assert (total.gate_index, carry.gate_index) == (1, 4)
    chosen = circuit.mux(a, b, ~c)
    assert circuit.gates[-1]["sel"] == circuit.gates[0]["a"] and circuit.gates[-1]["b"] == "$5"
    assert chosen.gate_index == 6
    with pytest.raises(wavis_sdk.ValidationError):
        circuit.gate("AND3", a, b)  # AND3 takes c too
    with pytest.raises(wavis_sdk.ValidationError) as wiring:
        circuit.and3(total, b, c)  # total is an XOR's output: modulus 4, AND3 takes 6
    assert wiring.value.code == "INVALID_BATCH" and wiring.value.details["ref"] == 1
    with pytest.raises(wavis_sdk.ValidationError):
        circuit.gate("AND", a)
    with pytest.raises(wavis_sdk.ValidationError):
        Circuit().gate("NOT", a)  # a wire of another circuit


def test_verify_known_signatures() -> None:
    secret, body, stamp = "whsec_" + "s" * 40, b'{"id":"evt_1","type":"test"}', "1767225600"
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"x-wavis-timestamp": stamp, "X-WAVIS-Signature": f"sha256={digest}"}
    assert verify(body, headers, secret, now=1767225600 + 10).type == "test"
    for tampered in (body + b" ", body.replace(b"evt_1", b"evt_2")):
        with pytest.raises(wavis_sdk.SignatureVerificationError):
            verify(tampered, headers, secret, now=1767225600)
    with pytest.raises(wavis_sdk.SignatureVerificationError, match="in the future"):
        verify(body, headers, secret, now=1767225600 - 400)
    with pytest.raises(wavis_sdk.SignatureVerificationError, match="not a Unix time"):
        verify(body, headers | {"x-wavis-timestamp": "soon"}, secret)


def test_upload_journals_belong_to_one_file_server_and_account(tmp_path: Path) -> None:
    path = UploadJournal.path(str(tmp_path), "http://a", "wvs_live_AAAAAAAA1234", "k", "f", 1)
    others = {UploadJournal.path(str(tmp_path), "http://b", "wvs_live_AAAAAAAA1234", "k", "f",
                                 1),
              UploadJournal.path(str(tmp_path), "http://a", "wvs_live_BBBBBBBB1234", "k", "f",
                                 1),
              UploadJournal.path(str(tmp_path), "http://a", "wvs_live_AAAAAAAA1234", "k", "g",
                                 1)}
    assert path not in others and len(others) == 3
    UploadJournal("upl_1", "f", 1, 1, 1, "2999-01-01T00:00:00Z").write(path)
    assert UploadJournal.read(path) is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    UploadJournal("upl_1", "f", 1, 1, 1, "2001-01-01T00:00:00Z").write(path)
    assert UploadJournal.read(path) is None and not path.exists()  # expired: forgotten
    write_private(tmp_path / "x", b"secret")
    assert (tmp_path / "x").read_bytes() == b"secret"
