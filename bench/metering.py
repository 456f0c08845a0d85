"""Metering overhead: the latency metering adds to a cheap operation, and the metering ops/s the
service sustains.

Starts its own stack (Redis, five services, gateway; nothing shared with `make run`). Metering
happens in the compute services: ckks-compute reserves (and records) an operation's FCU with
the metering service while it loads the operands, and while the account has headroom before its
limits, while it evaluates too. The cheap operation is a CKKS add at N=8192 on two stored
ciphertexts, called straight on ckks-compute over gRPC: with `skip_metering` (the operator's
own unmetered calls), metered for an enterprise account (no limit), for a pro account (far from
its allowance) and for a payg account kept one add below a hard cap (each reservation answered
before the add is evaluated), in blocks taking turns so all see the same machine; the
difference of the medians is what metering adds. The same add through the REST API is printed
for scale. Then concurrent recording ReserveUsage calls straight to the metering service give
the operations per second it records. Goal: <= 1 ms p50 added.

    .venv/bin/python bench/metering.py [--requests 2000] [--seconds 5] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from benchlib import bench_account, bench_stack, ckks_key_and_ciphertexts, grpc_floor_ms

from wavis.core.grpc_client import open_channel
from wavis.core.ids import new_id
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2, ckks_compute_pb2_grpc
from wavis.generated.metering.v1 import billing_pb2, billing_pb2_grpc, usage_pb2, usage_pb2_grpc

BLOCK = 100  # calls per block; blocks of the variants take turns
# Accounts: (name, plan, what it shows). Each one's adds are timed with skip_metering and
# metered, on its own key and ciphertexts.
ACCOUNTS = (("enterprise", "enterprise", "no limit"),
            ("pro", "pro", "far from its allowance"),
            ("at a hard cap", "payg", "waits for each reservation"))


def _percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def _summary(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return 1000 * statistics.median(samples), 1000 * _percentile(samples, 0.99)


@dataclass(frozen=True)
class Variant:
    label: str
    account_id: str
    key_id: str
    ids: list[str]
    metered: bool
    # Called before each call, off the clock (AT_LIMIT: raise the hard cap by one add).
    before: Callable[[], Awaitable[None]] | None = None


async def direct_adds(stub: ckks_compute_pb2_grpc.CkksComputeServiceStub,
                      variants: list[Variant], requests: int) -> dict[str, list[float]]:
    """Latency of Compute(add) per variant, in blocks taking turns."""
    samples: dict[str, list[float]] = {v.label: [] for v in variants}
    for block in range(len(variants) * max(1, requests // (len(variants) * BLOCK))):
        variant = variants[block % len(variants)]
        for _ in range(BLOCK):
            if variant.before is not None:
                await variant.before()
            message = ckks_compute_pb2.ComputeRequest(
                account_id=variant.account_id, operation="add", key_id=variant.key_id,
                ciphertext_ids=variant.ids, op_id=new_id("op"),
                skip_metering=not variant.metered)
            started = time.perf_counter()
            reply = await stub.Compute(message)
            samples[variant.label].append(time.perf_counter() - started)
            assert reply.result.cost_units == (1 if variant.metered else 0)
    return samples


class CapJustAbove:
    """A payg account kept one add below a hard budget cap: every add's reservation is
    answered before the add is evaluated (the headroom is never enough to overlap)."""

    def __init__(self, billing: billing_pb2_grpc.BillingServiceStub, account_id: str) -> None:
        self.billing, self.account_id = billing, account_id
        self.spent_fcu = 0

    async def raise_cap(self) -> None:
        self.spent_fcu += 1
        await self.billing.SetBudget(billing_pb2.SetBudgetRequest(
            account_id=self.account_id, monthly_cap_usd=(self.spent_fcu + 0.5) * 0.000002,
            mode="hard"))


async def rest_adds(session: aiohttp.ClientSession, url: str, headers: dict[str, str],
                    body: dict[str, object], requests: int) -> list[float]:
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        async with session.post(url, json=body, headers=headers) as response:
            await response.read()
            assert response.status == 200, response.status
        samples.append(time.perf_counter() - started)
    return samples


async def metering_rate(target: str, account_id: str, concurrency: int,
                        seconds: float) -> tuple[float, float]:
    ids = itertools.count()
    done = 0
    call_latencies: list[float] = []
    async with open_channel(target) as channel:
        stub = usage_pb2_grpc.UsageServiceStub(channel)
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                op_id = f"op_bench{next(ids)}"
                started = time.perf_counter()
                reply = await stub.ReserveUsage(usage_pb2.ReserveUsageRequest(
                    account_id=account_id, op_id=op_id, operation="add", fcu=1, record=True))
                assert reply.recorded
                call_latencies.append(time.perf_counter() - started)
                done += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    call_latencies.sort()
    return done / elapsed, 1000 * statistics.median(call_latencies)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()

    params = {"poly_degree": 8192, "scale_bits": 40, "max_depth": 1}
    with bench_stack() as stack:
        target = f"127.0.0.1:{stack.service_ports['metering']}"
        base = stack.gateway_url + "/api/v1"
        accounts = {name: await bench_account(stack, plan) for name, plan, _ in ACCOUNTS}
        account_id, headers = accounts["enterprise"]
        keys = {}
        async with aiohttp.ClientSession() as session:
            for name, (_, account_headers) in accounts.items():
                keys[name] = await ckks_key_and_ciphertexts(session, base, account_headers,
                                                            params)
            key, ids = keys["enterprise"]
            body = {"key_id": key["key_id"], "ciphertext_ids": ids}
            await rest_adds(session, base + "/compute/add", headers, body, 100)  # warm up
            rest = await rest_adds(session, base + "/compute/add", headers, body,
                                   args.requests // 2)
        async with open_channel(target) as metering_channel, open_channel(
                f"127.0.0.1:{stack.service_ports['ckks_compute']}") as channel:
            at_limit = CapJustAbove(billing_pb2_grpc.BillingServiceStub(metering_channel),
                                    accounts["at a hard cap"][0])
            variants = [
                Variant(f"{name}, {'metered' if metered else 'skip_metering'}",
                        accounts[name][0], keys[name][0]["key_id"], keys[name][1], metered,
                        at_limit.raise_cap if metered and name == "at a hard cap" else None)
                for name, _, _ in ACCOUNTS for metered in (False, True)]
            stub = ckks_compute_pb2_grpc.CkksComputeServiceStub(channel)
            await direct_adds(stub, variants, len(variants) * BLOCK)  # warm up
            direct = await direct_adds(stub, variants, len(variants) * args.requests // 2)
        rate, call_p50 = await metering_rate(target, account_id, args.concurrency,
                                             args.seconds)

    print(f"WAVIS metering benchmark: {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}, a bare gRPC round trip here now: "
          f"{await grpc_floor_ms():.2f} ms; CKKS add at N=8192 on stored ciphertexts, "
          f"{args.requests // 2} sequential gRPC calls to ckks-compute per row (interleaved "
          f"in blocks of {BLOCK}), {len(rest)} through REST")
    print(f"{'cheap op, by account':<48}{'p50 ms':>9}{'p99 ms':>9}")
    rows = {label: _summary(samples) for label, samples in direct.items()}
    rows["REST POST /compute/add, enterprise, metered"] = _summary(rest)
    for label, (p50, p99) in rows.items():
        print(f"{label:<48}{p50:>9.3f}{p99:>9.3f}")
    for name, plan, shows in ACCOUNTS:
        metered, skipped = rows[f"{name}, metered"], rows[f"{name}, skip_metering"]
        added50, added99 = metered[0] - skipped[0], metered[1] - skipped[1]
        print(f"{f'added by metering, {name} ({plan}: {shows})':<66}{added50:>7.3f}"
              f"{added99:>8.3f}" + (f"   (goal <= 1 ms p50: "
                                   f"{'met' if added50 <= 1.0 else 'NOT met'})"
                                   if name != "at a hard cap" else ""))
    print(f"metering service: {rate:.0f} ops/s recorded (ReserveUsage record=True, "
          f"{args.concurrency} concurrent, {args.seconds:.0f} s), call p50 {call_p50:.2f} ms")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(asyncio.run(main()))
