"""CKKS operations: raw OpenFHE in one process vs the same operation through the REST API.

Starts its own stack, generates a server-mode key per parameter set through the API, encrypts
two vectors there, then times each operation end to end (client -> gateway -> ckks-compute ->
Redis -> back) with the ciphertexts already stored. The raw side runs the same operation on
the same parameters with OpenFHE in this process (OMP_NUM_THREADS=1; at concurrency 8, two
threads, one per core). Ratio = raw / service (1.0 = no overhead).

    .venv/bin/python bench/ckks.py [--iterations 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
from benchlib import bench_headers, bench_stack, ckks_key_and_ciphertexts, grpc_floor_ms

SETS = [
    ("N=8192 d1", {"poly_degree": 8192, "scale_bits": 40, "max_depth": 1}),
    ("N=16384 d5", {"poly_degree": 16384, "scale_bits": 50, "max_depth": 5}),
]
OPERATIONS = ["add", "multiply", "multiply-plain", "rotate", "negate"]


def raw_setup(params: dict[str, int]) -> dict[str, Any]:
    import openfhe as fhe

    from wavis.fhe.ckks_params import first_mod_bits

    p = fhe.CCParamsCKKSRNS()
    p.SetRingDim(params["poly_degree"])
    p.SetMultiplicativeDepth(params["max_depth"])
    p.SetScalingModSize(params["scale_bits"])
    p.SetFirstModSize(first_mod_bits(params["scale_bits"]))
    p.SetScalingTechnique(fhe.FIXEDMANUAL)
    p.SetKeySwitchTechnique(fhe.HYBRID)
    p.SetBatchSize(params["poly_degree"] // 2)
    cc = fhe.GenCryptoContext(p)
    for feature in (fhe.PKE, fhe.KEYSWITCH, fhe.LEVELEDSHE):
        cc.Enable(feature)
    keys = cc.KeyGen()
    cc.EvalMultKeyGen(keys.secretKey)
    cc.EvalRotateKeyGen(keys.secretKey, [1])
    slots = params["poly_degree"] // 2
    x = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext([0.5] * slots))
    y = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext([0.25] * slots))
    plain = cc.MakeCKKSPackedPlaintext([2.0] * slots)
    return {"cc": cc, "x": x, "y": y, "plain": plain}


def raw_op(env: dict[str, Any], operation: str) -> None:
    cc, x, y = env["cc"], env["x"], env["y"]
    if operation == "add":
        cc.EvalAdd(x, y)
    elif operation == "multiply":
        cc.Rescale(cc.EvalMult(x, y))
    elif operation == "multiply-plain":
        cc.Rescale(cc.EvalMult(x, env["plain"]))
    elif operation == "rotate":
        cc.EvalRotate(x, 1)
    elif operation == "negate":
        cc.EvalNegate(x)


def raw_times(env: dict[str, Any], operation: str, iterations: int) -> tuple[float, float]:
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        raw_op(env, operation)
        samples.append(time.perf_counter() - started)
    with ThreadPoolExecutor(2) as pool:  # one evaluation per core
        started = time.perf_counter()
        list(pool.map(lambda _: raw_op(env, operation), range(iterations)))
        throughput = iterations / (time.perf_counter() - started)
    return 1000 * statistics.median(samples), throughput


async def service_times(session: aiohttp.ClientSession, url: str, headers: dict[str, str],
                        body: dict[str, Any], iterations: int,
                        concurrency: int) -> tuple[float, float]:
    samples: list[float] = []
    remaining = iterations

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                assert response.status == 200, await response.text()
            samples.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return 1000 * statistics.median(samples), len(samples) / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=100)
    args = parser.parse_args()
    with bench_stack() as stack:
        headers = await bench_headers(stack)
        base = stack.gateway_url + "/api/v1"
        print(f"WAVIS CKKS benchmark: {os.cpu_count()} cores, OMP_NUM_THREADS="
              f"{os.environ.get('OMP_NUM_THREADS')}, {args.iterations} runs per cell; "
              "service = REST end to end, ciphertexts already stored; load average "
              f"{os.getloadavg()[0]:.2f}; a bare gRPC round trip here now: "
              f"{await grpc_floor_ms():.2f} ms")
        print(f"{'params':<12}{'operation':<16}{'raw p50':>9}{'svc p50':>9}{'ratio':>7}"
              f"{'svc p50@8':>11}{'raw ops/s':>11}{'svc ops/s@8':>13}{'ratio':>7}")
        async with aiohttp.ClientSession() as session:
            for label, params in SETS:
                key, ids = await ckks_key_and_ciphertexts(session, base, headers, params)
                slots = key["slot_count"]
                env = await asyncio.to_thread(raw_setup, params)
                for operation in OPERATIONS:
                    body: dict[str, Any] = {"key_id": key["key_id"], "scale_stable": True,
                                            "ciphertext_ids": ids if operation in (
                                                "add", "multiply") else ids[:1]}
                    if operation == "multiply-plain":
                        body["plain_operand"] = [2.0] * slots
                    if operation == "rotate":
                        body["rotation_steps"] = 1
                    url = f"{base}/compute/{operation}"
                    await service_times(session, url, headers, body, 10, 1)  # warm up
                    raw_p50, raw_rate = await asyncio.to_thread(raw_times, env, operation,
                                                                args.iterations)
                    svc_p50, _ = await service_times(session, url, headers, body,
                                                     args.iterations, 1)
                    svc8_p50, svc8_rate = await service_times(session, url, headers, body,
                                                              args.iterations, 8)
                    print(f"{label:<12}{operation:<16}{raw_p50:>9.2f}{svc_p50:>9.2f}"
                          f"{raw_p50 / svc_p50:>7.2f}{svc8_p50:>11.2f}{raw_rate:>11.0f}"
                          f"{svc8_rate:>13.0f}{svc8_rate / raw_rate:>7.2f}")



if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    asyncio.run(main())
