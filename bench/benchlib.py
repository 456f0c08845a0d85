"""What every benchmark starts from: its own stack in a temporary folder (nothing shared with
`make run`) and an account to call it with."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from wavis.core.grpc_client import open_channel
from wavis.devstack.stack import Stack
from wavis.generated.metering.v1 import accounts_pb2, accounts_pb2_grpc, usage_pb2, usage_pb2_grpc


@contextmanager
def bench_stack(env: dict[str, str] | None = None) -> Iterator[Stack]:
    """A whole mesh (Redis, the services, gateway) on free ports, quiet logs."""
    with tempfile.TemporaryDirectory(prefix="wavis-bench-") as tmp:
        stack = Stack(data_dir=Path(tmp) / "data", http_port=0, log_dir=Path(tmp) / "logs",
                      env={"WAVIS_LOG_LEVEL": "warning", **(env or {})})
        stack.start()
        try:
            yield stack
        finally:
            stack.stop()


async def bench_account(stack: Stack, plan: str = "enterprise") -> tuple[str, dict[str, str]]:
    """A new account: its id and the Authorization header of its admin key."""
    async with open_channel(f"127.0.0.1:{stack.service_ports['metering']}") as channel:
        account = await accounts_pb2_grpc.AccountsServiceStub(channel).CreateAccount(
            accounts_pb2.CreateAccountRequest(email="bench@example.com", plan=plan))
    return account.account.account_id, {"Authorization": f"Bearer {account.api_key}"}


async def bench_headers(stack: Stack, plan: str = "enterprise") -> dict[str, str]:
    """The Authorization header of a new account's admin key."""
    return (await bench_account(stack, plan))[1]


async def server_ckks_key(session: aiohttp.ClientSession, base: str, headers: dict[str, str],
                          params: dict[str, int], rotations: tuple[int, ...] = (),
                          ) -> dict[str, Any]:
    """A server-mode CKKS key made through the REST API, waited for until it is ready."""
    async with session.post(base + "/keys/generate", headers=headers, json={
            "scheme": "ckks", "params": params, "rotations": list(rotations)}) as response:
        key = await response.json()
    while key["status"] == "pending":
        await asyncio.sleep(0.2)
        async with session.get(f"{base}/keys/{key['key_id']}", headers=headers) as response:
            key = await response.json()
    return dict(key)


async def ckks_key_and_ciphertexts(session: aiohttp.ClientSession, base: str,
                                   headers: dict[str, str], params: dict[str, int],
                                   values: tuple[float, ...] = (0.5, 0.25),
                                   rotations: tuple[int, ...] = (1,),
                                   ) -> tuple[dict[str, Any], list[str]]:
    """A server-mode CKKS key (with these rotations) and one stored ciphertext per value
    (every slot holding it), made through the REST API."""
    key = await server_ckks_key(session, base, headers, params, rotations)
    ids = []
    for value in values:
        async with session.post(base + "/ciphertexts/encrypt", headers=headers, json={
                "key_id": key["key_id"], "values": [value] * key["slot_count"]}) as response:
            ids.append((await response.json())["ciphertext_id"])
    return key, ids


async def grpc_floor_ms(calls: int = 1000) -> float:
    """p50 of a bare grpc.aio round trip in this process (empty handler, no interceptors):
    what one hop costs on this machine right now, printed beside service figures because the
    shared machine's speed drifts between runs."""
    import statistics
    import time

    import grpc.aio

    class Empty(usage_pb2_grpc.UsageServiceServicer):
        async def ReleaseUsage(self, request: Any, context: Any) -> Any:
            return usage_pb2.ReleaseUsageResponse()

    server = grpc.aio.server()
    usage_pb2_grpc.add_UsageServiceServicer_to_server(Empty(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = usage_pb2_grpc.UsageServiceStub(channel).ReleaseUsage
            message = usage_pb2.ReleaseUsageRequest(account_id="a", op_id="o")
            samples = []
            for index in range(calls + 100):
                started = time.perf_counter()
                await call(message)
                if index >= 100:
                    samples.append(time.perf_counter() - started)
    finally:
        await server.stop(None)
    return 1000 * statistics.median(samples)
