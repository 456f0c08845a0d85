"""`wavis tfhe`: sessions, single gates and batches of gates from a JSON circuit file.

With `--keys FOLDER` (a key from `wavis keys generate tfhe --local`) bits are encrypted and
decrypted here and the server sees only the evaluation key (blind); without it, a session
made with `--preset` is server mode (the server encrypts and decrypts: demos only)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

import wavis_sdk
from wavis_sdk.cli._app import json_option, pass_app
from wavis_sdk.cli._keys import load_local_keys
from wavis_sdk.cli._output import App
from wavis_sdk.tfhe import GATES, PRESETS, Circuit, TfheKeys, Wire

_BIT = click.Choice(["0", "1"])


def _tfhe_keys(folder: str | None) -> TfheKeys | None:
    if folder is None:
        return None
    keys = load_local_keys(folder)
    if not isinstance(keys, TfheKeys):
        raise wavis_sdk.ValidationError(f"{folder} holds a CKKS key, not a TFHE key.",
                                        code="VALIDATION_ERROR")
    return keys


class Bits:
    """Encrypts and decrypts bits: here with local keys, else by the server's session."""

    def __init__(self, client: wavis_sdk.Client, session: str, keys: TfheKeys | None) -> None:
        self.client, self.session, self.keys = client, session, keys

    def encrypt(self, bits: Sequence[int]) -> list[bytes]:
        if self.keys is not None:
            return self.keys.encrypt_bits(bits)
        return self.client.tfhe.encrypt(self.session, list(bits))

    def decrypt(self, ciphertexts: Sequence[bytes]) -> list[int]:
        if self.keys is not None:
            return self.keys.decrypt_bits(ciphertexts)
        return self.client.tfhe.decrypt(self.session, list(ciphertexts))


@click.group()
def tfhe() -> None:
    """TFHE on bits: sessions, gates and circuits."""


@tfhe.group()
def session() -> None:
    """Evaluation sessions: create and delete."""


@session.command("create")
@click.option("--keys", "key_folder", type=click.Path(exists=True, file_okay=False),
              help="Blind: a local TFHE key folder (its evaluation key is sent).")
@click.option("--preset", type=click.Choice(list(PRESETS)),
              help="Server mode instead: the server makes the keys (demos).")
@click.option("--session-id", help="Your own id for the session.")
@json_option
@pass_app
def create_session(app: App, key_folder: str | None, preset: str | None,
                   session_id: str | None) -> None:
    """Open a session; prints its id."""
    if (key_folder is None) == (preset is None):
        raise click.UsageError("Give either --keys FOLDER (blind) or --preset (server mode).")
    client = app.client()
    keys = _tfhe_keys(key_folder)
    if keys is not None:
        with app.transfer() as progress:
            made = client.tfhe.create_eval_session(keys.key_id or keys, session_id=session_id,
                                                   progress=progress)
    else:
        assert preset is not None
        with app.waiting(f"Creating a {preset} session (the server makes its keys)"):
            made = client.tfhe.create_session(preset)

    def human() -> None:
        app.out.print(f"{made.session_id}  preset {made.preset}, "
                      f"{'blind' if made.is_blind else 'server mode'}, key {made.key_id}, "
                      f"idle timeout {made.idle_timeout_seconds} s")
        if made.security_warning:
            app.note(f"[yellow]warning:[/] {made.security_warning}")

    app.emit(made, human)


@session.command("delete")
@click.argument("session_id")
@json_option
@pass_app
def delete_session(app: App, session_id: str) -> None:
    """Close a session."""
    app.client().tfhe.delete_session(session_id)
    app.emit({"deleted": session_id}, lambda: app.out.print(f"Deleted {session_id}."))


@tfhe.command()
@click.argument("op", type=click.Choice(GATES, case_sensitive=False))
@click.argument("a", type=_BIT)
@click.argument("b", type=_BIT, required=False)
@click.option("--sel", type=_BIT, help="MUX: the selector bit (a when 1, b when 0).")
@click.option("--session", "session_id", required=True, help="The session id.")
@click.option("--keys", "key_folder", type=click.Path(exists=True, file_okay=False),
              help="The session's local key folder (blind); omit for server-mode sessions.")
@json_option
@pass_app
def gate(app: App, op: str, a: str, b: str | None, sel: str | None, session_id: str,
         key_folder: str | None) -> None:
    """Evaluate one gate on bits A [B]: encrypted, evaluated, decrypted."""
    op = op.upper()
    bits = Bits(app.client(), session_id, _tfhe_keys(key_folder))
    given = [int(a)] + ([int(b)] if b is not None else []) + ([int(sel)] if sel else [])
    ciphertexts = bits.encrypt(given)
    with app.waiting(f"Evaluating {op}"):
        result = app.client().tfhe.gate(session_id, op, ciphertexts[0],
                                        ciphertexts[1] if b is not None else None,
                                        sel=ciphertexts[-1] if sel is not None else None)
    (value,) = bits.decrypt([result.result])
    inputs = {"a": int(a)} | ({"b": int(b)} if b is not None else {}) | (
        {"sel": int(sel)} if sel is not None else {})
    report = {"op": op, "inputs": inputs, "result": value, "bootstraps": result.bootstraps,
              "cost_units": result.cost_units, "cost_usd": result.cost_usd,
              "compute_time_ms": result.compute_time_ms}
    app.emit(report, lambda: app.out.print(
        f"{op}({', '.join(str(v) for v in inputs.values())}) = {value}  "
        f"({result.bootstraps} bootstraps, {result.cost_units} FCU, "
        f"{result.compute_time_ms:.1f} ms)"))


