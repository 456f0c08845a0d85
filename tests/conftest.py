"""Fixtures shared by all tests: a real mesh (Redis, five services, gateway) started once."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

import wavis  # noqa: F401  (before anything imports grpc: it switches fork handlers off)
from support.fake_stripe import FakeStripe
from support.http import Api
from support.stack_redis import stack_redis
from support.stack_settings import DECRYPTIONS_PER_KEY
from wavis.devstack.stack import Stack

# Every process the tests start uses one OpenMP thread unless a test says otherwise.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def make_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Stack]]:
    """Start a whole stack (own Redis on a free port, services on port 0, gateway on port 0)."""
    stacks: list[Stack] = []

    def make(**overrides: Any) -> Stack:
        root = tmp_path_factory.mktemp("stack")
        env = {"WAVIS_LOG_FORMAT": "json",
               # Tests pose as many clients by sending X-Forwarded-For from loopback.
               "WAVIS_TRUSTED_PROXIES": "127.0.0.1/32",
               "WAVIS_CKKS_DECRYPTIONS_PER_KEY": str(DECRYPTIONS_PER_KEY)}
        env.update(overrides.pop("env", {}))
        options: dict[str, Any] = {"data_dir": root / "data", "http_port": 0,
                                   "log_dir": root / "logs", "env": env}
        options.update(overrides)
        stack = Stack(**options)
        stacks.append(stack)
        return stack.start()

    yield make
    for stack in stacks:
        stack.stop()


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[FakeStripe]:
    """The local server speaking Stripe's wire format (tests/support/fake_stripe.py)."""
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mesh(make_stack: Callable[..., Stack]) -> Stack:
    """The shared stack: tests must not stop or break any part of it."""
    return make_stack()


def fetch_openapi(stack: Stack) -> dict[str, Any]:
    with urllib.request.urlopen(f"{stack.gateway_url}/api/v1/openapi.json", timeout=5) as reply:
        return json.loads(reply.read())


@pytest.fixture(scope="session")
def openapi_doc(mesh: Stack) -> dict[str, Any]:
    return fetch_openapi(mesh)


@pytest.fixture
async def api(mesh: Stack, openapi_doc: dict[str, Any]) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, mesh.gateway_url, openapi_doc)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client (for test apps and calls the contract checker should not see)."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def redis(mesh: Stack) -> AsyncIterator[aioredis.Redis]:
    """The shared mesh's state Redis."""
    async with stack_redis(mesh) as client:
        yield client

