"""A service built on the real bootstrap with one slow method: the SIGTERM drain test runs it.

Method /wavis.test.v1.SlowService/Sleep takes seconds as ASCII bytes, sleeps, answers b"done".
Method /wavis.test.v1.SlowService/Fail raises WavisError(KEY_NOT_FOUND) or, for b"crash",
an unexpected exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc

from wavis.core.errors import WavisError
from wavis.core.grpc_server import ServiceContext, run_service
from wavis.core.mesh import MeshService
from wavis.core.request_context import current_request_id

SLOW = MeshService("slow", "slow", 0, "wavis.test.v1.SlowService")


def _identity(data: bytes) -> bytes:
    return data


async def sleep(request: bytes, context: Any) -> bytes:
    await asyncio.sleep(float(request.decode()))
    return b"done"


async def fail(request: bytes, context: Any) -> bytes:
    if request == b"crash":
        raise RuntimeError("secret internal detail")
    raise WavisError("KEY_NOT_FOUND", "No key key_123.", {"key_id": "key_123"})


async def echo_request_id(request: bytes, context: Any) -> bytes:
    return (current_request_id.get() or "").encode()


def generic_handler() -> grpc.GenericRpcHandler:
    methods = {"Sleep": sleep, "Fail": fail, "EchoRequestId": echo_request_id}
    return grpc.method_handlers_generic_handler(SLOW.grpc_service, {
        name: grpc.unary_unary_rpc_method_handler(behaviour, _identity, _identity)
        for name, behaviour in methods.items()
    })


@asynccontextmanager
async def lifespan(context: ServiceContext) -> AsyncIterator[None]:
    context.server.add_generic_rpc_handlers((generic_handler(),))
    yield


if __name__ == "__main__":
    run_service(SLOW, lifespan)
