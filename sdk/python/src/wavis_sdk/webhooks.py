"""Verify webhook deliveries: `verify(payload, headers, secret)` returns the event or raises.

A delivery is signed as `X-WAVIS-Signature: sha256=<hex HMAC-SHA256(secret,
"<X-WAVIS-Timestamp>.<raw body>")>`. Verify the raw body exactly as received (not a parsed
and re-serialized one); deliveries older or newer than `tolerance` seconds are refused, so a
captured delivery cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from wavis_sdk._errors import SignatureVerificationError
from wavis_sdk._models import WavisObject, wrap

SIGNATURE_HEADER = "X-WAVIS-Signature"
TIMESTAMP_HEADER = "X-WAVIS-Timestamp"
EVENT_ID_HEADER = "X-WAVIS-Event-Id"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, payload: bytes) -> str:
    """The header value a delivery of `payload` at `timestamp` carries."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + payload, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(payload: bytes | str, headers: Mapping[str, str], secret: str,
           tolerance: float = DEFAULT_TOLERANCE_SECONDS, now: float | None = None,
           ) -> WavisObject:
    """The delivered event (`id`, `type`, `created_at`, `data`) once the signature and the
    timestamp check out; SignatureVerificationError otherwise. Comparison is constant-time."""
    body = payload.encode() if isinstance(payload, str) else bytes(payload)
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower())
    sent = lowered.get(SIGNATURE_HEADER.lower())
    if not timestamp or not sent:
        raise _refused(f"The delivery lacks {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}.")
    try:
        stamp = int(timestamp)
    except ValueError:
        raise _refused(f"{TIMESTAMP_HEADER} is not a Unix time.") from None
    expected = signature(secret, timestamp, body)
    # Compared before the age, and always in full, so timing tells nothing about the secret.
    valid = hmac.compare_digest(expected.encode(), sent.strip().encode())
    if not valid:
        raise _refused("The signature does not match the payload and secret.")
    age = (time.time() if now is None else now) - stamp
    if abs(age) > tolerance:
        raise _refused(f"The delivery's timestamp is {abs(age):.0f} s "
                       f"{'old' if age > 0 else 'in the future'} (tolerance {tolerance:g} s).",
                       {"age_seconds": age})
    try:
        event: Any = json.loads(body)
    except ValueError:
        raise _refused("The payload is not JSON.") from None
    result = wrap(event)
    if not isinstance(result, WavisObject):
        raise _refused("The payload is not an event object.")
    return result


def _refused(message: str, details: Mapping[str, Any] | None = None
             ) -> SignatureVerificationError:
    return SignatureVerificationError(message, code="INVALID_SIGNATURE", details=details)
