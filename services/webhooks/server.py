"""The WebhooksService servicer and the service's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc.aio

from wavis.core.grpc_server import ServiceContext
from wavis.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc


class WebhooksServicer(webhooks_pb2_grpc.WebhooksServiceServicer):
    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    async def Describe(self, request: webhooks_pb2.DescribeRequest,
                       grpc_context: grpc.aio.ServicerContext,
                       ) -> webhooks_pb2.DescribeResponse:
        return webhooks_pb2.DescribeResponse(info=self.context.service_info())


@asynccontextmanager
async def lifespan(context: ServiceContext) -> AsyncIterator[None]:
    webhooks_pb2_grpc.add_WebhooksServiceServicer_to_server(WebhooksServicer(context),
                                                     context.server)
    yield
