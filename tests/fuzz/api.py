"""Fuzz the public API with schemathesis against a stack of its own.

Every operation of the OpenAPI document the gateway serves gets generated requests (valid and
invalid bodies, parameters and headers), with every schemathesis check on and one more: each
refusal is in the contract's error envelope. The accounts it calls with are made here: an
enterprise account for everything but billing, and a second one for the billing operations
(subscribing, cancelling and budget caps change the first one's limits). Stripe is a local
fake. At the end every process of the stack must still be the one started.

    PYTHONPATH=tests:libs:. .venv/bin/python -m fuzz.api [--max-examples N] [--seed S]

Exit status 0 only with no 5xx, no failed check, no error and no restarted process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.engine import events, from_schema

from gateway.openapi import ERROR_CODES_KEY
from support import fake_stripe
from support.accounts import Tenant, create_account
from wavis.devstack.stack import Stack

API = "/api/v1"
# Operations whose calls change an account's plan, limits or budget: they get an account of
# their own so the rest of the run keeps its enterprise limits.
BILLING_OPERATIONS = {"subscribe", "cancel_subscription", "set_budget"}
# A 5xx that is an operation's designed answer (POST /decrypt: 501, the server never decrypts).
DESIGNED_5XX = {501}
# Seconds one request may take: a secure TFHE key or a large CKKS key is generated inline.
REQUEST_TIMEOUT = 120
DEFAULT_MAX_EXAMPLES = 50
DEFAULT_SEED = 20260101

# The stack's own limits, opened up: the checks send many unauthenticated requests (which
# would lock the fuzzer's address out) and many trial-key requests from one address.
STACK_ENV = {
    "WAVIS_LOG_LEVEL": "warning",
    "WAVIS_AUTH_FAILURES_PER_IP": "1000000",
    "WAVIS_AUTH_FAILURES_PER_KEY": "1000000",
    "WAVIS_TEMP_KEYS_PER_IP_PER_MINUTE": "10000",
}


# (METHOD path) -> status -> error codes the document lists for schema-valid requests.
DOCUMENTED_REFUSALS: dict[str, dict[int, list[str]]] = {}


@schemathesis.check
def documented_refusal(ctx: Any, response: schemathesis.Response,
                       case: schemathesis.Case) -> None:
    """A schema-valid request refused with a status the document gives codes for carries one
    of those codes (positive_data_acceptance accepts the status; this checks the reason)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    codes = DOCUMENTED_REFUSALS.get(case.operation.label, {}).get(response.status_code)
    if codes is None:
        return
    code = json.loads(response.content)["error"]["code"]
    if code not in codes:
        raise AssertionError(f"{response.status_code} {code} for a schema-valid request; the "
                             f"document lists {', '.join(codes)}")


