"""The MeteringService servicer and the service's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc.aio

from wavis.core.grpc_server import ServiceContext
from wavis.metering.v1 import metering_pb2, metering_pb2_grpc


class MeteringServicer(metering_pb2_grpc.MeteringServiceServicer):
    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    async def Describe(self, request: metering_pb2.DescribeRequest,
                       grpc_context: grpc.aio.ServicerContext,
                       ) -> metering_pb2.DescribeResponse:
        return metering_pb2.DescribeResponse(info=self.context.service_info())


@asynccontextmanager
async def lifespan(context: ServiceContext) -> AsyncIterator[None]:
    metering_pb2_grpc.add_MeteringServiceServicer_to_server(MeteringServicer(context),
                                                     context.server)
    yield
