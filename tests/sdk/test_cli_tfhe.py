"""`wavis tfhe` against the real stack: a blind session on a local toy key (uploaded by the
chunked upload with a progress bar), single gates and a circuit file, a server-mode session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import Wavis
from sdk_support import new_tenant

from wavis.devstack.stack import Stack

MAJORITY_AND_PARITY = {
    "inputs": {"x": 1, "y": 0, "z": 1},
    "gates": [{"op": "AND", "a": "x", "b": "y"}, {"op": "AND", "a": "x", "b": "z"},
              {"op": "AND", "a": "y", "b": "z"}, {"op": "OR", "a": "$0", "b": "$1"},
              {"op": "OR", "a": "$3", "b": "$2", "name": "majority"},
              {"op": "XOR", "a": "x", "b": "y", "name": "xy"},
              {"op": "XOR", "a": "xy", "b": "z", "name": "parity"},
              {"op": "MUX", "sel": "y", "a": "x", "b": "parity", "name": "pick"}],
}


@pytest.mark.parametrize("bits", [(1, 0, 1), (0, 1, 1)])
def test_blind_tfhe_session_gates_and_a_circuit_file(own_stack: Stack, tmp_path: Path,
                                                    bits: tuple[int, int, int]) -> None:
    tenant = new_tenant(own_stack, plan="enterprise")
    wavis = Wavis(own_stack.gateway_url, tenant.api_key, tmp_path)
    folder = tmp_path / "tfhe-key"
    made = wavis.json("keys", "generate", "tfhe", "--local", "--out", str(folder),
                      "--preset", "toy")
    assert made["preset"] == "toy" and made["secret_key_mode"] == "0o600"

    # The toy key is ~20 MB: by the chunked upload (1 MiB parts here), bars on stderr.
    uploaded = wavis.run("keys", "upload", str(folder))
    key_id = uploaded.stdout.split()[0]
    assert key_id.startswith("key_") and "tfhe blind ready" in uploaded.stdout
    assert "hashing the file" in uploaded.stderr and "uploading" in uploaded.stderr
    assert "MB" in uploaded.stderr  # transfer sizes on the bar

    session = wavis.json("tfhe", "session", "create", "--keys", str(folder))
    assert session["is_blind"] and session["key_id"] == key_id
    sid = session["session_id"]
    x, y, z = bits
    nand = wavis.json("tfhe", "gate", "NAND", str(x), str(y), "--session", sid, "--keys",
                      str(folder))
    assert nand["result"] == 1 - (x & y) and nand["inputs"] == {"a": x, "b": y}
    assert nand["bootstraps"] >= 1 and nand["cost_units"] >= 1
    shown = wavis.run("tfhe", "gate", "not", str(x), "--session", sid, "--keys", str(folder))
    assert shown.stdout.startswith(f"NOT({x}) = {1 - x}")

    circuit = tmp_path / "circuit.json"
    circuit.write_text(json.dumps(MAJORITY_AND_PARITY | {"inputs": {"x": x, "y": y, "z": z}}))
    result = wavis.json("tfhe", "batch", str(circuit), "--session", sid, "--keys", str(folder))
    parity = x ^ y ^ z
    assert result["outputs"] == {"majority": int(x + y + z >= 2), "xy": x ^ y,
                                 "parity": parity, "pick": x if y else parity}
    assert result["gates_evaluated"] == 8 and result["levels"] >= 3

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"inputs": {"x": 1}, "gates": [{"op": "AND", "a": "x",
                                                               "b": "nope"}]}))
    refused = wavis.run("tfhe", "batch", str(bad), "--session", sid, "--keys", str(folder),
                        expect=6)
    assert "INVALID_BATCH" in refused.stderr and "'nope'" in refused.stderr
    assert wavis.json("tfhe", "session", "delete", sid) == {"deleted": sid}
    gone = wavis.run("tfhe", "gate", "AND", "1", "1", "--session", sid, "--keys", str(folder),
                     expect=5)
    assert "request_id req_" in gone.stderr


def test_server_mode_session(mesh: Stack, tmp_path: Path) -> None:
    wavis = Wavis(mesh.gateway_url, new_tenant(mesh, plan="enterprise").api_key, tmp_path)
    session = wavis.json("tfhe", "session", "create", "--preset", "toy")
    assert not session["is_blind"]
    assert wavis.json("tfhe", "gate", "XOR", "1", "1", "--session",
                      session["session_id"])["result"] == 0
    circuit = tmp_path / "c.json"
    circuit.write_text(json.dumps({"inputs": {"a": 1, "b": 1},
                                   "gates": [{"op": "AND", "a": "a", "b": "b"},
                                             {"op": "NOT", "a": "$0"}]}))
    assert wavis.json("tfhe", "batch", str(circuit), "--session",
                      session["session_id"])["outputs"] == {"$1": 0}
    usage = wavis.run("tfhe", "session", "create", expect=2)
    assert "--keys FOLDER (blind) or --preset" in usage.stderr
