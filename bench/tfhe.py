"""TFHE gates: raw OpenFHE in one process vs the service (REST end to end), taking turns.

Raw: one long-lived child process per preset and OpenMP setting (OMP_NUM_THREADS=1 and 2,
which OpenMP reads once), holding that preset's context and bootstrapping key, runs NAND
gates when asked. Service: its own stack, a server-mode session through
POST /tfhe/session, then
  - single-gate latency through REST (client -> gateway -> tfhe-eval, which meters it with
    the metering service -> worker -> back);
  - throughput of one POST /tfhe/batch of 256 independent NAND gates.
Raw and service take turns in small blocks, so both see the same machine: this shared VM's
speed drifts by 30-50% within minutes, more than the overhead being measured. The REST
overhead is the service's p50 minus the raw p50 at the OpenMP threads of the service's
workers; batch throughput is compared with the best raw configuration's gates/s.

Two deployments of tfhe-eval are measured, each in a stack of its own: the default (one
worker process per core, OMP=1 each: batches spread over every core) and one worker using
every core (WAVIS_TFHE_WORKERS=1, OMP_NUM_THREADS=cores: a lone gate runs on all cores, and
a key is loaded once instead of once per core). The toy preset shows the overhead without
the gate's own time.

    .venv/bin/python bench/tfhe.py [--rounds 10] [--block 4] [--preset fast_128]
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
from dataclasses import dataclass, field

import aiohttp
from benchlib import bench_headers, bench_stack, grpc_floor_ms

from wavis.core.tfhe_catalog import PRESET_BY_NAME

BATCH_GATES = 256
THREADS = (1, 2)


def raw_child(preset: str) -> None:
    """A raw OpenFHE process: after "ready", answers each line "N" with N gates' timings."""
    import openfhe as fhe

    found = PRESET_BY_NAME[preset]
    cc = fhe.BinFHEContext()
    cc.GenerateBinFHEContext(getattr(fhe, found.paramset), getattr(fhe, found.method))
    secret = cc.KeyGen()
    cc.BTKeyGen(secret)
    a, b = cc.Encrypt(secret, 1), cc.Encrypt(secret, 0)
    cc.EvalBinGate(fhe.NAND, a, b)  # warm up
    print("ready", flush=True)
    for line in sys.stdin:
        samples = []
        started = time.perf_counter()
        for _ in range(int(line)):
            t = time.perf_counter()
            cc.EvalBinGate(fhe.NAND, a, b)
            samples.append(time.perf_counter() - t)
        print(json.dumps({"samples": samples, "elapsed": time.perf_counter() - started}),
              flush=True)


