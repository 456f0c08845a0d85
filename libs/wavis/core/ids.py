"""Public ids: a type prefix and 20 random base62 characters ("acct_3fQx9ZaK...")."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(kind: str) -> str:
    return f"{kind}_" + "".join(secrets.choice(_ALPHABET) for _ in range(20))


# A model of the inference catalogue is named by its ONNX file: lowercase letters, digits,
# '-' and '_' (the gateway's path pattern and the catalogue's check).
MODEL_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
