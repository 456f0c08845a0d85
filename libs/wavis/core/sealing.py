"""Secrets at rest (server-mode FHE secret keys, webhook secrets): AES-256-GCM.

The key comes from WAVIS_KEY_ENCRYPTION_KEY (base64 of 32 bytes). Each sealed value has its
own random 96-bit nonce, and the id of what it belongs to is bound in as associated data, so
a sealed value moved onto another record does not open.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wavis.core.secrets import require_secret
from wavis.core.settings import CommonSettings, accepting

_NONCE_BYTES = 12
_VERSION = b"\x01"


def parse_encryption_key(raw: str) -> bytes:
    """WAVIS_KEY_ENCRYPTION_KEY: base64 of exactly 32 random bytes."""
    if raw.strip().upper().startswith("REPLACE_ME"):
        raise ValueError("is still the placeholder; supply the real key")
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("expected base64 of 32 random bytes (openssl rand -base64 32)") from None
    if len(key) != 32:
        raise ValueError("expected base64 of 32 random bytes (openssl rand -base64 32)")
    return key


def new_encryption_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def parse_encryption_key_setting(raw: str) -> str:
    """WAVIS_KEY_ENCRYPTION_KEY as a setting: validated at start, decoded where used."""
    parse_encryption_key(raw)
    return raw.strip()


accepting("base64 of 32 bytes", parse_encryption_key_setting)


def sealer_for(configured: str | None, settings: CommonSettings) -> Sealer:
    """The Sealer of WAVIS_KEY_ENCRYPTION_KEY (development: the key generated once into the
    data dir, shared by every service of the stack; production: required)."""
    key = require_secret(configured, "WAVIS_KEY_ENCRYPTION_KEY", "key_encryption_key",
                         production=settings.is_production, data_dir=settings.data_dir,
                         generate=new_encryption_key)
    return Sealer(parse_encryption_key(key))


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, bound_to: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, bound_to.encode())

    def open(self, sealed: bytes, bound_to: str) -> bytes:
        if sealed[:1] != _VERSION:
            raise ValueError("unknown sealing format")
        nonce, body = sealed[1:1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, body, bound_to.encode())
        except InvalidTag:
            raise ValueError("sealed value does not open under this key and id") from None
