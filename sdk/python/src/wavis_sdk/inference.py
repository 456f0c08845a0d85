"""Encrypted inference on this machine's side: packing samples into slots, reading the
predictions back, and the key a model needs.

A model of the catalogue (`client.models.get(model_id)`) states its layout: the slots are cut
into blocks of `block_size`, sample s in block s (its features at slots
s * block_size + j, the rest zero), so one ciphertext carries slot_count // block_size
samples. Its outputs come back in the same blocks: `values_per_sample` numbers at the start
of each sample's block. What they mean is `output_layout["values"]`: "logit" (binary, > 0
is the second class), "probability" (binary, > 0.5), "scores" (multiclass, the largest
wins) or "value" (regression).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from wavis_sdk._errors import ValidationError
from wavis_sdk.ckks import CkksKeys


def block_size(model: Mapping[str, Any]) -> int:
    return int(model["input_layout"]["block_size"])


def samples_per_ciphertext(model: Mapping[str, Any], slot_count: int) -> int:
    return slot_count // block_size(model)


def features_array(features: Any, model: Mapping[str, Any]) -> np.ndarray[Any, Any]:
    """The samples as a float64 matrix (one row per sample), checked against the model."""
    array = np.asarray(features, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    n_features = int(model["n_features"])
    if array.ndim != 2 or array.shape[1] != n_features or not len(array):
        raise ValidationError(f"{model['model_id']} takes samples of {n_features} features "
                              f"(a matrix with one row per sample); got shape "
                              f"{list(array.shape)}.", code="VALIDATION_ERROR",
                              details={"field": "features"})
    if not np.all(np.isfinite(array)):
        raise ValidationError("Features must be finite numbers.", code="VALIDATION_ERROR",
                              details={"field": "features"})
    return array


def pack(features: Any, model: Mapping[str, Any], slot_count: int,
         ) -> list[np.ndarray[Any, Any]]:
    """One slot vector per ciphertext, each holding up to samples_per_ciphertext samples."""
    array = features_array(features, model)
    block = block_size(model)
    per_ciphertext = samples_per_ciphertext(model, slot_count)
    if per_ciphertext < 1:
        raise ValidationError(f"A key of {slot_count} slots cannot hold one sample of "
                              f"{model['model_id']} ({block} slots).", code="VALIDATION_ERROR",
                              details={"field": "key"})
    vectors = []
    for start in range(0, len(array), per_ciphertext):
        chunk = array[start:start + per_ciphertext]
        slots = np.zeros((per_ciphertext, block))
        slots[:len(chunk), :chunk.shape[1]] = chunk
        vectors.append(slots.reshape(-1)[:len(chunk) * block])
    return vectors


def unpack(slots: Sequence[float] | np.ndarray[Any, Any], model: Mapping[str, Any],
           samples: int) -> np.ndarray[Any, Any]:
    """The outputs of `samples` samples from one decrypted result: samples x outputs (the
    slots times output_layout.scale, which the server's program divided them by)."""
    block = block_size(model)
    layout = model["output_layout"]
    outputs = int(layout["values_per_sample"])
    values = np.asarray(slots, dtype=np.float64)[:samples * block] * float(
        layout.get("scale", 1))
    return values.reshape(samples, block)[:, :outputs]


def predictions(scores: np.ndarray[Any, Any], model: Mapping[str, Any]) -> np.ndarray[Any, Any]:
    """Labels (classification, from the model's classes) or values (regression)."""
    kind = model["output_layout"]["values"]
    classes = np.asarray(model.get("classes") or [])
    if kind == "value":
        return np.asarray(scores[:, 0])
    if kind == "scores":
        return np.asarray(classes[np.argmax(scores, axis=1)])
    threshold = 0.5 if kind == "probability" else 0.0
    return np.asarray(classes[(scores[:, 0] > threshold).astype(int)])


def unmet_requirements(model: Mapping[str, Any], poly_degree: int, max_depth: int,
                       rotations: Sequence[int], scale_bits: int | None = None) -> list[str]:
    """What a key of these parameters lacks for the model (empty: it meets them)."""
    needs = model["key_requirements"]
    slots = poly_degree // 2
    have = {step % slots for step in rotations}
    unmet = []
    if poly_degree < needs["min_poly_degree"]:
        unmet.append(f"poly_degree {poly_degree} < {needs['min_poly_degree']}")
    if max_depth < needs["min_depth"]:
        unmet.append(f"max_depth {max_depth} < {needs['min_depth']}")
    ceiling = needs.get("max_scale_bits")
    if scale_bits is not None and ceiling is not None and scale_bits > ceiling:
        unmet.append(f"scale_bits {scale_bits} > {ceiling}")
    missing = [step for step in needs["rotations"] if step % slots not in have]
    if missing:
        unmet.append(f"rotations {missing}")
    return unmet


def keys_unmet(model: Mapping[str, Any], keys: CkksKeys) -> list[str]:
    """What these local keys lack for the model (empty: they meet its requirements)."""
    return unmet_requirements(model, keys.params.poly_degree, keys.params.max_depth,
                              keys.rotations, keys.params.scale_bits)


def keys_for_model(model: Mapping[str, Any], poly_degree: int | None = None,
                   security_level: str | None = None) -> CkksKeys:
    """New local keys that meet the model's requirements: its recommended 128-bit
    parameters, or the ring dimension and security level given."""
    needs = model["key_requirements"]
    recommended = model.get("recommended_key") or {}
    degree = poly_degree or recommended.get("poly_degree")
    if degree is None:
        raise ValidationError(f"{model['model_id']} has no recommended key: give "
                              "poly_degree.", code="VALIDATION_ERROR",
                              details={"field": "poly_degree"})
    return CkksKeys.generate(
        poly_degree=int(degree), scale_bits=int(recommended.get("scale_bits", 40)),
        max_depth=int(needs["min_depth"]),
        security_level=security_level or recommended.get("security_level", "128-bit"),
        rotations=[int(step) for step in needs["rotations"]])
