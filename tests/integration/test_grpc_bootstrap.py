"""The shared gRPC bootstrap in a real process: health, reflection, errors, request ids, drain."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from support.slow_service import SLOW
from wavis.core.errors import error_from_rpc
from wavis.core.grpc_client import open_channel
from wavis.core.ready_file import read_ready_port
from wavis.core.request_context import current_request_id

SLOW_SERVICE = Path(__file__).resolve().parents[1] / "support" / "slow_service.py"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class ServiceProcess:
    def __init__(self, tmp_path: Path, **env: str) -> None:
        ready = tmp_path / "ready.json"
        self.process = subprocess.Popen(
            [sys.executable, str(SLOW_SERVICE)],
            env=os.environ | {"WAVIS_GRPC_PORT": "0", "WAVIS_READY_FILE": str(ready),
                              "WAVIS_LOG_FORMAT": "json", **env},
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while (port := read_ready_port(ready)) is None:
            assert self.process.poll() is None, self.process.stderr.read()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "service did not start"
            time.sleep(0.05)
        self.target = f"127.0.0.1:{port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess(tmp_path, WAVIS_SHUTDOWN_DELAY_SECONDS="1",
                             WAVIS_SHUTDOWN_GRACE_SECONDS="10")
    yield process
    process.stop()


@pytest.fixture
async def channel(service: ServiceProcess) -> AsyncIterator[grpc.aio.Channel]:
    async with open_channel(service.target) as channel:
        yield channel


def _method(channel: grpc.aio.Channel, name: str) -> grpc.aio.UnaryUnaryMultiCallable:
    return channel.unary_unary(f"/{SLOW.grpc_service}/{name}")


async def _health(channel: grpc.aio.Channel, service: str = "") -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
    return int(reply.status)


async def test_health_serving_for_server_and_service(channel: grpc.aio.Channel) -> None:
    assert await _health(channel) == SERVING
    assert await _health(channel, SLOW.grpc_service) == SERVING


async def test_reflection_lists_services(channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def requests() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    names: set[str] = set()
    async for reply in stub.ServerReflectionInfo(requests()):
        names |= {svc.name for svc in reply.list_services_response.service}
    assert {SLOW.grpc_service, "grpc.health.v1.Health"} <= names


async def test_wavis_error_crosses_as_error_info(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _method(channel, "Fail")(b"")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    error = error_from_rpc(caught.value)
    assert (error.code, error.message, error.details) == (
        "KEY_NOT_FOUND", "No key key_123.", {"key_id": "key_123"})


async def test_unexpected_exception_is_internal_without_details(
        channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _method(channel, "Fail")(b"crash")
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (caught.value.details() or "")
    assert error_from_rpc(caught.value).code == "INTERNAL_ERROR"


async def test_request_id_reaches_the_service(channel: grpc.aio.Channel) -> None:
    token = current_request_id.set("req_from_the_gateway")
    try:
        reply = await _method(channel, "EchoRequestId")(b"")
    finally:
        current_request_id.reset(token)
    assert reply == b"req_from_the_gateway"


async def test_unreachable_service_maps_to_upstream_unavailable() -> None:
    async with open_channel("127.0.0.1:1", default_deadline=1) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _method(channel, "Sleep")(b"0")
    assert error_from_rpc(caught.value).code == "UPSTREAM_UNAVAILABLE"


async def test_sigterm_drains_in_flight_calls_and_refuses_new_ones(
        service: ServiceProcess, channel: grpc.aio.Channel) -> None:
    slow_call = asyncio.ensure_future(_method(channel, "Sleep")(b"2.5", timeout=15))
    await asyncio.sleep(0.5)  # the slow call is running
    service.process.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.3)
    # During the shutdown delay: still answering, but health says NOT_SERVING.
    assert await _health(channel) == NOT_SERVING
    assert await _health(channel, SLOW.grpc_service) == NOT_SERVING
    await asyncio.sleep(1.2)  # the delay is over: new calls are refused
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async with open_channel(service.target, default_deadline=2) as fresh:
            await _method(fresh, "Sleep")(b"0")
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert await slow_call == b"done"  # the in-flight call completed
    assert await asyncio.to_thread(service.process.wait, 10) == 0
