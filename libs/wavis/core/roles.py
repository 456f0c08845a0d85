"""Roles of API keys, least to most powerful, and the key environments."""

from __future__ import annotations

ROLES = ("trial", "viewer", "developer", "account_admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}

# Contract labels: TRIAL+, READ+ (viewer), WRITE+ (developer), ADMIN (account_admin).
TRIAL, READ, WRITE, ADMIN = ROLES

ENVIRONMENTS = ("live", "test", "trial")

# What an account may mint with POST /api-keys: trial keys come only from onboarding.
MINTED_ROLES = tuple(role for role in ROLES if role != TRIAL)
MINTED_ENVIRONMENTS = tuple(environment for environment in ENVIRONMENTS if environment != "trial")


def role_allows(held: str, needed: str) -> bool:
    """Whether a key with role `held` may call an endpoint that needs `needed`."""
    return ROLE_RANK.get(held, -1) >= ROLE_RANK[needed]
