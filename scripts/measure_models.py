"""Measure models under encryption on their held-out split and store the figures with them.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/measure_models.py [--dir DIR] [MODEL_ID ...]

For each model: the test split its metadata records (a dataset of scikit-learn), a key made
as the SDK makes one for the model (its recommended 128-bit parameters, the rotations it
needs), the samples packed and encrypted as the SDK does, the model's program run on
OpenFHE (services.inference.local_run, the operations ckks-compute runs), decrypted and
turned into predictions. Compared with the plaintext model (the ONNX graph with its exact
activations): the share of samples whose prediction agrees, and the accuracy (R^2 for
regression) of each. The result goes into the metadata's "accuracy".

First, the values the program leaves at its last level are computed in plaintext for every
sample of the dataset (each sample filling a ciphertext, the worst case): the metadata's
"output_scale" is the power of two that brings their mean magnitude to LAST_LEVEL_TARGET or
below, and "last_level_magnitude" what remains, from which the catalogue states the largest
scale_bits a key may have (docs/decisions/0087-model-outputs-fit-the-last-level.md).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
for root in (REPO_ROOT, REPO_ROOT / "libs", REPO_ROOT / "sdk" / "python" / "src"):
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))

from wavis_sdk import inference  # noqa: E402
from wavis_sdk.ckks import CkksKeys  # noqa: E402

from services.inference import local_run  # noqa: E402
from services.inference.catalogue import (  # noqa: E402
    BUILTIN_MODELS_DIR,
    Model,
    describe,
    load_model,
)
from services.inference.compiler import compile_network  # noqa: E402

# Regression: an encrypted prediction agrees when it is this close to the plaintext one,
# relative to the spread (max - min) of the plaintext predictions on the split.
REGRESSION_TOLERANCE = 1e-3
# The mean magnitude the last level's values are scaled to at most: 4 bits of the first
# modulus (sign and a bit of margin included) above the scale hold them.
LAST_LEVEL_TARGET = 4.0
# Slots of the plaintext simulation (the values do not depend on the slot count).
SIMULATED_SLOTS = 1024


def dataset(metadata: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The dataset the model was trained on (every sample: training and held-out)."""
    training = metadata["training"]
    module, _, name = training["loader"].rpartition(".")
    features, target = getattr(importlib.import_module(module), name)(
        return_X_y=True, **training.get("loader_kwargs", {}))
    return np.asarray(features, dtype=float), np.asarray(target)


def last_level_magnitude(model: Model, output_scale: float) -> float:
    """The largest mean magnitude of a value at the program's last level, each sample of the
    dataset filling a ciphertext (the mean bounds every coefficient CKKS decodes)."""
    entry = describe(model)
    program = compile_network(model.network, model.approximations, output_scale)
    per_ciphertext = inference.samples_per_ciphertext(entry, SIMULATED_SLOTS)
    return program.last_level_magnitude(
        inference.pack(np.repeat(sample[None, :], per_ciphertext, axis=0), entry,
                       SIMULATED_SLOTS)[0]
        for sample in dataset(model.metadata)[0])


def fit_last_level(model: Model) -> dict[str, float]:
    """output_scale and the last_level_magnitude it leaves."""
    unscaled = last_level_magnitude(model, 1.0)
    scale = 2.0 ** max(0, math.ceil(math.log2(unscaled / LAST_LEVEL_TARGET))) if unscaled else 1.0
    return {"output_scale": scale,
            "last_level_magnitude": float(f"{last_level_magnitude(model, scale):.3g}")}


