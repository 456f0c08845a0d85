"""The model catalogue: the shipped models load, ONNX outside the supported subset is refused
naming the node, metadata is checked, and the shipped files are what the training script
makes."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from services.inference.catalogue import (
    BUILTIN_MODELS_DIR,
    InvalidModel,
    describe,
    load_catalogue,
    load_directory,
    load_model,
)
from services.inference.network import UnsupportedModel, read_network
from support.onnx_models import held_out_split, relu_mlp, write_model

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("breast-cancer-logreg", "diabetes-linreg", "digits-mlp")


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue([BUILTIN_MODELS_DIR])


def test_the_three_shipped_models_load(catalogue) -> None:
    assert sorted(catalogue) == list(SHIPPED)
    entries = {model_id: describe(model) for model_id, model in catalogue.items()}
    cancer, digits, diabetes = (entries[m] for m in (
        "breast-cancer-logreg", "digits-mlp", "diabetes-linreg"))
    assert (cancer["task"], cancer["n_features"], cancer["n_outputs"]) == (
        "binary-classification", 30, 1)
    assert (digits["task"], digits["n_features"], digits["n_outputs"]) == ("multiclass", 64, 10)
    assert (diabetes["task"], diabetes["n_features"], diabetes["n_outputs"]) == (
        "regression", 10, 1)
    assert cancer["input_layout"] == {"block_size": 32, "values_per_sample": 30}
    assert digits["activations"][0]["function"] == "Sigmoid"
    assert digits["activations"][0]["degree"] == 5
    for entry in entries.values():
        needs = entry["key_requirements"]
        assert needs["scheme"] == "ckks" and needs["min_depth"] >= 1
        assert entry["cost_units"] > 0 and entry["available"] is True
        assert entry["recommended_key"]["security_level"] == "128-bit"
        assert entry["recommended_key"]["max_depth"] == needs["min_depth"]
    assert digits["key_requirements"]["min_depth"] == 5  # dense 1 + polynomial 3 + dense 1
    assert digits["recommended_key"]["poly_degree"] == 16384


def test_shipped_onnx_files_are_small() -> None:
    for model_id in SHIPPED:
        assert (BUILTIN_MODELS_DIR / f"{model_id}.onnx").stat().st_size < 64 * 1024


@pytest.mark.parametrize("model_id", SHIPPED)
def test_stated_plaintext_accuracy_is_the_onnx_models(catalogue, model_id: str) -> None:
    """The catalogue's plaintext figure is what the ONNX graph scores on the recorded split,
    and the encrypted figures meet the bar: >= 99% agreement, within 1 point."""
    model = catalogue[model_id]
    accuracy = model.metadata["accuracy"]
    features, target = held_out_split(model.metadata)
    outputs = model.network.evaluate(features)
    if model.task == "regression":
        value = 1 - np.sum((target - outputs[:, 0]) ** 2) / np.sum((target - target.mean()) ** 2)
    elif model.task == "multiclass":
        value = np.mean(np.argmax(outputs, axis=1) == target)
    else:
        value = np.mean((outputs[:, 0] > 0).astype(int) == target)
    assert accuracy["plaintext"] == pytest.approx(value, abs=1e-4)
    assert accuracy["test_samples"] == len(target)
    assert accuracy["agreement"] >= 0.99
    assert abs(accuracy["encrypted"] - accuracy["plaintext"]) <= 0.01


def test_an_unsupported_node_is_refused_naming_it(tmp_path: Path, caplog) -> None:
    from onnx import helper

    write_model(tmp_path, "with-softmax", [
        helper.make_node("MatMul", ["x", "w"], ["z"], name="dense"),
        helper.make_node("Softmax", ["z"], ["y"], name="the_softmax")],
        {"w": np.ones((4, 3))}, 4, 3, {"task": "multiclass", "classes": ["a", "b", "c"]})
    with pytest.raises(UnsupportedModel, match="'the_softmax' \\(Softmax\\)"):
        read_network(tmp_path / "with-softmax.onnx")
    relu_mlp(tmp_path)
    with caplog.at_level(logging.ERROR):
        models = load_directory(tmp_path)
    assert [model.model_id for model in models] == ["relu-mlp"]
    assert "with-softmax.onnx left out" in caplog.text and "the_softmax" in caplog.text


@pytest.mark.parametrize(("nodes", "why"), [
    (["MatMulW", "Softmax"], "Softmax"),
    (["Sigmoid"], "an activation must follow a dense layer"),
    (["MatMulW", "AddX"], "its operand 'x' must be a constant"),
    (["MatMulW", "AddSelf"], "must take the data tensor 't0' exactly once"),
])
def test_graphs_outside_the_subset(tmp_path: Path, nodes: list[str], why: str) -> None:
    from onnx import helper

    chain, current = [], "x"
    for index, kind in enumerate(nodes):
        out = "y" if index == len(nodes) - 1 else f"t{index}"
        if kind == "MatMulW":
            chain.append(helper.make_node("MatMul", [current, "w"], [out], name=f"n{index}"))
        elif kind == "AddX":
            chain.append(helper.make_node("Add", [current, "x"], [out], name=f"n{index}"))
        elif kind == "AddSelf":
            chain.append(helper.make_node("Add", [current, current], [out], name=f"n{index}"))
        else:
            chain.append(helper.make_node(kind, [current], [out], name=f"n{index}"))
        current = out
    write_model(tmp_path, "bad", chain, {"w": np.ones((4, 4))}, 4, 4)
    with pytest.raises(UnsupportedModel, match=why):
        read_network(tmp_path / "bad.onnx")


def test_metadata_is_checked(tmp_path: Path) -> None:
    path = relu_mlp(tmp_path)
    meta = json.loads(path.with_suffix(".json").read_text())
    for change, why in [({"approximations": {}}, "needs an approximation"),
                        ({"task": "ranking"}, "task must be one of"),
                        ({"classes": ["a", "b"]}, "classes must list the 3"),
                        ({"approximations": {"relu1": {"range": [4, -4], "degree": 8}}},
                         "low < high")]:
        path.with_suffix(".json").write_text(json.dumps(meta | change))
        with pytest.raises(InvalidModel, match=why):
            load_model(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(InvalidModel, match="no readable metadata"):
        load_model(path)


def test_a_later_directory_cannot_replace_a_model(tmp_path: Path) -> None:
    shutil.copy(BUILTIN_MODELS_DIR / "diabetes-linreg.onnx", tmp_path)
    meta = json.loads((BUILTIN_MODELS_DIR / "diabetes-linreg.json").read_text())
    (tmp_path / "diabetes-linreg.json").write_text(json.dumps(meta | {"name": "impostor"}))
    relu_mlp(tmp_path)
    catalogue = load_catalogue([BUILTIN_MODELS_DIR, tmp_path])
    assert catalogue["diabetes-linreg"].metadata["name"] != "impostor"
    assert "relu-mlp" in catalogue


def test_training_is_reproducible(tmp_path: Path) -> None:
    """scripts/train_models.py makes the committed ONNX files again, byte for byte."""
    subprocess.run([sys.executable, str(REPO / "scripts" / "train_models.py"), "--out",
                    str(tmp_path), "--no-measure"], check=True, capture_output=True,
                   timeout=300)
    for model_id in SHIPPED:
        assert ((tmp_path / f"{model_id}.onnx").read_bytes()
                == (BUILTIN_MODELS_DIR / f"{model_id}.onnx").read_bytes()), model_id
        made = json.loads((tmp_path / f"{model_id}.json").read_text())
        shipped = json.loads((BUILTIN_MODELS_DIR / f"{model_id}.json").read_text())
        for measured in ("accuracy", "output_scale", "last_level_magnitude"):
            shipped.pop(measured)  # scripts/measure_models.py's figures
        assert made == shipped | {"accuracy": None}
