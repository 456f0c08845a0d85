"""CKKS key parameters (wavis.fhe.ckks_params): out-of-range fields are named, small rings
only for testing, keys whose ciphertexts could not be stored refused, the default rotations
and the rotations read back from automorphism indices.
Pure Python: no OpenFHE, no worker."""

from __future__ import annotations

from typing import Any

import pytest

from wavis.core.errors import WavisError
from wavis.fhe.ckks_keys import rotations_from_automorphisms
from wavis.fhe.ckks_params import CkksParams, default_rotations, validate_ckks_params


@pytest.mark.parametrize(("changes", "field"), [
    ({"poly_degree": 3000}, "poly_degree"),
    ({"poly_degree": 65536}, "poly_degree"),
    ({"poly_degree": 1024}, "poly_degree"),
    ({"poly_degree": 2048, "security_level": "192-bit"}, "poly_degree"),
    ({"scale_bits": 19}, "scale_bits"),
    ({"scale_bits": 61}, "scale_bits"),
    ({"scale_bits": True}, "scale_bits"),
    ({"max_depth": 0}, "max_depth"),
    ({"max_depth": 31}, "max_depth"),
    ({"security_level": "64-bit"}, "security_level"),
])
def test_out_of_range_params_name_their_field(changes: dict[str, Any], field: str) -> None:
    base = {"poly_degree": 8192, "scale_bits": 40, "max_depth": 1, "security_level": "128-bit"}
    with pytest.raises(WavisError) as caught:
        validate_ckks_params(CkksParams(**{**base, **changes}))
    assert caught.value.code == "INVALID_PARAMS"
    assert caught.value.details == {"field": field}
    assert field in caught.value.message


def test_small_rings_only_for_testing_and_bounds_are_inclusive() -> None:
    validate_ckks_params(CkksParams(1024, 20, 1, "testing"))
    validate_ckks_params(CkksParams(2048, 60, 30, "testing"))
    validate_ckks_params(CkksParams(32768, 60, 2, "256-bit"))
    with pytest.raises(WavisError, match="testing"):
        validate_ckks_params(CkksParams(1024, 40, 1))


@pytest.mark.parametrize(("poly_degree", "deepest"), [(4096, 30), (8192, 14), (16384, 6),
                                                       (32768, 2)])
def test_keys_whose_ciphertexts_could_not_be_stored_are_refused(poly_degree: int,
                                                                deepest: int) -> None:
    """A fresh ciphertext takes 16 bytes per slot-pair and RNS modulus (2 x N x 8 x (depth +
    1)): above the 2 MB a ciphertext may be, the key could not encrypt, upload or store a
    single result (schemathesis: encrypt answered 413 under a key it had made)."""
    validate_ckks_params(CkksParams(poly_degree, 40, deepest))
    if deepest < 30:
        with pytest.raises(WavisError) as caught:
            validate_ckks_params(CkksParams(poly_degree, 40, deepest + 1))
        assert caught.value.code == "INVALID_PARAMS"
        assert caught.value.details["field"] == "max_depth"
        assert f"at most {deepest}" in caught.value.message
    # Bootstrapping's own levels (23 at these rings) count too.
    with pytest.raises(WavisError) as caught:
        validate_ckks_params(CkksParams(max(poly_degree, 8192), 59, 1, bootstrappable=True))
    assert caught.value.details["field"] == "max_depth"
    validate_ckks_params(CkksParams(4096, 59, 2, "testing", bootstrappable=True))


def test_default_rotations_are_powers_of_two_both_ways() -> None:
    assert default_rotations(16) == [-8, -4, -2, -1, 1, 2, 4, 8]
    # Ring 32: 16 slots, rotation k is automorphism 5^k mod 64, and k - 16 is the same one;
    # 63 is the conjugation, not a rotation.
    indices = [pow(5, k, 64) for k in (1, 2, 4, 8, 12, 15)] + [63]
    assert rotations_from_automorphisms(indices, ring_dim=32) == [-8, -4, -1, 1, 2, 4, 8]
