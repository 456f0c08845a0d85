"""What every benchmark starts from: its own stack in a temporary folder (nothing shared with
`make run`) and an account to call it with."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wavis.core.grpc_client import open_channel
from wavis.devstack.stack import Stack
from wavis.metering.v1 import metering_pb2, metering_pb2_grpc


@contextmanager
def bench_stack(env: dict[str, str] | None = None) -> Iterator[Stack]:
    """A whole mesh (Redis, five services, gateway) on free ports, quiet logs."""
    with tempfile.TemporaryDirectory(prefix="wavis-bench-") as tmp:
        stack = Stack(data_dir=Path(tmp) / "data", http_port=0, log_dir=Path(tmp) / "logs",
                      env={"WAVIS_LOG_LEVEL": "warning", **(env or {})})
        stack.start()
        try:
            yield stack
        finally:
            stack.stop()


async def bench_headers(stack: Stack, plan: str = "enterprise") -> dict[str, str]:
    """The Authorization header of a new account's admin key."""
    async with open_channel(f"127.0.0.1:{stack.service_ports['metering']}") as channel:
        account = await metering_pb2_grpc.MeteringServiceStub(channel).CreateAccount(
            metering_pb2.CreateAccountRequest(email="bench@example.com", plan=plan))
    return {"Authorization": f"Bearer {account.api_key}"}
