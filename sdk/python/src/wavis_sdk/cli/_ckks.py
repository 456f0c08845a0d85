"""`wavis ckks`: encrypt vectors here and upload them, compute on the server, download and
decrypt here (FHE-blind: the key folder made by `wavis keys generate ckks --local`)."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

import wavis_sdk
from wavis_sdk.ckks import CkksKeys
from wavis_sdk.cli._app import json_option, pass_app
from wavis_sdk.cli._keys import key_id_from, load_local_keys
from wavis_sdk.cli._output import App

# POST /compute/{operation}: the names the server accepts (a test compares them with its own).
COMPUTE_OPERATIONS = ("add", "negate", "rescale", "add-plain", "multiply-plain", "multiply",
                      "rotate", "poly-eval", "matmul", "bootstrap")
TWO_OPERANDS = ("add", "multiply")


def read_numbers(text: str, source: str) -> list[list[float]]:
    """Vectors from JSON (a list of numbers, or a list of lists: one vector each) or CSV (a
    vector per row; a file of one number per line is one vector)."""
    stripped = text.strip()
    if source.endswith(".json") or stripped.startswith("["):
        value = json.loads(stripped)
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            return [[float(x) for x in row] for row in value]
        if isinstance(value, list):
            return [[float(x) for x in value]]
        raise ValueError(f"{source}: expected a JSON list of numbers or of lists")
    rows = [[cell.strip() for cell in row if cell.strip()]
            for row in csv.reader(io.StringIO(stripped))]
    rows = [row for row in rows if row]
    if not rows:
        raise ValueError(f"{source}: no numbers")
    try:
        if all(len(row) == 1 for row in rows):
            return [[float(row[0]) for row in rows]]  # one column: one vector
        return [[float(cell) for cell in row] for row in rows]
    except ValueError:
        raise ValueError(f"{source}: every CSV cell must be a number") from None


def vectors_from(source: str | None, values: str | None) -> list[list[float]]:
    if values is not None:
        return read_numbers(values if values.lstrip().startswith("[") else
                            values.replace(" ", ""), "--values")
    if source is None:
        raise click.UsageError("Give a JSON or CSV file (or - for stdin), or --values.")
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    return read_numbers(text, source)


def _ckks_keys(folder: str) -> CkksKeys:
    keys = load_local_keys(folder)
    if not isinstance(keys, CkksKeys):
        raise wavis_sdk.ValidationError(f"{folder} holds a TFHE key, not a CKKS key.",
                                        code="VALIDATION_ERROR")
    return keys


@click.group()
def ckks() -> None:
    """CKKS on real vectors: encrypt here, compute there, decrypt here."""


@ckks.command()
@click.argument("source", required=False)
@click.option("--key", "key_folder", required=True, type=click.Path(exists=True, file_okay=False),
              help="The local key folder (uploaded with `wavis keys upload`).")
@click.option("--values", help="Numbers inline instead of a file: 1.5,2,-0.5.")
@json_option
@pass_app
def encrypt(app: App, source: str | None, key_folder: str, values: str | None) -> None:
    """Encrypt vectors locally and upload the ciphertexts; prints their ids.

    SOURCE is a JSON file (a list of numbers, or a list of lists), a CSV file (a vector per
    row, or one number per line) or - for stdin.
    """
    keys = _ckks_keys(key_folder)
    if not keys.key_id:
        raise wavis_sdk.ValidationError(
            f"The key in {key_folder} is not uploaded yet: run `wavis keys upload "
            f"{key_folder}`.", code="VALIDATION_ERROR")
    vectors = vectors_from(source, values)
    client = app.client()
    stored = []
    with app.waiting(f"Encrypting and uploading {len(vectors)} vector(s)"):
        for vector in vectors:
            ciphertext = client.ciphertexts.upload(keys.encrypt(vector))
            stored.append({"ciphertext_id": ciphertext.ciphertext_id,
                           "key_id": ciphertext.key_id, "values": len(vector),
                           "level": ciphertext.level, "size_bytes": ciphertext.size_bytes,
                           "expires_at": ciphertext.expires_at})
    def human() -> None:
        for row in stored:
            app.out.print(f"{row['ciphertext_id']}  ({row['values']} values, level "
                          f"{row['level']}, expires {row['expires_at']})")

    app.emit({"ciphertexts": stored}, human)


@ckks.command()
@click.argument("operation", type=click.Choice(COMPUTE_OPERATIONS))
@click.argument("ciphertext_ids", nargs=-1, required=True)
@click.option("--key", "key", required=True,
              help="The key: its id, or the local key folder it was uploaded from.")
@click.option("--plain", help="add-plain, multiply-plain: the plaintext operand (1,2,3 or a "
                              "JSON/CSV file; padded with zeros to the slot count).")
@click.option("--steps", type=int, help="rotate: slots to rotate by.")
@click.option("--matrix", type=click.Path(exists=True, dir_okay=False),
              help="matmul: a JSON or CSV file of rows.")
@click.option("--coeffs", help="poly-eval: coefficients, lowest degree first (or a file).")
@click.option("--scale-stable", is_flag=True, help="Rescale after the operation.")
@click.option("--async", "asynchronous", is_flag=True,
              help="Submit and wait for the operation (bootstrap always is).")
@click.option("--timeout", type=float, default=600.0, show_default=True,
              help="Seconds to wait for an asynchronous operation.")
@json_option
@pass_app
def compute(app: App, operation: str, ciphertext_ids: tuple[str, ...], key: str,
            plain: str | None, steps: int | None, matrix: str | None, coeffs: str | None,
            scale_stable: bool, asynchronous: bool, timeout: float) -> None:
    """Run OPERATION on stored ciphertexts (ids); prints the result's id.

    add and multiply take two ids, the others one.
    """
    wanted = 2 if operation in TWO_OPERANDS else 1
    if len(ciphertext_ids) != wanted:
        raise click.UsageError(f"{operation} takes {wanted} ciphertext id(s), "
                               f"got {len(ciphertext_ids)}.")
    fields: dict[str, Any] = {}
    client = app.client()
    key_id = key_id_from(key)
    if operation in ("add-plain", "multiply-plain"):
        operand = _one_vector(plain, "--plain", operation)
        # The server takes one value per slot; the rest of a shorter vector is 0, as when
        # encrypting.
        slots = client.keys.get(key_id).slot_count or len(operand)
        fields["plain_operand"] = operand + [0.0] * max(0, slots - len(operand))
    if operation == "rotate":
        if steps is None:
            raise click.UsageError("rotate needs --steps.")
        fields["rotation_steps"] = steps
    if operation == "matmul":
        if matrix is None:
            raise click.UsageError("matmul needs --matrix.")
        fields["matrix"] = read_numbers(Path(matrix).read_text(), matrix)
    if operation == "poly-eval":
        fields["polynomial_coeffs"] = _one_vector(coeffs, "--coeffs", operation)
    if scale_stable:
        fields["scale_stable"] = True
    if asynchronous or operation == "bootstrap":
        submitted = client.compute.submit(operation, key_id, list(ciphertext_ids), **fields)
        app.note(f"Submitted {submitted.op_id}.")
        with app.waiting(f"Waiting for {operation} ({submitted.op_id})"):
            result = submitted.wait(timeout)
    else:
        with app.waiting(f"Computing {operation}"):
            result = client.compute.run(operation, key_id, list(ciphertext_ids), **fields)

    def human() -> None:
        app.out.print(f"{result.result_ciphertext_id}  level {result.level}, noise budget "
                      f"left {result.noise_budget_remaining:g}%, {result.cost_units} FCU "
                      f"(${result.cost_usd:g}), {result.compute_time_ms:.1f} ms")
        if result.noise_budget_warning:
            app.note(f"[yellow]warning:[/] noise budget low; "
                     f"{result.noise_budget_recovery or 'decrypt soon'}")

    app.emit(result, human)


def _one_vector(value: str | None, option: str, operation: str) -> list[float]:
    if value is None:
        raise click.UsageError(f"{operation} needs {option}.")
    if Path(value).is_file():
        (vector, *rest) = read_numbers(Path(value).read_text(), value)
    else:
        (vector, *rest) = read_numbers(value.replace(" ", ""), option)
    if rest:
        raise click.UsageError(f"{option} takes one vector.")
    return vector


@ckks.command()
@click.argument("ciphertext_id")
@click.option("--key", "key_folder", required=True, type=click.Path(exists=True, file_okay=False),
              help="The local key folder holding the secret key.")
@click.option("--length", type=int, help="How many values (default: every slot).")
@click.option("--digits", type=int, default=6, show_default=True, help="Rounding.")
@click.option("--csv", "as_csv", is_flag=True, help="One value per line instead of JSON.")
@json_option
@pass_app
def decrypt(app: App, ciphertext_id: str, key_folder: str, length: int | None, digits: int,
            as_csv: bool) -> None:
    """Download a ciphertext (or a result) and decrypt it here."""
    keys = _ckks_keys(key_folder)
    with app.waiting(f"Downloading {ciphertext_id}"):
        ciphertext = app.client().ciphertexts.get(ciphertext_id)
    if ciphertext.key_id != keys.key_id:
        raise wavis_sdk.ValidationError(
            f"{ciphertext_id} is under key {ciphertext.key_id}; the key in {key_folder} is "
            f"{keys.key_id}.", code="VALIDATION_ERROR")
    values = [round(float(v), digits) for v in np.asarray(keys.decrypt(ciphertext, length))]
    result = {"ciphertext_id": ciphertext_id, "key_id": ciphertext.key_id,
              "level": ciphertext.level, "values": values}
    if as_csv and not app.json_mode:
        click.echo("\n".join(repr(v) for v in values))
        return
    app.emit(result, lambda: click.echo(json.dumps(values)))
