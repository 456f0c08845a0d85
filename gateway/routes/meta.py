"""POST /decrypt (501 by design) and GET /openapi.json."""

from __future__ import annotations

from aiohttp import web

from gateway import state
from gateway.endpoints import Endpoint, Reply
from wavis.core.errors import WavisError


async def post_decrypt(request: web.Request) -> web.Response:
    raise WavisError(
        "NOT_IMPLEMENTED_BY_DESIGN",
        "WAVIS never decrypts for you: in FHE-blind mode the server holds no secret key. "
        "Decrypt on the client; for server-mode keys use POST /api/v1/ciphertexts/{id}/decrypt.",
    )


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[state.OPENAPI])


ENDPOINTS = (
    Endpoint("POST", "/decrypt", post_decrypt, "Always 501: the server never decrypts",
             "Meta", {501: Reply("Not implemented, by design.", "Error")}),
    Endpoint("GET", "/openapi.json", get_openapi, "This API as an OpenAPI 3.1 document",
             "Meta", {200: Reply("The OpenAPI document.", "OpenApiDocument")}),
)
