"""Server-mode TFHE ciphertexts carry a tag binding them to the session that issued them.

A decryption of a chosen LWE ciphertext tells which side of a threshold `b - <a, s>` falls, so
a server-mode session that decrypted, or ran a gate on, bytes a caller built would hand out its
secret key a coordinate at a time. Every ciphertext a server-mode session hands out (encrypt,
gate and batch outputs) is therefore issued as

    FORMAT (4 bytes) | tag (32 bytes) | body (OpenFHE's BINARY serialization)

with `tag = HMAC-SHA256(session key, body)`, and decrypt and gate inputs of a server-mode
session must carry a valid tag, checked (in constant time) before any deserialization or work.
The session key is `HMAC-SHA256(WAVIS_TFHE_CIPHERTEXT_SECRET, LABEL | account | session |
key id)`: every replica derives the same one, and no two sessions share it. The format's
version is bound into the label. Blind sessions never see any of this: the server holds no
secret key there, and their ciphertexts are the client's OpenFHE bytes
(docs/decisions/0090-server-mode-tfhe-ciphertexts-are-authenticated.md, docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from wavis.core.errors import WavisError

FORMAT = b"WTC\x01"  # WAVIS TFHE ciphertext, format 1
TAG_BYTES = hashlib.sha256().digest_size
OVERHEAD_BYTES = len(FORMAT) + TAG_BYTES  # what a server-mode ciphertext adds to OpenFHE's
_LABEL = b"wavis tfhe ciphertext tag, format 1"


class CiphertextTags:
    """Tags under one server secret (WAVIS_TFHE_CIPHERTEXT_SECRET)."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def session(self, record: dict[str, Any]) -> SessionTags:
        """The tags of one server-mode session (its Redis record)."""
        bound = b"\x00".join((_LABEL, record["account_id"].encode(),
                              record["session_id"].encode(), record["key_id"].encode()))
        return SessionTags(hmac.digest(self._secret, bound, "sha256"), record["session_id"])


class SessionTags:
    def __init__(self, key: bytes, session_id: str) -> None:
        self._key = key
        self.session_id = session_id

    def issue(self, body: bytes) -> bytes:
        """body as this session hands it out."""
        return FORMAT + hmac.digest(self._key, body, "sha256") + body

    def open(self, data: bytes, where: dict[str, Any]) -> bytes:
        """The body of a ciphertext this session issued, unchanged; else
        UNAUTHENTICATED_CIPHERTEXT (details: where and the session id)."""
        view = memoryview(data)
        if len(data) > OVERHEAD_BYTES and view[:len(FORMAT)] == FORMAT:
            expected = hmac.digest(self._key, view[OVERHEAD_BYTES:], "sha256")
            if hmac.compare_digest(view[len(FORMAT):OVERHEAD_BYTES], expected):
                return data[OVERHEAD_BYTES:]
        raise WavisError("UNAUTHENTICATED_CIPHERTEXT", "This ciphertext was not issued by "
                         f"the server-mode session {self.session_id}, or was changed since: "
                         "a server-mode session decrypts and evaluates only its own "
                         "ciphertexts, as it returned them.",
                         where | {"session_id": self.session_id})
