"""gRPC clients of the gateway: one channel per service, its stub and its health stub."""

from __future__ import annotations

from typing import Any

import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace

from wavis.core.ckks_programs import MAX_ANSWER_BYTES
from wavis.core.grpc_client import open_channel
from wavis.core.mesh import SERVICES, MeshService
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2, ckks_compute_pb2_grpc
from wavis.generated.inference.v1 import inference_pb2, inference_pb2_grpc
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc
from wavis.generated.metering.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    billing_pb2_grpc,
    usage_pb2_grpc,
)
from wavis.generated.tfhe_eval.v1 import tfhe_eval_pb2, tfhe_eval_pb2_grpc
from wavis.generated.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc

# Each service's Describe takes its own (empty) request message.
_DESCRIBE_REQUEST: dict[str, Any] = {
    "keys": keys_pb2.DescribeRequest,
    "tfhe_eval": tfhe_eval_pb2.DescribeRequest,
    "ckks_compute": ckks_compute_pb2.DescribeRequest,
    "metering": accounts_pb2.DescribeRequest,
    "webhooks": webhooks_pb2.DescribeRequest,
    "inference": inference_pb2.DescribeRequest,
}


# Answers larger than gRPC's default 4 MB: a CKKS program returns up to 16 ciphertexts.
_MAX_RECEIVE_BYTES = {"ckks_compute": MAX_ANSWER_BYTES}


class ServiceClients:
    """Stubs for every service of the mesh, sharing one channel per service."""

    def __init__(self, targets: dict[str, str],
                 tracer_provider: trace.TracerProvider | None = None,
                 token: str | None = None) -> None:
        self.channels: dict[str, grpc.aio.Channel] = {
            key: open_channel(target, tracer_provider=tracer_provider, token=token,
                              max_receive_bytes=_MAX_RECEIVE_BYTES.get(key))
            for key, target in targets.items()
        }
        self.keys = keys_pb2_grpc.KeysServiceStub(self.channels["keys"])
        self.tfhe_eval = tfhe_eval_pb2_grpc.TfheEvalServiceStub(self.channels["tfhe_eval"])
        self.ckks_compute = ckks_compute_pb2_grpc.CkksComputeServiceStub(
            self.channels["ckks_compute"])
        # The metering service answers three APIs on one channel (decision 0070).
        self.accounts = accounts_pb2_grpc.AccountsServiceStub(self.channels["metering"])
        self.usage = usage_pb2_grpc.UsageServiceStub(self.channels["metering"])
        self.billing = billing_pb2_grpc.BillingServiceStub(self.channels["metering"])
        self.webhooks = webhooks_pb2_grpc.WebhooksServiceStub(self.channels["webhooks"])
        self.inference = inference_pb2_grpc.InferenceServiceStub(self.channels["inference"])

    async def check_health(self, service: MeshService, timeout: float) -> int:
        """The service's grpc.health.v1 status (SERVING = 1)."""
        stub = health_pb2_grpc.HealthStub(self.channels[service.key])
        response = await stub.Check(health_pb2.HealthCheckRequest(service=service.grpc_service),
                                    timeout=timeout)
        return int(response.status)

    async def describe(self, service: MeshService, timeout: float) -> Any:
        stub = self.accounts if service.key == "metering" else getattr(self, service.key)
        return await stub.Describe(_DESCRIBE_REQUEST[service.key](), timeout=timeout)

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()


assert set(_DESCRIBE_REQUEST) == {service.key for service in SERVICES}
