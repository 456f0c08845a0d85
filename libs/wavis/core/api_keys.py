"""API keys: minted from a CSPRNG, identified by their first 16 characters, stored only as
HMAC-SHA256 under a server secret, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string

PREFIX_LENGTH = 16
NAME_MAX_CHARS = 100  # the name an account gives a key
_RANDOM_CHARS = 32
_ALPHABET = string.ascii_letters + string.digits
KEY_PATTERN = re.compile(r"wvs_(live|test|trial)_[A-Za-z0-9]{32,128}")


def mint_key(environment: str) -> str:
    random_part = "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_CHARS))
    return f"wvs_{environment}_{random_part}"


def key_prefix(api_key: str) -> str:
    return api_key[:PREFIX_LENGTH]


def is_well_formed(api_key: str) -> bool:
    return KEY_PATTERN.fullmatch(api_key) is not None


def key_hash(pepper: str, api_key: str) -> str:
    return hmac.new(pepper.encode(), api_key.encode(), hashlib.sha256).hexdigest()


def hash_matches(pepper: str, api_key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(key_hash(pepper, api_key), stored_hash)
