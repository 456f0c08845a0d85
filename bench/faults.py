"""Faults under load: kill -9 of each service in turn, then the state Redis paused and resumed.

Starts its own stack. Clients keep a bounded load of CKKS adds and model predictions (each
result stored: an acknowledged result must read back) and TFHE gates on a server-mode session.
Each fault is injected while they run: a killed service is started again on its port, as
`make run` does; a paused Redis (SIGSTOP) resumes after --pause seconds. Per fault it prints
the requests, the errors seen (status and code), and the recovery time: from the fault to the
first success after the last error. Then the checks that matter: every acknowledged result
reads back, usage equals the sum of the 2xx answers' cost exactly, and no answer was a 500.

    .venv/bin/python bench/faults.py [--clients 4] [--settle 2] [--pause 6] [--json]

`--short` (a small run, as `make test` does) is --clients 2 --settle 0.6 --pause 2.
Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from benchlib import bench_account, bench_stack, ckks_key_and_ciphertexts

from wavis.core.mesh import SERVICES
from wavis.devstack.stack import Stack

TESTING = {"poly_degree": 8192, "scale_bits": 40, "max_depth": 1}
MODEL = "diabetes-linreg"  # depth 1: the key above runs it


@dataclass
class Outcome:
    started: float
    ended: float
    status: int  # 0: no HTTP answer (connection failed)
    code: str = ""  # the error code, for errors
    cost_units: int = 0
    result_id: str = ""  # a stored CKKS result


@dataclass
class Load:
    """The clients' outcomes, in completion order."""

    outcomes: list[Outcome] = field(default_factory=list)
    running: bool = True


@dataclass(frozen=True)
class Phase:
    fault: str
    injected: float
    ended: float


async def call(session: aiohttp.ClientSession, method: str, url: str,
               body: dict[str, Any]) -> Outcome:
    started = time.monotonic()
    try:
        async with session.request(method, url, json=body) as reply:
            data = await reply.json(content_type=None) if reply.status != 429 else {}
            status = reply.status
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return Outcome(started, time.monotonic(), 0, "CONNECTION")
    ended = time.monotonic()
    if status >= 400:
        return Outcome(started, ended, status, (data or {}).get("error", {}).get("code", "?"))
    return Outcome(started, ended, status, cost_units=int(data.get("cost_units", 0)),
                   result_id=str(data.get("result_ciphertext_id") or ""))


async def client(session: aiohttp.ClientSession, base: str, work: list[tuple[str, dict]],
                 load: Load) -> None:
    turn = 0
    while load.running:
        path, body = work[turn % len(work)]
        turn += 1
        outcome = await call(session, "POST", base + path, body)
        load.outcomes.append(outcome)
        if outcome.status != 200:
            await asyncio.sleep(0.05)  # a client backs off a little after an error


def recovery_seconds(outcomes: list[Outcome], phase: Phase) -> float | None:
    """From the fault to the first success that started after the phase's last error."""
    during = [o for o in outcomes if phase.injected <= o.ended <= phase.ended]
    errors = [o for o in during if o.status != 200]
    if not errors:
        return None
    last_error = max(o.ended for o in errors)
    after = [o.ended for o in during if o.status == 200 and o.started >= last_error]
    return (min(after) if after else phase.ended) - phase.injected


async def recovered(load: Load, settle: float, streak: int, limit: float = 60.0) -> None:
    """Wait `settle` seconds and until the last `streak` answers all succeeded, so that a
    fault's errors are not counted in the next one's."""
    await asyncio.sleep(settle)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        tail = load.outcomes[-streak:]
        if len(tail) == streak and all(o.status == 200 for o in tail):
            return
        await asyncio.sleep(0.05)


async def inject(stack: Stack, fault: str, pause: float) -> None:
    if fault == "redis paused":
        assert stack.redis is not None and stack.redis.process is not None
        stack.redis.process.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(pause)
        finally:
            stack.redis.process.send_signal(signal.SIGCONT)
        return
    child = stack.services[fault]
    child.process.send_signal(signal.SIGKILL)
    await asyncio.to_thread(child.process.wait)
    await asyncio.to_thread(stack.restart_service, fault)  # as make run's supervisor does


async def read_back(session: aiohttp.ClientSession, base: str, ids: list[str]) -> int:
    """How many of the acknowledged results answer 200."""
    semaphore = asyncio.Semaphore(8)

    async def one(ciphertext_id: str) -> bool:
        async with semaphore, session.get(f"{base}/ciphertexts/{ciphertext_id}") as reply:
            return reply.status == 200

    return sum(await asyncio.gather(*(one(i) for i in ids)))


async def total_fcu(session: aiohttp.ClientSession, base: str) -> int:
    async with session.get(base + "/billing/usage") as reply:
        return int((await reply.json())["total_fcu"])


