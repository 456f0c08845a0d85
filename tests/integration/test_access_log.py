"""The gateway's access log, as written by the running gateway."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from support.logs import read_logs
from wavis.devstack.stack import Stack


async def test_a_hostile_path_cannot_forge_or_color_log_lines(
        mesh: Stack, session: aiohttp.ClientSession) -> None:
    # Percent-encoded CR LF, ESC, BEL, DEL: the gateway logs request.path, which is decoded.
    path = "/api/v1/nothing%0d%0a2026%20gateway%20INFO%20forged%1b%5b31m%07%7f"
    async with session.get(mesh.gateway_url + path) as reply:
        assert reply.status == 404
        request_id = reply.headers["X-Request-Id"]
    for _ in range(50):  # the log is written by another process
        lines = [line for line in read_logs(mesh)["gateway"].splitlines()
                 if request_id in line]
        if lines:
            break
        await asyncio.sleep(0.1)
    assert len(lines) == 1
    assert not any(c in lines[0] for c in "\r\x1b\x07\x7f")
    entry = json.loads(lines[0])
    assert entry["msg"] == (
        "GET /api/v1/nothing\\r\\n2026 gateway INFO forged\\x1b[31m\\x07\\x7f 404")