def held_out_split(metadata: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The held-out split the training recorded."""
    from sklearn.model_selection import train_test_split

    training = metadata["training"]
    features, target = dataset(metadata)
    parts = train_test_split(features, target, test_size=training["test_size"],
                             random_state=training["split_seed"],
                             stratify=target if training.get("stratified") else None)
    return parts[1], parts[3]


def encrypted_scores(model: Model, keys: CkksKeys, features: np.ndarray) -> np.ndarray:
    """The model's outputs for the samples, through encryption (as a user's pipeline)."""
    import openfhe

    entry = describe(model)
    shape = local_run.key_shape(keys.context, keys.rotations)
    rows = []
    per_ciphertext = inference.samples_per_ciphertext(entry, keys.slot_count)
    for start, vector in zip(range(0, len(features), per_ciphertext),
                             inference.pack(features, entry, keys.slot_count), strict=True):
        ciphertext = openfhe.DeserializeCiphertextString(keys.encrypt(vector).data,
                                                         openfhe.BINARY)
        result = local_run.run_program(keys.context, model.program, ciphertext, shape)
        slots = keys.decrypt(openfhe.Serialize(result, openfhe.BINARY))
        rows.append(inference.unpack(slots, entry,
                                     min(per_ciphertext, len(features) - start)))
    return np.concatenate(rows)


def agreement(model: Model, plain: np.ndarray, encrypted: np.ndarray) -> float:
    entry = describe(model)
    if model.task == "regression":
        spread = float(np.ptp(plain[:, 0])) or 1.0
        return float(np.mean(np.abs(plain[:, 0] - encrypted[:, 0])
                             <= REGRESSION_TOLERANCE * spread))
    return float(np.mean(inference.predictions(plain, entry)
                         == inference.predictions(encrypted, entry)))


def score(model: Model, outputs: np.ndarray, target: np.ndarray) -> float:
    """Accuracy (classification) or R^2 (regression) of these outputs."""
    entry = describe(model)
    if model.task == "regression":
        residual = float(np.sum((target - outputs[:, 0]) ** 2))
        return 1.0 - residual / float(np.sum((target - target.mean()) ** 2))
    labels = np.asarray(entry["classes"])[target.astype(int)]
    return float(np.mean(inference.predictions(outputs, entry) == labels))


def measure(model: Model) -> dict[str, Any]:
    features, target = held_out_split(model.metadata)
    entry = describe(model)
    keys = inference.keys_for_model(entry)
    started = time.perf_counter()
    encrypted = encrypted_scores(model, keys, features)
    seconds = time.perf_counter() - started
    plain = model.network.evaluate(features)
    return {
        "metric": "r2" if model.task == "regression" else "accuracy",
        "plaintext": round(score(model, plain, target), 4),
        "encrypted": round(score(model, encrypted, target), 4),
        "agreement": round(agreement(model, plain, encrypted), 4),
        "test_samples": len(features),
        "max_abs_difference": float(f"{np.max(np.abs(plain - encrypted)):.3g}"),
        "key": {"poly_degree": keys.params.poly_degree, "scale_bits": keys.params.scale_bits,
                "max_depth": keys.params.max_depth,
                "security_level": keys.params.security_level},
        "script": "scripts/measure_models.py",
        "seconds": round(seconds, 1),
    }


def measure_all(directory: Path, model_ids: list[str]) -> None:
    for model_id in model_ids:
        path = directory / f"{model_id}.onnx"
        meta_path = path.with_suffix(".json")
        metadata = json.loads(meta_path.read_text())
        fitted = fit_last_level(load_model(path))
        metadata.update(fitted)
        meta_path.write_text(json.dumps(metadata, indent=2) + "\n")
        print(f"{model_id}: {json.dumps(fitted)}")
        model = load_model(path)
        figures = measure(model)
        metadata["accuracy"] = {name: value for name, value in figures.items()
                                if name != "seconds"}
        meta_path.write_text(json.dumps(metadata, indent=2) + "\n")
        print(f"{model_id}: {json.dumps(figures)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=BUILTIN_MODELS_DIR)
    parser.add_argument("model_ids", nargs="*")
    args = parser.parse_args()
    ids = args.model_ids or sorted(path.stem for path in args.dir.glob("*.onnx"))
    measure_all(args.dir, ids)


if __name__ == "__main__":
    main()
