"""Accounts and keys for tests, made through the metering service's real gRPC API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from wavis.core.grpc_client import open_channel
from wavis.devstack.stack import Stack
from wavis.generated.metering.v1 import accounts_pb2, accounts_pb2_grpc

_ips = itertools.count(1)


def fresh_ip() -> str:
    """A client address no other test uses (sent as X-Forwarded-For via a trusted proxy)."""
    n = next(_ips)
    return f"198.18.{n // 250}.{n % 250 + 1}"


@dataclass
class Tenant:
    account_id: str
    api_key: str
    # Each tenant calls from an address of its own unless a test names one, so one test's
    # requests never fill another's per-IP burst window.
    client_ip: str = field(default_factory=fresh_ip)

    def auth(self, key: str | None = None, ip: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.api_key}",
                "X-Forwarded-For": ip or self.client_ip}


def metering_target(stack: Stack) -> str:
    return f"127.0.0.1:{stack.service_ports['metering']}"


async def create_account(stack: Stack, plan: str = "pro", environment: str = "live",
                         email: str = "owner@example.com") -> Tenant:
    async with open_channel(metering_target(stack)) as channel:
        reply = await accounts_pb2_grpc.AccountsServiceStub(channel).CreateAccount(
            accounts_pb2.CreateAccountRequest(email=email, plan=plan, environment=environment))
    return Tenant(reply.account.account_id, reply.api_key)


async def create_key(stack: Stack, account: Tenant, role: str,
                     environment: str = "live") -> str:
    async with open_channel(metering_target(stack)) as channel:
        reply = await accounts_pb2_grpc.AccountsServiceStub(channel).CreateApiKey(
            accounts_pb2.CreateApiKeyRequest(account_id=account.account_id, role=role,
                                             environment=environment, name=role))
    return reply.api_key
