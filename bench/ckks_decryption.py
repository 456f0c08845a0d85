"""Server-mode CKKS decryption latency through REST (docs/security.md: every decryption takes
one of the key's budget in Redis and floods the values with noise).

Starts its own stack, generates a server-mode key per parameter set, encrypts a full vector
and decrypts it `--rounds` times, 3 values and every slot, with a keep-alive client. Prints p50
and p90 in ms, the published precision, and (when this tree has it) the in-process cost of the
noise alone. Runs on trees without the countermeasure too, for a before/after figure.

    OMP_NUM_THREADS=1 .venv/bin/python bench/ckks_decryption.py [--rounds 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import aiohttp
from benchlib import bench_account, bench_stack, server_ckks_key

SETS = [{"poly_degree": 16384, "scale_bits": 59, "max_depth": 1},
        {"poly_degree": 32768, "scale_bits": 59, "max_depth": 1}]


def _p(samples: list[float], q: float) -> float:
    return 1000 * sorted(samples)[min(len(samples) - 1, int(q * len(samples)))]


def flooding_ms(count: int) -> float | None:
    try:
        from wavis.fhe.ckks_decryption import flooded
    except ImportError:  # a tree without the countermeasure
        return None
    values = [0.5] * count
    started = time.perf_counter()
    for _ in range(20):
        flooded(values, 1e-4)
    return 1000 * (time.perf_counter() - started) / 20


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    with bench_stack() as stack:
        _, headers = await bench_account(stack)
        base = stack.gateway_url + "/api/v1"
        print(f"WAVIS server-mode decryption: {os.cpu_count()} cores, OMP_NUM_THREADS="
              f"{os.environ.get('OMP_NUM_THREADS')}, {args.rounds} rounds each; load average "
              f"{os.getloadavg()[0]:.2f}")
        async with aiohttp.ClientSession() as session:
            for params in SETS:
                slots = params["poly_degree"] // 2
                key_id = (await server_ckks_key(session, base, headers, params))["key_id"]
                async with session.post(base + "/ciphertexts/encrypt", headers=headers, json={
                        "key_id": key_id, "values": [0.25] * slots}) as response:
                    ciphertext_id = (await response.json())["ciphertext_id"]
                for count in (3, slots):
                    times, answer = [], {}
                    for _ in range(args.rounds):
                        started = time.perf_counter()
                        async with session.post(f"{base}/ciphertexts/{ciphertext_id}/decrypt",
                                                headers=headers,
                                                json={"count": count}) as response:
                            answer = await response.json()
                            assert response.status == 200, answer
                        times.append(time.perf_counter() - started)
                    noise = flooding_ms(count)
                    print(f"N={params['poly_degree']} scale {params['scale_bits']}, {count:>5} "
                          f"values: p50 {1000 * statistics.median(times):.2f} ms, p90 "
                          f"{_p(times, 0.9):.2f} ms; precision_bits "
                          f"{answer['precision_bits']}"
                          + (f"; the noise alone {noise:.2f} ms" if noise is not None else ""))


if __name__ == "__main__":
    asyncio.run(main())
