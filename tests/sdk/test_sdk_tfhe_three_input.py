"""Three-input TFHE gates through the SDK on the real stack: a toy_3 key made here, AND3, OR3
and MAJORITY as single gates and in circuits, and a server-mode toy_3 session; every output
decrypted and checked against the truth tables, every price against GET /tfhe/pricing."""

from __future__ import annotations

import itertools

import pytest
import wavis_sdk
from sdk_support import sdk_client
from wavis_sdk.tfhe import Circuit, TfheKeys

TRUTH = {
    "AND3": lambda a, b, c: a & b & c,
    "OR3": lambda a, b, c: a | b | c,
    "MAJORITY": lambda a, b, c: int(a + b + c >= 2),
}
ROWS = list(itertools.product((0, 1), repeat=3))


@pytest.fixture(scope="module")
def session(mesh, tenant, tfhe_3_keys: TfheKeys, tmp_path_factory) -> wavis_sdk.TfheSession:
    with sdk_client(mesh, tenant, tmp_path_factory.mktemp("state")) as client:
        made = client.tfhe.create_eval_session(tfhe_3_keys)
    assert made.is_blind and made.preset == "toy_3" and made.security_warning
    return made


def _prices(client: wavis_sdk.Client) -> dict[str, dict]:
    return {gate["op"]: gate for gate in client.tfhe.pricing()["gates"]}


def test_every_three_input_gate_matches_its_truth_table(
        client: wavis_sdk.Client, tfhe_3_keys: TfheKeys,
        session: wavis_sdk.TfheSession) -> None:
    keys, prices = tfhe_3_keys, _prices(client)
    for op, table in TRUTH.items():
        modulus = prices[op]["plaintext_modulus"]
        for row in ROWS:
            a, b, c = keys.encrypt_bits(row, plaintext_modulus=modulus)
            result = client.tfhe.gate(session, op, a, b, c)
            assert keys.decrypt(result) == table(*row), (op, row)
            assert (result.bootstraps, result.cost_units) == (
                prices[op]["bootstraps"], prices[op]["cost_units"]) == (1, 5)
    with pytest.raises(wavis_sdk.ValidationError) as refused:  # modulus 4 into AND3
        client.tfhe.gate(session, "AND3", *keys.encrypt_bits([1, 1, 1]))
    assert refused.value.code == "INVALID_CIPHERTEXT"


def test_circuits_of_three_input_gates(client: wavis_sdk.Client, tfhe_3_keys: TfheKeys,
                                       session: wavis_sdk.TfheSession) -> None:
    keys = tfhe_3_keys
    for bits in ([1] * 9, [1, 1, 1, 1, 1, 1, 1, 0, 1], [0, 0, 0, 0, 1, 0, 0, 0, 0]):
        circuit = Circuit()
        six = circuit.inputs(keys.encrypt_bits(bits, plaintext_modulus=6))
        four = circuit.inputs(keys.encrypt_bits(bits[:3]))
        groups = [circuit.and3(*six[i:i + 3]) for i in (0, 3, 6)]
        every = circuit.and3(*groups)
        some = circuit.or3(*(circuit.or3(*six[i:i + 3]) for i in (0, 3, 6)))
        vote = circuit.majority(*four)
        flipped = circuit.majority(~four[0], ~four[1], ~four[2])
        result = client.tfhe.batch(session, circuit)
        assert keys.decrypt(result[every]) == int(all(bits)), bits
        assert keys.decrypt(result[some]) == int(any(bits)), bits
        assert keys.decrypt(result[vote]) == int(sum(bits[:3]) >= 2), bits
        assert keys.decrypt(result[flipped]) == int(sum(bits[:3]) <= 1), bits
        # 4 AND3 + 4 OR3 + 2 MAJORITY bootstraps; the NOTs are free.
        assert (result.bootstraps, result.cost_units, result.levels) == (10, 50, 2)


def test_server_mode_three_input_session(client: wavis_sdk.Client) -> None:
    server = client.tfhe.create_session("toy_3")
    assert server.preset == "toy_3" and not server.is_blind
    a, b, c = client.tfhe.encrypt(server, [1, 0, 1], plaintext_modulus=6)
    x, y, z = client.tfhe.encrypt(server, [1, 0, 1])
    results = [client.tfhe.gate(server, "AND3", a, b, c), client.tfhe.gate(server, "OR3", a, b, c),
               client.tfhe.gate(server, "MAJORITY", x, y, z)]
    assert client.tfhe.decrypt(server, results) == [0, 1, 1]
    client.tfhe.delete_session(server)
    toy = client.tfhe.create_session("toy")
    with pytest.raises(wavis_sdk.ValidationError) as refused:
        client.tfhe.gate(toy, "MAJORITY", *client.tfhe.encrypt(toy, [1, 0, 1]))
    assert refused.value.code == "INVALID_OPERATION"
    client.tfhe.delete_session(toy)
