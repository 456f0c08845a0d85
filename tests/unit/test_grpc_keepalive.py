"""The channels' keepalive and the servers' ping policy agree (else GOAWAY too_many_pings)."""

from __future__ import annotations

from wavis.core.grpc_keepalive import channel_options, keepalive_ms, server_options
from wavis.core.settings import CommonSettings, load_settings


def test_servers_permit_the_channels_pings_at_the_default_interval() -> None:
    interval = keepalive_ms(load_settings(CommonSettings, {}))
    assert interval == keepalive_ms() == 30_000
    client, server = dict(channel_options(interval)), dict(server_options(interval))
    assert client["grpc.keepalive_time_ms"] == interval
    # The server's minimum interval between pings without data is below the client's.
    assert server["grpc.http2.min_ping_interval_without_data_ms"] < interval
    assert client["grpc.keepalive_permit_without_calls"] == 1
    assert server["grpc.keepalive_permit_without_calls"] == 1


def test_the_interval_is_a_setting() -> None:
    settings = load_settings(CommonSettings, {"WAVIS_GRPC_KEEPALIVE_SECONDS": "1.5"})
    assert keepalive_ms(settings) == 1500
