"""The metering service's settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.metering.plans import parse_plan_overrides
from wavis.core.secrets import parse_secret
from wavis.core.settings import (
    ServiceSettings,
    parse_float,
    parse_int,
    parse_nonempty,
    setting,
)


@dataclass(frozen=True)
class MeteringSettings(ServiceSettings):
    api_key_pepper: str | None = setting(
        "WAVIS_API_KEY_PEPPER", None, parse_secret,
        doc="HMAC secret for API-key hashes (>= 32 chars); required in production")
    plan_overrides: dict[str, dict[str, Any]] | None = setting(
        "WAVIS_PLAN_LIMITS", None, parse_plan_overrides,
        doc='JSON overriding plan limits, e.g. {"free": {"daily_requests": 5000}}')
    trial_seconds: int = setting("WAVIS_TRIAL_SECONDS", 1800, parse_int(1, 7 * 86_400),
                                 doc="how long a trial key works")
    trial_operations: int = setting("WAVIS_TRIAL_OPERATIONS", 10, parse_int(1, 1_000_000),
                                    doc="operations a trial account may run")
    rotation_grace_seconds: int = setting(
        "WAVIS_ROTATION_GRACE_SECONDS", 86_400, parse_int(0, 30 * 86_400),
        doc="how long a rotated key keeps working")
    billing_success_url: str = setting(
        "WAVIS_BILLING_SUCCESS_URL",
        "https://wavis.xyz/billing/success?session_id={CHECKOUT_SESSION_ID}", parse_nonempty,
        doc="where Stripe Checkout sends the customer after paying")
    billing_close_interval_seconds: float = setting(
        "WAVIS_BILLING_CLOSE_INTERVAL_SECONDS", 3600.0, parse_float(0.5, 86_400),
        doc="how often ended months of pay-as-you-go accounts are charged through Stripe "
            "and downgrades due at a period's end are applied")
    billing_cancel_url: str = setting(
        "WAVIS_BILLING_CANCEL_URL", "https://wavis.xyz/billing/cancelled", parse_nonempty,
        doc="where Stripe Checkout sends a customer who gives up")
