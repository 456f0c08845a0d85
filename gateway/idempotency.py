"""Idempotency-Key: a retried POST or PATCH replays the first outcome instead of running again.

Per account, for 24 h, in Redis (namespace wavis:gateway:idempotency:); 5xx outcomes are not
stored. See docs/decisions/0032-idempotency-outcomes-in-redis.md.
"""

from __future__ import annotations

import base64
import hashlib
import json

import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.typedefs import Handler

from gateway import state
from gateway.errors import render_exception
from gateway.response_headers import IDEMPOTENT_REPLAYED, REPLAYED
from wavis.core.errors import WavisError
from wavis.core.request_context import timed

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"  # the request header
MAX_KEY_CHARS = 256
_NS = "wavis:gateway:idempotency"
RETENTION_SECONDS = 24 * 3600
# How POST and PATCH document the request header (OpenAPI parameter object).
IDEMPOTENCY_KEY_PARAMETER = {
    "name": IDEMPOTENCY_KEY_HEADER, "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS},
    "description": f"Retry safely: the same key and request within {RETENTION_SECONDS // 3600} "
                   "h replays the first outcome."}
RUNNING_LEASE_SECONDS = 300  # a request that died mid-way frees its key after this
# Response headers that belong to the result, replayed with it (not request-specific ones):
# the body's type and those the header table marks replayed.
_KEPT_HEADERS = ("Content-Type", *REPLAYED)


def _fingerprint(request: web.Request, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path_qs.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    caller = request.get(state.CALLER)
    if key is None or caller is None or request.method not in ("POST", "PATCH"):
        return await handler(request)
    if not 1 <= len(key) <= MAX_KEY_CHARS:
        raise WavisError("VALIDATION_ERROR", f"{IDEMPOTENCY_KEY_HEADER} must be 1 to "
                         f"{MAX_KEY_CHARS} characters.", {"header": IDEMPOTENCY_KEY_HEADER})
    redis = request.app[state.REDIS]
    body = await request.read()
    fingerprint = _fingerprint(request, body)
    slot = f"{_NS}:{caller.account_id}:{hashlib.sha256(key.encode()).hexdigest()}"
    running = json.dumps({"state": "running", "fingerprint": fingerprint})
    with timed("redis"):
        claimed = await redis.set(slot, running, nx=True, ex=RUNNING_LEASE_SECONDS)
        stored = None if claimed else await redis.get(slot)
    if not claimed:
        if stored is None:  # expired between the two calls: let the client retry
            raise WavisError("IDEMPOTENCY_IN_PROGRESS", "Retry: the earlier request just ended.")
        record = json.loads(stored)
        if record["fingerprint"] != fingerprint:
            raise WavisError("IDEMPOTENCY_KEY_REUSED", details={"header": IDEMPOTENCY_KEY_HEADER})
        if record["state"] == "running":
            raise WavisError("IDEMPOTENCY_IN_PROGRESS")
        return web.Response(status=record["status"], body=base64.b64decode(record["body"]),
                            headers=record["headers"] | {IDEMPOTENT_REPLAYED.name: "true"})
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = render_exception(request, exc)
    except Exception as exc:
        # Rendered here, so a 4xx outcome is stored like any other (a retry gets the same).
        response = render_exception(request, exc)
    except BaseException:
        await redis.delete(slot)  # cancelled: nothing happened that a retry must respect
        raise
    with timed("redis"):
        if (response.status < 500 and isinstance(response, web.Response)
                and isinstance(response.body, (bytes, bytearray, type(None)))):
            await _store(redis, slot, fingerprint, response)
        else:  # 5xx (or a streamed body): not an outcome to replay
            await redis.delete(slot)
    return response


async def _store(redis: aioredis.Redis, slot: str, fingerprint: str,
                 response: web.Response) -> None:
    headers = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
    body = response.body if isinstance(response.body, (bytes, bytearray)) else b""
    record = {"state": "done", "fingerprint": fingerprint, "status": response.status,
              "headers": headers, "body": base64.b64encode(body).decode()}
    await redis.set(slot, json.dumps(record), ex=RETENTION_SECONDS)
