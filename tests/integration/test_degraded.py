"""A stack that loses a service, then Redis: health says so, nothing crashes."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import grpc
import pytest
import redis.asyncio as aioredis

from support.accounts import create_account
from support.ckks_http import encrypt, generate_ckks_key
from wavis.core.errors import WavisError, error_from_rpc
from wavis.core.grpc_client import open_channel
from wavis.core.reservation_stream import ReservationStream
from wavis.devstack.stack import Stack
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc
from wavis.generated.metering.v1 import usage_pb2, usage_pb2_grpc


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
    # A service whose Redis is gone answers UPSTREAM_UNAVAILABLE (502), as the gateway does.
    async with open_channel(f"127.0.0.1:{stack.service_ports['keys']}") as channel:
        with pytest.raises(grpc.RpcError) as failed:
            await keys_pb2_grpc.KeysServiceStub(channel).ListKeys(
                keys_pb2.ListKeysRequest(account_id="acct_any", limit=1), timeout=10)
    assert error_from_rpc(failed.value).code == "UPSTREAM_UNAVAILABLE"
    # The gateway process itself is fine.
    status, live = await _get(base + "/health/live")
    assert status == 200 and live["status"] == "live"
    assert stack.gateway is not None and stack.gateway.alive()


async def test_compute_goes_on_after_metering_restarts(make_stack: Callable[..., Stack]) -> None:
    """ckks-compute reserves over one long-lived stream to metering: when metering restarts,
    the stream breaks, the next reservation opens a new one, and billing stays exact (an
    operation that could not be metered answers 502 and costs nothing)."""
    stack = make_stack()
    tenant = await create_account(stack)
    base = stack.gateway_url + "/api/v1"
    async with aiohttp.ClientSession(headers=tenant.auth()) as http:
        key_id = await generate_ckks_key(http, base)
        ids = [await encrypt(http, base, key_id, values) for values in ([1.0, 2.0], [3.0, 4.0])]

        async def add() -> int:
            async with http.post(f"{base}/compute/add",
                                 json={"key_id": key_id, "ciphertext_ids": ids}) as reply:
                await reply.read()
                return reply.status

        assert await add() == 200  # the stream is open
        stack.restart_service("metering")
        statuses = []
        deadline = time.monotonic() + 10
        while not statuses or statuses[-1] != 200:
            assert time.monotonic() < deadline, statuses
            statuses.append(await add())
            assert statuses[-1] in (200, 502), statuses
            if statuses[-1] != 200:
                await asyncio.sleep(0.1)
        assert [await add() for _ in range(5)] == [200] * 5
        async with http.get(f"{base}/billing/usage") as reply:
            assert (await reply.json())["total_fcu"] == 1 + 1 + 5


async def test_a_key_deleted_while_ckks_compute_was_down_loses_its_ciphertexts(
        make_stack: Callable[..., Stack]) -> None:
    """The deletion event is missed (nobody listening); when ckks-compute's watch starts
    again it checks the keys it holds ciphertexts for and drops the deleted one's."""
    stack = make_stack()
    tenant = await create_account(stack)
    base = stack.gateway_url + "/api/v1"
    async with aiohttp.ClientSession(headers=tenant.auth()) as http:
        ciphertexts = {}
        for name in ("deleted", "kept"):
            key_id = await generate_ckks_key(http, base)
            ciphertexts[name] = (key_id, await encrypt(http, base, key_id, [1.0]))
        ckks = stack.services["ckks_compute"]
        ckks.kill()
        ckks.process.wait()
        async with http.delete(f"{base}/keys/{ciphertexts['deleted'][0]}") as reply:
            assert reply.status == 204
        stack.restart_service("ckks_compute")

        async def status(name: str) -> int:
            async with http.get(f"{base}/ciphertexts/{ciphertexts[name][1]}") as reply:
                return reply.status

        deadline = time.monotonic() + 10
        while await status("deleted") != 404:
            assert time.monotonic() < deadline, "the deleted key's ciphertext is still there"
            await asyncio.sleep(0.1)
        assert await status("kept") == 200


async def test_ciphertexts_live_in_their_own_redis_and_survive_a_restart(
        tmp_path: Path) -> None:
    """The ciphertext cache is a second Redis (snapshots, no AOF) beside the state Redis
    (AOF): records go there only, and a clean restart of the stack keeps them."""
    first = Stack(data_dir=tmp_path / "data", http_port=0, log_dir=tmp_path / "logs").start()
    try:
        tenant = await create_account(first)
        base = first.gateway_url + "/api/v1"
        async with aiohttp.ClientSession(headers=tenant.auth()) as http:
            key_id = await generate_ckks_key(http, base)
            ciphertext_id = await encrypt(http, base, key_id, [1.5, -2.0])
        assert first.redis is not None and first.cache_redis is not None
        record = f"wavis:ckks:ct:{ciphertext_id}"
        for server, holds in ((first.cache_redis, 1), (first.redis, 0)):
            client = aioredis.Redis.from_url(server.url)
            assert await client.exists(record) == holds
            await client.aclose()
    finally:
        first.stop()
    second = Stack(data_dir=tmp_path / "data", http_port=0, log_dir=tmp_path / "logs").start()
    try:
        async with aiohttp.ClientSession(headers=tenant.auth()) as http:
            async with http.post(f"{second.gateway_url}/api/v1/ciphertexts/{ciphertext_id}"
                                 "/decrypt") as reply:
                assert reply.status == 200, await reply.text()
                answer = await reply.json()
        values, tolerance = answer["values"], 2 ** -answer["precision_bits"]
        assert abs(values[0] - 1.5) < tolerance and abs(values[1] + 2.0) < tolerance
    finally:
        second.stop()


async def test_a_reservation_when_redis_does_not_answer_is_upstream_unavailable(
        make_stack: Callable[..., Stack]) -> None:
    """Over the reservation stream (as the compute services reserve), metering's Redis timing
    out is 502 UPSTREAM_UNAVAILABLE, as on any other call, not 500 INTERNAL_ERROR; once Redis
    answers again the same stream reserves."""
    stack = make_stack(env={"WAVIS_REDIS_TIMEOUT_SECONDS": "0.5"})
    tenant = await create_account(stack)
    assert stack.redis is not None and stack.redis.process is not None
    async with open_channel(f"127.0.0.1:{stack.service_ports['metering']}") as channel:
        stream = ReservationStream(usage_pb2_grpc.UsageServiceStub(channel))

        def reservation(op_id: str) -> usage_pb2.ReserveUsageRequest:
            return usage_pb2.ReserveUsageRequest(account_id=tenant.account_id, op_id=op_id,
                                                    operation="add", fcu=1, record=True)

        assert (await stream.reserve(reservation("op_before"))).cost_units == 1
        stack.redis.process.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(WavisError) as refused:
                await stream.reserve(reservation("op_paused"))
        finally:
            stack.redis.process.send_signal(signal.SIGCONT)
        assert refused.value.code == "UPSTREAM_UNAVAILABLE"
        assert (await stream.reserve(reservation("op_after"))).cost_units == 1
        await stream.close()
