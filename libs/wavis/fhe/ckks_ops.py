"""CKKS operations on deserialized OpenFHE objects: rotations by any step the key allows,
plaintexts at a ciphertext's scale, rescaling, matmul. Where each operation leaves the level
and scale, and which it refuses, is wavis.fhe.ckks_levels. With FIXEDMANUAL scaling
(server-mode keys) a product stays at double scale until `rescale`; `scale_stable` rescales
right after each multiply instead (docs/decisions/0009-fixedmanual-scaling-for-server-keys.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wavis.core.errors import WavisError

MAX_POLY_COEFFS = 65
OPERATIONS = ("add", "multiply", "add-plain", "multiply-plain", "negate", "rescale", "rotate",
              "matmul", "poly-eval", "bootstrap")
BINARY = {"add", "multiply"}


@dataclass(frozen=True)
class KeyShape:
    """What an operation needs to know about the key its ciphertexts are under."""

    slot_count: int
    max_depth: int
    rotations: frozenset[int]
    manual_scaling: bool  # FIXEDMANUAL: rescale is the caller's (or scale_stable's) job
    bootstrappable: bool = False
    fresh_scale_degree: int = 1  # FLEXIBLEAUTOEXT encrypts at double scale
    levels_after_bootstrap: int = 0  # the key's requested depth between bootstraps


def shape_scale_degree(scaling_technique: str) -> int:
    return 2 if scaling_technique == "FLEXIBLEAUTOEXT" else 1


def poly_depth(coefficients: Sequence[float]) -> int:
    """Levels EvalPoly consumes. OpenFHE evaluates degree < 5 directly and higher degrees by
    Paterson-Stockmeyer; its depth helper matches each path with a different flag (measured
    against EvalPoly for degrees 1-64)."""
    import openfhe

    paterson_stockmeyer = len(coefficients) - 1 >= 5
    return int(openfhe.GetMultiplicativeDepthByCoeffVector(list(coefficients),
                                                           paterson_stockmeyer))


def rotation_plan(step: int, shape: KeyShape) -> list[int]:
    """Rotations (each with a key) that add up to `step`: the step itself if its key exists,
    else its binary decomposition; MISSING_ROTATION_KEY when neither works."""
    n = shape.slot_count
    step = ((step + n // 2) % n) - n // 2  # the equivalent step in [-n/2, n/2)
    if step == 0:
        return []
    if step in shape.rotations:
        return [step]
    sign = 1 if step > 0 else -1
    parts = [sign * (1 << bit) for bit in range(abs(step).bit_length()) if abs(step) >> bit & 1]
    missing = [part for part in parts if part not in shape.rotations]
    if missing:
        raise WavisError("MISSING_ROTATION_KEY", f"The key has no rotation key for step {step} "
                         f"(nor for {missing} to compose it).", {"rotation_steps": step})
    return parts


def plaintext(cc: Any, values: Sequence[float], like: Any) -> Any:
    """A plaintext at the ciphertext's level and scale, so OpenFHE combines them as is."""
    return cc.MakeCKKSPackedPlaintext(list(values), int(like.GetNoiseScaleDeg()),
                                      int(like.GetLevel()))


def rescale_products(cc: Any, ciphertext: Any, shape: KeyShape) -> Any:
    """Bring a product back to the base scale (scale_stable); nothing to do otherwise."""
    while shape.manual_scaling and int(ciphertext.GetNoiseScaleDeg()) > shape.fresh_scale_degree:
        ciphertext = cc.Rescale(ciphertext)
    return ciphertext


def rotate(cc: Any, ciphertext: Any, step: int, shape: KeyShape) -> Any:
    for part in rotation_plan(step, shape):
        ciphertext = cc.EvalRotate(ciphertext, part)
    return ciphertext


