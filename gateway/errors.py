"""Error responses of the gateway: the contract's envelope, from the one code table."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from wavis.core.errors import ERROR_CODES, WavisError
from wavis.core.request_context import current_request_id


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message,
                      "request_id": current_request_id.get() or "",
                      "details": details or {}}}


def error_response(error: WavisError, headers: dict[str, str] | None = None) -> web.Response:
    """The envelope, except 429 which the contract sends with an empty body."""
    status = ERROR_CODES[error.code].http_status
    if status == 429:
        return web.Response(status=429, headers=headers)
    return web.Response(
        status=status,
        text=json.dumps(error_body(error.code, error.message, error.details)),
        content_type="application/json",
        headers=headers,
    )
