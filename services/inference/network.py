"""A model as the compiler sees it: dense layers and activations, read from ONNX.

The supported subset of ONNX (docs/decisions/0085-models-compiled-to-ckks-programs.md):
one input of shape [batch, features], one output, and in between a chain of

- Gemm (transA 0), or MatMul by a constant matrix, optionally followed by Add of a constant
  bias: a dense layer;
- Sigmoid, Tanh, Relu right after a dense layer: an activation, evaluated under encryption
  by the polynomial the model's metadata states (services.inference.approximations);
- Cast to a floating type, Identity, Flatten (axis 1), Reshape to [-1, width] and Constant:
  no arithmetic, kept out of the circuit.

Anything else is refused with the node named (UnsupportedModel), when the model is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DENSE_OPS = ("Gemm", "MatMul")
ACTIVATION_OPS = ("Sigmoid", "Tanh", "Relu")
NO_ARITHMETIC_OPS = ("Cast", "Identity", "Flatten", "Reshape", "Constant")
SUPPORTED_OPS = (*DENSE_OPS, "Add", *ACTIVATION_OPS, *NO_ARITHMETIC_OPS)


class UnsupportedModel(ValueError):
    """A model outside the supported subset; the message names the node."""


@dataclass
class Dense:
    weights: np.ndarray  # out x in
    bias: np.ndarray  # out
    node: str

    @property
    def width(self) -> int:
        return int(self.weights.shape[0])


@dataclass
class Activation:
    function: str  # an ONNX operator of ACTIVATION_OPS
    node: str


Layer = Dense | Activation


@dataclass
class Network:
    n_features: int
    layers: list[Layer] = field(default_factory=list)

    @property
    def n_outputs(self) -> int:
        dense = [layer for layer in self.layers if isinstance(layer, Dense)]
        return dense[-1].width

    @property
    def widths(self) -> list[int]:
        return [self.n_features] + [layer.width for layer in self.layers
                                    if isinstance(layer, Dense)]

    @property
    def activations(self) -> list[Activation]:
        return [layer for layer in self.layers if isinstance(layer, Activation)]

    def evaluate(self, features: np.ndarray,
                 replace: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
                 ) -> np.ndarray:
        """The model in plaintext (float64), each activation the exact function, or the
        callable `replace` maps its node name to (a polynomial stand-in)."""
        from services.inference.approximations import FUNCTIONS

        values = np.asarray(features, dtype=np.float64)
        for layer in self.layers:
            if isinstance(layer, Dense):
                values = values @ layer.weights.T + layer.bias
            else:
                stand_in = (replace or {}).get(layer.node)
                values = (stand_in(values) if stand_in is not None
                          else FUNCTIONS[layer.function](values))
        return values


def read_network(path: Path) -> Network:
    """The network an ONNX file holds, or UnsupportedModel naming what is outside the
    subset."""
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(str(path))
    except Exception as exc:  # onnx raises DecodeError and others for bytes that are not ONNX
        raise UnsupportedModel(f"{path.name} is not a readable ONNX model ({exc}).") from None
    graph = model.graph
    constants = {init.name: numpy_helper.to_array(init).astype(np.float64)
                 if numpy_helper.to_array(init).dtype.kind == "f"
                 else numpy_helper.to_array(init) for init in graph.initializer}
    inputs = [value for value in graph.input if value.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise UnsupportedModel(f"The graph must have one input and one output; it has "
                               f"{len(inputs)} and {len(graph.output)}.")
    dims = inputs[0].type.tensor_type.shape.dim
    if len(dims) != 2 or not dims[1].dim_value:
        raise UnsupportedModel(f"The input {inputs[0].name!r} must have shape [batch, "
                               "features] with a fixed number of features.")
    network = Network(int(dims[1].dim_value))
    reader = _Reader(network, constants, inputs[0].name)
    for node in graph.node:
        reader.read(node)
    if reader.current != graph.output[0].name:
        raise UnsupportedModel(f"The output {graph.output[0].name!r} is not the end of the "
                               "chain of layers from the input.")
    if not any(isinstance(layer, Dense) for layer in network.layers):
        raise UnsupportedModel("The graph has no dense layer (Gemm or MatMul).")
    return network


class _Reader:
    """Follows the one tensor that carries the data from the input to the output."""

    def __init__(self, network: Network, constants: dict[str, np.ndarray], input_name: str):
        self.network = network
        self.constants = constants
        self.current = input_name
        self.width = network.n_features

    def _refuse(self, node: object, why: str) -> UnsupportedModel:
        name, op = getattr(node, "name", ""), getattr(node, "op_type", "")
        return UnsupportedModel(f"Node {name or '(unnamed)'!r} ({op}): {why}")

    def _constant(self, node: object, name: str) -> np.ndarray:
        if name not in self.constants:
            raise self._refuse(node, f"its operand {name!r} must be a constant (initializer).")
        return self.constants[name]

    def read(self, node: object) -> None:
        from onnx import helper, numpy_helper

        op = node.op_type  # type: ignore[attr-defined]
        if op not in SUPPORTED_OPS or node.domain not in ("", "ai.onnx"):  # type: ignore
            raise self._refuse(node, "not in the supported subset (" + ", ".join(
                SUPPORTED_OPS) + ").")
        attributes = {a.name: helper.get_attribute_value(a)
                      for a in node.attribute}  # type: ignore[attr-defined]
        name = node.name or f"{op}_{len(self.network.layers)}"  # type: ignore[attr-defined]
        if op == "Constant":
            tensor = attributes.get("value")
            if tensor is None:
                raise self._refuse(node, "only tensor constants ('value') are supported.")
            self.constants[node.output[0]] = numpy_helper.to_array(tensor)  # type: ignore
            return
        args = list(node.input)  # type: ignore[attr-defined]
        data = [arg for arg in args if arg == self.current]
        if len(data) != 1:
            raise self._refuse(node, f"it must take the data tensor {self.current!r} exactly "
                                     "once (the supported graphs are one chain of layers).")
        if op == "Gemm":
            self._gemm(node, name, args, attributes)
        elif op == "MatMul":
            if args[0] != self.current:
                raise self._refuse(node, "the data must be its first operand (x @ W).")
            self._dense(node, name, self._constant(node, args[1]).T, None)
        elif op == "Add":
            self._bias(node, next(arg for arg in args if arg != self.current))
        elif op in ACTIVATION_OPS:
            if not self.network.layers or not isinstance(self.network.layers[-1], Dense):
                raise self._refuse(node, "an activation must follow a dense layer (its input "
                                         "range is folded into that layer).")
            self.network.layers.append(Activation(op, name))
        else:
            self._no_arithmetic(node, op, args, attributes)
        self.current = node.output[0]  # type: ignore[attr-defined]

    def _gemm(self, node: object, name: str, args: list[str], attributes: dict) -> None:
        if args[0] != self.current or attributes.get("transA", 0):
            raise self._refuse(node, "the data must be its first operand, untransposed.")
        weights = self._constant(node, args[1])
        weights = weights if attributes.get("transB", 0) else weights.T
        weights = weights * float(attributes.get("alpha", 1.0))
        bias = None
        if len(args) > 2 and args[2]:
            bias = self._constant(node, args[2]) * float(attributes.get("beta", 1.0))
        self._dense(node, name, weights, bias)

    def _dense(self, node: object, name: str, weights: np.ndarray,
               bias: np.ndarray | None) -> None:
        if weights.ndim != 2 or weights.shape[1] != self.width:
            raise self._refuse(node, f"its weights must be a matrix with {self.width} input(s); "
                                     f"got shape {list(weights.shape)}.")
        out = weights.shape[0]
        layer = Dense(weights.astype(np.float64), np.zeros(out), name)
        self.network.layers.append(layer)
        self.width = out
        if bias is not None:
            layer.bias = self._bias_vector(node, bias)

    def _bias(self, node: object, operand: str) -> None:
        layers = self.network.layers
        if not layers or not isinstance(layers[-1], Dense):
            raise self._refuse(node, "Add must add a constant bias to a dense layer's output.")
        layers[-1].bias = layers[-1].bias + self._bias_vector(node, self._constant(node, operand))

    def _bias_vector(self, node: object, bias: np.ndarray) -> np.ndarray:
        try:
            return np.broadcast_to(np.asarray(bias, dtype=np.float64).reshape(-1)
                                   if bias.size in (1, self.width) else bias,
                                   (self.width,)).astype(np.float64)
        except ValueError:
            raise self._refuse(node, f"the bias must have {self.width} value(s); got shape "
                                     f"{list(bias.shape)}.") from None

    def _no_arithmetic(self, node: object, op: str, args: list[str], attributes: dict) -> None:
        import onnx

        if op == "Cast" and attributes.get("to") not in (onnx.TensorProto.FLOAT,
                                                          onnx.TensorProto.DOUBLE):
            raise self._refuse(node, "only casts to float or double are supported.")
        if op == "Flatten" and attributes.get("axis", 1) != 1:
            raise self._refuse(node, "only Flatten with axis 1 is supported.")
        if op == "Reshape":
            shape = [int(v) for v in self._constant(node, args[1]).reshape(-1)]
            if len(shape) != 2 or shape[1] not in (self.width, -1) or shape[0] not in (-1, 0):
                raise self._refuse(node, f"only a reshape to [-1, {self.width}] is supported; "
                                         f"got {shape}.")
