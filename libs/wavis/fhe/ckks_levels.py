"""Where an operation leaves a ciphertext's level and scale, known before it runs.

A ciphertext's state is OpenFHE's (level, noise scale degree). `after` gives the state of an
operation's result from its operands' states, and refuses (MISMATCHED_LEVEL,
NOISE_BUDGET_EXHAUSTED, rescale of nothing) exactly when the operation must not run. Single
operations call it on their loaded operands; programs call it on every step before the
first one runs, from the inputs' states through the whole graph
(docs/decisions/0060-ckks-programs.md). The rules were read off OpenFHE 1.6 for each scaling
technique, and tests/unit/test_ckks_levels.py keeps them equal to what OpenFHE does:

- FIXEDMANUAL (server keys): a product keeps its level at twice the scale until rescaled;
  `scale_stable` rescales after each multiply and before operations that need the base
  scale (docs/decisions/0009-fixedmanual-scaling-for-server-keys.md).
- FLEXIBLEAUTO / FLEXIBLEAUTOEXT (blind keys may keep them): OpenFHE rescales by itself
  before the next multiply, so each product costs one level whatever came before it.

Levels used = level + (scale degree - the key's fresh degree): the budget's measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wavis.core.errors import WavisError
from wavis.fhe.ckks_ops import KeyShape, poly_depth

# Operations whose result costs one level (a product with a ciphertext or a plaintext).
_PRODUCTS = frozenset({"multiply", "multiply-plain", "matmul"})
# Operations that leave the level and scale as they are.
_KEEP = frozenset({"negate", "rotate", "add-plain"})
# Operations that need their operand at the base scale (or scale_stable to rescale it).
_BASE_SCALE = frozenset({"poly-eval", "matmul"})


@dataclass(frozen=True)
class Level:
    """A ciphertext's OpenFHE level (moduli dropped) and noise scale degree."""

    level: int
    scale_degree: int


def level_of(ciphertext: Any) -> Level:
    return Level(int(ciphertext.GetLevel()), int(ciphertext.GetNoiseScaleDeg()))


def used(state: Level, shape: KeyShape) -> int:
    return state.level + max(0, state.scale_degree - shape.fresh_scale_degree)


def budget_pct(state: Level, shape: KeyShape) -> float:
    return round(100.0 * max(0, shape.max_depth - used(state, shape)) / shape.max_depth, 2)


def _rescaled(state: Level, shape: KeyShape) -> Level:
    """What ckks_ops.rescale_products does: back to the fresh scale (manual scaling)."""
    if not shape.manual_scaling or state.scale_degree <= shape.fresh_scale_degree:
        return state
    extra = state.scale_degree - shape.fresh_scale_degree
    return Level(state.level + extra, shape.fresh_scale_degree)


def _automatic(levels_used: int, shape: KeyShape) -> Level:
    """The state OpenFHE's automatic scaling leaves after a product that used this many
    levels: the rescale is pending (double scale) until the next product."""
    return Level(levels_used + shape.fresh_scale_degree - 2, 2)


def after(operation: str, inputs: Sequence[Level], shape: KeyShape, *,
          scale_stable: bool = False, coefficients: Sequence[float] = ()) -> Level:
    """The result's state, or the refusal the operation gets on these operands."""
    stable = scale_stable
    a = inputs[0]
    if len(inputs) == 2:
        b = inputs[1]
        if stable:
            a, b = _rescaled(a, shape), _rescaled(b, shape)
        elif a != b:
            raise WavisError("MISMATCHED_LEVEL", "The ciphertexts are at different levels or "
                             "scales; rescale first, or set scale_stable to align them.",
                             {"levels": [used(s, shape) for s in inputs]})
    if operation in _BASE_SCALE and not stable and a.scale_degree > shape.fresh_scale_degree:
        raise WavisError("MISMATCHED_LEVEL", f"{operation} needs a rescaled ciphertext: "
                         "rescale first, or set scale_stable.")
    if stable and operation in ("poly-eval", "matmul", "multiply-plain"):
        a = _rescaled(a, shape)
    before = max(used(state, shape) for state in inputs)
    if operation == "bootstrap":
        # The refresh leaves the levels the key was made to give (bootstrap_degraded reports
        # a result with fewer; programs check each step again on the real ciphertexts).
        return Level(shape.max_depth - shape.levels_after_bootstrap, shape.fresh_scale_degree)
    result = _result(operation, a, b if len(inputs) == 2 else a, shape, stable, coefficients)
    if used(result, shape) > shape.max_depth:
        needed = used(result, shape) - before
        raise WavisError(
            "NOISE_BUDGET_EXHAUSTED",
            f"{operation} needs {needed} more level(s); {shape.max_depth - before} of "
            f"{shape.max_depth} remain. Bootstrap first (POST /api/v1/compute/bootstrap).",
            {"levels_needed": needed, "levels_remaining": shape.max_depth - before})
    return result


def _result(operation: str, a: Level, b: Level, shape: KeyShape, stable: bool,
            coefficients: Sequence[float]) -> Level:
    manual = shape.manual_scaling
    if operation in _KEEP:
        return a
    if operation == "add":
        if manual:
            return Level(max(a.level, b.level), max(a.scale_degree, b.scale_degree))
        return max(a, b, key=lambda s: (used(s, shape), s.level))
    if operation == "rescale":
        if not manual:  # OpenFHE rescales by itself: nothing to do
            return a
        if a.scale_degree <= shape.fresh_scale_degree:
            raise WavisError("VALIDATION_ERROR", "Nothing to rescale: the ciphertext is at its "
                             "base scale (rescale follows a multiply).",
                             {"field": "ciphertext_ids"})
        return Level(a.level + 1, a.scale_degree - 1)
    if operation == "poly-eval":
        depth = poly_depth(coefficients)
        if manual:
            return Level(a.level + depth, shape.fresh_scale_degree)
        return _automatic(used(a, shape) + depth, shape)
    if operation in _PRODUCTS:
        if not manual:
            return _automatic(max(used(a, shape), used(b, shape)) + 1, shape)
        if operation == "multiply":
            product = Level(max(a.level, b.level), a.scale_degree + b.scale_degree)
        else:  # by a plaintext encoded at the ciphertext's scale
            product = Level(a.level, 2 * a.scale_degree)
        return _rescaled(product, shape) if stable else product
    raise AssertionError(operation)
