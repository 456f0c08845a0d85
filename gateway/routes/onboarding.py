"""Trial keys: POST /onboarding/temp-key and DELETE /onboarding/temp-key/{key_prefix} (by the
key's holder)."""

from __future__ import annotations

import time

from aiohttp import web

from gateway import state
from gateway.access import caller_ip
from gateway.auth import presented_key
from gateway.endpoints import Endpoint, Reply
from gateway.rate_limits import Window
from wavis.core.api_keys import PREFIX_LENGTH
from wavis.core.errors import WavisError
from wavis.core.roles import TRIAL
from wavis.generated.metering.v1 import accounts_pb2


async def create_temp_key(request: web.Request) -> web.Response:
    app = request.app
    ip = caller_ip(request)
    now = time.time()
    minute = int(now) // 60
    verdict = await app[state.RATE_LIMITER].hit([Window(
        "TempKey", f"wavis:gateway:rate:temp_key:{ip}:{minute}",
        app[state.SETTINGS].temp_keys_per_ip_per_minute, (minute + 1) * 60)], now)
    if not verdict.allowed:
        raise WavisError("RATE_LIMITED", details={"retry_after": verdict.retry_after})
    reply = await app[state.SERVICES].accounts.CreateTrialAccount(
        accounts_pb2.CreateTrialAccountRequest(client_ip=ip))
    return web.json_response({
        "api_key": reply.api_key,
        "key_prefix": reply.key.prefix,
        "expires_at": reply.key.expires_at,
        "ops_limit": reply.operations_limit,
        "message": f"Trial key for {reply.operations_limit} operations, valid until "
                   f"{reply.key.expires_at}. Revoke it with DELETE "
                   f"/api/v1/onboarding/temp-key/{reply.key.prefix}.",
    })


async def revoke_temp_key(request: web.Request) -> web.Response:
    # The prefix shows in listings and logs: only the key's holder (its bearer) revokes it.
    await request.app[state.SERVICES].accounts.RevokeTrialKey(
        accounts_pb2.RevokeTrialKeyRequest(
            key_prefix=request.match_info["key_prefix"],
            api_key=presented_key(request.headers.get("Authorization")) or ""))
    return web.Response(status=204)


ENDPOINTS = (
    Endpoint("POST", "/onboarding/temp-key", create_temp_key, "Get a trial API key",
             "Onboarding", {200: Reply("A trial key: 30 minutes, 10 operations.", "TempKey")},
             description="No body, no auth. 5 per client IP per minute."),
    Endpoint("DELETE", "/onboarding/temp-key/{key_prefix}", revoke_temp_key,
             "Revoke a trial key", "Onboarding", {204: Reply("Revoked.")}, min_role=TRIAL,
             description="Called with the trial key itself as the bearer; key_prefix: at "
                         "least its first "
                         f"{PREFIX_LENGTH} characters. Another key, or the prefix "
                         "alone, revokes nothing (404, 401)."),
)
