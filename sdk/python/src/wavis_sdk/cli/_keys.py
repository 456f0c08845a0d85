"""`wavis keys`: list, generate (on the server, or --local: a blind key in files here),
upload a local key's public parts, delete."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
from rich.table import Table

import wavis_sdk
from wavis_sdk.ckks import CkksKeys
from wavis_sdk.cli._app import json_option, pass_app
from wavis_sdk.cli._output import App
from wavis_sdk.tfhe import PRESETS, TfheKeys

META_FILE = "wavis-key.json"  # what CkksKeys.save and TfheKeys.generate write beside the keys


def load_local_keys(folder: str | os.PathLike[str]) -> CkksKeys | TfheKeys:
    """Keys saved by `wavis keys generate --local` (or the SDK's save)."""
    path = Path(folder)
    meta_file = path / META_FILE
    if not meta_file.exists():
        raise wavis_sdk.ValidationError(
            f"{path} holds no {META_FILE}: not a key folder made by `wavis keys generate "
            "--local` (or the SDK's save).", code="VALIDATION_ERROR")
    scheme = json.loads(meta_file.read_text()).get("scheme")
    return CkksKeys.load(path) if scheme == "ckks" else TfheKeys.load(path)


def key_id_from(value: str) -> str:
    """A key id, or a local key folder whose key was uploaded."""
    if not Path(value).is_dir():
        return value
    key_id = json.loads((Path(value) / META_FILE).read_text()).get("key_id") \
        if (Path(value) / META_FILE).exists() else None
    if not key_id:
        raise wavis_sdk.ValidationError(
            f"The key in {value} is not uploaded yet: run `wavis keys upload {value}`.",
            code="VALIDATION_ERROR")
    return str(key_id)


def _describe(key: wavis_sdk.Key) -> str:
    if key.scheme == "ckks" and key.params:
        return (f"N={key.params['poly_degree']} scale={key.params['scale_bits']} "
                f"depth={key.params['max_depth']}")
    return key.preset or ""


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


@click.group()
def keys() -> None:
    """FHE keys: list, generate, upload, delete."""


@keys.command("list")
@click.option("--limit", default=100, show_default=True, help="At most this many keys.")
@json_option
@pass_app
def list_keys(app: App, limit: int) -> None:
    """The account's keys, newest first."""
    found = []
    for key in app.client().keys.list(limit=min(limit, 100)):
        found.append(key)
        if len(found) >= limit:
            break

    def human() -> None:
        table = Table("key_id", "scheme", "mode", "status", "parameters", "size", "security",
                      "created")
        for key in found:
            table.add_row(key.key_id, key.scheme, key.mode, key.status, _describe(key),
                          _size(key.size_bytes),
                          f"{key.security_bits} bits" if key.security_bits else "-",
                          key.created_at)
        app.out.print(table if found else "No keys.")

    app.emit(found, human)


@keys.command()
@click.argument("scheme", type=click.Choice(["ckks", "tfhe"]))
@click.option("--local", "local", is_flag=True,
              help="FHE-blind: make the key here, secret key included, into --out.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for --local keys (default: ./wavis-<scheme>-key).")
@click.option("--poly-degree", type=int, default=8192, show_default=True, help="CKKS ring.")
@click.option("--scale-bits", type=int, default=40, show_default=True, help="CKKS scale.")
@click.option("--max-depth", type=int, default=1, show_default=True,
              help="CKKS multiplicative depth.")
@click.option("--security-level", default="128-bit", show_default=True,
              type=click.Choice(["128-bit", "192-bit", "256-bit", "testing"]))
@click.option("--rotations", help="CKKS rotation steps, e.g. 1,-1 (default: powers of two).")
@click.option("--preset", default="toy", show_default=True, type=click.Choice(list(PRESETS)),
              help="TFHE parameter set (toy is insecure, for demos).")
@json_option
@pass_app
def generate(app: App, scheme: str, local: bool, out: Path | None, poly_degree: int,
             scale_bits: int, max_depth: int, security_level: str, rotations: str | None,
             preset: str) -> None:
    """Generate a key: on the server (it keeps the secret key), or --local (blind).

    A local key is written to files: the secret key (secret_key.bin, mode 0600) never
    leaves this machine; upload the rest with `wavis keys upload FOLDER`.
    """
    steps = None if rotations is None else [int(s) for s in rotations.split(",") if s.strip()]
    if local:
        folder = out or Path(f"wavis-{scheme}-key")
        if folder.exists() and any(folder.iterdir()):
            raise wavis_sdk.ValidationError(f"{folder} exists and is not empty.",
                                            code="VALIDATION_ERROR")
        with app.waiting(f"Generating a {scheme.upper()} key here"):
            made: CkksKeys | TfheKeys
            if scheme == "ckks":
                made = CkksKeys.generate(poly_degree, scale_bits, max_depth, security_level,
                                         rotations=steps)
                made.save(folder)
            else:
                made = TfheKeys.generate(preset, folder)
        files = sorted(p.name for p in folder.iterdir())
        secret = folder / "secret_key.bin"
        result: dict[str, Any] = {
            "scheme": scheme, "folder": str(folder), "files": files,
            "secret_key_file": str(secret),
            "secret_key_mode": oct(secret.stat().st_mode & 0o777)}
        result |= {"preset": preset} if scheme == "tfhe" else {
            "poly_degree": poly_degree, "scale_bits": scale_bits, "max_depth": max_depth,
            "security_level": security_level}
        app.emit(result, lambda: app.out.print(
            f"Made a {scheme.upper()} key in {folder}/ ({', '.join(files)}); the secret key "
            f"is {secret} (mode 0600). Upload it with: wavis keys upload {folder}"))
        return
    client = app.client()
    with app.waiting("Generating the key on the server"):
        if scheme == "ckks":
            key = client.keys.generate_ckks(poly_degree, scale_bits, max_depth, security_level,
                                            rotations=steps)
        else:
            key = client.keys.generate_tfhe(preset)
    _print_key(app, key)


def _print_key(app: App, key: wavis_sdk.Key) -> None:
    def human() -> None:
        app.out.print(f"{key.key_id}  {key.scheme} {key.mode} {key.status}  {_describe(key)}  "
                      f"{_size(key.size_bytes)}")
        if key.security_warning:
            app.note(f"[yellow]warning:[/] {key.security_warning}")

    app.emit(key, human)


@keys.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@json_option
@pass_app
def upload(app: App, folder: str) -> None:
    """Upload a local key's public and evaluation parts (never the secret key).

    Large keys go by the resumable chunked upload, with a progress bar: run the same
    command again after an interruption and only the missing parts are sent.
    """
    local = load_local_keys(folder)
    with app.transfer() as progress:
        key = app.client().keys.upload(local, progress=progress)
    _print_key(app, key)
    app.note(f"The key id is recorded in {Path(folder) / META_FILE}.")


@keys.command()
@click.argument("key_ids", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_app
def delete(app: App, key_ids: tuple[str, ...], yes: bool) -> None:
    """Delete keys (by id or local folder), with their ciphertexts and sessions."""
    ids = [key_id_from(value) for value in key_ids]
    if not yes:
        click.confirm(f"Delete {', '.join(ids)} and everything computed under "
                      f"{'them' if len(ids) > 1 else 'it'}?", abort=True, err=True)
    client = app.client()
    for key_id in ids:
        client.keys.delete(key_id)
    app.emit({"deleted": ids}, lambda: app.out.print(f"Deleted {', '.join(ids)}."))
