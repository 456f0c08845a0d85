"""Small ONNX graphs made with onnx.helper, as an operator might drop them into a models
directory; and the held-out split of a shipped model, as the measuring script makes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from scripts.measure_models import held_out_split

__all__ = ["held_out_split", "relu_mlp", "write_model"]


def write_model(directory: Path, model_id: str, nodes: list[Any], initializers: dict[str, Any],
                n_features: int, n_outputs: int, metadata: dict[str, Any] | None = None,
                output: str = "y") -> Path:
    """<model_id>.onnx (input "x" [batch, n_features], output `output`) and its .json."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes, model_id,
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [None, n_features])],
        [helper.make_tensor_value_info(output, TensorProto.DOUBLE, [None, n_outputs])],
        [numpy_helper.from_array(np.asarray(value, dtype=np.float64), name)
         for name, value in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = directory / f"{model_id}.onnx"
    path.write_bytes(model.SerializeToString())
    meta = {"name": model_id, "version": "0.1.0", "task": "regression",
            "dataset": "synthetic"} | (metadata or {})
    (directory / f"{model_id}.json").write_text(json.dumps(meta))
    return path


def relu_mlp(directory: Path, model_id: str = "relu-mlp", seed: int = 1,
             degree: int = 8) -> Path:
    """Gemm (transB) -> Relu (a polynomial of `degree` over [-4, 4]) -> Gemm: 5 features, 7
    hidden, 3 classes."""
    from onnx import helper

    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="dense1", transB=1),
             helper.make_node("Relu", ["h"], ["a"], name="relu1"),
             helper.make_node("Gemm", ["a", "w2", "b2"], ["y"], name="dense2")]
    return write_model(directory, model_id, nodes, {
        "w1": rng.normal(size=(7, 5)) * 0.5, "b1": rng.normal(size=7) * 0.1,
        "w2": rng.normal(size=(7, 3)), "b2": rng.normal(size=3)}, 5, 3,
        {"task": "multiclass", "classes": ["a", "b", "c"],
         "approximations": {"relu1": {"range": [-4, 4], "degree": degree}}})