@schemathesis.check
def error_envelope(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every refusal but 429 (empty by contract) is the envelope, with the request's id."""
    if response.status_code < 400 or response.status_code == 429:
        return
    try:
        body = json.loads(response.content)
        error = body["error"]
        fields = {name: error[name] for name in ("code", "message", "request_id", "details")}
    except (ValueError, TypeError, KeyError):
        raise AssertionError(f"{response.status_code} without the error envelope: "
                             f"{response.content[:200]!r}") from None
    request_id = response.headers.get("x-request-id", [""])[0]
    replayed = response.headers.get("idempotent-replayed", [""])[0] == "true"
    if fields["request_id"] != request_id and not replayed:  # a replay: the first answer
        raise AssertionError(f"error.request_id {fields['request_id']!r} is not the "
                             f"X-Request-Id {request_id!r}")


@dataclass
class OperationTally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # check name -> failed cases
    examples: dict[str, str] = field(default_factory=dict)  # check name -> one failure
    refusals: Counter[str] = field(default_factory=Counter)  # "check: status CODE" -> count


@dataclass
class Report:
    operations: dict[str, OperationTally] = field(default_factory=lambda: defaultdict(
        OperationTally))
    errors: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def cases(self) -> int:
        return sum(tally.cases for tally in self.operations.values())

    @property
    def server_errors(self) -> int:
        return sum(count for tally in self.operations.values()
                   for status, count in tally.statuses.items()
                   if status >= 500 and status not in DESIGNED_5XX)

    def failures_by_check(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for tally in self.operations.values():
            total.update(tally.failures)
        return total

    @property
    def clean(self) -> bool:
        return not (self.server_errors or self.failures_by_check() or self.errors
                    or self.restarted)

    def record(self, recorder: Any) -> None:
        for case_id, interaction in recorder.interactions.items():
            node = recorder.cases.get(case_id)
            if interaction.response is None or node is None:
                continue
            tally = self.operations[node.value.operation.label]
            tally.cases += 1
            tally.statuses[interaction.response.status_code] += 1
        for case_id, checks in recorder.checks.items():
            node = recorder.cases.get(case_id)
            label = node.value.operation.label if node is not None else recorder.label
            for check in checks:
                if check.failure_info is None:
                    continue
                tally = self.operations[label]
                tally.failures[check.name] += 1
                interaction = recorder.interactions.get(case_id)
                if interaction is not None and interaction.response is not None:
                    tally.refusals[f"{check.name}: {interaction.response.status_code} "
                                   f"{_error_code(interaction.response.content)}"] += 1
                failure = check.failure_info.failure
                tally.examples.setdefault(check.name, f"{failure.title}: {failure.message}"
                                          f"\n{check.failure_info.code_sample}")

    def print(self, out: Any = sys.stdout) -> None:
        width = max((len(label) for label in self.operations), default=20)
        print(f"\n{'operation':<{width}}  cases  5xx  statuses / failed checks", file=out)
        for label in sorted(self.operations):
            tally = self.operations[label]
            server = sum(n for status, n in tally.statuses.items()
                         if status >= 500 and status not in DESIGNED_5XX)
            statuses = " ".join(f"{status}x{n}" for status, n in sorted(tally.statuses.items()))
            print(f"{label:<{width}}  {tally.cases:5}  {server:3}  {statuses}", file=out)
            for check, count in sorted(tally.failures.items()):
                print(f"{'':<{width}}  {'':5}  {'':3}  FAILED {check} x{count}", file=out)
            for refusal, count in sorted(tally.refusals.items()):
                print(f"{'':<{width}}  {'':5}  {'':3}    {refusal} x{count}", file=out)
        for label in sorted(self.operations):
            for check, example in sorted(self.operations[label].examples.items()):
                print(f"\n--- {label}: {check}\n{example[:1500]}", file=out)
        for error in self.errors:
            print(f"\n--- error\n{error[:1500]}", file=out)
        by_check = ", ".join(f"{name} {n}" for name, n in
                             sorted(self.failures_by_check().items())) or "none"
        print(f"\n{len(self.operations)} operations, {self.cases} cases, "
              f"{self.server_errors} 5xx, failed checks: {by_check}, errors: "
              f"{len(self.errors)}, restarted processes: {', '.join(self.restarted) or 'none'}"
              f" ({self.seconds:.0f} s)", file=out)


def _error_code(content: bytes) -> str:
    try:
        return str(json.loads(content)["error"]["code"])
    except (ValueError, TypeError, KeyError):
        return "-"


@contextmanager
def fuzz_stack(keep: Path | None = None) -> Iterator[Stack]:
    """A whole mesh with a fake Stripe, in a temporary folder (or `keep`, left afterwards
    with the processes' logs)."""
    stripe = fake_stripe.FakeStripe().start()
    try:
        with tempfile.TemporaryDirectory(prefix="wavis-fuzz-") as scratch:
            tmp = str(keep or scratch)
            env = STACK_ENV | fake_stripe.stack_env(stripe)
            stack = Stack(data_dir=Path(tmp) / "data", http_port=0,
                          log_dir=Path(tmp) / "logs", env=env)
            stack.start()
            try:
                yield stack
            finally:
                stack.stop()
    finally:
        stripe.stop()


# Operations whose resource is the bearer key itself.
BEARER_IS_THE_RESOURCE = {"revoke_temp_key"}


def _operation_config(operation: dict[str, Any], billing: Tenant) -> dict[str, Any]:
    """What the document says about one operation, as schemathesis configuration: schema-valid
    requests may be refused with the statuses it documents codes for; a designed 5xx is one."""
    responses = operation["responses"]
    refusals = [status for status, response in responses.items()
                if ERROR_CODES_KEY in response]
    designed = [status for status in responses if status.isdigit()
                and int(status) in DESIGNED_5XX]
    config: dict[str, Any] = {
        "include-operation-id": operation["operationId"],
        "checks": {
            "positive_data_acceptance": {"expected-statuses": [
                "2xx", "3xx", "401", "403", "404", "409", "429", *refusals, *designed]},
            "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", *designed]},
        },
    }
    if operation["operationId"] in BILLING_OPERATIONS:
        config["headers"] = {"Authorization": f"Bearer {billing.api_key}"}
    if operation["operationId"] in BEARER_IS_THE_RESOURCE:
        # Only the trial key itself (as the bearer) revokes itself; the fuzzer's key finds
        # nothing there by design, which a link from POST /onboarding/temp-key cannot know.
        config["checks"]["ensure_resource_availability"] = {"enabled": False}
    return config


