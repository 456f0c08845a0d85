"""A real HTTP webhook receiver on loopback: records every request, answers as scripted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

HANG = -1  # a scripted answer: hold the request open (until the client goes away)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() on arrival


@dataclass
class Receiver:
    url: str = ""
    # Answers for the requests to come, in order; then `default`.
    script: list[int] = field(default_factory=list)
    default: int = 200
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def endpoint(self, name: str = "hook") -> str:
        return f"{self.url}/{name}"

    async def wait_for(self, count: int, timeout: float = 20.0,
                       path: str | None = None) -> list[Received]:
        """Wait until `count` requests (to `path`, if given) have arrived."""
        deadline = time.monotonic() + timeout
        while True:
            seen = [r for r in self.requests if path is None or r.path == path]
            if len(seen) >= count:
                return seen
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"only {len(seen)} of {count} webhook requests arrived"
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), min(remaining, 0.5))
            except asyncio.TimeoutError:
                pass

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Received(request.path, dict(request.headers), await request.read(),
                                      time.time()))
        self.arrived.set()
        status = self.script.pop(0) if self.script else self.default
        if status == HANG:
            await asyncio.sleep(3600)
        if 300 <= status < 400:
            return web.Response(status=status, headers={"Location": self.url + "/elsewhere"})
        return web.Response(status=status, text="ok")


@asynccontextmanager
async def running_receiver(**options: object) -> AsyncIterator[Receiver]:
    receiver = Receiver(**options)  # type: ignore[arg-type]
    app = web.Application()
    app.router.add_post("/{name:.*}", receiver._handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
