"""CKKS key parameters: the ranges the API accepts, the checks on them (INVALID_PARAMS naming
the field), and the facts derived from them (bootstrapping's levels, the first modulus, the
size of a fresh ciphertext, the default rotations). Pure Python: importing it loads no OpenFHE.
"""

from __future__ import annotations

from dataclasses import dataclass

from wavis.core.errors import WavisError
from wavis.core.limits import (
    CKKS_SECURE_POLY_DEGREES,
    CKKS_TESTING_POLY_DEGREES,
    MAX_CIPHERTEXT_BYTES,
    MB,
    megabytes,
)

# Public name -> openfhe.SecurityLevel member name (resolved on use: importing this module must
# not load OpenFHE, whose OpenMP runtime reads OMP_NUM_THREADS once, at load).
SECURITY_LEVELS: dict[str, str] = {
    "128-bit": "HEStd_128_classic",
    "192-bit": "HEStd_192_classic",
    "256-bit": "HEStd_256_classic",
    "testing": "HEStd_NotSet",
}
SECURE_POLY_DEGREES = CKKS_SECURE_POLY_DEGREES
TESTING_POLY_DEGREES = CKKS_TESTING_POLY_DEGREES  # only with security_level "testing"
SCALE_BITS_RANGE = (20, 60)
MAX_DEPTH_RANGE = (1, 30)


@dataclass(frozen=True)
class CkksParams:
    poly_degree: int
    scale_bits: int
    max_depth: int
    security_level: str = "128-bit"
    bootstrappable: bool = False  # levels refreshable by EvalBootstrap; max_depth between


# Bootstrapping (OpenFHE's CoeffsToSlots/SlotsToCoeffs level budget) needs this much scale:
# below it OpenFHE refuses ("Degree ... must be less than or equal to the correction factor").
BOOTSTRAP_MIN_SCALE_BITS = 55


def level_budget(slot_count: int) -> list[int]:
    return [4, 4] if slot_count >= 256 else [2, 2]


# Levels of the approximate modular reduction for uniform ternary secrets (OpenFHE's
# FHECKKSRNS::GetBootstrapDepth = this + the level budget; it gives 22 for [4, 4], which
# cc.GetBootstrapDepth confirmed). A formula, not a probe context: creating an extra context
# in a long-lived worker was seen to fail OpenFHE's CRT-table precomputation.
_MOD_REDUCTION_DEPTH = 14


def bootstrap_depth(budget: list[int]) -> int:
    return _MOD_REDUCTION_DEPTH + sum(budget)


def validate_ckks_params(params: CkksParams) -> None:
    """Raise INVALID_PARAMS naming the first field out of the API's ranges."""
    if params.security_level not in SECURITY_LEVELS:
        raise _invalid("security_level", "security_level must be one of "
                       + ", ".join(f'"{name}"' for name in SECURITY_LEVELS) + ".")
    allowed: tuple[int, ...] = SECURE_POLY_DEGREES
    if params.security_level == "testing":
        allowed = TESTING_POLY_DEGREES + SECURE_POLY_DEGREES
    if not _is_int(params.poly_degree) or params.poly_degree not in allowed:
        if _is_int(params.poly_degree) and params.poly_degree in TESTING_POLY_DEGREES:
            raise _invalid("poly_degree", f"poly_degree {params.poly_degree} is insecure and is "
                           'allowed only with security_level "testing".')
        raise _invalid("poly_degree", "poly_degree must be one of "
                       + ", ".join(str(n) for n in SECURE_POLY_DEGREES)
                       + ' (or 1024 and 2048 with security_level "testing").')
    low, high = SCALE_BITS_RANGE
    if not _is_int(params.scale_bits) or not low <= params.scale_bits <= high:
        raise _invalid("scale_bits", f"scale_bits must be an integer from {low} to {high}.")
    low, high = MAX_DEPTH_RANGE
    if not _is_int(params.max_depth) or not low <= params.max_depth <= high:
        raise _invalid("max_depth", f"max_depth must be an integer from {low} to {high}.")
    _check_ciphertexts_fit(params)


# What a serialized ciphertext carries besides its coefficients (OpenFHE's header), rounded up.
CIPHERTEXT_HEADER_BYTES = 1536


def fresh_ciphertext_bytes(ring_dim: int, moduli: int) -> int:
    """A fresh ciphertext's serialized size: two polynomials of ring_dim 64-bit coefficients
    per RNS modulus, and the header."""
    return 2 * ring_dim * 8 * moduli + CIPHERTEXT_HEADER_BYTES


def _check_ciphertexts_fit(params: CkksParams) -> None:
    """Parameters whose fresh ciphertexts exceed the size a ciphertext may have could not
    encrypt, upload or store anything: INVALID_PARAMS naming the deepest key that fits."""
    extra = bootstrap_depth(level_budget(params.poly_degree // 2)) + 1 \
        if params.bootstrappable else 0
    moduli = params.max_depth + extra + 1  # FIXEDMANUAL: the first modulus and one per level
    size = fresh_ciphertext_bytes(params.poly_degree, moduli)
    if size <= MAX_CIPHERTEXT_BYTES:
        return
    deepest = (MAX_CIPHERTEXT_BYTES - CIPHERTEXT_HEADER_BYTES) // (16 * params.poly_degree) \
        - 1 - extra
    raise _invalid("max_depth", "A ciphertext under these parameters would take "
                   f"{size / MB:.2f} MB, above the {megabytes(MAX_CIPHERTEXT_BYTES)} a "
                   "ciphertext may be: "
                   + (f"at poly_degree {params.poly_degree}, max_depth at most {deepest}"
                      + (" with bootstrapping" if extra else "") + "."
                      if deepest >= MAX_DEPTH_RANGE[0] else
                      f"poly_degree {params.poly_degree} leaves no room"
                      + (" for bootstrapping" if extra else "") + "; use a smaller ring."))


def default_rotations(slot_count: int) -> list[int]:
    """Power-of-two steps both ways, 1, 2, 4 .. slot_count/2 and their negatives, sorted."""
    steps: list[int] = []
    step = 1
    while step <= slot_count // 2:
        steps += [step, -step]
        step *= 2
    return sorted(steps)


def first_mod_bits(scale_bits: int) -> int:
    """Bits of the first RNS modulus: 10 bits above the scale, at most 60 (why: see
    docs/decisions/0009-fixedmanual-scaling-for-server-keys.md)."""
    return min(60, scale_bits + 10)


def _invalid(field: str, message: str) -> WavisError:
    return WavisError("INVALID_PARAMS", message, {"field": field})


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
