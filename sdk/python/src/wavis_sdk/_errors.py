"""Typed exceptions: one class per error family, each carrying the API's error envelope.

The server answers every error with `{"error": {code, message, request_id, details}}` (429
comes with an empty body and `Retry-After`). The family follows the HTTP status, so a code the
SDK has never heard of still lands in the right class; `code` keeps the exact reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class WavisError(Exception):
    """Base of every error the SDK raises, from the API or from local checks.

    `http_status` and `request_id` are None for errors raised on this machine (a parameter the
    server would refuse, a failed decryption, a connection that never answered).
    """

    def __init__(self, message: str, *, code: str = "WAVIS_ERROR",
                 request_id: str | None = None, details: Mapping[str, Any] | None = None,
                 http_status: int | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.details: dict[str, Any] = dict(details or {})
        self.http_status = http_status
        self.headers: dict[str, str] = dict(headers or {})

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        if self.http_status is not None:
            text += f" (HTTP {self.http_status}"
            text += f", request_id {self.request_id})" if self.request_id else ")"
        return text

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
                f"http_status={self.http_status!r}, request_id={self.request_id!r})")


class AuthenticationError(WavisError):
    """401: a missing, malformed, unknown, revoked or expired API key."""


class PermissionDeniedError(WavisError):
    """403: the key's role does not allow the operation."""


class NotFoundError(WavisError):
    """404: no such resource in this account (or it expired, or was evicted)."""


class ValidationError(WavisError):
    """400, 413, 422: the request (or a local check of it) was refused as invalid."""


class QuotaError(WavisError):
    """402: the plan's allowance, a hard budget cap or a storage limit is reached."""


class ConflictError(WavisError):
    """409: an Idempotency-Key reused for another request, a session id in use..."""


class RateLimitError(WavisError):
    """429: too many requests; `retry_after` is how long the server asked to wait."""

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers)


class UpstreamError(WavisError):
    """5xx: the service or something it depends on failed; safe to retry later."""


class APIConnectionError(UpstreamError):
    """The server could not be reached, or the connection broke before an answer."""


class APITimeoutError(APIConnectionError):
    """No answer within the timeout."""


class SignatureVerificationError(ValidationError):
    """A webhook delivery whose signature or timestamp does not verify."""


class OperationFailedError(WavisError):
    """An asynchronous operation ended `failed` (or `cancelled`); `code` is the server's."""


class WaitTimeoutError(WavisError, TimeoutError):
    """`wait()` gave up before the resource reached a final state (it may still get there)."""


class DecryptionError(WavisError):
    """Local decryption failed: wrong key, or the noise budget was spent."""


_BY_STATUS: dict[int, type[WavisError]] = {
    400: ValidationError, 413: ValidationError, 422: ValidationError,
    401: AuthenticationError, 402: QuotaError, 403: PermissionDeniedError,
    404: NotFoundError, 409: ConflictError, 429: RateLimitError,
}


def error_class(http_status: int) -> type[WavisError]:
    """The family of an HTTP error status."""
    if http_status in _BY_STATUS:
        return _BY_STATUS[http_status]
    if http_status >= 500 and http_status != 501:  # 501: refused by design, not a failure
        return UpstreamError
    return WavisError


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds (the API sends whole seconds; HTTP dates are not used)."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> WavisError:
    """The typed exception for an error response, from its envelope when it has one."""
    lowered = {k.lower(): v for k, v in headers.items()}
    envelope: dict[str, Any] = {}
    try:
        parsed = json.loads(body) if body else None
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            envelope = parsed["error"]
    except ValueError:
        pass
    code = str(envelope.get("code") or _default_code(status))
    message = str(envelope.get("message") or _default_message(status, lowered, body))
    request_id = envelope.get("request_id") or lowered.get("x-request-id")
    details = envelope.get("details") if isinstance(envelope.get("details"), dict) else {}
    return error_class(status)(message, code=code, request_id=request_id or None,
                               details=details, http_status=status, headers=lowered)


def _default_code(status: int) -> str:
    return {429: "RATE_LIMITED", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
            502: "UPSTREAM_UNAVAILABLE", 503: "NOT_READY"}.get(status, f"HTTP_{status}")


def _default_message(status: int, headers: Mapping[str, str], body: bytes) -> str:
    if status == 429:
        retry = headers.get("retry-after")
        return "Too many requests" + (f"; retry after {retry} s." if retry else ".")
    text = body[:200].decode("utf-8", "replace").strip()
    return text or f"HTTP {status} without an error body."
