"""Webhook signatures: HMAC-SHA256(secret, "<timestamp>.<raw body>"), sent as sha256=<hex>.

The webhooks service signs with it; the gateway documents it to the endpoints' owners."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

SIGNATURE_HEADER = "X-WAVIS-Signature"
TIMESTAMP_HEADER = "X-WAVIS-Timestamp"
EVENT_ID_HEADER = "X-WAVIS-Event-Id"
MIN_SECRET_CHARS = 32
SIGNATURE_PREFIX = "sha256="

def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def event_body(event_id: str, event_type: str, created_at: str, data: dict[str, Any]) -> bytes:
    """The delivery body; the same bytes on every attempt."""
    return json.dumps({"id": event_id, "type": event_type, "created_at": created_at,
                       "data": data}, separators=(",", ":"), sort_keys=True).encode()
