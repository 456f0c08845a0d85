"""Middlewares deciding who may do what: authentication (with brute-force lockout and
roles), then rate limits, and (after idempotent replays are answered) the trial operation
allowance."""

from __future__ import annotations

import time

import grpc
from aiohttp import web
from aiohttp.typedefs import Handler

from gateway import state
from gateway.auth import caller_from, presented_key, usable_prefix
from gateway.client_ip import client_ip
from gateway.endpoints import Endpoint
from gateway.rate_limits import account_windows
from gateway.usage import PENDING_CHARGES, settle
from wavis.core.errors import WavisError, error_from_rpc
from wavis.core.request_context import current_environment, timed
from wavis.core.roles import role_allows
from wavis.generated.metering.v1 import accounts_pb2, usage_pb2

# Brute-force locks still to check for a caller authenticated from the cache: the rate-limit
# script checks them in the same Redis round trip.
LOCKS = web.RequestKey("locks", tuple)


def endpoint_of(request: web.Request) -> Endpoint | None:
    return request.app[state.ROUTE_ENDPOINTS].get(request.match_info.route.name)


def caller_ip(request: web.Request) -> str:
    return client_ip(request, request.app[state.SETTINGS].trusted_proxies)


def _too_many(retry_after: int) -> WavisError:
    return WavisError("RATE_LIMITED", details={"retry_after": retry_after})


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    endpoint = endpoint_of(request)
    if endpoint is None or endpoint.min_role is None:
        return await handler(request)
    app = request.app
    ip = caller_ip(request)
    api_key = presented_key(request.headers.get("Authorization"))
    prefix = usable_prefix(api_key) if api_key else None
    guard = app[state.LOCKOUT]
    cache = app[state.AUTH_CACHE]
    caller = cache.get(api_key) if api_key is not None else None
    if caller is not None:  # known key: its locks are checked with the rate limits
        request[LOCKS] = guard.lock_keys(ip, prefix)
    else:
        with timed("redis"):
            retry_after = await guard.retry_after(ip, prefix)
        if retry_after:
            raise _too_many(retry_after)
    if api_key is None:
        raise WavisError("UNAUTHORIZED", "Send your API key as Authorization: Bearer <key>.")
    if caller is None:
        try:
            reply = await app[state.SERVICES].accounts.Authenticate(
                accounts_pb2.AuthenticateRequest(api_key=api_key))
        except grpc.RpcError as exc:
            error = error_from_rpc(exc)
            if error.code == "UNAUTHORIZED":
                with timed("redis"):
                    await guard.record_failure(ip, prefix)
            raise error from None
        caller = caller_from(reply)
        cache.put(api_key, caller)
    if not role_allows(caller.role, endpoint.min_role):
        raise WavisError("FORBIDDEN", f"This endpoint needs the {endpoint.min_role} role or "
                         f"higher; this key is {caller.role}.")
    request[state.CALLER] = caller
    # Calls to the services made for this request carry the key's mode (test-mode usage is
    # recorded apart: docs/decisions/0067-test-mode-is-separate-state.md).
    token = current_environment.set(caller.environment)
    try:
        return await handler(request)
    finally:
        current_environment.reset(token)


@web.middleware
async def limits_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    caller = request.get(state.CALLER)
    if caller is None:
        return await handler(request)
    app = request.app
    limits = caller.limits
    with timed("redis"):
        verdict = await app[state.RATE_LIMITER].hit(account_windows(
            caller.account_id, caller_ip(request), limits.daily_requests,
            limits.monthly_requests, limits.burst_requests, time.time()),
            locks=request.get(LOCKS, ()))
    if verdict.locked:
        raise _too_many(verdict.retry_after)
    request[state.RESPONSE_HEADERS] = verdict.headers
    if not verdict.allowed:
        raise _too_many(verdict.retry_after)
    # FCU charges the handler reserves (gateway/usage.py) are settled once its answer is known.
    request[PENDING_CHARGES] = []
    status = None
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        await settle(request, status)


@web.middleware
async def operations_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A limited account (a trial) spends one operation per call; refused or failed calls
    give it back. After the idempotency middleware: a replayed answer ran nothing and costs
    nothing."""
    caller = request.get(state.CALLER)
    endpoint = endpoint_of(request)
    if (caller is None or endpoint is None or not endpoint.operation
            or not caller.limits.operations_limit):
        return await handler(request)
    metering = request.app[state.SERVICES].usage
    await metering.ReserveOperations(usage_pb2.ReserveOperationsRequest(
        account_id=caller.account_id, count=1))
    status = None
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        if status is None or status >= 400:
            await metering.ReleaseOperations(usage_pb2.ReleaseOperationsRequest(
                account_id=caller.account_id, count=1))
