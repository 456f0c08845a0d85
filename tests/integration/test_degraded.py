"""A stack that loses a service, then Redis: health says so, nothing crashes."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from wavis.devstack.stack import Stack


async def _get(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            return response.status, await response.json()


async def test_losing_a_service_then_redis(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    base = stack.gateway_url + "/api/v1"

    stack.services["webhooks"].kill()
    stack.services["webhooks"].process.wait()
    status, health = await _get(base + "/health")
    assert status == 200
    assert health["status"] == "degraded"
    down = {d["name"]: d for d in health["dependencies"] if d["status"] == "down"}
    assert list(down) == ["webhooks"]
    assert down["webhooks"]["error"]
    status, ready = await _get(base + "/health/ready")
    assert status == 503
    assert ready["error"]["code"] == "NOT_READY"
    assert ready["error"]["details"]["down"] == ["webhooks"]
    assert "webhooks" in ready["error"]["message"]

    assert stack.redis is not None
    stack.redis.stop()
    status, health = await _get(base + "/health")
    assert status == 200
    assert health["status"] == "unavailable"
    names_down = [d["name"] for d in health["dependencies"] if d["status"] == "down"]
    assert names_down == ["redis", "webhooks"]
    status, ready = await _get(base + "/health/ready")
    assert status == 503
    assert ready["error"]["details"]["down"] == ["redis", "webhooks"]
    # The gateway process itself is fine.
    status, live = await _get(base + "/health/live")
    assert status == 200 and live["status"] == "live"
    assert stack.gateway is not None and stack.gateway.alive()
