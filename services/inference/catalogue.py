"""The model catalogue: ONNX files and their metadata, loaded, checked and compiled.

A models directory holds, per model, `<model_id>.onnx` (the supported subset,
services.inference.network) and `<model_id>.json` (what the ONNX file cannot say: name,
version, task, dataset, classes, the activations' approximations and, when measured, the
accuracy). The service reads the models shipped with it (services/inference/models/, made by
scripts/train_models.py) and those of WAVIS_MODELS_DIR. A model that fails to load, to
compile or to meet the rules here is left out with a log line naming why (the node, for ONNX
outside the subset): the catalogue lists only models that run.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.inference.approximations import Approximation, approximate
from services.inference.compiler import (
    MIN_POLY_DEGREE,
    CompileError,
    Program,
    compile_network,
)
from services.inference.network import Network, UnsupportedModel, read_network
from wavis.core.errors import WavisError
from wavis.core.ids import MODEL_ID_PATTERN
from wavis.fhe.ckks_params import (
    SCALE_BITS_RANGE,
    SECURE_POLY_DEGREES,
    CkksParams,
    first_mod_bits,
    validate_ckks_params,
)

log = logging.getLogger(__name__)

BUILTIN_MODELS_DIR = Path(__file__).parent / "models"
TASKS = ("binary-classification", "multiclass", "regression")
MODEL_ID = re.compile(MODEL_ID_PATTERN)
SCHEME = "ckks"
# The scales tried for the recommended key, on each ring dimension a 128-bit key may have
# (a smaller scale leaves room for more levels at a given ring dimension).
RECOMMENDED_SCALE_BITS = (40, 35, 30)


class InvalidModel(ValueError):
    """A model the catalogue leaves out; the message says why."""


@dataclass
class Model:
    model_id: str
    metadata: dict[str, Any]
    network: Network
    approximations: dict[str, Approximation]  # by activation node name
    program: Program
    depth: int
    recommended_key: CkksParams | None
    max_scale_bits: int | None  # key_requirements.max_scale_bits

    @property
    def task(self) -> str:
        return str(self.metadata["task"])

    @property
    def block_size(self) -> int:
        return self.program.block_size

    @property
    def min_poly_degree(self) -> int:
        """The smallest ring dimension whose slots hold one sample's block."""
        return max(MIN_POLY_DEGREE, 2 * self.block_size)

    @property
    def output_values(self) -> str:
        """What the decrypted outputs are."""
        ends_in_sigmoid = (bool(self.network.layers)
                           and getattr(self.network.layers[-1], "function", "") == "Sigmoid")
        if self.task == "regression":
            return "value"
        if self.task == "multiclass":
            return "scores"
        return "probability" if ends_in_sigmoid else "logit"

    def samples_per_ciphertext(self, slot_count: int) -> int:
        return slot_count // self.block_size


def load_directory(directory: Path) -> list[Model]:
    """Every model of the directory that loads; the others are logged and left out."""
    models = []
    for path in sorted(directory.glob("*.onnx")):
        try:
            models.append(load_model(path))
        except (InvalidModel, UnsupportedModel, CompileError) as exc:
            log.error("model %s left out of the catalogue: %s", path.name, exc)
    return models


def load_catalogue(directories: list[Path]) -> dict[str, Model]:
    """Models by id, from each directory in turn; a later directory cannot replace a model
    id already loaded."""
    catalogue: dict[str, Model] = {}
    for directory in directories:
        for model in load_directory(directory):
            if model.model_id in catalogue:
                log.error("model %s in %s left out: the id is taken", model.model_id, directory)
                continue
            catalogue[model.model_id] = model
    return catalogue


def load_model(path: Path) -> Model:
    model_id = path.stem
    if not MODEL_ID.match(model_id):
        raise InvalidModel(f"the model id {model_id!r} (the file name) must be lowercase "
                           "letters, digits, '-' or '_', at most 64 characters")
    meta_path = path.with_suffix(".json")
    try:
        metadata = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidModel(f"no readable metadata {meta_path.name} ({exc})") from None
    _check_metadata(metadata)
    network = read_network(path)
    approximations = _approximations(network, metadata.get("approximations") or {})
    _check_outputs(metadata, network)
    program = compile_network(network, approximations, output_scale(metadata))
    depth = program.depth()
    ceiling = max_scale_bits(metadata)
    return Model(model_id, metadata, network, approximations, program, depth,
                 recommended_key(max(MIN_POLY_DEGREE, 2 * program.block_size), depth, ceiling),
                 ceiling)


def output_scale(metadata: dict[str, Any]) -> float:
    """What the compiled outputs are divided by (metadata "output_scale", a power of two
    chosen by scripts/measure_models.py; 1 when absent)."""
    return float(metadata.get("output_scale", 1))


def max_scale_bits(metadata: dict[str, Any]) -> int | None:
    """The largest scale_bits whose last level holds the model's values: the first modulus
    (wavis.fhe.ckks_params.first_mod_bits) must exceed the scale by the bits of the largest
    mean magnitude measured there, plus one for the sign and one of margin. None when no
    measurement was stored (docs/decisions/0087-model-outputs-fit-the-last-level.md)."""
    magnitude = metadata.get("last_level_magnitude")
    if magnitude is None:
        return None
    needed = max(0, math.ceil(math.log2(float(magnitude)))) + 2 if magnitude > 0 else 2
    fitting = [bits for bits in range(SCALE_BITS_RANGE[0], SCALE_BITS_RANGE[1] + 1)
               if first_mod_bits(bits) - bits >= needed]
    return max(fitting) if fitting else None


