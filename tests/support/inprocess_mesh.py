"""The part of the mesh a compute request crosses, all in this process: a real redis-server,
the keys, metering and ckks-compute services (GrpcServiceRunner, as `run_service` builds
them) and the gateway app. Tests use it where they must reach inside a service (a tracer
provider of their own, a patched evaluation). In-process servers and clients share the
process's service token (wavis.core.service_auth), so the mesh authenticates itself as in
production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from opentelemetry import trace

from gateway.app import create_app
from gateway.settings import GatewaySettings
from services.ckks_compute.server import lifespan as ckks_lifespan
from services.ckks_compute.settings import CkksSettings
from services.keys.server import lifespan as keys_lifespan
from services.keys.settings import KeysSettings
from services.metering.server import lifespan as metering_lifespan
from services.metering.settings import MeteringSettings
from wavis.core.grpc_server import GrpcServiceRunner
from wavis.core.mesh import SERVICES, SERVICES_BY_KEY
from wavis.core.redis_server import RedisServer, free_port


@dataclass
class InProcessMesh:
    base_url: str  # the gateway
    targets: dict[str, str]  # service key -> host:port


@asynccontextmanager
async def inprocess_mesh(tmp_path: Path, tracer_provider: trace.TracerProvider | None = None,
                         ) -> AsyncIterator[InProcessMesh]:
    redis = RedisServer(tmp_path / "redis", persistent=False).start()
    # Every service's port is chosen first, so each one's *_target settings name the others.
    ports = {s.key: free_port() for s in SERVICES}
    targets = {s.key: f"127.0.0.1:{ports[s.key]}" for s in SERVICES}
    common = {"redis_url": redis.url, "data_dir": tmp_path / "data",
              **{f"{key}_target": target for key, target in targets.items()}}
    runners = [
        GrpcServiceRunner(SERVICES_BY_KEY["keys"],
                          KeysSettings(grpc_port=ports["keys"], **common),
                          keys_lifespan, tracer_provider=tracer_provider),
        GrpcServiceRunner(SERVICES_BY_KEY["metering"],
                          MeteringSettings(grpc_port=ports["metering"], **common),
                          metering_lifespan, tracer_provider=tracer_provider),
        GrpcServiceRunner(SERVICES_BY_KEY["ckks_compute"],
                          CkksSettings(grpc_port=ports["ckks_compute"], **common),
                          ckks_lifespan, tracer_provider=tracer_provider),
    ]
    started: list[GrpcServiceRunner] = []
    runner: web.AppRunner | None = None
    try:
        for service in runners:
            await service.start()
            started.append(service)
        runner = web.AppRunner(create_app(GatewaySettings(**common),
                                          tracer_provider=tracer_provider))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield InProcessMesh(f"http://127.0.0.1:{runner.addresses[0][1]}", targets)
    finally:
        if runner is not None:
            await runner.cleanup()
        for service in reversed(started):
            service.request_stop()
            await service.wait_stopped()
        redis.stop()
