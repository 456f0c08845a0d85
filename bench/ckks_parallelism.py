"""Which way to use 2 cores for CKKS: threads, processes or OpenMP threads?

Runs CKKS multiply+rescale at N=16384, depth 5 (128-bit) for a fixed count, four ways, each in
a fresh interpreter so OMP_NUM_THREADS takes effect: 1 thread at OMP=1 (baseline), 2 threads
at OMP=1, 2 processes at OMP=1, 1 thread at OMP=2. Prints operations per second.

    .venv/bin/python bench/ckks_parallelism.py [--ops 40]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

_STATE: dict[str, Any] = {}


def _setup() -> None:
    import openfhe as fhe

    p = fhe.CCParamsCKKSRNS()
    p.SetRingDim(16384)
    p.SetMultiplicativeDepth(5)
    p.SetScalingModSize(50)
    p.SetFirstModSize(60)
    p.SetScalingTechnique(fhe.FIXEDMANUAL)
    p.SetKeySwitchTechnique(fhe.HYBRID)
    cc = fhe.GenCryptoContext(p)
    for feature in (fhe.PKE, fhe.KEYSWITCH, fhe.LEVELEDSHE):
        cc.Enable(feature)
    keys = cc.KeyGen()
    cc.EvalMultKeyGen(keys.secretKey)
    x = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext([0.5] * 8192))
    _STATE.update(cc=cc, x=x)


def _multiply(_: int = 0) -> None:
    cc, x = _STATE["cc"], _STATE["x"]
    cc.Rescale(cc.EvalMult(x, x))


def _run(mode: str, ops: int) -> float:
    _setup()
    _multiply()  # warm
    started = time.perf_counter()
    if mode == "threads":
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(_multiply, range(ops)))
    elif mode == "processes":
        with ProcessPoolExecutor(2, initializer=_setup) as pool:
            list(pool.map(_multiply, range(2)))  # both workers ready
            started = time.perf_counter()
            list(pool.map(_multiply, range(ops)))
    else:
        for _ in range(ops):
            _multiply()
    return ops / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=40)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "OPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_run(args.child[0], int(args.child[1]))))
        return
    rows = [("1 thread, OMP=1", "serial", "1"), ("2 threads, OMP=1", "threads", "1"),
            ("2 processes, OMP=1", "processes", "1"), ("1 thread, OMP=2", "serial", "2")]
    print(f"CKKS multiply+rescale, N=16384 depth 5, {args.ops} ops, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    baseline = None
    for label, mode, omp in rows:
        env = os.environ | {"OMP_NUM_THREADS": omp}
        out = subprocess.run([sys.executable, __file__, "--child", mode, str(args.ops)],
                             env=env, capture_output=True, text=True, check=True).stdout
        rate = float(out.strip().splitlines()[-1])
        baseline = baseline or rate
        print(f"{label:<22}{rate:>8.1f} ops/s{rate / baseline:>7.2f}x")


if __name__ == "__main__":
    main()