def build_circuit(spec: Any, encrypt: Any) -> tuple[Circuit, dict[str, Wire]]:
    """A Circuit from the JSON circuit format (see `wavis tfhe batch --help`); returns it
    and the wires to decrypt, by name."""
    if not isinstance(spec, dict) or not isinstance(spec.get("gates"), list) \
            or not spec["gates"]:
        raise wavis_sdk.ValidationError("A circuit file is an object with \"gates\" (a "
                                        "non-empty list) and usually \"inputs\".",
                                        code="INVALID_BATCH")
    inputs = spec.get("inputs") or {}
    if not isinstance(inputs, dict) or any(v not in (0, 1) for v in inputs.values()):
        raise wavis_sdk.ValidationError("\"inputs\" maps names to bits (0 or 1).",
                                        code="INVALID_BATCH")
    circuit = Circuit()
    names: dict[str, Wire] = dict(zip(inputs, circuit.inputs(encrypt(list(inputs.values()))),
                                      strict=True))
    gates: list[Wire] = []

    def wire(reference: Any, index: int) -> Wire | None:
        if reference is None:
            return None
        text = str(reference)
        if text.startswith("$") and text[1:].isdigit() and int(text[1:]) < len(gates):
            return gates[int(text[1:])]
        if text in names:
            return names[text]
        raise wavis_sdk.ValidationError(
            f"Gate {index} refers to {text!r}: not an input, a named earlier gate or $k "
            "(k an earlier gate's index).", code="INVALID_BATCH",
            details={"gate": index})

    for index, entry in enumerate(spec["gates"]):
        if not isinstance(entry, dict) or "op" not in entry or "a" not in entry:
            raise wavis_sdk.ValidationError(f"Gate {index} needs \"op\" and \"a\".",
                                            code="INVALID_BATCH", details={"gate": index})
        first = wire(entry["a"], index)
        assert first is not None
        out = circuit.gate(str(entry["op"]), first, wire(entry.get("b"), index),
                           wire(entry.get("sel"), index))
        gates.append(out)
        if entry.get("name"):
            names[str(entry["name"])] = out
    wanted = spec.get("outputs")
    if wanted is None:
        named = [str(e["name"]) for e in spec["gates"] if e.get("name")]
        wanted = named or [f"${len(gates) - 1}"]
    outputs = {str(name): wire(name, len(gates)) for name in wanted}
    return circuit, {k: v for k, v in outputs.items() if v is not None}


@tfhe.command()
@click.argument("circuit_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--session", "session_id", required=True, help="The session id.")
@click.option("--keys", "key_folder", type=click.Path(exists=True, file_okay=False),
              help="The session's local key folder (blind); omit for server-mode sessions.")
@json_option
@pass_app
def batch(app: App, circuit_file: str, session_id: str, key_folder: str | None) -> None:
    """Evaluate a circuit from a JSON file in one request; prints its outputs.

    \b
    {"inputs": {"x": 1, "y": 0, "z": 1},
     "gates": [{"op": "AND", "a": "x", "b": "y", "name": "xy"},
               {"op": "AND", "a": "x", "b": "z"},
               {"op": "OR", "a": "xy", "b": "$1", "name": "out"}],
     "outputs": ["out"]}

    Operands name an input, a named earlier gate, or $k (the k-th gate, from 0). Outputs
    default to every named gate, else the last gate.
    """
    spec = json.loads(Path(circuit_file).read_text())
    bits = Bits(app.client(), session_id, _tfhe_keys(key_folder))
    circuit, outputs = build_circuit(spec, bits.encrypt)
    with app.waiting(f"Evaluating {len(circuit)} gates"):
        result = app.client().tfhe.batch(session_id, circuit)
    values = dict(zip(outputs, bits.decrypt([result[w] for w in outputs.values()]),
                      strict=True))
    report = {"outputs": values, "gates_evaluated": result.gates_evaluated,
              "levels": result.levels, "bootstraps": result.bootstraps,
              "cost_units": result.cost_units, "cost_usd": result.cost_usd,
              "discount_applied": result.discount_applied,
              "compute_time_ms": result.compute_time_ms}
    app.emit(report, lambda: app.out.print(
        "  ".join(f"{name} = {bit}" for name, bit in values.items())
        + f"\n({result.gates_evaluated} gates, depth {result.levels}, {result.bootstraps} "
          f"bootstraps, {result.cost_units} FCU"
        + (", batch discount" if result.discount_applied else "")
        + f", {result.compute_time_ms:.1f} ms)"))
