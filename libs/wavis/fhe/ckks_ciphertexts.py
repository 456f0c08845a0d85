"""Checking a client's CKKS ciphertext, in a worker process (the bytes are untrusted)."""

from __future__ import annotations

from typing import Any

from wavis.core.errors import WavisError


def inspect_ckks_ciphertext(data: bytes, key_tag: str, ring_dim: int) -> dict[str, Any]:
    """Level facts of a ciphertext that must be under the key with `key_tag`."""
    import openfhe

    invalid = WavisError("INVALID_CIPHERTEXT",
                         "The bytes are not an OpenFHE CKKS ciphertext under this key.")
    try:
        ciphertext = openfhe.DeserializeCiphertextString(data, openfhe.BINARY)
        tag = ciphertext.GetKeyTag()
        ring = int(ciphertext.GetCryptoContext().GetRingDimension())
        level = int(ciphertext.GetLevel())
        scale_degree = int(ciphertext.GetNoiseScaleDeg())
        slots = int(ciphertext.GetSlots())
    except Exception:
        raise invalid from None
    finally:
        openfhe.ReleaseAllContexts()  # a long-lived worker must not collect contexts
    if tag != key_tag or ring != ring_dim or scale_degree < 1:
        raise invalid
    return {"level": level, "noise_scale_degree": scale_degree, "slots": slots}
