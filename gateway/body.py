"""Reading request bodies: size limit first, then JSON, each failure in the envelope."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from wavis.core.errors import WavisError


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object: 413 when too large, 422 when not JSON or not an object."""
    raw = await request.read()  # aiohttp enforces client_max_size here (-> 413)
    try:
        value = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        raise WavisError("INVALID_JSON", "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise WavisError("SCHEMA_MISMATCH", "The request body must be a JSON object.")
    return value
