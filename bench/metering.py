"""Metering overhead: the latency metering adds to a cheap operation, and the metering ops/s
the service sustains.

Starts its own stack (Redis, five services, gateway; nothing shared with `make run`). Metering
happens in the compute services: ckks-compute reserves (and records) an operation's FCU with
the metering service while it loads the operands, and for an account no limit can refuse
(enterprise) while it evaluates too. The cheap operation is a CKKS add at N=8192 on two
stored ciphertexts, called straight on ckks-compute over gRPC: with `skip_metering` (the
operator's own unmetered calls), metered for an enterprise account, and metered for a pro
account (an FCU ceiling, so each reservation is answered before evaluation), in blocks
taking turns so all see the same machine; the difference of the medians is what metering
adds. The same add through the REST API is printed for scale. Then concurrent recording
ReserveUsage calls straight to the metering service give the operations per second it
records. Goal: <= 1 ms p50 added.

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
from dataclasses import dataclass

import aiohttp
from benchlib import bench_account, bench_stack, ckks_key_and_ciphertexts, grpc_floor_ms

from wavis.ckks_compute.v1 import ckks_compute_pb2, ckks_compute_pb2_grpc
from wavis.core.grpc_client import open_channel
from wavis.core.ids import new_id
from wavis.metering.v1 import metering_pb2, metering_pb2_grpc

BLOCK = 100  # calls per block; blocks of the variants take turns
SKIPPED = "ckks-compute Compute, skip_metering"
UNLIMITED = "ckks-compute Compute, metered, enterprise account"
LIMITED = "ckks-compute Compute, metered, pro account"


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


async def direct_adds(stub: ckks_compute_pb2_grpc.CkksComputeServiceStub,
                      variants: list[Variant], requests: int) -> dict[str, list[float]]:
    """Latency of Compute(add) per variant, in blocks taking turns."""
    samples: dict[str, list[float]] = {v.label: [] for v in variants}
    for block in range(len(variants) * max(1, requests // (len(variants) * BLOCK))):
        variant = variants[block % len(variants)]
        for _ in range(BLOCK):
            message = ckks_compute_pb2.ComputeRequest(
                account_id=variant.account_id, operation="add", key_id=variant.key_id,
                ciphertext_ids=variant.ids, op_id=new_id("op"),
                skip_metering=not variant.metered)
            started = time.perf_counter()
            reply = await stub.Compute(message)
            samples[variant.label].append(time.perf_counter() - started)
            assert reply.result.cost_units == (1 if variant.metered else 0)
    return samples


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
        stub = metering_pb2_grpc.MeteringServiceStub(channel)
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                op_id = f"op_bench{next(ids)}"
                started = time.perf_counter()
                reply = await stub.ReserveUsage(metering_pb2.ReserveUsageRequest(
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
        account_id, headers = await bench_account(stack)
        limited_id, limited_headers = await bench_account(stack, plan="pro")
        base = stack.gateway_url + "/api/v1"
        async with aiohttp.ClientSession() as session:
            key, ids = await ckks_key_and_ciphertexts(session, base, headers, params)
            limited_key, limited_ids = await ckks_key_and_ciphertexts(
                session, base, limited_headers, params)
            body = {"key_id": key["key_id"], "ciphertext_ids": ids}
            await rest_adds(session, base + "/compute/add", headers, body, 100)  # warm up
            rest = await rest_adds(session, base + "/compute/add", headers, body,
                                   args.requests // 2)
        variants = [
            Variant(SKIPPED, account_id, key["key_id"], ids, False),
            Variant(UNLIMITED, account_id, key["key_id"], ids, True),
            Variant(LIMITED, limited_id, limited_key["key_id"], limited_ids, True),
        ]
        async with open_channel(f"127.0.0.1:{stack.service_ports['ckks_compute']}") as channel:
            stub = ckks_compute_pb2_grpc.CkksComputeServiceStub(channel)
            await direct_adds(stub, variants, 3 * BLOCK)  # warm up
            direct = await direct_adds(stub, variants, 3 * args.requests // 2)
        target = f"127.0.0.1:{stack.service_ports['metering']}"
        rate, call_p50 = await metering_rate(target, account_id, args.concurrency,
                                             args.seconds)

    print(f"WAVIS metering benchmark: {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}, a bare gRPC round trip here now: "
          f"{await grpc_floor_ms():.2f} ms; CKKS add at N=8192 on stored ciphertexts, "
          f"{len(direct[SKIPPED])} sequential calls per gRPC row (interleaved in blocks of "
          f"{BLOCK}), {len(rest)} through REST")
    print(f"{'cheap op':<56}{'p50 ms':>9}{'p99 ms':>9}")
    rows = {label: _summary(samples) for label, samples in direct.items()}
    rows["REST POST /compute/add (enterprise, metered)"] = _summary(rest)
    for label, (p50, p99) in rows.items():
        print(f"{label:<56}{p50:>9.3f}{p99:>9.3f}")
    for label, account in ((UNLIMITED, "enterprise (no limit can refuse it)"),
                           (LIMITED, "pro (an FCU ceiling: waits for the reservation)")):
        added50 = rows[label][0] - rows[SKIPPED][0]
        added99 = rows[label][1] - rows[SKIPPED][1]
        print(f"{'added by metering, ' + account:<56}{added50:>9.3f}{added99:>9.3f}"
              + (f"   (goal: <= 1 ms p50: {'met' if added50 <= 1.0 else 'NOT met'})"
                 if label == UNLIMITED else ""))
    print(f"metering service: {rate:.0f} ops/s recorded (ReserveUsage record=True, "
          f"{args.concurrency} concurrent, {args.seconds:.0f} s), call p50 {call_p50:.2f} ms")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(asyncio.run(main()))
