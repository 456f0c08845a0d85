"""The TfheEvalService servicer and the service's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc.aio

from wavis.core.grpc_server import ServiceContext
from wavis.fhe.engine import fhe_engine_description
from wavis.tfhe_eval.v1 import tfhe_eval_pb2, tfhe_eval_pb2_grpc


class TfheEvalServicer(tfhe_eval_pb2_grpc.TfheEvalServiceServicer):
    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.sessions: dict[str, object] = {}  # session id -> loaded session (the TFHE issue)

    async def Describe(self, request: tfhe_eval_pb2.DescribeRequest,
                       grpc_context: grpc.aio.ServicerContext) -> tfhe_eval_pb2.DescribeResponse:
        return tfhe_eval_pb2.DescribeResponse(info=self.context.service_info(),
                                              active_sessions=len(self.sessions))


@asynccontextmanager
async def lifespan(context: ServiceContext) -> AsyncIterator[None]:
    context.fhe_engine = fhe_engine_description()
    tfhe_eval_pb2_grpc.add_TfheEvalServiceServicer_to_server(TfheEvalServicer(context),
                                                             context.server)
    yield
