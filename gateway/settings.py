"""The gateway's settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

from wavis.core.limits import DEFAULT_MAX_REQUEST_BYTES, MB
from wavis.core.secrets import parse_secret
from wavis.core.settings import (
    CommonSettings,
    accepting,
    parse_bool,
    parse_float,
    parse_int,
    parse_nonempty,
    parse_path,
    setting,
)


def parse_networks(raw: str) -> tuple[IPv4Network | IPv6Network, ...]:
    try:
        return tuple(ip_network(part.strip(), strict=False)
                     for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"expected comma-separated CIDRs ({exc})") from None


accepting("comma-separated CIDRs", parse_networks)


@dataclass(frozen=True)
class GatewaySettings(CommonSettings):
    http_host: str = setting("WAVIS_HTTP_HOST", "127.0.0.1", parse_nonempty,
                             doc="address the gateway binds (0.0.0.0 in containers)")
    http_port: int = setting("WAVIS_HTTP_PORT", 8080, parse_int(0, 65535),
                             doc="gateway HTTP port; 0 picks a free one")
    http_keepalive_seconds: float = setting(
        "WAVIS_HTTP_KEEPALIVE_SECONDS", 75.0, parse_float(0.1, 3600),
        doc="an idle client connection is closed after this long (keep it above the idle "
            "timeout of a load balancer in front)")
    http_header_timeout_seconds: float = setting(
        "WAVIS_HTTP_HEADER_TIMEOUT_SECONDS", 10.0, parse_float(0.1, 600),
        doc="a request's headers must be complete this long after its first byte, or the "
            "connection is closed")
    ready_file: Path | None = setting(
        "WAVIS_READY_FILE", None, parse_path,
        doc="when set, the bound port is written here as JSON once serving")
    health_probe_timeout_seconds: float = setting(
        "WAVIS_HEALTH_PROBE_TIMEOUT_SECONDS", 2.0, parse_float(0.05, 30),
        doc="time limit of each dependency probe in /health")
    max_request_bytes: int = setting(
        "WAVIS_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES, parse_int(1024, 1024 * MB),
        doc="largest request body; larger ones answer 413 PAYLOAD_TOO_LARGE")
    cursor_secret: str | None = setting(
        "WAVIS_CURSOR_SECRET", None, parse_secret,
        doc="HMAC secret signing pagination cursors (>= 32 chars); required in production")
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = setting(
        "WAVIS_TRUSTED_PROXIES", (), parse_networks,
        doc="networks (of proxies) whose X-Forwarded-For is believed")
    auth_failures_per_key: int = setting(
        "WAVIS_AUTH_FAILURES_PER_KEY", 10, parse_int(1, 1_000_000),
        doc="failed authentications for one key prefix that lock it out")
    auth_failures_per_ip: int = setting(
        "WAVIS_AUTH_FAILURES_PER_IP", 20, parse_int(1, 1_000_000),
        doc="failed authentications from one IP that lock it out")
    auth_failure_window_seconds: int = setting(
        "WAVIS_AUTH_FAILURE_WINDOW_SECONDS", 300, parse_int(1, 86_400),
        doc="window in which failures are counted")
    auth_lockout_seconds: int = setting(
        "WAVIS_AUTH_LOCKOUT_SECONDS", 900, parse_int(1, 86_400),
        doc="how long a lockout lasts")
    auth_cache_seconds: float = setting(
        "WAVIS_AUTH_CACHE_SECONDS", 5.0, parse_float(0, 60),
        doc="how long a gateway reuses a successful key lookup (revocations still apply at once)")
    temp_keys_per_ip_per_minute: int = setting(
        "WAVIS_TEMP_KEYS_PER_IP_PER_MINUTE", 5, parse_int(1, 10_000),
        doc="trial keys one client IP may create per minute")
    allow_sk_in_response: bool = setting(
        "WAVIS_ALLOW_SK_IN_RESPONSE", False, parse_bool,
        doc="return server-generated secret keys in POST /keys/generate (demos only)")
    shutdown_grace_seconds: float = setting(
        "WAVIS_SHUTDOWN_GRACE_SECONDS", 8.0, parse_float(0, 600),
        doc="after SIGTERM, how long in-flight requests may take to finish")
