"""Checking a client's CKKS ciphertext, in a worker process (the bytes are untrusted)."""

from __future__ import annotations

from typing import Any

from wavis.core.errors import WavisError


def inspect_ckks_ciphertext(data: bytes, key_tags: tuple[str, ...],
                            key_params: dict[str, Any]) -> dict[str, Any]:
    """Level facts of a ciphertext that must carry one of the key's tags (the client's, or
    the key id that results carry: wavis.fhe.ckks_key_tags), in a context of the key's
    parameters (`params_record` of the key's context): a ciphertext of other parameters under
    the same tag would fail every operation later."""
    import openfhe

    from wavis.fhe.ckks_keys import params_record

    invalid = WavisError("INVALID_CIPHERTEXT",
                         "The bytes are not an OpenFHE CKKS ciphertext under this key.")
    try:
        ciphertext = openfhe.DeserializeCiphertextString(data, openfhe.BINARY)
        tag = ciphertext.GetKeyTag()
        params = params_record(openfhe, ciphertext.GetCryptoContext())
        level = int(ciphertext.GetLevel())
        scale_degree = int(ciphertext.GetNoiseScaleDeg())
        slots = int(ciphertext.GetSlots())
    except Exception:
        raise invalid from None
    finally:
        openfhe.ReleaseAllContexts()  # a long-lived worker must not collect contexts
    if tag not in key_tags or params != key_params or scale_degree < 1:
        raise invalid
    return {"level": level, "noise_scale_degree": scale_degree, "slots": slots}
