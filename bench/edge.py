"""Edge throughput: an authenticated no-op request through the gateway.

Starts its own stack (Redis, five services, gateway; nothing shared with `make run`), creates
an enterprise account, then drives `GET /api/v1/api-keys?limit=1` with the auth cache and the
rate limiter on, at each concurrency for a fixed time, and prints requests per second, p50
and p99 latency, and the share of the gateway's time spent in Redis and in gRPC calls (from
the Server-Timing header every response carries). `GET /api/v1/health/live` (no auth, no
Redis) is measured too, as the floor of the HTTP stack itself.

    .venv/bin/python bench/edge.py [--seconds 5] [--concurrency 1,16,64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

import aiohttp
from benchlib import bench_headers, bench_stack


def _server_timing(header: str) -> dict[str, float]:
    parts = {}
    for item in header.split(","):
        name, _, duration = item.strip().partition(";dur=")
        if duration:
            parts[name] = float(duration)
    return parts


async def drive(url: str, headers: dict[str, str], concurrency: int,
                seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    spent = {"redis": 0.0, "grpc": 0.0, "total": 0.0}
    failures = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        failures += 1
                        continue
                    timing = _server_timing(response.headers.get("Server-Timing", ""))
                latencies.append(time.perf_counter() - started)
                for kind in spent:
                    spent[kind] += timing.get(kind, 0.0)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    total = spent["total"] or 1.0
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "redis_pct": 100 * spent["redis"] / total,
        "grpc_pct": 100 * spent["grpc"] / total,
        "failures": failures,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", default="1,16,64")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]

    # The limiter runs on every request, but with limits no benchmark reaches (one client
    # IP sends everything here, and the burst limit is per IP).
    limits = {"enterprise": {"burst_requests": 10**9, "daily_requests": 10**9,
                             "monthly_requests": 10**9}}
    with bench_stack({"WAVIS_PLAN_LIMITS": json.dumps(limits)}) as stack:
        headers = await bench_headers(stack)
        base = stack.gateway_url + "/api/v1"
        await drive(base + "/api-keys?limit=1", headers, 4, 1.0)  # warm up
        print(f"WAVIS edge benchmark: {os.cpu_count()} cores, OMP_NUM_THREADS="
              f"{os.environ.get('OMP_NUM_THREADS')}, {args.seconds:.0f} s per row, "
              f"client in the same machine")
        print(f"{'request':<34}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
              f"{'redis %':>9}{'grpc %':>8}{'errors':>8}")
        for label, url, auth in (("GET /api-keys?limit=1 (auth)", base + "/api-keys?limit=1",
                                  headers),
                                 ("GET /health/live (no auth)", base + "/health/live", {})):
            for level in levels:
                row = await drive(url, auth, level, args.seconds)
                print(f"{label:<34}{level:>5}{row['rps']:>9.0f}{row['p50_ms']:>9.2f}"
                      f"{row['p99_ms']:>9.2f}{row['redis_pct']:>9.1f}{row['grpc_pct']:>8.1f}"
                      f"{row['failures']:>8.0f}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(asyncio.run(main()))
