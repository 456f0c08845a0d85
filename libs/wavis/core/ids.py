"""Public ids: a type prefix and 20 random base62 characters ("acct_3fQx9ZaK...")."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(kind: str) -> str:
    return f"{kind}_" + "".join(secrets.choice(_ALPHABET) for _ in range(20))