class RawGates:
    """One raw child: its gate timings, block by block."""

    def __init__(self, preset: str, threads: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--raw-child", preset],
            env=os.environ | {"OMP_NUM_THREADS": str(threads)}, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.samples: list[float] = []
        self.gates = 0
        self.seconds = 0.0

    def wait_ready(self) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"raw child failed to start: {line!r}")

    def run(self, gates: int, keep: bool = True) -> float:
        """Run `gates` gates; their wall time (seconds)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{gates}\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        if keep:
            self.samples += answer["samples"]
            self.gates += gates
            self.seconds += answer["elapsed"]
        return float(answer["elapsed"])

    def reset(self) -> tuple[list[float], int, float]:
        """Start counting afresh; what was counted so far."""
        counted = (self.samples, self.gates, self.seconds)
        self.samples, self.gates, self.seconds = [], 0, 0.0
        return counted

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


@dataclass
class ServiceFigures:
    samples: list[float] = field(default_factory=list)
    batch_seconds: list[float] = field(default_factory=list)
    setup_s: float = 0.0
    n: int = 0
    big_n: int = 0

    @property
    def p50_ms(self) -> float:
        return 1000 * statistics.median(self.samples)

    @property
    def rate(self) -> float:
        return BATCH_GATES * len(self.batch_seconds) / sum(self.batch_seconds)


class ServiceGates:
    def __init__(self, http: aiohttp.ClientSession, base: str, headers: dict[str, str]) -> None:
        self.http, self.base, self.headers = http, base, headers
        self.figures = ServiceFigures()
        self.session_id = ""
        self.ciphertexts: list[str] = []

    async def open(self, preset: str) -> None:
        started = time.perf_counter()
        async with self.http.post(f"{self.base}/tfhe/session", headers=self.headers,
                                  json={"preset": preset}) as reply:
            session = await reply.json()
            assert reply.status == 201, session
        self.figures.setup_s = time.perf_counter() - started
        self.figures.n, self.figures.big_n = session["n"], session["big_n"]
        self.session_id = session["session_id"]
        async with self.http.post(f"{self.base}/tfhe/session/{self.session_id}/encrypt",
                                  headers=self.headers,
                                  json={"bits": [1, 0] * BATCH_GATES}) as reply:
            self.ciphertexts = (await reply.json())["ciphertexts_b64"]

    async def gates(self, count: int, keep: bool = True) -> None:
        gate = {"session_id": self.session_id, "op": "NAND", "a": self.ciphertexts[0],
                "b": self.ciphertexts[1]}
        for _ in range(count):
            started = time.perf_counter()
            async with self.http.post(f"{self.base}/tfhe/gate", headers=self.headers,
                                      json=gate) as reply:
                await reply.read()
                assert reply.status == 200, await reply.text()
            if keep:
                self.figures.samples.append(time.perf_counter() - started)

    async def batch(self) -> None:
        gates = [{"op": "NAND", "a": self.ciphertexts[2 * i], "b": self.ciphertexts[2 * i + 1]}
                 for i in range(BATCH_GATES)]
        started = time.perf_counter()
        async with self.http.post(f"{self.base}/tfhe/batch", headers=self.headers,
                                  json={"session_id": self.session_id, "gates": gates}) as reply:
            body = await reply.json()
            assert reply.status == 200, body
        self.figures.batch_seconds.append(time.perf_counter() - started)

    async def close(self) -> None:
        async with self.http.delete(f"{self.base}/tfhe/session/{self.session_id}",
                                    headers=self.headers) as reply:
            assert reply.status == 204


async def measure(base: str, headers: dict[str, str], preset: str,
                  raws: dict[int, RawGates], rounds: int, block: int) -> ServiceFigures:
    """The service's figures; the raw children's blocks are run in turn with its own."""
    async with aiohttp.ClientSession() as http:
        service = ServiceGates(http, base, headers)
        await service.open(preset)
        await service.gates(3, keep=False)  # warm-up calls are not counted
        for _ in range(rounds):
            for raw in raws.values():
                raw.run(block)
            await service.gates(block)
        # Throughput: a batch, and as many gates in each raw configuration, in turn.
        for _ in range(2):
            for raw in raws.values():
                raw.run(BATCH_GATES // 4)
            await service.batch()
        await service.close()
        return service.figures


@dataclass
class RawFigures:
    samples: list[float]
    gates: int
    seconds: float

    @property
    def p50_ms(self) -> float:
        return 1000 * statistics.median(self.samples)

    @property
    def rate(self) -> float:
        return self.gates / self.seconds


def report(preset: str, label: str, threads: int, raws: dict[int, RawFigures],
           service: ServiceFigures) -> None:
    print(f"\n{preset} (n={service.n}, N={service.big_n}), tfhe-eval {label}: session setup "
          f"(keygen + load) {service.setup_s:.1f} s; {len(service.samples)} REST gates, "
          f"{len(raws[1].samples)} raw gates per configuration, in turns")
    print(f"{'':<34}{'gate p50 ms':>12}{'gates/s':>10}")
    for omp, raw in raws.items():
        print(f"{'raw, OMP_NUM_THREADS=' + str(omp):<34}{raw.p50_ms:>12.2f}{raw.rate:>10.1f}")
    print(f"{'service: REST single gate':<34}{service.p50_ms:>12.2f}")
    print(f"{f'service: batch of {BATCH_GATES} independent':<34}{'':>12}{service.rate:>10.1f}")
    same = raws[min(threads, max(raws))]
    best = max(raw.rate for raw in raws.values())
    print(f"REST overhead over raw at OMP={min(threads, max(raws))}: "
          f"{service.p50_ms - same.p50_ms:+.2f} ms (goal <= 5 ms); single-gate latency "
          f"raw/service {same.p50_ms / service.p50_ms:.2f}; batch throughput service/best raw "
          f"{service.rate / best:.2f} (goal >= 0.9)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="turns of raw and REST blocks")
    parser.add_argument("--block", type=int, default=4, help="gates per block")
    parser.add_argument("--preset", default="fast_128", choices=sorted(PRESET_BY_NAME))
    parser.add_argument("--raw-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_child:
        raw_child(args.raw_child)
        return
    cores = os.cpu_count() or 1
    presets = [args.preset] + (["toy"] if args.preset != "toy" else [])
    # (label, OpenMP threads of each worker, environment of the stack)
    deployments = [
        (f"{cores} workers x OMP=1", 1, {}),
        (f"1 worker x OMP={cores}", cores,
         {"WAVIS_TFHE_WORKERS": "1", "OMP_NUM_THREADS": str(cores)}),
    ]
    children = {preset: {omp: RawGates(preset, omp) for omp in THREADS} for preset in presets}
    figures: dict[tuple[str, str], ServiceFigures] = {}
    raws: dict[tuple[str, str], dict[int, RawFigures]] = {}
    try:
        for raw in (raw for by_omp in children.values() for raw in by_omp.values()):
            raw.wait_ready()
            raw.run(2, keep=False)
        for label, _, env in deployments:
            with bench_stack(env) as stack:
                headers = await bench_headers(stack)
                base = stack.gateway_url + "/api/v1"
                for preset in presets:
                    figures[(preset, label)] = await measure(
                        base, headers, preset, children[preset], args.rounds, args.block)
                    raws[(preset, label)] = {omp: RawFigures(*raw.reset())
                                             for omp, raw in children[preset].items()}
    finally:
        for raw in (raw for by_omp in children.values() for raw in by_omp.values()):
            raw.close()
    print(f"WAVIS TFHE benchmark: {cores} cores; raw = one process, NAND gates on the same "
          f"two ciphertexts; service = REST; load average {os.getloadavg()[0]:.2f}; a bare "
          f"gRPC round trip here now: {await grpc_floor_ms():.2f} ms")
    for preset in presets:
        for label, threads, _ in deployments:
            report(preset, label, threads, raws[(preset, label)], figures[(preset, label)])


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    asyncio.run(main())
