"""The metering service's three APIs (accounts, usage, billing) on one channel, as one object
for tests that call several of them."""

from __future__ import annotations

from typing import Any

import grpc.aio

from wavis.generated.metering.v1 import accounts_pb2_grpc, billing_pb2_grpc, usage_pb2_grpc


class MeteringStub:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.accounts = accounts_pb2_grpc.AccountsServiceStub(channel)
        self.usage = usage_pb2_grpc.UsageServiceStub(channel)
        self.billing = billing_pb2_grpc.BillingServiceStub(channel)

    def __getattr__(self, rpc: str) -> Any:
        for stub in (self.accounts, self.usage, self.billing):
            if hasattr(stub, rpc):
                return getattr(stub, rpc)
        raise AttributeError(rpc)
