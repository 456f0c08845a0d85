"""`wavis models` against the real stack: the catalogue as a table and as JSON, predictions
on a CSV of raw features (a key made here on first use, kept and reused), keys that fall
short refused with their exit code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cli_support import Wavis
from sdk_support import new_tenant

from services.inference.catalogue import BUILTIN_MODELS_DIR, load_model
from support.onnx_models import held_out_split
from wavis.devstack.stack import Stack


@pytest.fixture(scope="module")
def wavis(mesh: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wavis]:
    tenant = new_tenant(mesh, plan="enterprise")
    yield Wavis(mesh.gateway_url, tenant.api_key, tmp_path_factory.mktemp("wavis-models"))


def test_models_list(wavis: Wavis) -> None:
    listed = wavis.json("models", "list")
    assert [m["model_id"] for m in listed] == ["breast-cancer-logreg", "diabetes-linreg",
                                               "digits-mlp"]
    table = wavis.run("models", "list", env={"WAVIS_API_KEY": None}).stdout  # public
    assert "digits-mlp" in table and "99.78%" in table and "R² 0.3594" in table


def test_models_predict_from_csv(wavis: Wavis, tmp_path: Path) -> None:
    model = load_model(BUILTIN_MODELS_DIR / "digits-mlp.onnx")
    features, _ = held_out_split(model.metadata)
    features = features[:20]
    csv_file = tmp_path / "digits.csv"
    header = ",".join(f"pixel_{i}" for i in range(64))
    np.savetxt(csv_file, features, delimiter=",", fmt="%g", header=header, comments="")
    keys_dir = wavis.home / "model-keys"
    options = ("--keys-dir", str(keys_dir), "--poly-degree", "2048",
               "--security-level", "testing")
    first = wavis.json("models", "predict", "digits-mlp", "--input", str(csv_file), *options)
    expected = [str(c) for c in np.argmax(model.network.evaluate(features), axis=1)]
    assert first["samples"] == 20
    assert np.mean(np.array(first["predictions"]) == np.array(expected)) >= 0.95
    folder = Path(first["key_folder"])
    assert folder.parent == keys_dir and (folder / "secret_key.bin").exists()
    assert json.loads((folder / "wavis-key.json").read_text())["key_id"] == first["key_id"]
    again = wavis.run("models", "predict", "digits-mlp", "--input", str(csv_file), *options)
    assert again.stdout.split() == first["predictions"]  # the same key, one label per line
    scores = wavis.json("models", "predict", "digits-mlp", "--input", str(csv_file),
                        "--scores", *options)
    assert scores["key_id"] == first["key_id"] and len(scores["scores"][0]) == 10


def test_a_key_folder_short_of_the_requirements(wavis: Wavis, tmp_path: Path) -> None:
    folder = tmp_path / "small-key"
    wavis.json("keys", "generate", "ckks", "--local", "--out", str(folder), "--poly-degree",
               "2048", "--scale-bits", "40", "--max-depth", "5", "--security-level", "testing",
               "--rotations", "1,2,4")
    csv_file = tmp_path / "one.csv"
    csv_file.write_text(",".join(["1"] * 64) + "\n")
    refused = wavis.run("models", "predict", "digits-mlp", "--input", str(csv_file), "--key",
                        str(folder), "--json", expect=6)
    error = json.loads(refused.stdout)["error"]
    assert error["code"] == "KEY_REQUIREMENTS_NOT_MET"
    assert error["details"]["unmet"][0].startswith("rotations [-32")
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,x\n")
    wavis.run("models", "predict", "digits-mlp", "--input", str(bad), expect=1)
