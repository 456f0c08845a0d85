"""The services of the mesh: names, default ports and gRPC service names, in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MeshService:
    """One gRPC service of the mesh."""

    key: str  # Python/proto name: services.<key>, package wavis.<key>.v1
    name: str  # name in health reports, logs and Kubernetes: "tfhe-eval"
    default_port: int
    grpc_service: str  # fully qualified gRPC service name, as the health service knows it
    # Further gRPC services the same process answers (listed by reflection, SERVING in health).
    more_grpc_services: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        return f"services.{self.key}"

    @property
    def target_env(self) -> str:
        """The variable that tells callers where this service listens."""
        return f"WAVIS_{self.key.upper()}_TARGET"


SERVICES: tuple[MeshService, ...] = (
    MeshService("keys", "keys", 50051, "wavis.keys.v1.KeysService"),
    MeshService("tfhe_eval", "tfhe-eval", 50052, "wavis.tfhe_eval.v1.TfheEvalService"),
    MeshService("ckks_compute", "ckks-compute", 50053, "wavis.ckks_compute.v1.CkksComputeService"),
    # Three APIs of one concern each, in one process
    # (docs/decisions/0070-metering-api-in-three-services.md).
    MeshService("metering", "metering", 50054, "wavis.metering.v1.AccountsService",
                ("wavis.metering.v1.UsageService", "wavis.metering.v1.BillingService")),
    MeshService("webhooks", "webhooks", 50055, "wavis.webhooks.v1.WebhooksService"),
    MeshService("inference", "inference", 50056, "wavis.inference.v1.InferenceService"),
)

SERVICES_BY_KEY = {service.key: service for service in SERVICES}
