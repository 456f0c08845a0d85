"""The KeysService servicer and the service's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc.aio

from wavis.core.grpc_server import ServiceContext
from wavis.keys.v1 import keys_pb2, keys_pb2_grpc


class KeysServicer(keys_pb2_grpc.KeysServiceServicer):
    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    async def Describe(self, request: keys_pb2.DescribeRequest,
                       grpc_context: grpc.aio.ServicerContext) -> keys_pb2.DescribeResponse:
        return keys_pb2.DescribeResponse(info=self.context.service_info())


@asynccontextmanager
async def lifespan(context: ServiceContext) -> AsyncIterator[None]:
    keys_pb2_grpc.add_KeysServiceServicer_to_server(KeysServicer(context), context.server)
    yield
