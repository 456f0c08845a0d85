"""The real gateway app in-process, bound to a running stack, with extra test endpoints.

For behaviour that needs a handler we control (a slow one, a failing one, one that counts
as an operation): the middleware chain, Redis and the metering service are the real ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from gateway import state
from gateway.app import create_app
from gateway.endpoints import Endpoint, add_routes
from gateway.settings import GatewaySettings, parse_networks
from wavis.core.mesh import SERVICES
from wavis.devstack.stack import Stack


@asynccontextmanager
async def edge_app(stack: Stack, *endpoints: Endpoint) -> AsyncIterator[str]:
    assert stack.redis is not None
    targets = {f"{s.key}_target": f"127.0.0.1:{stack.service_ports[s.key]}" for s in SERVICES}
    settings = GatewaySettings(redis_url=stack.redis.url, data_dir=stack.data_dir,
                               trusted_proxies=parse_networks("127.0.0.1/32"),
                               **targets)
    app = create_app(settings)
    app[state.ROUTE_ENDPOINTS].update(add_routes(app, endpoints))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
