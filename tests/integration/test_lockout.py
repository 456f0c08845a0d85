"""Brute-force lockout per key prefix and per client IP; client IP from trusted proxies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import pytest

from support.accounts import create_account, fresh_ip
from wavis.devstack.stack import Stack


@pytest.fixture(scope="module")
def guarded(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(env={"WAVIS_AUTH_FAILURES_PER_KEY": "3",
                           "WAVIS_AUTH_FAILURES_PER_IP": "5",
                           "WAVIS_AUTH_FAILURE_WINDOW_SECONDS": "60",
                           "WAVIS_AUTH_LOCKOUT_SECONDS": "4"})


async def _get(stack: Stack, headers: dict[str, str]) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{stack.gateway_url}/api/v1/api-keys",
                               headers=headers) as response:
            await response.read()
            return response


async def test_failures_on_one_prefix_lock_it_even_for_the_valid_key(guarded: Stack) -> None:
    account = await create_account(guarded)
    wrong = account.api_key[:16] + "x" * 32
    for _ in range(3):  # from different IPs: only the prefix count matters here
        assert (await _get(guarded, account.auth(wrong, fresh_ip()))).status == 401
    locked = await _get(guarded, account.auth(ip=fresh_ip()))
    assert locked.status == 429
    assert locked.content_length in (0, None)
    assert 1 <= int(locked.headers["Retry-After"]) <= 4
    # Other keys of the same account are not locked.
    other = await create_account(guarded)
    assert (await _get(guarded, other.auth(ip=fresh_ip()))).status == 200
    await asyncio.sleep(int(locked.headers["Retry-After"]) + 0.2)
    assert (await _get(guarded, account.auth(ip=fresh_ip()))).status == 200


async def test_a_lock_refuses_a_key_the_gateway_already_trusts(guarded: Stack) -> None:
    """A cached key skips the separate lock lookup: the rate-limit script checks the locks
    in the same round trip, refuses, and counts nothing."""
    account = await create_account(guarded)
    first = await _get(guarded, account.auth(ip=fresh_ip()))
    assert first.status == 200  # now cached
    daily_left = int(first.headers["X-RateLimit-Daily-Remaining"])
    wrong = account.api_key[:16] + "y" * 32
    for _ in range(3):
        assert (await _get(guarded, account.auth(wrong, fresh_ip()))).status == 401
    for _ in range(2):
        locked = await _get(guarded, account.auth(ip=fresh_ip()))
        assert locked.status == 429 and 1 <= int(locked.headers["Retry-After"]) <= 4
        assert "X-RateLimit-Daily-Remaining" not in locked.headers
    await asyncio.sleep(int(locked.headers["Retry-After"]) + 0.2)
    after = await _get(guarded, account.auth(ip=fresh_ip()))
    assert after.status == 200
    assert int(after.headers["X-RateLimit-Daily-Remaining"]) == daily_left - 1


async def test_failures_from_one_ip_lock_that_ip(guarded: Stack) -> None:
    account = await create_account(guarded)
    attacker = fresh_ip()
    for n in range(5):  # five different unknown keys
        unknown = f"wvs_live_{n}" + "q" * 40
        assert (await _get(guarded, account.auth(unknown, attacker))).status == 401
    locked = await _get(guarded, account.auth(ip=attacker))
    assert locked.status == 429 and int(locked.headers["Retry-After"]) >= 1
    no_key = await _get(guarded, {"X-Forwarded-For": attacker})
    assert no_key.status == 429
    assert (await _get(guarded, account.auth(ip=fresh_ip()))).status == 200


async def test_client_ip_is_the_rightmost_untrusted_hop(guarded: Stack) -> None:
    account = await create_account(guarded)
    attacker = fresh_ip()
    # A spoofed left-most entry is ignored: the proxy appended the real client last.
    for n in range(5):
        headers = account.auth(f"wvs_live_{n}" + "r" * 40)
        headers["X-Forwarded-For"] = f"{fresh_ip()}, {attacker}"
        assert (await _get(guarded, headers)).status == 401
    assert (await _get(guarded, account.auth(ip=attacker))).status == 429
    assert (await _get(guarded, account.auth(ip=f"{attacker}, 127.0.0.1"))).status == 429


async def test_forwarded_for_is_ignored_from_untrusted_peers(make_stack: Callable[..., Stack],
                                                            ) -> None:
    stack = make_stack(env={"WAVIS_TRUSTED_PROXIES": ""})
    account = await create_account(stack)
    first = await _get(stack, account.auth(ip=fresh_ip()))
    second = await _get(stack, account.auth(ip=fresh_ip()))
    # Both counted against the socket peer (127.0.0.1), not the claimed addresses.
    assert int(first.headers["X-RateLimit-Burst-Remaining"]) - 1 == int(
        second.headers["X-RateLimit-Burst-Remaining"])
