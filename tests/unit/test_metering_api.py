"""The metering API in parts a reader can hold: three gRPC services of one concern each, the
trial allowance counted in one place, Redis scripts with named keys, arguments and results
(docs/decisions/0070-metering-api-in-three-services.md)."""

from __future__ import annotations

import re
from pathlib import Path

from services.metering import ledger_scripts
from services.metering.named_scripts import Script

REPO = Path(__file__).resolve().parents[2]
CONCERNS = {
    "AccountsService": {"Describe", "CreateAccount", "CreateTrialAccount", "ListAccounts",
                        "SetPlan", "CreateApiKey", "ListApiKeys", "RevokeApiKey",
                        "RevokeTrialKey", "RotateApiKey", "Authenticate", "GetPlanLimits",
                        "WatchRevocations"},
    "UsageService": {"ReserveOperations", "ReleaseOperations", "ReserveUsage",
                     "ReserveUsageStream", "CommitUsage", "ReleaseUsage", "GetUsage",
                     "GetBalance"},
    "BillingService": {"SetBudget", "GetBudget", "Subscribe", "GetSubscription",
                       "CancelSubscription", "ListInvoices", "GetInvoice",
                       "HandleStripeWebhook", "CheckStripe"},
}


def _services() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for proto in (REPO / "protos" / "wavis" / "metering").rglob("*.proto"):
        for name, body in re.findall(r"service (\w+) \{(.*?)\n\}", proto.read_text(), re.S):
            found[name] = set(re.findall(r"rpc (\w+)\(", body))
    return found


def test_the_metering_api_is_three_services_of_one_concern_each() -> None:
    assert _services() == CONCERNS


def test_the_trial_allowance_is_counted_in_one_place() -> None:
    protos = "".join(p.read_text() for p in (REPO / "protos").rglob("*.proto"))
    assert "operation_already_counted" not in re.sub(r"//[^\n]*", "", protos)
    for script in (ledger_scripts.RESERVE, ledger_scripts.COMMIT, ledger_scripts.RELEASE):
        assert "operations_used" not in script.source() and "used" not in script.keys


def test_ledger_scripts_take_and_return_named_fields() -> None:
    scripts = [value for value in vars(ledger_scripts).values() if isinstance(value, Script)]
    assert len(scripts) == 3
    for script in scripts:
        assert not re.search(r"KEYS\[|ARGV\[", script.body), script.keys
        assert not re.search(r"return \{?-?\d", script.body), script.keys
        assert all(re.fullmatch(r"[a-z_]+", key) for key in script.keys)
        assert "'outcome'" in script.body