async def run(stack: Stack, clients: int, settle: float, pause: float) -> dict[str, Any]:
    _, headers = await bench_account(stack)
    base = stack.gateway_url + "/api/v1"
    async with aiohttp.ClientSession(headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        async with session.get(f"{base}/models/{MODEL}") as reply:
            model = await reply.json()
        key, ids = await ckks_key_and_ciphertexts(
            session, base, {}, TESTING,
            rotations=tuple(model["key_requirements"]["rotations"]))
        async with session.post(base + "/tfhe/session", json={"preset": "toy"}) as reply:
            tfhe_session = (await reply.json())["session_id"]
        async with session.post(f"{base}/tfhe/session/{tfhe_session}/encrypt",
                                json={"bits": [1, 0]}) as reply:
            bits = (await reply.json())["ciphertexts_b64"]
        work = [("/compute/add", {"key_id": key["key_id"], "ciphertext_ids": ids}),
                (f"/models/{MODEL}/predict", {"key_id": key["key_id"],
                                              "ciphertext_id": ids[0]}),
                ("/tfhe/gate", {"session_id": tfhe_session, "op": "NAND", "a": bits[0],
                                "b": bits[1]})]
        usage_before = await total_fcu(session, base)

        load = Load()
        workers = [asyncio.ensure_future(client(session, base, work, load))
                   for _ in range(clients)]
        phases = []
        await asyncio.sleep(settle)
        for fault in [*(service.key for service in SERVICES), "redis paused"]:
            injected = time.monotonic()
            await inject(stack, fault, pause)
            await recovered(load, settle, streak=4 * clients)
            phases.append(Phase(fault, injected, time.monotonic()))
        load.running = False
        await asyncio.gather(*workers)

        outcomes = load.outcomes
        acknowledged = [o.result_id for o in outcomes if o.status == 200 and o.result_id]
        readable = await read_back(session, base, acknowledged)
        charged = sum(o.cost_units for o in outcomes if o.status == 200)
        await asyncio.sleep(1.0)  # releases of failed work are acknowledged in the background
        billed = await total_fcu(session, base) - usage_before

    rows = []
    for phase in phases:
        during = [o for o in outcomes if phase.injected <= o.ended <= phase.ended]
        errors = Counter(f"{o.status} {o.code}" for o in during if o.status != 200)
        recovery = recovery_seconds(outcomes, phase)
        rows.append({"fault": phase.fault, "requests": len(during),
                     "ok": sum(o.status == 200 for o in during), "errors": dict(errors),
                     "recovery_s": None if recovery is None else round(recovery, 2)})
    return {"rows": rows, "requests": len(outcomes),
            "ok": sum(o.status == 200 for o in outcomes),
            "status_500": sum(o.status == 500 for o in outcomes),
            "acknowledged": len(acknowledged), "read_back": readable,
            "charged_fcu": charged, "billed_fcu": billed}


def report(summary: dict[str, Any]) -> bool:
    print(f"{'fault':<16} {'requests':>8} {'2xx':>6} {'recovery s':>10}  errors")
    for row in summary["rows"]:
        recovery = "-" if row["recovery_s"] is None else f"{row['recovery_s']:.2f}"
        errors = ", ".join(f"{count} x {what}" for what, count in sorted(row["errors"].items()))
        print(f"{row['fault']:<16} {row['requests']:>8} {row['ok']:>6} {recovery:>10}  "
              f"{errors or 'none'}")
    checks = {
        "every acknowledged result reads back":
            (summary["read_back"] == summary["acknowledged"],
             f"{summary['read_back']}/{summary['acknowledged']}"),
        "usage equals the 2xx answers' cost":
            (summary["billed_fcu"] == summary["charged_fcu"],
             f"billed {summary['billed_fcu']} FCU, 2xx cost {summary['charged_fcu']} FCU"),
        "no 500": (summary["status_500"] == 0, f"{summary['status_500']} x 500"),
    }
    print(f"\n{summary['requests']} requests, {summary['ok']} answered 2xx")
    for name, (ok, detail) in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    return all(ok for ok, _ in checks.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds of load before the first fault and after each")
    parser.add_argument("--pause", type=float, default=6.0, help="seconds Redis stays paused")
    parser.add_argument("--short", action="store_true", help="a small run (make test)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON too")
    args = parser.parse_args()
    if args.short:
        args.clients, args.settle, args.pause = 2, 0.6, 2.0
    # Redis timeouts short enough that a paused Redis shows up as errors during the pause.
    with bench_stack({"WAVIS_REDIS_TIMEOUT_SECONDS": "1"}) as stack:
        summary = asyncio.run(run(stack, args.clients, args.settle, args.pause))
    passed = report(summary)
    if args.json:
        print(json.dumps(summary))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
