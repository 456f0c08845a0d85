"""Polynomials that stand in for the activations CKKS cannot evaluate.

CKKS adds and multiplies; a sigmoid, tanh or ReLU becomes a polynomial that matches it over
an input range the model's metadata states ([low, high]) at a stated degree: the Chebyshev
interpolant of the function on that range (numpy's, deterministic), written in the power
basis of t, where t in [-1, 1] is the input mapped from [low, high]. The compiler folds that
mapping into the linear layer before the activation, so the encrypted values stay within
[-1, 1] where the polynomial is well behaved. Outside the range the polynomial is not the
function: the range must cover the inputs the layer sees (the training script takes it from
the training data). See docs/decisions/0085-models-compiled-to-ckks-programs.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wavis.fhe.ckks_ops import MAX_POLY_COEFFS


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


# ONNX operator -> the function it computes.
FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Sigmoid": _sigmoid, "Tanh": np.tanh, "Relu": _relu,
}
MAX_DEGREE = MAX_POLY_COEFFS - 1  # what one poly-eval step takes


@dataclass(frozen=True)
class Approximation:
    """`function` on [low, high] by a polynomial of `degree`; `coefficients` (low to high)
    are in t = (2x - (low + high)) / (high - low)."""

    function: str
    low: float
    high: float
    degree: int
    coefficients: tuple[float, ...]

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        return (2.0 * x - (self.low + self.high)) / (self.high - self.low)

    def of_unit(self, t: np.ndarray) -> np.ndarray:
        """The polynomial at t (what the encrypted pipeline computes)."""
        return np.polynomial.polynomial.polyval(t, np.array(self.coefficients))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.of_unit(self.to_unit(x))

    def max_error(self, samples: int = 2001) -> float:
        """Largest distance to the function over the range."""
        x = np.linspace(self.low, self.high, samples)
        return float(np.max(np.abs(self(x) - FUNCTIONS[self.function](x))))

    def describe(self) -> dict[str, object]:
        return {"function": self.function, "range": [self.low, self.high],
                "degree": self.degree, "coefficients": list(self.coefficients),
                "max_error": round(self.max_error(), 6)}


def approximate(function: str, low: float, high: float, degree: int) -> Approximation:
    """The Chebyshev interpolant of `function` on [low, high]; ValueError if out of bounds."""
    if function not in FUNCTIONS:
        raise ValueError(f"no approximation for {function}; one of {', '.join(FUNCTIONS)}")
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"the range must be two finite numbers, low < high; got "
                         f"[{low}, {high}]")
    if not 1 <= degree <= MAX_DEGREE:
        raise ValueError(f"the degree must be 1 to {MAX_DEGREE}; got {degree}")
    f = FUNCTIONS[function]
    middle, half = (low + high) / 2.0, (high - low) / 2.0
    series = np.polynomial.chebyshev.Chebyshev.interpolate(
        lambda t: f(middle + half * t), degree)
    power = np.polynomial.chebyshev.cheb2poly(series.coef)
    coefficients = np.zeros(degree + 1)
    coefficients[:len(power)] = power
    # Interpolation noise where the function's symmetry makes a coefficient zero.
    coefficients[np.abs(coefficients) < 1e-12] = 0.0
    return Approximation(function, float(low), float(high), degree,
                         tuple(float(c) for c in coefficients))
