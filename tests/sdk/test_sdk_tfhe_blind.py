"""Blind TFHE through the SDK on the real stack: keys made here, gates and batches on the
server, every output decrypted here and checked against the truth tables."""

from __future__ import annotations

import itertools
import stat
from pathlib import Path

import pytest
import wavis_sdk
from sdk_support import sdk_client
from wavis_sdk.tfhe import Circuit, TfheKeys, ripple_carry_adder

TRUTH = {
    "NAND": lambda a, b: 1 - (a & b), "AND": lambda a, b: a & b, "OR": lambda a, b: a | b,
    "XOR": lambda a, b: a ^ b, "NOR": lambda a, b: 1 - (a | b),
    "XNOR": lambda a, b: 1 - (a ^ b),
}


@pytest.fixture(scope="module")
def session(mesh, tenant, tfhe_keys: TfheKeys, tmp_path_factory) -> wavis_sdk.TfheSession:
    with sdk_client(mesh, tenant, tmp_path_factory.mktemp("state")) as client:
        made = client.tfhe.create_eval_session(tfhe_keys)  # inline: a toy key is ~20 MB
    assert made.is_blind and made.preset == "toy" and made.security_warning
    return made


def test_every_gate_matches_its_truth_table(client: wavis_sdk.Client, tfhe_keys: TfheKeys,
                                            session: wavis_sdk.TfheSession) -> None:
    for (op, table), (a, b) in itertools.product(TRUTH.items(), itertools.product((0, 1),
                                                                                  repeat=2)):
        result = client.tfhe.gate(session, op, tfhe_keys.encrypt(a), tfhe_keys.encrypt(b))
        assert tfhe_keys.decrypt(result) == table(a, b), (op, a, b)
        assert (result.bootstraps, result.cost_units) == (1, 5)
    for a in (0, 1):
        result = client.tfhe.gate(session, "NOT", tfhe_keys.encrypt(a))
        assert tfhe_keys.decrypt(result) == 1 - a and result.cost_units == 0
    for sel, a, b in itertools.product((0, 1), repeat=3):
        result = client.tfhe.gate(session, "MUX", tfhe_keys.encrypt(a), tfhe_keys.encrypt(b),
                                  sel=tfhe_keys.encrypt(sel))
        assert tfhe_keys.decrypt(result) == (a if sel else b), (sel, a, b)
    same = tfhe_keys.encrypt(1)
    with pytest.raises(wavis_sdk.ValidationError) as refused:
        client.tfhe.gate(session, "AND", same, same)
    assert refused.value.code == "DEPENDENT_INPUTS"


@pytest.mark.parametrize(("x", "y"), [(0, 0), (1, 255), (100, 155), (200, 100), (255, 255)])
def test_an_eight_bit_adder_in_one_batch(client: wavis_sdk.Client, tfhe_keys: TfheKeys,
                                         session: wavis_sdk.TfheSession, x: int, y: int) -> None:
    circuit = Circuit()
    xs = circuit.inputs(tfhe_keys.encrypt_bits((x >> i) & 1 for i in range(8)))
    ys = circuit.inputs(tfhe_keys.encrypt_bits((y >> i) & 1 for i in range(8)))
    sums, carry = ripple_carry_adder(xs, ys, circuit.input(tfhe_keys.encrypt(0)))
    assert len(circuit) == 40 and circuit.gates[1]["a"] == "$0"  # (x ^ y) ^ carry
    result = client.tfhe.batch(session, circuit)
    bits = tfhe_keys.decrypt_bits(result[wire] for wire in [*sums, carry])
    assert sum(bit << i for i, bit in enumerate(bits)) == x + y
    assert result.gates_evaluated == len(result) == 40 and result.discount_applied
    assert result.bootstraps == 40 and result.cost_units == 140  # 200 FCU, 30% off


def test_a_mux_circuit(client: wavis_sdk.Client, tfhe_keys: TfheKeys,
                       session: wavis_sdk.TfheSession) -> None:
    circuit = Circuit()
    sel, a, b = circuit.inputs(tfhe_keys.encrypt_bits([1, 0, 1]))
    chosen = circuit.mux(sel, ~a, b)  # NOT a, as sel is 1
    result = client.tfhe.batch(session, circuit)
    assert tfhe_keys.decrypt(result[chosen]) == 1 and result.levels == 2


def test_session_from_a_chunked_upload_and_key_files(client: wavis_sdk.Client,
                                                     tmp_path: Path) -> None:
    keys = TfheKeys.generate("toy", tmp_path / "tfhe")
    assert stat.S_IMODE((tmp_path / "tfhe" / "secret_key.bin").stat().st_mode) == 0o600
    seen: list[wavis_sdk.UploadProgress] = []
    key = client.keys.upload(keys, progress=seen.append)
    assert key.scheme == "tfhe" and key.mode == "blind" and key.preset == "toy"
    assert seen[-1].phase == "completing" and seen[-1].bytes_done == seen[-1].bytes_total
    assert {p.phase for p in seen} == {"hashing", "uploading", "completing"}
    loaded = TfheKeys.load(tmp_path / "tfhe")
    assert loaded.key_id == key.key_id  # remembered in wavis-key.json
    session = client.tfhe.create_eval_session(loaded)  # by key id: nothing sent again
    assert session.key_id == key.key_id and session.is_blind
    result = client.tfhe.gate(session, "XOR", loaded.encrypt(1), loaded.encrypt(0))
    assert loaded.decrypt(result) == 1 == keys.decrypt(result)
    client.tfhe.delete_session(session)
    assert client.keys.get(key.key_id).status == "ready"  # the session did not create it
    client.keys.delete(key)
    with pytest.raises(wavis_sdk.NotFoundError):
        client.keys.get(key.key_id)


def test_server_mode_session_for_demos(client: wavis_sdk.Client,
                                       session: wavis_sdk.TfheSession,
                                       tfhe_keys: TfheKeys) -> None:
    server = client.tfhe.create_session("toy")
    assert not server.is_blind
    a, b = client.tfhe.encrypt(server, [1, 1])
    result = client.tfhe.gate(server, "AND", a, b)
    assert client.tfhe.decrypt(server, [result, a]) == [1, 1]
    client.tfhe.delete_session(server)
    with pytest.raises(wavis_sdk.NotFoundError) as gone:
        client.tfhe.gate(server, "AND", a, b)
    assert gone.value.code == "SESSION_NOT_FOUND"
    with pytest.raises(wavis_sdk.ValidationError) as blind:
        client.tfhe.encrypt(session, [1])
    assert blind.value.code == "BLIND_SESSION"
    pricing = client.tfhe.pricing()
    assert pricing.batch_discount["from_gates"] == 32
