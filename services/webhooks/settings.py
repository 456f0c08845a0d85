"""The webhooks service's settings."""

from __future__ import annotations

from dataclasses import dataclass

from wavis.core.sealing import parse_encryption_key_setting
from wavis.core.settings import (
    ServiceSettings,
    accepting,
    parse_bool,
    parse_float,
    parse_int,
    setting,
)

# Caps of the waits between attempts (each wait is uniform in [0, cap]: full jitter),
# doubling from 30 s to 6 h; with the 24 h window below, retries end within a day.
DEFAULT_SCHEDULE = (30.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3840.0, 7680.0, 15360.0,
                    21600.0, 21600.0, 21600.0, 21600.0, 21600.0)


def parse_schedule(raw: str) -> tuple[float, ...]:
    """Comma-separated seconds, each 0.01 to 86400, at least one."""
    try:
        values = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ValueError("expected comma-separated seconds, e.g. 30,60,120") from None
    if not values or not all(0.01 <= value <= 86_400 for value in values):
        raise ValueError("expected comma-separated seconds from 0.01 to 86400, e.g. 30,60,120")
    return values


accepting("comma-separated seconds", parse_schedule)


@dataclass(frozen=True)
class WebhooksSettings(ServiceSettings):
    key_encryption_key: str | None = setting(
        "WAVIS_KEY_ENCRYPTION_KEY", None, parse_encryption_key_setting,
        doc="AES-256-GCM key (base64 of 32 bytes) sealing webhook secrets at rest; "
            "required in production")
    allow_private: bool = setting(
        "WAVIS_WEBHOOK_ALLOW_PRIVATE", False, parse_bool,
        doc="allow loopback and private-range webhook URLs, over http too (development and "
            "tests); link-local, multicast and reserved addresses stay refused")
    retry_schedule: tuple[float, ...] = setting(
        "WAVIS_WEBHOOK_RETRY_SCHEDULE", DEFAULT_SCHEDULE, parse_schedule,
        doc="comma-separated caps, in seconds, of the waits between attempts (each wait is "
            "random in [0, cap]); when they run out the delivery has failed")
    retry_window_seconds: float = setting(
        "WAVIS_WEBHOOK_RETRY_WINDOW_SECONDS", 86_400.0, parse_float(1, 7 * 86_400),
        doc="no attempt starts later than this after the event")
    timeout_seconds: float = setting(
        "WAVIS_WEBHOOK_TIMEOUT_SECONDS", 10.0, parse_float(0.1, 60),
        doc="one delivery attempt (DNS, connect, request, answer) may take this long")
    disable_after_seconds: float = setting(
        "WAVIS_WEBHOOK_DISABLE_AFTER_SECONDS", 3 * 86_400.0, parse_float(1, 90 * 86_400),
        doc="an endpoint whose deliveries fail this long without a success is disabled")
    concurrency: int = setting(
        "WAVIS_WEBHOOK_CONCURRENCY", 64, parse_int(1, 4096),
        doc="deliveries in flight at once per replica")
    max_endpoints: int = setting(
        "WAVIS_WEBHOOK_MAX_ENDPOINTS", 20, parse_int(1, 1000),
        doc="endpoints per account")
    history_seconds: int = setting(
        "WAVIS_WEBHOOK_HISTORY_SECONDS", 30 * 86_400, parse_int(60, 365 * 86_400),
        doc="how long finished deliveries stay in GET /webhooks/events")

    @property
    def lease_seconds(self) -> float:
        """A claimed delivery is re-queued if its replica has not settled it by then (it
        died): no attempt can outlast the timeout."""
        return self.timeout_seconds + 5.0
