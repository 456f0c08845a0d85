"""Entry point: python -m gateway"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from gateway.app import create_app
from gateway.connections import GatewayRunner
from gateway.settings import GatewaySettings
from wavis.core.logging import configure_logging
from wavis.core.ready_file import write_ready_file
from wavis.core.settings import SettingsError, load_settings
from wavis.core.telemetry import setup_tracing

log = logging.getLogger("gateway")


async def serve(settings: GatewaySettings) -> None:
    runner = GatewayRunner(create_app(settings), access_log=None,
                           shutdown_timeout=settings.shutdown_grace_seconds,
                           keepalive_seconds=settings.http_keepalive_seconds,
                           header_timeout_seconds=settings.http_header_timeout_seconds)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    port = runner.addresses[0][1]
    log.info("gateway serving on http://%s:%d/api/v1", settings.http_host, port)
    if settings.ready_file is not None:
        write_ready_file(settings.ready_file, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("gateway stopping: draining in-flight requests")
    await runner.cleanup()  # stops accepting, lets handlers finish, closes clients


def main() -> None:
    try:
        settings = load_settings(GatewaySettings)
    except SettingsError as exc:
        print(f"wavis gateway: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging("gateway", settings.log_level, settings.log_format)
    setup_tracing("gateway", settings.traces_exporter)
    try:
        asyncio.run(serve(settings))
    except SettingsError as exc:  # found while starting, e.g. a secret production lacks
        print(f"wavis gateway: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as exc:
        log.error("gateway cannot start: %s", exc)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
