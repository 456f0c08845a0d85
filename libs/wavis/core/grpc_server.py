"""The one async gRPC server bootstrap every service uses.

`run_service` is a service's whole `main`: settings parsed once (bad values stop the process
with a clear message), logging and tracing set up, a grpc.aio server with the standard
interceptors, health and reflection, and SIGTERM/SIGINT handled as: health NOT_SERVING ->
(optional delay so load balancers notice) -> refuse new calls -> drain in-flight calls -> stop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import aio_server_interceptor

import wavis
from wavis.core.grpc_interceptors import (
    CallInterceptor,
    ServiceTokenInterceptor,
)
from wavis.core.grpc_keepalive import keepalive_ms, server_options
from wavis.core.logging import configure_logging
from wavis.core.mesh import MeshService
from wavis.core.ready_file import write_ready_file
from wavis.core.service_auth import service_token, tls_files
from wavis.core.settings import ServiceSettings, SettingsError, load_settings
from wavis.core.telemetry import active_tracer_provider, setup_tracing
from wavis.generated.common.v1 import common_pb2

log = logging.getLogger(__name__)

S = TypeVar("S", bound=ServiceSettings)

# A service's lifespan: add its servicers to the server, open what it needs, yield while
# serving, close after the drain (the gRPC analogue of aiohttp's cleanup_ctx).
Lifespan = Callable[["ServiceContext"], AbstractAsyncContextManager[None]]


@dataclass
class ServiceContext:
    """What a service's lifespan gets: its server, settings and identity."""

    mesh: MeshService
    settings: ServiceSettings
    server: grpc.aio.Server
    started_at: float = field(default_factory=time.monotonic)
    instance_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    fhe_engine: str = ""
    # Spans of the clients a lifespan opens (Redis, channels to other services): a test's own
    # provider, else the process's; None when tracing is off.
    tracer_provider: trace.TracerProvider | None = None
    # Set when the graceful stop begins: long-lived streams end themselves on it, so the
    # drain is not held up by subscribers that would never finish.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def service_info(self) -> common_pb2.ServiceInfo:
        return common_pb2.ServiceInfo(
            service_name=self.mesh.name,
            version=wavis.__version__,
            instance_id=self.instance_id,
            uptime_seconds=round(time.monotonic() - self.started_at, 3),
            fhe_engine=self.fhe_engine,
        )


class GrpcServiceRunner:
    """One service's server: start on a port (0 = free), stop gracefully."""

    def __init__(self, mesh: MeshService, settings: ServiceSettings, lifespan: Lifespan,
                 tracer_provider: trace.TracerProvider | None = None) -> None:
        self.mesh = mesh
        self.settings = settings
        self.health = health.aio.HealthServicer()
        # The token is resolved in start(), after the lifespan: a service's own missing
        # secrets are reported first, by the same SettingsError path.
        self._auth = ServiceTokenInterceptor()
        tracer_provider = active_tracer_provider(tracer_provider)
        interceptors: list[grpc.aio.ServerInterceptor] = []
        if tracer_provider is not None:
            interceptors.append(aio_server_interceptor(tracer_provider=tracer_provider))
        if settings.metrics_port is not None:
            # Imported only when enabled: prometheus_client pulls in http.server.
            from wavis.core.metrics import GrpcMetricsInterceptor

            interceptors.append(GrpcMetricsInterceptor(mesh.name))
        interceptors += [
            self._auth,
            CallInterceptor(),
        ]
        self.server = grpc.aio.server(options=[
            ("grpc.max_receive_message_length", settings.grpc_max_receive_bytes),
            *server_options(keepalive_ms(settings)),
        ], interceptors=interceptors)
        self.context = ServiceContext(mesh=mesh, settings=settings, server=self.server,
                                      tracer_provider=tracer_provider)
        self._lifespan = lifespan
        self._exit_stack = AsyncExitStack()
        self._stopping: asyncio.Task[None] | None = None
        self.port = 0
        self.metrics_port: int | None = None
        self._metrics_server: Any = None

    async def start(self) -> int:
        await self._exit_stack.enter_async_context(self._lifespan(self.context))
        self._auth.set_token(service_token(self.settings))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (self.mesh.grpc_service, *self.mesh.more_grpc_services, health.SERVICE_NAME,
             reflection.SERVICE_NAME), self.server)
        port = self.settings.grpc_port
        if port is None:
            port = self.mesh.default_port
        address = f"{self.settings.grpc_host}:{port}"
        tls = tls_files(self.settings)
        if tls is not None:  # mTLS: only clients with a certificate from WAVIS_GRPC_TLS_CA
            self.port = self.server.add_secure_port(address, tls.server_credentials())
        else:
            self.port = self.server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot bind {self.settings.grpc_host}:{port}")
        await self.server.start()
        if self.settings.metrics_port is not None:
            from wavis.core.metrics import serve_metrics

            self._metrics_server, self.metrics_port = serve_metrics(
                self.settings.grpc_host, self.settings.metrics_port)
            log.info("%s metrics on %s:%d/metrics", self.mesh.name, self.settings.grpc_host,
                     self.metrics_port)
        for name in ("", self.mesh.grpc_service, *self.mesh.more_grpc_services):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.context.started_at = time.monotonic()
        log.info("%s serving on %s:%d", self.mesh.name, self.settings.grpc_host, self.port)
        return self.port

    def request_stop(self) -> asyncio.Task[None]:
        """Begin the graceful stop once; later calls return the same task."""
        if self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_task(self._stop())
        return self._stopping

    async def _stop(self) -> None:
        log.info("%s stopping: health NOT_SERVING", self.mesh.name)
        self.context.stopping.set()
        await self.health.enter_graceful_shutdown()
        if self.settings.shutdown_delay_seconds:
            await asyncio.sleep(self.settings.shutdown_delay_seconds)
        # New calls are refused from here; in-flight ones get the grace period.
        await self.server.stop(grace=self.settings.shutdown_grace_seconds)
        await self._exit_stack.aclose()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
        log.info("%s stopped", self.mesh.name)

    async def wait_stopped(self) -> None:
        await self.server.wait_for_termination()
        if self._stopping is not None:
            await self._stopping


async def serve(mesh: MeshService, settings: ServiceSettings, lifespan: Lifespan,
                stop_signals: Sequence[int] = (signal.SIGTERM, signal.SIGINT)) -> None:
    runner = GrpcServiceRunner(mesh, settings, lifespan)
    port = await runner.start()
    loop = asyncio.get_running_loop()
    for signum in stop_signals:
        loop.add_signal_handler(signum, runner.request_stop)
    if settings.ready_file is not None:
        write_ready_file(settings.ready_file, port)
    await runner.wait_stopped()


def run_service(mesh: MeshService, lifespan: Lifespan,
                settings_cls: type[S] = ServiceSettings) -> None:  # type: ignore[assignment]
    """A service's `__main__`: parse settings, set up the process, serve until SIGTERM."""
    # OpenMP reads this when OpenFHE loads: never leave it to the machine's core count.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        settings = load_settings(settings_cls)
    except SettingsError as exc:
        print(f"wavis {mesh.name}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(mesh.name, settings.log_level, settings.log_format)
    setup_tracing(mesh.name, settings.traces_exporter)
    try:
        asyncio.run(serve(mesh, settings, lifespan))
    except SettingsError as exc:  # found while starting, e.g. a secret production lacks
        print(f"wavis {mesh.name}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as exc:
        log.error("%s cannot start: %s", mesh.name, exc)
        raise SystemExit(1) from None