def _check_metadata(metadata: Any) -> None:
    if not isinstance(metadata, dict):
        raise InvalidModel("the metadata must be a JSON object")
    for name in ("name", "version", "task", "dataset"):
        if not isinstance(metadata.get(name), str) or not metadata[name]:
            raise InvalidModel(f"the metadata needs {name!r} (a non-empty string)")
    if metadata["task"] not in TASKS:
        raise InvalidModel(f"task must be one of {', '.join(TASKS)}")
    scale = metadata.get("output_scale", 1)
    if (not isinstance(scale, (int, float)) or isinstance(scale, bool) or scale < 1
            or not math.log2(scale).is_integer()):
        raise InvalidModel("output_scale must be a power of two, 1 or more")
    magnitude = metadata.get("last_level_magnitude")
    if magnitude is not None and (not isinstance(magnitude, (int, float))
                                  or isinstance(magnitude, bool) or not magnitude >= 0
                                  or max_scale_bits(metadata) is None):
        raise InvalidModel("last_level_magnitude must be a number that some scale_bits "
                           "can hold (measured by scripts/measure_models.py)")


def _approximations(network: Network, stated: dict[str, Any]) -> dict[str, Approximation]:
    """Each activation's approximation, stated by node name or else by operator."""
    result = {}
    for activation in network.activations:
        spec = stated.get(activation.node, stated.get(activation.function))
        if not isinstance(spec, dict):
            raise InvalidModel(f"activation {activation.node!r} ({activation.function}) needs "
                               "an approximation in the metadata: \"approximations\": {"
                               f"\"{activation.node}\": {{\"range\": [low, high], \"degree\": "
                               "d}}")
        try:
            low, high = (float(v) for v in spec["range"])
            result[activation.node] = approximate(activation.function, low, high,
                                                  int(spec["degree"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidModel(f"activation {activation.node!r}: {exc}") from None
    return result


def _check_outputs(metadata: dict[str, Any], network: Network) -> None:
    outputs, task = network.n_outputs, metadata["task"]
    if task == "multiclass" and outputs < 2:
        raise InvalidModel("a multiclass model needs one output per class")
    if task in ("binary-classification", "regression") and outputs != 1:
        raise InvalidModel(f"a {task} model has one output; this one has {outputs}")
    classes = metadata.get("classes")
    if task != "regression":
        expected = 2 if task == "binary-classification" else outputs
        if not isinstance(classes, list) or len(classes) != expected:
            raise InvalidModel(f"classes must list the {expected} class labels")


_RECOMMENDED: dict[tuple[int, int, int | None], CkksParams | None] = {}


def recommended_key(min_poly_degree: int, depth: int, scale_ceiling: int | None = None,
                    ) -> CkksParams | None:
    """The smallest 128-bit parameters (ring dimension, then the largest scale up to
    scale_ceiling) that OpenFHE accepts for this depth, built as the SDK builds keys; None if
    even N=32768 is short."""
    cached = (min_poly_degree, depth, scale_ceiling)
    if cached in _RECOMMENDED:
        return _RECOMMENDED[cached]
    import openfhe

    found = None
    for poly_degree in (n for n in SECURE_POLY_DEGREES if n >= min_poly_degree):
        for scale_bits in (bits for bits in RECOMMENDED_SCALE_BITS
                           if scale_ceiling is None or bits <= scale_ceiling):
            try:  # never a key the keys service would refuse (a ciphertext over 2 MB)
                validate_ckks_params(CkksParams(poly_degree, scale_bits, depth))
            except WavisError:
                continue
            parameters = openfhe.CCParamsCKKSRNS()
            parameters.SetRingDim(poly_degree)
            parameters.SetMultiplicativeDepth(depth)
            parameters.SetScalingModSize(scale_bits)
            parameters.SetFirstModSize(first_mod_bits(scale_bits))
            parameters.SetSecurityLevel(openfhe.HEStd_128_classic)
            parameters.SetScalingTechnique(openfhe.FLEXIBLEAUTO)
            parameters.SetKeySwitchTechnique(openfhe.HYBRID)
            parameters.SetBatchSize(poly_degree // 2)
            try:
                openfhe.GenCryptoContext(parameters)
            except RuntimeError:
                continue
            found = CkksParams(poly_degree, scale_bits, depth)
            break
        if found:
            break
    _RECOMMENDED[cached] = found
    return found


def describe(model: Model) -> dict[str, Any]:
    """The catalogue entry (GET /api/v1/models/{model_id})."""
    meta = model.metadata
    key = model.recommended_key
    return {
        "model_id": model.model_id, "name": meta["name"], "version": meta["version"],
        "task": model.task, "dataset": meta["dataset"],
        "description": meta.get("description", ""),
        "n_features": model.network.n_features, "n_outputs": model.network.n_outputs,
        "classes": [str(c) for c in meta.get("classes", [])],
        "input_layout": {"block_size": model.block_size,
                         "values_per_sample": model.network.n_features},
        "output_layout": {"block_size": model.block_size,
                          "values_per_sample": model.network.n_outputs,
                          "values": model.output_values, "scale": output_scale(meta)},
        "key_requirements": {"scheme": SCHEME, "min_poly_degree": model.min_poly_degree,
                             "min_depth": model.depth, "rotations": model.program.rotations,
                             "max_scale_bits": model.max_scale_bits},
        "recommended_key": None if key is None else {
            "poly_degree": key.poly_degree, "scale_bits": key.scale_bits,
            "max_depth": key.max_depth, "security_level": key.security_level},
        "activations": [{"node": node} | approximation.describe()
                        for node, approximation in model.approximations.items()],
        "accuracy": meta.get("accuracy"),
        "steps": len(model.program.steps),
        "cost_units": model.program.fcu,
        "available": True,
    }
