"""gRPC keepalive, declared once: the channels' pings and the servers' ping policy are both
derived from WAVIS_GRPC_KEEPALIVE_SECONDS, so that a server never takes a client's keepalive
for abuse (C-core's default policy allows one ping per 5 minutes on a connection without
data and answers more with GOAWAY too_many_pings, dropping the connection)."""

from __future__ import annotations

import dataclasses
import os

from wavis.core.settings import CommonSettings

# Slack for the server: timers drift and a channel that reconnects pings early.
SERVER_TOLERANCE = 2
# How long a ping may go unanswered before the channel takes the connection for dead.
TIMEOUT_MS = 20_000

_FIELD = next(f for f in dataclasses.fields(CommonSettings) if f.name == "grpc_keepalive_seconds")


def keepalive_ms(settings: CommonSettings | None = None) -> int:
    """The keepalive interval in ms: the settings', else the environment's, else the default."""
    if settings is not None:
        seconds = settings.grpc_keepalive_seconds
    else:
        raw = os.environ.get(_FIELD.metadata["env"])
        seconds = float(_FIELD.metadata["parse"](raw) if raw else _FIELD.default)  # type: ignore[arg-type]
    return int(seconds * 1000)


def channel_options(interval_ms: int) -> list[tuple[str, int]]:
    """A channel pings every interval, with or without calls open (an idle channel's
    connection stays up instead of being found dead at the next call)."""
    return [("grpc.keepalive_time_ms", interval_ms),
            ("grpc.keepalive_timeout_ms", min(TIMEOUT_MS, interval_ms)),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0)]


def server_options(interval_ms: int) -> list[tuple[str, int]]:
    """A server accepts those pings, with or without calls open."""
    # C-core reads the least interval between *received* pings from this name
    # (GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS); "min_recv_..." is ignored.
    return [("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", interval_ms // SERVER_TOLERANCE)]
