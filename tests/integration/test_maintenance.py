"""The operator's maintenance switch, through the real wavis-admin CLI, on a stack of its own
with two gateway replicas (the shared `mesh` is never put in maintenance)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import pytest

from support.accounts import Tenant, create_account
from support.ckks_http import TESTING_PARAMS
from wavis.devstack.stack import Stack

OBEY_SECONDS = 1.0
MESSAGE = "Upgrading the key store; back by 23:00 UTC."


@dataclass
class TwoReplicas:
    stack: Stack
    urls: list[str]


@pytest.fixture(scope="module")
def replicas(make_stack: Callable[..., Stack]) -> TwoReplicas:
    stack = make_stack()
    extra = stack.start_extra_gateway()
    return TwoReplicas(stack, [stack.gateway_url, f"http://127.0.0.1:{extra.port}"])


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


async def admin(stack: Stack, *args: str) -> tuple[int, str, str]:
    """wavis-admin as an operator runs it: the stack found through its stack.json."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("WAVIS_REDIS_URL", "WAVIS_METERING_TARGET")}
    env["WAVIS_DATA_DIR"] = str(stack.data_dir)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wavis.admin", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(child.communicate(), 30)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


async def status_of(http: aiohttp.ClientSession, url: str, tenant: Tenant) -> int:
    async with http.get(f"{url}/api/v1/keys", headers=tenant.auth()) as reply:
        return reply.status


async def all_answer(http: aiohttp.ClientSession, urls: list[str], tenant: Tenant,
                     status: int) -> float:
    """Seconds until every replica answers `status`; fails past OBEY_SECONDS."""
    started = time.monotonic()
    pending = set(urls)
    while pending:
        for url in list(pending):
            if await status_of(http, url, tenant) == status:
                pending.discard(url)
        elapsed = time.monotonic() - started
        assert elapsed < OBEY_SECONDS, f"{sorted(pending)} not {status} after {elapsed:.2f} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_switch_on_then_off_on_both_replicas(replicas: TwoReplicas,
                                                   http: aiohttp.ClientSession) -> None:
    stack, urls = replicas.stack, replicas.urls
    tenant = await create_account(stack)
    for url in urls:
        assert await status_of(http, url, tenant) == 200

    # A slow client: the request (a key generation) is in the gateway, its body half sent,
    # when the switch goes on; it must still finish normally.
    body = json.dumps({"scheme": "ckks", "params": TESTING_PARAMS}).encode()
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield body[:10]
        await release.wait()
        yield body[10:]

    async def slow_request() -> tuple[int, str]:
        async with http.post(f"{urls[1]}/api/v1/keys/generate", data=slow_body(),
                             headers=tenant.auth() | {"Content-Type": "application/json"}
                             ) as reply:
            return reply.status, await reply.text()

    in_flight = asyncio.create_task(slow_request())
    await asyncio.sleep(0.5)  # its headers are in: the gateway is running it
    assert not in_flight.done()

    code, out, err = await admin(stack, "maintenance", "on", "--message", MESSAGE,
                                 "--retry-after", "600")
    assert code == 0, err
    assert json.loads(out)["maintenance"] == "on"
    assert "maintenance on by" in err  # the audit line: who and when
    await all_answer(http, urls, tenant, 503)

    for url in urls:
        async with http.get(f"{url}/api/v1/keys", headers=tenant.auth()) as reply:
            assert reply.status == 503
            assert reply.headers["Retry-After"] == "600"
            error = (await reply.json())["error"]
            assert error["code"] == "MAINTENANCE" and error["message"] == MESSAGE
        # Unauthenticated requests too: no lookup of a key for a 503.
        async with http.post(f"{url}/api/v1/keys/generate", json={}) as reply:
            assert reply.status == 503
        for path in ("/api/v1/health", "/api/v1/health/live", "/api/v1/health/ready",
                     "/api/v1/openapi.json"):
            async with http.get(f"{url}{path}") as reply:
                assert reply.status == 200, (url, path, await reply.text())

    release.set()
    status, text = await asyncio.wait_for(in_flight, 60)
    assert status == 201, text

    code, out, _ = await admin(stack, "maintenance", "status")
    state = json.loads(out)
    assert code == 0 and state["maintenance"] == "on" and state["message"] == MESSAGE
    assert state["retry_after"] == 600 and state["by"] and state["since"]

    code, out, err = await admin(stack, "maintenance", "off")
    assert code == 0, err
    assert "maintenance off by" in err
    await all_answer(http, urls, tenant, 200)
    code, out, _ = await admin(stack, "maintenance", "status")
    assert json.loads(out) == {"maintenance": "off"}
