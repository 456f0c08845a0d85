"""The one table of plan limits (docs/api.md lists them), which a deployment can override."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wavis.generated.metering.v1 import accounts_pb2

_GB = 1024 ** 3


@dataclass(frozen=True)
class Plan:
    name: str
    daily_requests: int
    monthly_requests: int
    burst_requests: int  # per client IP per 60 s
    monthly_fcu: int  # 0 with overage_allowed: pay as you go
    overage_allowed: bool = False
    operations_limit: int = 0  # over the account's life; 0: none
    max_keys: int = 0  # FHE keys held at once; 0: no limit
    max_key_bytes: int = 0  # bytes of FHE key material held; 0: no limit

    def to_proto(self) -> accounts_pb2.PlanLimits:
        fields = dataclasses.asdict(self)
        return accounts_pb2.PlanLimits(plan=fields.pop("name"), **fields)


DEFAULT_PLANS: dict[str, Plan] = {plan.name: plan for plan in (
    Plan("trial", daily_requests=200, monthly_requests=200, burst_requests=30,
         monthly_fcu=1_000, operations_limit=10, max_keys=3, max_key_bytes=1 * _GB),
    Plan("free", daily_requests=1_000, monthly_requests=10_000, burst_requests=60,
         monthly_fcu=10_000, max_keys=10, max_key_bytes=5 * _GB),
    Plan("payg", daily_requests=200_000, monthly_requests=3_000_000, burst_requests=600,
         monthly_fcu=0, overage_allowed=True, max_keys=200, max_key_bytes=200 * _GB),
    Plan("starter", daily_requests=20_000, monthly_requests=300_000, burst_requests=120,
         monthly_fcu=1_000_000, max_keys=25, max_key_bytes=25 * _GB),
    Plan("pro", daily_requests=200_000, monthly_requests=3_000_000, burst_requests=600,
         monthly_fcu=20_000_000, max_keys=200, max_key_bytes=200 * _GB),
    Plan("scale", daily_requests=1_000_000, monthly_requests=20_000_000, burst_requests=3_000,
         monthly_fcu=100_000_000, max_keys=2_000, max_key_bytes=2_000 * _GB),
    Plan("enterprise", daily_requests=10_000_000, monthly_requests=200_000_000,
         burst_requests=10_000, monthly_fcu=0, overage_allowed=True),
)}

_NUMBERS = ("daily_requests", "monthly_requests", "burst_requests", "monthly_fcu",
            "operations_limit", "max_keys", "max_key_bytes")


def parse_plan_overrides(raw: str) -> dict[str, dict[str, Any]]:
    """WAVIS_PLAN_LIMITS: JSON like {"free": {"daily_requests": 5000}}; unknown names refused."""
    try:
        value = json.loads(raw)
    except ValueError:
        raise ValueError("expected a JSON object of plan -> {limit: number}") from None
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object of plan -> {limit: number}")
    for plan, limits in value.items():
        if plan not in DEFAULT_PLANS:
            raise ValueError(f"unknown plan {plan!r}")
        if not isinstance(limits, dict):
            raise ValueError(f"{plan}: expected an object of limits")
        for field, number in limits.items():
            if field == "overage_allowed":
                if not isinstance(number, bool):
                    raise ValueError(f"{plan}.overage_allowed: expected true or false")
            elif field not in _NUMBERS:
                raise ValueError(f"{plan}: unknown limit {field!r}")
            elif not isinstance(number, int) or isinstance(number, bool) or number < 0:
                raise ValueError(f"{plan}.{field}: expected a whole number >= 0")
    return value


def build_plans(overrides: Mapping[str, Mapping[str, Any]]) -> dict[str, Plan]:
    return {name: dataclasses.replace(plan, **overrides.get(name, {}))
            for name, plan in DEFAULT_PLANS.items()}
