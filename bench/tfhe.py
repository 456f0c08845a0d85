"""TFHE gates: raw OpenFHE in one process vs the service (REST end to end).

Raw: a fast_128 (STD128, GINX) context and key in one process, NAND gates one after the
other, at OMP_NUM_THREADS=1 and 2 (each in its own process: OpenMP reads the variable once).
Service: its own stack (tfhe-eval with one worker process per core, OMP=1 each), a
server-mode fast_128 session through POST /tfhe/session, then
  - single-gate latency p50 through REST (client -> gateway -> tfhe-eval, which meters it
    with the metering service while the session loads -> worker -> back), against the raw
    gate's p50: the difference is the REST overhead;
  - throughput of one POST /tfhe/batch of 256 independent NAND gates, against the best raw
    configuration's gates/s.
The same two numbers at the toy preset show the overhead without the gate's own time.

    .venv/bin/python bench/tfhe.py [--gates 40] [--latency-runs 30] [--preset fast_128]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

import aiohttp
from benchlib import bench_headers, bench_stack, grpc_floor_ms

PARAMSETS = {"fast_128": "STD128", "toy": "TOY"}
BATCH_GATES = 256


def raw_child(paramset: str, gates: int) -> None:
    """Runs in a subprocess with OMP_NUM_THREADS set: prints p50 ms and gates/s as JSON."""
    import openfhe as fhe

    cc = fhe.BinFHEContext()
    cc.GenerateBinFHEContext(getattr(fhe, paramset), fhe.GINX)
    secret = cc.KeyGen()
    cc.BTKeyGen(secret)
    a, b = cc.Encrypt(secret, 1), cc.Encrypt(secret, 0)
    cc.EvalBinGate(fhe.NAND, a, b)  # warm up
    samples = []
    started = time.perf_counter()
    for _ in range(gates):
        t = time.perf_counter()
        cc.EvalBinGate(fhe.NAND, a, b)
        samples.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    print(json.dumps({"p50_ms": 1000 * statistics.median(samples), "rate": gates / elapsed}))


def raw(preset: str, threads: int, gates: int) -> dict[str, float]:
    env = os.environ | {"OMP_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, __file__, "--raw-child", PARAMSETS[preset],
                          str(gates)], env=env, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


async def service(base: str, headers: dict[str, str], preset: str, runs: int,
                  ) -> dict[str, float]:
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        async with http.post(f"{base}/tfhe/session", headers=headers,
                             json={"preset": preset}) as reply:
            session = await reply.json()
            assert reply.status == 201, session
        setup = time.perf_counter() - started
        sid = session["session_id"]
        async with http.post(f"{base}/tfhe/session/{sid}/encrypt", headers=headers,
                             json={"bits": [1, 0] * BATCH_GATES}) as reply:
            cts = (await reply.json())["ciphertexts_b64"]
        gate = {"session_id": sid, "op": "NAND", "a": cts[0], "b": cts[1]}
        samples = []
        for i in range(runs + 3):
            t = time.perf_counter()
            async with http.post(f"{base}/tfhe/gate", headers=headers, json=gate) as reply:
                await reply.read()
                assert reply.status == 200, await reply.text()
            if i >= 3:  # warm-up calls are not counted
                samples.append(time.perf_counter() - t)
        gates = [{"op": "NAND", "a": cts[2 * i], "b": cts[2 * i + 1]}
                 for i in range(BATCH_GATES)]
        t = time.perf_counter()
        async with http.post(f"{base}/tfhe/batch", headers=headers,
                             json={"session_id": sid, "gates": gates}) as reply:
            body = await reply.json()
            assert reply.status == 200, body
        batch = time.perf_counter() - t
        async with http.delete(f"{base}/tfhe/session/{sid}", headers=headers) as reply:
            assert reply.status == 204
    return {"p50_ms": 1000 * statistics.median(samples), "rate": BATCH_GATES / batch,
            "batch_s": batch, "setup_s": setup, "n": session["n"], "big_n": session["big_n"]}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gates", type=int, default=40, help="raw gates per configuration")
    parser.add_argument("--latency-runs", type=int, default=30)
    parser.add_argument("--preset", default="fast_128", choices=sorted(PARAMSETS))
    parser.add_argument("--raw-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_child:
        raw_child(args.raw_child[0], int(args.raw_child[1]))
        return
    presets = [args.preset] + (["toy"] if args.preset != "toy" else [])
    raws = {(p, t): raw(p, t, args.gates if p != "toy" else 2000) for p in presets
            for t in (1, 2)}
    with bench_stack() as stack:
        headers = await bench_headers(stack)
        base = stack.gateway_url + "/api/v1"
        services = {p: await service(base, headers, p, args.latency_runs) for p in presets}
    print(f"WAVIS TFHE benchmark: {os.cpu_count()} cores; raw = one process, NAND gates; "
          f"service = REST, tfhe-eval workers = cores, OMP=1 each; load average "
          f"{os.getloadavg()[0]:.2f}; a bare gRPC round trip here now: "
          f"{await grpc_floor_ms():.2f} ms")
    for preset in presets:
        svc = services[preset]
        print(f"\n{preset} (n={svc['n']}, N={svc['big_n']}): session setup "
              f"(keygen + load) {svc['setup_s']:.1f} s")
        print(f"{'configuration':<34}{'gate p50 ms':>12}{'gates/s':>10}")
        for threads in (1, 2):
            r = raws[(preset, threads)]
            print(f"{'raw, OMP_NUM_THREADS=' + str(threads):<34}{r['p50_ms']:>12.2f}"
                  f"{r['rate']:>10.1f}")
        print(f"{'service: REST single gate':<34}{svc['p50_ms']:>12.2f}{'':>10}")
        print(f"{f'service: batch of {BATCH_GATES} independent':<34}{'':>12}"
              f"{svc['rate']:>10.1f}   ({svc['batch_s']:.2f} s)")
        best = max(raws[(preset, t)]["rate"] for t in (1, 2))
        raw_p50 = raws[(preset, 1)]["p50_ms"]
        print(f"ratios raw/service: single-gate latency {raw_p50 / svc['p50_ms']:.2f}, "
              f"REST overhead {svc['p50_ms'] - raw_p50:+.2f} ms (goal <= 5 ms); "
              f"batch throughput service/best raw {svc['rate'] / best:.2f} "
              f"(raw/service {best / svc['rate']:.2f}; goal service >= 0.9 x raw)")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    asyncio.run(main())
