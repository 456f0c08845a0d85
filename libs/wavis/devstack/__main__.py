"""`make run`: start Redis, the six services and the gateway; Ctrl-C or SIGTERM stops them all.

Run as `python -m wavis.devstack` (or `wavis-run`).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import time
from types import FrameType

from wavis.core.settings import (
    CommonSettings,
    SettingsError,
    load_settings,
    parse_float,
    parse_int,
    setting,
)
from wavis.devstack.stack import Stack, StackError
from wavis.devstack.supervisor import Supervisor


@dataclasses.dataclass(frozen=True)
class DevStackSettings(CommonSettings):
    http_port: int = setting("WAVIS_HTTP_PORT", 8080, parse_int(0, 65535),
                             doc="gateway port")
    port_base: int | None = setting(
        "WAVIS_PORT_BASE", None, parse_int(1024, 65527),
        doc="services on this port and the next five, Redis on base+6, the ciphertext "
            "cache's Redis on base+7; unset: free ports")
    startup_timeout: float = setting("WAVIS_STARTUP_TIMEOUT_SECONDS", 60.0, parse_float(1, 600),
                                     doc="how long each part may take to start")


class _StopRequested(Exception):
    pass


def _request_stop(signum: int, frame: FrameType | None) -> None:
    # Further signals are ignored: the stop below must run to the end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _StopRequested(signal.Signals(signum).name)


def _webhook_notice(env: dict[str, str]) -> str:
    if env.get("WAVIS_WEBHOOK_ALLOW_PRIVATE", "").strip().lower() in ("1", "true", "yes", "on"):
        return ("  webhooks: WAVIS_WEBHOOK_ALLOW_PRIVATE=true: endpoints may be http://localhost"
                " and private addresses (development only)\n")
    return ""


def main() -> None:
    try:
        settings = load_settings(DevStackSettings)
    except SettingsError as exc:
        print(f"wavis run: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    stack = Stack(
        data_dir=settings.data_dir,
        http_port=settings.http_port,
        port_base=settings.port_base,
        # WAVIS_REDIS_URL set: use that Redis; unset: start one with data under the data dir.
        redis_url=settings.redis_url if "WAVIS_REDIS_URL" in os.environ else None,
        # Readable logs on a terminal; set WAVIS_LOG_FORMAT=json for JSON lines. Webhooks
        # may target local receivers (http, loopback/private) unless the caller says otherwise.
        env=({} if "WAVIS_LOG_FORMAT" in os.environ else {"WAVIS_LOG_FORMAT": "text"})
        | {"WAVIS_WEBHOOK_ALLOW_PRIVATE": os.environ.get("WAVIS_WEBHOOK_ALLOW_PRIVATE", "true")},
        startup_timeout=settings.startup_timeout,
    )
    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    exit_code = 0
    try:
        stack.start()
        ports = ", ".join(f"{key}={port}" for key, port in stack.service_ports.items())
        redis = stack.redis.url if stack.redis else settings.redis_url
        print(f"\nWAVIS is ready: {stack.gateway_url}/api/v1\n"
              f"  health:  {stack.gateway_url}/api/v1/health\n"
              f"  openapi: {stack.gateway_url}/api/v1/openapi.json\n"
              f"  grpc:    {ports}\n  redis:   {redis}\n"
              f"  data:    {stack.data_dir}\n"
              f"{_webhook_notice(stack.env)}Ctrl-C stops everything.\n", flush=True)
        supervisor = Supervisor(stack)
        while not (exited := supervisor.check()):
            time.sleep(0.2)
        print(f"wavis run: {', '.join(exited)} exited; stopping the stack", file=sys.stderr)
        exit_code = 1
    except StackError as exc:
        print(f"wavis run: {exc}", file=sys.stderr)
        exit_code = 1
    except _StopRequested as exc:
        print(f"\nwavis run: {exc}: stopping", file=sys.stderr, flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
    raise SystemExit(exit_code)


if __name__ == "__main__":
    main()
