"""The plan names the gateway's schemas use are the plans metering defines."""

from __future__ import annotations

from services.metering.plans import DEFAULT_PLANS
from wavis.core.plan_names import PLAN_NAMES, SELF_SERVE_PLANS


def test_every_named_plan_is_defined_and_self_serve_ones_are_plans() -> None:
    assert set(PLAN_NAMES) == set(DEFAULT_PLANS)
    assert set(SELF_SERVE_PLANS) < set(PLAN_NAMES)
    assert "enterprise" not in SELF_SERVE_PLANS and "trial" not in SELF_SERVE_PLANS