def rotate_hoisted(cc: Any, ciphertext: Any, step: int, shape: KeyShape, digits: Any) -> Any:
    """rotate, its first key switch from `digits`, the ciphertext's hoisted precomputation
    (cc.EvalFastRotationPrecompute) shared by every rotation of that ciphertext."""
    plan = rotation_plan(step, shape)
    result = cc.EvalFastRotation(ciphertext, plan[0], digits)
    for part in plan[1:]:
        result = cc.EvalRotate(result, part)
    return result


def compact(cc: Any, ciphertext: Any) -> Any:
    """The ciphertext reduced to its last level, one RNS modulus (OpenFHE Compress): about a
    sixth of a fresh ciphertext's bytes at N=16384 depth 5; it decrypts to the same values
    and takes no further multiplication. For downloads only."""
    return cc.Compress(ciphertext, 1)


def matmul(cc: Any, vector: Any, matrix: Sequence[Sequence[float]], shape: KeyShape,
           scale_stable: bool) -> Any:
    """y = M x for a d x d block (d a power of two dividing the slot count; x in slots
    0..d-1, zeros beyond) with the baby-step giant-step diagonal method. The result holds y
    in slots 0..d-1, repeated with period d across the slots."""
    d = len(matrix)
    n = shape.slot_count
    # Replicate x with period d (x + rot(x, -d) + rot(x, -2d) ...), by doubling.
    replicated = vector
    span = d
    while span < n:
        replicated = cc.EvalAdd(replicated, rotate(cc, replicated, -span, shape))
        span *= 2
    baby = 1 << math.ceil(math.log2(d) / 2)
    giant = d // baby
    babies = [replicated] + [rotate(cc, replicated, j, shape) for j in range(1, baby)]
    result = None
    for k in range(giant):
        inner = None
        for j in range(baby):
            index = k * baby + j
            # Diagonal `index`, rotated right by k*baby so the giant rotation lines it up.
            diagonal = [matrix[i % d][(i + index) % d] for i in range(n)]
            shift = k * baby
            diagonal = diagonal[-shift:] + diagonal[:-shift] if shift else diagonal
            term = cc.EvalMult(babies[j], plaintext(cc, diagonal, babies[j]))
            inner = term if inner is None else cc.EvalAdd(inner, term)
        assert inner is not None
        inner = rotate(cc, inner, k * baby, shape)
        result = inner if result is None else cc.EvalAdd(result, inner)
    assert result is not None
    return rescale_products(cc, result, shape) if scale_stable else result


def matmul_steps(d: int, shape: KeyShape) -> list[int]:
    """Every rotation step matmul takes, so missing keys are found before it runs."""
    steps = []
    span = d
    while span < shape.slot_count:
        steps.append(-span)
        span *= 2
    baby = 1 << math.ceil(math.log2(d) / 2)
    steps += list(range(1, baby)) + [k * baby for k in range(1, d // baby)]
    return steps


def validate_matrix(matrix: Any, shape: KeyShape) -> list[list[float]]:
    """A square block whose side is a power of two dividing the slot count, or rows of
    slot_count numbers (padded with zero rows to a square)."""
    if not isinstance(matrix, list) or not matrix or not all(
            isinstance(row, list) for row in matrix):
        raise WavisError("VALIDATION_ERROR", "matrix must be a list of rows.",
                         {"field": "matrix"})
    width = len(matrix[0])
    if any(len(row) != width for row in matrix):
        raise WavisError("VALIDATION_ERROR", "matrix rows must all have the same length.",
                         {"field": "matrix"})
    n = shape.slot_count
    if width == n and len(matrix) <= n:
        matrix = matrix + [[0.0] * n for _ in range(n - len(matrix))]
    elif not (len(matrix) == width and width & (width - 1) == 0 and n % width == 0):
        raise WavisError("VALIDATION_ERROR", f"matrix must be square with a power-of-two side "
                         f"dividing {n}, or rows of {n} numbers.", {"field": "matrix"})
    return [[float(v) for v in row] for row in matrix]