def schemathesis_config(stack: Stack, doc: dict[str, Any], main: Tenant, billing: Tenant,
                        max_examples: int, seed: int, workers: int) -> schemathesis.Config:
    operations = [operation for methods in doc["paths"].values()
                  for operation in methods.values()]
    return schemathesis.Config.from_dict({
        "seed": seed,
        "base-url": stack.gateway_url,
        "workers": workers,
        "request-timeout": REQUEST_TIMEOUT,
        "headers": {"Authorization": f"Bearer {main.api_key}"},
        "generation": {"max-examples": max_examples},
        # Every check schemathesis has, with error_envelope and documented_refusal.
        "checks": {"enabled": True},
        "operations": [_operation_config(operation, billing) for operation in operations],
    })


def _documented_refusals(doc: dict[str, Any]) -> dict[str, dict[int, list[str]]]:
    return {f"{method.upper()} {path}": {int(status): response[ERROR_CODES_KEY]
                                         for status, response in operation["responses"].items()
                                         if ERROR_CODES_KEY in response}
            for path, methods in doc["paths"].items()
            for method, operation in methods.items()}


def run(stack: Stack, max_examples: int, seed: int, workers: int = 1) -> Report:
    """Fuzz every operation of `stack`'s OpenAPI document; the report of what it saw."""
    main, billing = asyncio.run(_accounts(stack))
    with urllib.request.urlopen(f"{stack.gateway_url}{API}/openapi.json") as reply:
        doc = json.loads(reply.read())
    DOCUMENTED_REFUSALS.clear()
    DOCUMENTED_REFUSALS.update(_documented_refusals(doc))
    config = schemathesis_config(stack, doc, main, billing, max_examples, seed, workers)
    schema = schemathesis.openapi.from_dict(doc, config=config)
    pids = {child.name: child.process.pid for child in stack.children()}
    report = Report()
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, (events.ScenarioFinished, events.FuzzScenarioFinished)):
            report.record(event.recorder)
        elif isinstance(event, events.NonFatalError):
            report.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            report.errors.append(f"fatal: {event.exception!r}")
    report.seconds = time.monotonic() - started
    now = {child.name: child.process.pid for child in stack.children()}
    report.restarted = sorted({*stack.exited(), *(name for name, pid in pids.items()
                                                    if now.get(name) != pid)})
    return report


async def _accounts(stack: Stack) -> tuple[Tenant, Tenant]:
    return (await create_account(stack, plan="enterprise", email="fuzz@example.com"),
            await create_account(stack, plan="enterprise", email="fuzz-billing@example.com"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.api", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES,
                        help="generated cases per operation and phase (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="the same seed generates the same cases (default %(default)s)")
    parser.add_argument("--keep", type=Path, help="keep the stack's data and logs here")
    parser.add_argument("--workers", type=int, default=1,
                        help="operations fuzzed at once (default %(default)s)")
    args = parser.parse_args(argv)
    with fuzz_stack(args.keep) as stack:
        report = run(stack, args.max_examples, args.seed, args.workers)
    report.print()
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
