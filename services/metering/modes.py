"""Live and test mode. A `wvs_test_` key's billing state (usage ledger, reservations,
budget, invoices, simulated subscription) lives under a scope of its own, so test mode never
reads or changes the live account's (docs/decisions/0067-test-mode-is-separate-state.md)."""

from __future__ import annotations

TEST = "test"


def is_test(environment: str) -> bool:
    return environment == TEST


def scope_of(account_id: str, environment: str) -> str:
    """The id the billing state of `environment` is kept under: the account id for live and
    trial keys, "<account id>:test" for test keys."""
    return f"{account_id}:{TEST}" if is_test(environment) else account_id


def environment_of(scope: str) -> str:
    return TEST if scope.endswith(f":{TEST}") else "live"
