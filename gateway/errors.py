"""Error responses of the gateway: the contract's envelope, from the one code table."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from gateway import state
from gateway.response_headers import ALLOW, RETRY_AFTER
from wavis.core.errors import ERROR_CODES, WavisError
from wavis.core.failures import public_error
from wavis.core.limits import MB
from wavis.core.request_context import current_request_id

log = logging.getLogger("wavis.gateway.errors")

# aiohttp's own HTTP errors (router, body size) -> public codes.
_HTTP_EXCEPTION_CODES = {
    400: "VALIDATION_ERROR",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
}




def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message,
                      "request_id": current_request_id.get() or "",
                      "details": details or {}}}


def error_response(error: WavisError, headers: dict[str, str] | None = None) -> web.Response:
    """The envelope, except 429 which the contract sends with an empty body."""
    status = ERROR_CODES[error.code].http_status
    if status == 429:
        retry_after = {RETRY_AFTER.name: str(int(error.details.get("retry_after", 1)))}
        return web.Response(status=429, headers=retry_after | (headers or {}))
    return web.Response(
        status=status,
        text=json.dumps(error_body(error.code, error.message, error.details)),
        content_type="application/json",
        headers=headers,
    )


def _allow_header(exc: web.HTTPMethodNotAllowed) -> dict[str, str]:
    return {ALLOW.name: ", ".join(sorted(exc.allowed_methods | {"OPTIONS"}))}


def render_exception(request: web.Request, exc: Exception) -> web.Response:
    """The contract's response for anything a handler (or an inner middleware) raised."""
    if isinstance(exc, WavisError):
        return error_response(exc)
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        message = f"{request.method} is not allowed here; allowed: {allowed}."
        return error_response(WavisError("METHOD_NOT_ALLOWED", message), _allow_header(exc))
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        limit = request.app[state.SETTINGS].max_request_bytes
        return error_response(WavisError(
            "PAYLOAD_TOO_LARGE",
            f"Request bodies are limited to {limit // MB} MB; upload larger keys in chunks "
            "with POST /api/v1/keys/uploads.",
            {"limit_bytes": limit}))
    if isinstance(exc, web.HTTPException) and exc.status >= 400:
        code = _HTTP_EXCEPTION_CODES.get(exc.status, "INTERNAL_ERROR" if exc.status >= 500
                                         else "VALIDATION_ERROR")
        message = f"No resource at {request.path}." if code == "NOT_FOUND" else exc.reason
        return error_response(WavisError(code, message))
    error = public_error(exc)
    if error is not None:
        if error.http_status >= 500:
            log.warning("upstream failed: %s", exc)
        return error_response(error)
    # The stack trace goes to our logs under the request id, never to the client.
    log.error("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    return error_response(WavisError("INTERNAL_ERROR"))
