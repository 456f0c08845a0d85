"""Connections the gateway does not hold forever: idle keep-alive connections and requests
whose headers never finish (slowloris) are closed after their timeouts."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import aiohttp
import pytest

from support.accounts import create_account
from support.fhe_client import toy_tfhe_archive
from wavis.devstack.stack import Stack

KEEPALIVE_SECONDS = 4.0  # well above the header deadline, so the tests tell them apart
HEADER_SECONDS = 1.0


@pytest.fixture(scope="module")
def timeouts_stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(env={"WAVIS_HTTP_KEEPALIVE_SECONDS": str(KEEPALIVE_SECONDS),
                           "WAVIS_HTTP_HEADER_TIMEOUT_SECONDS": str(HEADER_SECONDS)})


async def connect(stack: Stack) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(stack.gateway_url)
    return await asyncio.open_connection(url.hostname, url.port)


async def closed_after(reader: asyncio.StreamReader, limit: float) -> float:
    """Seconds until the server closes the connection (reading whatever it sends)."""
    started = time.monotonic()
    while await asyncio.wait_for(reader.read(65536), limit):
        pass
    return time.monotonic() - started


async def test_an_idle_connection_is_closed_after_the_keepalive_timeout(
        timeouts_stack: Stack) -> None:
    reader, writer = await connect(timeouts_stack)
    writer.write(b"GET /api/v1/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    status = await reader.readline()
    assert status.startswith(b"HTTP/1.1 200"), status
    seconds = await closed_after(reader, 10)
    assert KEEPALIVE_SECONDS - 0.5 < seconds < KEEPALIVE_SECONDS + 2
    writer.close()


async def test_headers_trickled_slower_than_the_timeout_close_the_connection(
        timeouts_stack: Stack) -> None:
    reader, writer = await connect(timeouts_stack)
    writer.write(b"GET /api/v1/health/live HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()

    async def trickle() -> None:
        for _ in range(40):  # a header byte every 0.1 s: never complete, never idle
            await asyncio.sleep(0.1)
            writer.write(b"X")

    trickling = asyncio.create_task(trickle())
    try:
        data = await asyncio.wait_for(reader.read(65536), 10)
        seconds = time.monotonic() - started
    finally:
        trickling.cancel()
    assert data in (b"",) or data.startswith(b"HTTP/1.1 408"), data
    assert HEADER_SECONDS - 0.3 < seconds < HEADER_SECONDS + 1.5
    writer.close()


async def test_a_slow_but_timely_request_is_answered(timeouts_stack: Stack) -> None:
    reader, writer = await connect(timeouts_stack)
    for piece in (b"GET /api/v1/health/live HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
        writer.write(piece)
        await asyncio.sleep(0.2)
    status = await asyncio.wait_for(reader.readline(), 5)
    assert status.startswith(b"HTTP/1.1 200"), status
    writer.close()


async def test_a_long_request_with_a_large_body_is_not_cut_by_the_header_deadline(
        timeouts_stack: Stack) -> None:
    """A 26 MB body (a toy TFHE eval key) sent in pieces over about three header timeouts: its
    bytes are a body, not headers, so the deadline must not close the connection under it."""
    tenant = await create_account(timeouts_stack)
    data = json.dumps({"eval_key_b64": base64.b64encode(toy_tfhe_archive()).decode()}).encode()
    pieces = 12

    async def slowly() -> AsyncIterator[bytes]:
        size = len(data) // pieces + 1
        for start in range(0, len(data), size):
            yield data[start:start + size]
            await asyncio.sleep(3 * HEADER_SECONDS / pieces)

    async with aiohttp.ClientSession(headers=tenant.auth()) as session:
        started = time.monotonic()
        async with session.post(f"{timeouts_stack.gateway_url}/api/v1/tfhe/eval-session",
                                data=slowly(),
                                headers={"Content-Type": "application/json"}) as reply:
            assert reply.status == 201, await reply.text()
        assert time.monotonic() - started > 2 * HEADER_SECONDS  # it did outlast the deadline
