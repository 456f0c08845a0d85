"""The CkksComputeService servicer and the service's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc.aio

from wavis.ckks_compute.v1 import ckks_compute_pb2, ckks_compute_pb2_grpc
from wavis.core.grpc_server import ServiceContext
from wavis.fhe.engine import fhe_engine_description


class CkksComputeServicer(ckks_compute_pb2_grpc.CkksComputeServiceServicer):
    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        # Operations queued or running. The job queue and the ciphertext cache (whose usage
        # Describe also reports) arrive with the CKKS compute issue; until then both are empty.
        self.active_jobs = 0
        self.ciphertext_cache_usage_pct = 0.0

    async def Describe(self, request: ckks_compute_pb2.DescribeRequest,
                       grpc_context: grpc.aio.ServicerContext,
                       ) -> ckks_compute_pb2.DescribeResponse:
        return ckks_compute_pb2.DescribeResponse(
            info=self.context.service_info(),
            active_jobs=self.active_jobs,
            ciphertext_cache_usage_pct=self.ciphertext_cache_usage_pct,
        )


@asynccontextmanager
async def lifespan(context: ServiceContext) -> AsyncIterator[None]:
    context.fhe_engine = fhe_engine_description()
    ckks_compute_pb2_grpc.add_CkksComputeServiceServicer_to_server(
        CkksComputeServicer(context), context.server)
    yield
