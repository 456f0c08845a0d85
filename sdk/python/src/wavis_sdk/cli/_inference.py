"""`wavis models`: the catalogue of models that run on encrypted inputs, and predictions on
samples encrypted here (FHE-blind: the key stays on this machine)."""

from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.table import Table

import wavis_sdk
from wavis_sdk import inference
from wavis_sdk.ckks import META_FILE, CkksKeys
from wavis_sdk.cli._app import json_option, pass_app
from wavis_sdk.cli._keys import load_local_keys
from wavis_sdk.cli._output import App


def default_keys_dir() -> Path:
    """$XDG_DATA_HOME/wavis/model-keys (~/.local/share by default): keys made for models."""
    home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"),
                                                            ".local", "share")
    return Path(home) / "wavis" / "model-keys"


def read_samples(source: str) -> np.ndarray[Any, Any]:
    """Rows of numbers from a CSV file (or - for stdin); a first row that is not all numbers
    is a header and skipped."""
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))
            if any(cell.strip() for cell in row)]

    def numeric(row: list[str]) -> bool:
        try:
            [float(cell) for cell in row]
        except ValueError:
            return False
        return True

    if rows and not numeric(rows[0]):
        rows = rows[1:]
    if not rows:
        raise ValueError(f"{source}: no samples")
    bad = next((number for number, row in enumerate(rows, 1) if not numeric(row)), None)
    if bad is not None:
        raise ValueError(f"{source}: row {bad} has a cell that is not a number")
    return np.array([[float(cell) for cell in row] for row in rows])


def _model_keys(app: App, model: Any, key_folder: str | None, keys_dir: Path,
                poly_degree: int | None, security_level: str | None) -> tuple[CkksKeys, Path]:
    """The key folder given, else this machine's key for the model (made once, kept)."""
    if key_folder is not None:
        keys = load_local_keys(key_folder)
        if not isinstance(keys, CkksKeys):
            raise wavis_sdk.ValidationError(f"{key_folder} holds a TFHE key, not a CKKS key.",
                                            code="VALIDATION_ERROR")
        return keys, Path(key_folder)
    degree = poly_degree or (model.get("recommended_key") or {}).get("poly_degree")
    folder = keys_dir / f"{model['model_id']}-N{degree}"
    if (folder / META_FILE).exists():
        found = CkksKeys.load(folder)
        if not inference.keys_unmet(model, found):
            return found, folder
    with app.waiting(f"Making a key for {model['model_id']} (N={degree})"):
        keys = inference.keys_for_model(model, poly_degree, security_level)
        keys.save(folder)
    app.note(f"Key for {model['model_id']} saved in {folder} (secret key included).")
    return keys, folder


@click.group()
def models() -> None:
    """Models that run on encrypted samples: the catalogue, and predictions."""


@models.command("list")
@json_option
@pass_app
def list_models(app: App) -> None:
    """The catalogue: every model the server runs, with its measured accuracy and price."""
    settings = app.settings()
    with app.waiting("Fetching the catalogue"), \
            wavis_sdk.Client(settings.api_key or "", settings.base_url) as client:
        found = client.models.list()

    def human() -> None:
        table = Table(show_edge=False, box=None, pad_edge=False)
        for column in ("model", "task", "features -> outputs", "accuracy (encrypted)",
                       "agreement", "depth", "FCU"):
            table.add_column(column)
        for model in found:
            accuracy = model.get("accuracy") or {}
            figure = accuracy.get("encrypted")
            shown = ("-" if figure is None else f"R² {figure:.4f}"
                     if accuracy.get("metric") == "r2" else f"{figure:.2%}")
            table.add_row(model["model_id"], model["task"],
                          f"{model['n_features']} -> {model['n_outputs']}", shown,
                          "-" if not accuracy else f"{accuracy['agreement']:.2%}",
                          str(model["key_requirements"]["min_depth"]),
                          str(model["cost_units"]))
        app.out.print(table)

    app.emit(found, human)


@models.command()
@click.argument("model_id")
@click.option("--input", "source", required=True, metavar="CSV",
              help="Samples, one row each, raw features in the model's order (- for stdin).")
@click.option("--key", "key_folder", type=click.Path(exists=True, file_okay=False),
              help="A local CKKS key folder that meets the model's requirements; default: "
                   "this machine's key for the model, made on first use.")
@click.option("--keys-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where keys made for models are kept (default $XDG_DATA_HOME/wavis/"
                   "model-keys).")
@click.option("--poly-degree", type=int, help="Ring dimension of a key made here (default: "
                                              "the model's recommended one).")
@click.option("--security-level", help="Of a key made here (default 128-bit; testing allows "
                                       "N=1024 and 2048).")
@click.option("--scores", is_flag=True, help="Print the model's raw outputs (logits, class "
                                             "scores) instead of predictions.")
@json_option
@pass_app
def predict(app: App, model_id: str, source: str, key_folder: str | None,
            keys_dir: Path | None, poly_degree: int | None, security_level: str | None,
            scores: bool) -> None:
    """Run MODEL_ID on the samples of a CSV file, encrypted here, decrypted here."""
    samples = read_samples(source)
    client = app.client()
    model = client.models.get(model_id)
    keys, folder = _model_keys(app, model, key_folder, keys_dir or default_keys_dir(),
                               poly_degree, security_level)
    with app.waiting(f"Predicting {len(samples)} sample(s) with {model_id}"):
        result = (client.models.scores if scores else client.models.predict)(
            model_id, samples, keys=keys)
    values = result.tolist()
    data = {"model_id": model_id, "samples": len(samples), "key_folder": str(folder),
            "key_id": keys.key_id, "scores" if scores else "predictions": values}

    def human() -> None:
        for value in values:
            click.echo(",".join(f"{v:.6g}" for v in value) if isinstance(value, list)
                       else (f"{value:.6g}" if isinstance(value, float) else str(value)))

    app.emit(data, human)
