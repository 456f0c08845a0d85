"""The plans an account can be on, by name: metering defines their limits and prices
(services/metering/plans.py); the gateway's schemas and the SDK name them."""

from __future__ import annotations

PLAN_NAMES = ("trial", "free", "payg", "starter", "pro", "scale", "enterprise")
# Plans an account admin may subscribe to through the API (trials are made by onboarding,
# enterprise by an operator).
SELF_SERVE_PLANS = ("free", "payg", "starter", "pro", "scale")
