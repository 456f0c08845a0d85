"""Rate limits at three granularities, exact under concurrency, with their headers."""

from __future__ import annotations

import asyncio
import calendar
import json
import time
from collections.abc import Callable

import aiohttp
import pytest

from support.accounts import create_account, fresh_ip
from support.http import Api
from wavis.devstack.stack import Stack

WINDOWS = ("Daily", "Monthly", "Burst")


@pytest.fixture(scope="module")
def tight_stack(make_stack: Callable[..., Stack]) -> Stack:
    """Plans shrunk so limits are reached in a test: a deployment override, as documented."""
    limits = {"starter": {"daily_requests": 12, "monthly_requests": 1000, "burst_requests": 500},
              "scale": {"daily_requests": 1000, "monthly_requests": 1000, "burst_requests": 7},
              "free": {"daily_requests": 1000, "monthly_requests": 9, "burst_requests": 500}}
    return make_stack(env={"WAVIS_PLAN_LIMITS": json.dumps(limits)})


async def test_every_authenticated_response_has_the_headers(api: Api, mesh: Stack) -> None:
    account = await create_account(mesh, plan="pro")
    ip = fresh_ip()
    ok = await api.get("/api/v1/api-keys", headers=account.auth(ip=ip))
    missing = await api.request("DELETE", "/api/v1/api-keys/wvs_live_nothere",
                                headers=account.auth(ip=ip))
    assert (ok.status, missing.status) == (200, 404)
    now = time.time()
    for reply, used in ((ok, 1), (missing, 2)):
        assert reply.headers["X-RateLimit-Daily-Limit"] == "200000"
        assert reply.headers["X-RateLimit-Monthly-Limit"] == "3000000"
        assert reply.headers["X-RateLimit-Burst-Limit"] == "600"
        for window in WINDOWS:
            limit = int(reply.headers[f"X-RateLimit-{window}-Limit"])
            assert int(reply.headers[f"X-RateLimit-{window}-Remaining"]) == limit - used
        assert int(reply.headers["X-RateLimit-Daily-Reset"]) == (int(now) // 86400 + 1) * 86400
        year, month = time.gmtime(now)[:2]
        next_month = calendar.timegm((year + month // 12, month % 12 + 1, 1, 0, 0, 0))
        assert int(reply.headers["X-RateLimit-Monthly-Reset"]) == next_month
        assert 0 < int(reply.headers["X-RateLimit-Burst-Reset"]) - now <= 60


async def _hammer(stack: Stack, headers_for: Callable[[int], dict[str, str]],
                  count: int) -> list[aiohttp.ClientResponse]:
    url = f"{stack.gateway_url}/api/v1/api-keys?limit=1"
    async with aiohttp.ClientSession() as session:
        async def one(i: int) -> aiohttp.ClientResponse:
            async with session.get(url, headers=headers_for(i)) as response:
                await response.read()
                return response

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def _assert_429(response: aiohttp.ClientResponse, window: str) -> None:
    assert response.status == 429
    assert response.content_length in (0, None)
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers[f"X-RateLimit-{window}-Remaining"] == "0"


async def test_daily_limit_exact_under_concurrency(tight_stack: Stack) -> None:
    account = await create_account(tight_stack, plan="starter")
    responses = await _hammer(tight_stack, lambda i: account.auth(ip=fresh_ip()), 40)
    statuses = sorted(r.status for r in responses)
    assert statuses == [200] * 12 + [429] * 28
    for response in responses:
        if response.status == 429:
            _assert_429(response, "Daily")
            until_reset = int(response.headers["X-RateLimit-Daily-Reset"]) - time.time()
            assert abs(int(response.headers["Retry-After"]) - until_reset) <= 2


async def test_monthly_limit_exact_under_concurrency(tight_stack: Stack) -> None:
    account = await create_account(tight_stack, plan="free")
    responses = await _hammer(tight_stack, lambda i: account.auth(ip=fresh_ip()), 30)
    assert sorted(r.status for r in responses) == [200] * 9 + [429] * 21
    _assert_429(next(r for r in responses if r.status == 429), "Monthly")


async def test_burst_limit_is_per_client_ip(tight_stack: Stack) -> None:
    account = await create_account(tight_stack, plan="scale")
    crowded = fresh_ip()
    responses = await _hammer(tight_stack, lambda i: account.auth(ip=crowded), 20)
    assert sorted(r.status for r in responses) == [200] * 7 + [429] * 13
    refused = next(r for r in responses if r.status == 429)
    _assert_429(refused, "Burst")
    assert int(refused.headers["Retry-After"]) <= 60
    # Another client of the same account is not affected by that IP's burst.
    other = await _hammer(tight_stack, lambda i: account.auth(ip=fresh_ip()), 1)
    assert other[0].status == 200


async def test_refused_requests_consume_nothing(tight_stack: Stack) -> None:
    account = await create_account(tight_stack, plan="scale")
    crowded = fresh_ip()
    await _hammer(tight_stack, lambda i: account.auth(ip=crowded), 10)  # 7 pass, 3 refused
    reply = (await _hammer(tight_stack, lambda i: account.auth(ip=fresh_ip()), 1))[0]
    assert reply.status == 200
    assert reply.headers["X-RateLimit-Daily-Remaining"] == str(1000 - 8)
