"""Error handling of the real gateway app, with test routes added to its router.

The app, its middleware chain and its clients are the production ones; only the routes
that provoke failures (bad JSON, crashes, gRPC errors, Redis down) are added here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import grpc.aio
import pytest
from aiohttp import web

from gateway import state
from gateway.app import create_app
from gateway.body import read_json_object
from gateway.settings import GatewaySettings
from support.slow_service import SLOW, lifespan
from wavis.core.grpc_client import open_channel
from wavis.core.grpc_server import GrpcServiceRunner
from wavis.core.mesh import SERVICES
from wavis.core.redis_server import free_port
from wavis.core.settings import ServiceSettings


@pytest.fixture
async def slow_service() -> AsyncIterator[GrpcServiceRunner]:
    runner = GrpcServiceRunner(SLOW, ServiceSettings(grpc_port=0), lifespan)
    await runner.start()
    yield runner
    runner.request_stop()
    await runner.wait_stopped()


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def gateway(slow_service: GrpcServiceRunner) -> AsyncIterator[str]:
    """The gateway app with Redis pointing at a closed port and the test routes added."""
    closed = {f"{service.key}_target": f"127.0.0.1:{free_port()}" for service in SERVICES}
    settings = GatewaySettings(redis_url=f"redis://127.0.0.1:{free_port()}/0",
                               redis_timeout_seconds=0.5, max_request_bytes=1024 * 1024,
                               health_probe_timeout_seconds=0.5, **closed)
    app = create_app(settings)
    slow_channel: dict[str, grpc.aio.Channel] = {}

    async def echo_json(request: web.Request) -> web.Response:
        return web.json_response(await read_json_object(request))

    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError("secret internal detail /etc/passwd")

    async def needs_redis(request: web.Request) -> web.Response:
        await request.app[state.REDIS].get("anything")
        return web.json_response({})

    async def upstream(request: web.Request) -> web.Response:
        channel = slow_channel.setdefault("c", open_channel(f"127.0.0.1:{slow_service.port}"))
        call = channel.unary_unary(f"/{SLOW.grpc_service}/Fail")
        await call(request.query.get("mode", "").encode())
        return web.json_response({})

    for path, handler in (("/echo", echo_json), ("/crash", crash), ("/redis", needs_redis),
                          ("/upstream", upstream)):
        app.router.add_post("/api/v1/_test" + path, handler)
    runner, url = await _start(app)
    yield url
    await runner.cleanup()
    for channel in slow_channel.values():
        await channel.close()


async def _post(url: str, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, **kwargs) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, {k.lower(): v for k, v in response.headers.items()}, body


async def test_invalid_json_is_422(gateway: str) -> None:
    status, headers, body = await _post(gateway + "/api/v1/_test/echo", data=b"{not json",
                                        headers={"Content-Type": "application/json"})
    assert status == 422
    assert body["error"]["code"] == "INVALID_JSON"
    assert body["error"]["request_id"] == headers["x-request-id"]


async def test_json_that_is_not_an_object_is_422(gateway: str) -> None:
    status, _, body = await _post(gateway + "/api/v1/_test/echo", json=[1, 2, 3])
    assert status == 422
    assert body["error"]["code"] == "SCHEMA_MISMATCH"


async def test_valid_json_passes_through(gateway: str) -> None:
    status, _, body = await _post(gateway + "/api/v1/_test/echo", json={"a": [1, 2]})
    assert status == 200 and body == {"a": [1, 2]}


async def test_streamed_body_over_limit_is_413(gateway: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        for _ in range(3):
            yield b" " * (512 * 1024)

    status, _, body = await _post(gateway + "/api/v1/_test/echo", data=chunks())
    assert status == 413
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_unexpected_exception_is_500_without_internals(gateway: str) -> None:
    status, _, body = await _post(gateway + "/api/v1/_test/crash")
    assert status == 500
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert "secret" not in str(body) and "Traceback" not in str(body)


async def test_redis_down_is_502_envelope(gateway: str) -> None:
    status, _, body = await _post(gateway + "/api/v1/_test/redis")
    assert status == 502
    assert body["error"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert "Redis" in body["error"]["message"]


async def test_error_code_survives_the_grpc_hop(gateway: str) -> None:
    status, _, body = await _post(gateway + "/api/v1/_test/upstream")
    assert status == 404
    assert body["error"]["code"] == "KEY_NOT_FOUND"
    assert body["error"]["message"] == "No key key_123."
    assert body["error"]["details"] == {"key_id": "key_123"}


async def test_unexpected_service_exception_is_500_without_internals(gateway: str) -> None:
    status, _, body = await _post(gateway + "/api/v1/_test/upstream?mode=crash")
    assert status == 500
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert "secret" not in str(body)


async def test_health_with_redis_and_services_down(gateway: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(gateway + "/api/v1/health") as response:
            assert response.status == 200
            health = await response.json()
        async with session.get(gateway + "/api/v1/health/ready") as response:
            assert response.status == 503
            ready = await response.json()
    assert health["status"] == "unavailable"
    assert all(d["status"] == "down" for d in health["dependencies"])
    redis = health["dependencies"][0]
    assert redis["name"] == "redis" and redis["status"] == "down" and redis["error"]
    assert ready["error"]["code"] == "NOT_READY"
    assert "redis" in ready["error"]["details"]["down"]
