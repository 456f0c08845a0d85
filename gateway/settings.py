"""The gateway's settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wavis.core.mesh import SERVICES
from wavis.core.settings import (
    CommonSettings,
    parse_float,
    parse_int,
    parse_nonempty,
    parse_path,
    parse_target,
    setting,
)

MB = 1024 * 1024


def _default_target(key: str) -> str:
    port = next(service.default_port for service in SERVICES if service.key == key)
    return f"127.0.0.1:{port}"


@dataclass(frozen=True)
class GatewaySettings(CommonSettings):
    http_host: str = setting("WAVIS_HTTP_HOST", "127.0.0.1", parse_nonempty,
                             doc="address the gateway binds (0.0.0.0 in containers)")
    http_port: int = setting("WAVIS_HTTP_PORT", 8080, parse_int(0, 65535),
                             doc="gateway HTTP port; 0 picks a free one")
    ready_file: Path | None = setting(
        "WAVIS_READY_FILE", None, parse_path,
        doc="when set, the bound port is written here as JSON once serving")
    keys_target: str = setting("WAVIS_KEYS_TARGET", _default_target("keys"), parse_target,
                               doc="where the keys service listens")
    tfhe_eval_target: str = setting("WAVIS_TFHE_EVAL_TARGET", _default_target("tfhe_eval"),
                                    parse_target, doc="where the tfhe-eval service listens")
    ckks_compute_target: str = setting(
        "WAVIS_CKKS_COMPUTE_TARGET", _default_target("ckks_compute"), parse_target,
        doc="where the ckks-compute service listens")
    metering_target: str = setting("WAVIS_METERING_TARGET", _default_target("metering"),
                                   parse_target, doc="where the metering service listens")
    webhooks_target: str = setting("WAVIS_WEBHOOKS_TARGET", _default_target("webhooks"),
                                   parse_target, doc="where the webhooks service listens")
    health_probe_timeout_seconds: float = setting(
        "WAVIS_HEALTH_PROBE_TIMEOUT_SECONDS", 2.0, parse_float(0.05, 30),
        doc="time limit of each dependency probe in /health")
    max_request_bytes: int = setting(
        "WAVIS_MAX_REQUEST_BYTES", 40 * MB, parse_int(1024, 1024 * MB),
        doc="largest request body; larger ones answer 413 PAYLOAD_TOO_LARGE")
    shutdown_grace_seconds: float = setting(
        "WAVIS_SHUTDOWN_GRACE_SECONDS", 8.0, parse_float(0, 600),
        doc="after SIGTERM, how long in-flight requests may take to finish")

    @property
    def service_targets(self) -> dict[str, str]:
        """Service key -> gRPC target, for every service of the mesh."""
        return {service.key: getattr(self, f"{service.key}_target") for service in SERVICES}
