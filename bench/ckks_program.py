"""CKKS programs: a whole circuit through POST /compute/program against the same steps in raw
OpenFHE, N=16384 depth 5 (128-bit), and where the time of a single REST add goes.

Starts its own stack, generates a server-mode key (rotations 1, 2, 4, 8) and encrypts the
inputs through the API. Raw = OpenFHE in this process, one thread (OMP_NUM_THREADS=1), the
same operations on the same parameters, inputs already encrypted; service = REST end to end
with a keep-alive client, inputs already stored, one output stored. Raw and service take
turns round by round (who goes first alternating), so both see the same machine. Rows:

- chain: 32 dependent steps (2 multiplies, 14 rotations, 14 adds, a degree-3 polynomial,
  a negate). Goal: raw / service >= 0.9.
- branches: two independent branches of 8 multiplies each (within depth 5). Goal: the
  service (two compute threads) >= 1.6x faster than the 16 multiplies one after another in
  raw OpenFHE. Printed below it: raw OpenFHE running the two branches on two threads, which
  is what the machine allows at that moment (on shared cores, less than 2x).
- hoisted: 4 rotations of one ciphertext and their sum, against raw EvalRotate each.

Then a single add through REST (keep-alive), hop by hop: the client's round trip, the
gateway's own time (Server-Timing), the same add on ckks-compute over gRPC metered and with
skip_metering, the evaluation, a bare gRPC round trip, raw OpenFHE. Target <= 5 ms p50.
And the size of a compact download of a fresh ciphertext.

    .venv/bin/python bench/ckks_program.py [--rounds 20] [--adds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import numpy as np
import redis.asyncio as aioredis
from benchlib import bench_account, bench_stack, grpc_floor_ms, server_ckks_key

from wavis.core.grpc_client import open_channel
from wavis.core.ids import new_id
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2, ckks_compute_pb2_grpc
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc

PARAMS = {"poly_degree": 16384, "scale_bits": 50, "max_depth": 5}
ROTATIONS = [1, 2, 4, 8]
SLOTS = PARAMS["poly_degree"] // 2
POLY = [0.5, 0.197, 0.0, -0.004]
Step = dict[str, Any]


def chain_program() -> tuple[list[str], list[Step]]:
    """32 dependent steps: two blocks (multiply by a weight, then a rotate-and-add reduction
    over 1, 2, 4, 8), the degree-3 polynomial (3 levels: 5 in all), six more rotate-and-adds
    and a negate."""
    steps: list[Step] = []

    def step(op: str, *args: str, **fields: Any) -> str:
        steps.append({"op": op, "args": list(args), **fields})
        return f"${len(steps) - 1}"

    def reduce(current: str, shifts: list[int]) -> str:
        for shift in shifts:
            current = step("add", current, step("rotate", current, rotation_steps=shift))
        return current

    current = "x"
    for weight in ("w1", "w2"):
        current = reduce(step("multiply", current, weight, scale_stable=True), ROTATIONS)
    current = step("poly-eval", current, polynomial_coeffs=POLY)
    step("negate", reduce(current, [*ROTATIONS, 1, 2]))
    assert len(steps) == 32
    return ["x", "w1", "w2"], steps


def branches_program() -> tuple[list[str], list[Step]]:
    """Two independent branches of 8 multiplies, each at most 5 levels deep."""
    steps: list[Step] = []

    def mul(a: str, b: str) -> str:
        steps.append({"op": "multiply", "args": [a, b], "scale_stable": True})
        return f"${len(steps) - 1}"

    for a, b in (("a", "b"), ("c", "d")):
        m1, m2 = mul(a, b), mul(a, a)  # level 1
        m3, m4 = mul(m1, m2), mul(m1, m1)  # 2
        m5, m6 = mul(m3, m4), mul(m3, m3)  # 3
        m7 = mul(m5, m6)  # 4
        mul(m7, m7)  # 5
    assert len(steps) == 16
    return ["a", "b", "c", "d"], steps


def hoisted_program() -> tuple[list[str], list[Step]]:
    steps: list[Step] = [{"op": "rotate", "args": ["x"], "rotation_steps": s} for s in ROTATIONS]
    steps.append({"op": "add", "args": ["$0", "$1"]})
    steps.append({"op": "add", "args": ["$2", "$3"]})
    steps.append({"op": "add", "args": ["$4", "$5"]})
    return ["x"], steps


PROGRAMS = {"chain": chain_program, "branches": branches_program, "hoisted": hoisted_program}
OUTPUTS = {"chain": ["$31"], "branches": ["$7", "$15"], "hoisted": ["$6"]}


# -- raw OpenFHE ---------------------------------------------------------------------------


class Raw:
    """The same parameters and operations in this process (one thread)."""

    def __init__(self) -> None:
        import openfhe as fhe

        from wavis.fhe.ckks_params import first_mod_bits

        p = fhe.CCParamsCKKSRNS()
        p.SetRingDim(PARAMS["poly_degree"])
        p.SetMultiplicativeDepth(PARAMS["max_depth"])
        p.SetScalingModSize(PARAMS["scale_bits"])
        p.SetFirstModSize(first_mod_bits(PARAMS["scale_bits"]))
        p.SetScalingTechnique(fhe.FIXEDMANUAL)
        p.SetKeySwitchTechnique(fhe.HYBRID)
        p.SetBatchSize(SLOTS)
        self.cc = cc = fhe.GenCryptoContext(p)
        for feature in (fhe.PKE, fhe.KEYSWITCH, fhe.LEVELEDSHE, fhe.ADVANCEDSHE):
            cc.Enable(feature)
        self.keys = cc.KeyGen()
        cc.EvalMultKeyGen(self.keys.secretKey)
        cc.EvalRotateKeyGen(self.keys.secretKey, ROTATIONS)

    def encrypt(self, values: np.ndarray) -> Any:
        return self.cc.Encrypt(self.keys.publicKey,
                               self.cc.MakeCKKSPackedPlaintext(values.tolist()))

    def decrypt(self, ciphertext: Any) -> np.ndarray:
        plain = self.cc.Decrypt(ciphertext, self.keys.secretKey)
        plain.SetLength(SLOTS)
        return np.array(plain.GetRealPackedValue())

    def rescaled(self, ciphertext: Any) -> Any:
        while ciphertext.GetNoiseScaleDeg() > 1:
            ciphertext = self.cc.Rescale(ciphertext)
        return ciphertext

    def run(self, inputs: dict[str, Any], steps: list[Step]) -> list[Any]:
        """Every step, one after another, as plain OpenFHE calls."""
        cc = self.cc
        values: list[Any] = []
        for entry in steps:
            args = [inputs[a] if not a.startswith("$") else values[int(a[1:])]
                    for a in entry["args"]]
            op = entry["op"]
            if op == "multiply":
                a, b = (self.rescaled(v) for v in args)
                result = self.rescaled(cc.EvalMult(a, b))
            elif op == "add":
                result = cc.EvalAdd(*args)
            elif op == "rotate":
                result = cc.EvalRotate(args[0], entry["rotation_steps"])
            elif op == "negate":
                result = cc.EvalNegate(args[0])
            elif op == "poly-eval":
                result = cc.EvalPoly(args[0], entry["polynomial_coeffs"])
            else:
                raise AssertionError(op)
            values.append(result)
        return values

    def timed(self, inputs: dict[str, Any], steps: list[Step]) -> float:
        started = time.perf_counter()
        self.run(inputs, steps)
        return time.perf_counter() - started

    def timed_in_two_threads(self, inputs: dict[str, Any], steps: list[Step]) -> float:
        """The branches program's two halves on two threads at once: what this machine gives
        two independent computations right now (the service's best case)."""
        half = len(steps) // 2
        second = [step | {"args": [a if not a.startswith("$") else f"${int(a[1:]) - half}"
                                   for a in step["args"]]} for step in steps[half:]]
        with ThreadPoolExecutor(2) as pool:
            started = time.perf_counter()
            list(pool.map(lambda part: self.run(inputs, part), (steps[:half], second)))
            return time.perf_counter() - started


def threads_busy(raw: Raw, inputs: dict[str, Any], steps: list[Step]) -> float:
    """Run a program with ckks-compute's own runner (services.ckks_compute.program_run) on
    two threads in this process, and answer how many of them were evaluating, on average,
    while it ran: 2.0 when both threads evaluate side by side the whole time."""
    from types import SimpleNamespace

    from services.ckks_compute import compute
    from services.ckks_compute.program import check_operands_and_price, parse, propagate
    from services.ckks_compute.program_run import ProgramRun
    from services.ckks_compute.rwlock import ReadWriteLock
    from wavis.fhe import ckks_levels
    from wavis.fhe.ckks_ops import KeyShape

    request = ckks_compute_pb2.ExecuteProgramRequest(
        account_id="bench", key_id="bench", inputs={name: "local" for name in inputs})
    for entry in steps:
        request.steps.append(ckks_compute_pb2.ProgramStep(
            operation=entry["op"], args=entry["args"],
            scale_stable=entry.get("scale_stable", False)))
    shape = KeyShape(SLOTS, PARAMS["max_depth"], frozenset(ROTATIONS), manual_scaling=True)
    program = parse(request)
    check_operands_and_price(program, shape)
    predicted = propagate(program, shape, {n: ckks_levels.level_of(c) for n, c in inputs.items()})
    spans: list[tuple[float, float]] = []
    evaluate = compute._evaluate

    def traced(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            return evaluate(*args)
        finally:
            spans.append((started, time.perf_counter()))

    compute._evaluate = traced  # type: ignore[assignment]
    engine = SimpleNamespace(executor=ThreadPoolExecutor(2), lock=ReadWriteLock())
    try:
        run = ProgramRun(program, SimpleNamespace(context=raw.cc, shape=shape), inputs,
                         predicted, engine)  # type: ignore[arg-type]
        asyncio.run(run.run())
    finally:
        compute._evaluate = evaluate  # type: ignore[assignment]
        engine.executor.shutdown()
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    return sum(end - start for start, end in spans) / wall


def expected(values: dict[str, np.ndarray], steps: list[Step]) -> list[np.ndarray]:
    """The steps on plaintexts (numpy), to check both sides decrypt to the right values."""
    results: list[np.ndarray] = []
    for entry in steps:
        args = [values[a] if not a.startswith("$") else results[int(a[1:])]
                for a in entry["args"]]
        op = entry["op"]
        if op == "multiply":
            results.append(args[0] * args[1])
        elif op == "add":
            results.append(args[0] + args[1])
        elif op == "rotate":
            results.append(np.roll(args[0], -entry["rotation_steps"]))
        elif op == "negate":
            results.append(-args[0])
        else:
            results.append(np.polynomial.polynomial.polyval(args[0], POLY))
    return results


# -- the service -----------------------------------------------------------------------------


async def encrypt(session: aiohttp.ClientSession, base: str, headers: dict[str, str],
                  key_id: str, values: np.ndarray) -> str:
    async with session.post(base + "/ciphertexts/encrypt", headers=headers, json={
            "key_id": key_id, "values": values.tolist()}) as response:
        return str((await response.json())["ciphertext_id"])


async def run_program(session: aiohttp.ClientSession, base: str, headers: dict[str, str],
                      body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    async with session.post(base + "/compute/program", headers=headers, json=body) as response:
        answer = await response.json()
        assert response.status == 200, answer
    return time.perf_counter() - started, answer


async def decrypt(session: aiohttp.ClientSession, base: str, headers: dict[str, str],
                  keys_target: str, key_id: str, ciphertext_id: str) -> np.ndarray:
    """A result as computed by the service, decrypted here with the key's own secret (from the
    keys service): server-mode decryption adds noise that would hide the service's error
    (docs/security.md)."""
    import openfhe as fhe

    async with session.get(f"{base}/ciphertexts/{ciphertext_id}", headers=headers) as response:
        data = base64.b64decode((await response.json())["data"])
    parts = {}
    async with open_channel(keys_target) as channel:
        stub = keys_pb2_grpc.KeysServiceStub(channel)
        for name in ("crypto_context", "secret_key"):
            chunks = stub.FetchKeyMaterial(keys_pb2.FetchKeyMaterialRequest(key_id=key_id,
                                                                            component=name))
            parts[name] = b"".join([chunk.data async for chunk in chunks])
    context = fhe.DeserializeCryptoContextString(parts["crypto_context"], fhe.BINARY)
    secret = fhe.DeserializePrivateKeyString(parts["secret_key"], fhe.BINARY)
    plain = context.Decrypt(fhe.DeserializeCiphertextString(data, fhe.BINARY), secret)
    plain.SetLength(SLOTS)
    return np.array(plain.GetRealPackedValue())


def _ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def _server_timing(header: str) -> dict[str, float]:
    timings = {}
    for part in header.split(","):
        name, _, duration = part.strip().partition(";dur=")
        timings[name] = float(duration)
    return timings


async def redis_write_ms(url: str, size: int, count: int) -> float:
    """p50 of writing `size` bytes to the ciphertext Redis from here (one SET)."""
    client = aioredis.Redis.from_url(url)
    payload = os.urandom(size)
    samples = []
    try:
        for index in range(count):
            started = time.perf_counter()
            await client.set(f"bench:{index % 4}", payload, ex=60)
            samples.append(time.perf_counter() - started)
    finally:
        await client.aclose()
    return _ms(samples)


async def single_add(session: aiohttp.ClientSession, base: str, headers: dict[str, str],
                     stub: ckks_compute_pb2_grpc.CkksComputeServiceStub, account_id: str,
                     key_id: str, ids: list[str], raw: Raw, count: int, cache_url: str,
                     ) -> None:
    body = {"key_id": key_id, "ciphertext_ids": ids[:2]}
    client, gateway, redis, grpc_hop, evaluation = [], [], [], [], []
    direct: dict[bool, list[float]] = {True: [], False: []}
    for index in range(count + 20):  # REST and direct calls take turns (same machine)
        started = time.perf_counter()
        async with session.post(base + "/compute/add", headers=headers, json=body) as response:
            answer = await response.json()
            timing = _server_timing(response.headers["Server-Timing"])
        client.append(time.perf_counter() - started)
        gateway.append(timing["total"] / 1000)
        redis.append(timing.get("redis", 0.0) / 1000)
        grpc_hop.append(timing.get("grpc", 0.0) / 1000)
        evaluation.append(answer["compute_time_ms"] / 1000)
        for metered in (True, False):
            message = ckks_compute_pb2.ComputeRequest(
                account_id=account_id, operation="add", key_id=key_id, ciphertext_ids=ids[:2],
                op_id=new_id("op"), skip_metering=not metered)
            started = time.perf_counter()
            await stub.Compute(message)
            if index >= 20:
                direct[metered].append(time.perf_counter() - started)
    x, y = raw.encrypt(np.full(SLOTS, 0.5)), raw.encrypt(np.full(SLOTS, 0.25))
    raw_add = []
    for _ in range(count):
        started = time.perf_counter()
        raw.cc.EvalAdd(x, y)
        raw_add.append(time.perf_counter() - started)
    floor = await grpc_floor_ms(300)
    redis_write = await redis_write_ms(cache_url, 1_574_213, count)
    skip = slice(20, None)  # the first adds warm the connections up
    rows = [
        ("client round trip (REST, keep-alive)", _ms(client[skip])),
        ("  client <-> gateway HTTP and client", _ms(client[skip]) - _ms(gateway[skip])),
        ("  gateway handler (Server-Timing total)", _ms(gateway[skip])),
        ("    gateway: Redis (auth, rate limits)", _ms(redis[skip])),
        ("    gateway: gRPC call to ckks-compute", _ms(grpc_hop[skip])),
        ("    gateway: its own Python", _ms(gateway[skip]) - _ms(redis[skip])
         - _ms(grpc_hop[skip])),
        ("ckks-compute over gRPC, metered", _ms(direct[True])),
        ("ckks-compute over gRPC, skip_metering", _ms(direct[False])),
        ("  metering's share", _ms(direct[True]) - _ms(direct[False])),
        ("  evaluation + serialization (compute_time_ms)", _ms(evaluation[skip])),
        ("  load, store (Redis, 1.57 MB result), gRPC", _ms(direct[False])
         - _ms(evaluation[skip])),
        ("    of which: one 1.57 MB SET to that Redis from here", redis_write),
        ("bare gRPC round trip in one process", floor),
        ("raw OpenFHE EvalAdd", _ms(raw_add)),
    ]
    print(f"\nA single add at N=16384, {count} calls each, p50 ms (target <= 5 ms end to end); "
          f"load average {os.getloadavg()[0]:.2f}:")
    for label, value in rows:
        print(f"  {label:<50}{value:>8.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--adds", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    # Results are evicted (least recently used) past 512 MB; the inputs, used each round, stay.
    with bench_stack({"WAVIS_CIPHERTEXT_STORE_BYTES": str(512 * 1024 * 1024)}) as stack:
        account_id, headers = await bench_account(stack)
        base = stack.gateway_url + "/api/v1"
        print(f"WAVIS CKKS program benchmark: {os.cpu_count()} cores, OMP_NUM_THREADS="
              f"{os.environ.get('OMP_NUM_THREADS')}, N=16384 depth 5, {args.rounds} rounds "
              f"(raw and service taking turns); load average {os.getloadavg()[0]:.2f}")
        raw = await asyncio.to_thread(Raw)
        # Small values for the chain's sums of 16 copies per block; others in [-1, 1].
        plain = {name: rng.uniform(-0.1, 0.1, SLOTS) for name in ("x", "w1", "w2")}
        plain |= {name: rng.uniform(-1, 1, SLOTS) for name in ("a", "b", "c", "d")}
        raw_inputs = {name: raw.encrypt(values) for name, values in plain.items()}
        async with aiohttp.ClientSession() as session, open_channel(
                f"127.0.0.1:{stack.service_ports['ckks_compute']}") as channel:
            key_id = (await server_ckks_key(session, base, headers, PARAMS,
                                              tuple(ROTATIONS)))["key_id"]
            stored = {name: await encrypt(session, base, headers, key_id, values)
                      for name, values in plain.items()}
            print(f"{'program':<10}{'steps':>6}{'raw p50 ms':>12}{'service p50 ms':>16}"
                  f"{'in service':>12}{'raw/service':>13}{'max error raw/svc':>20}")
            for name, build in PROGRAMS.items():
                names, steps = build()
                body = {"key_id": key_id, "inputs": {n: stored[n] for n in names},
                        "steps": steps, "outputs": OUTPUTS[name]}
                raw_times, service_times, inside, both = [], [], [], []
                _, answer = await run_program(session, base, headers, body)  # warm up
                for index in range(args.rounds):  # who goes first alternates too
                    if index % 2 == 0:
                        raw_times.append(raw.timed(raw_inputs, steps))
                    elapsed, answer = await run_program(session, base, headers, body)
                    service_times.append(elapsed)
                    inside.append(answer["compute_time_ms"] / 1000)
                    if index % 2 == 1:
                        raw_times.append(raw.timed(raw_inputs, steps))
                    if name == "branches":
                        both.append(raw.timed_in_two_threads(raw_inputs, steps))
                truth = expected(plain, steps)
                raw_values = raw.run(raw_inputs, steps)
                errors = []
                for output in answer["outputs"]:
                    index = int(output["ref"][1:])
                    served = await decrypt(session, base, headers,
                                           f"127.0.0.1:{stack.service_ports['keys']}",
                                           key_id, output["result_ciphertext_id"])
                    errors.append((np.max(np.abs(raw.decrypt(raw_values[index])
                                                 - truth[index])),
                                   np.max(np.abs(served - truth[index]))))
                raw_p50, service_p50 = _ms(raw_times), _ms(service_times)
                worst = max(errors)
                print(f"{name:<10}{len(steps):>6}{raw_p50:>12.1f}{service_p50:>16.1f}"
                      f"{_ms(inside):>12.1f}{raw_p50 / service_p50:>13.2f}"
                      f"{worst[0]:>10.1e}/{worst[1]:.1e}")
                if name == "branches":
                    busy = await asyncio.to_thread(threads_busy, raw, raw_inputs, steps)
                    print(f"{'  ckks-compute runner in this process: threads busy':<46}"
                          f"{busy:>12.2f} of 2 while the program ran")
                    print(f"{'  raw, the two branches on two threads at once':<46}"
                          f"{_ms(both):>12.1f} ms: {_ms(raw_times) / _ms(both):.2f}x the raw "
                          "one after another (what the machine allows now)")
            async with session.get(f"{base}/ciphertexts/{stored['x']}", headers=headers) as r:
                full = len(base64.b64decode((await r.json())["data"]))
            async with session.get(f"{base}/ciphertexts/{stored['x']}?compact=true",
                                   headers=headers) as r:
                small = len(base64.b64decode((await r.json())["data"]))
            print(f"\nA fresh ciphertext: {full / 1e6:.2f} MB, compact {small / 1e6:.2f} MB")
            await single_add(session, base, headers,
                             ckks_compute_pb2_grpc.CkksComputeServiceStub(channel), account_id,
                             key_id, [stored["x"], stored["w1"]], raw, args.adds,
                             stack.cache_redis.url if stack.cache_redis else "")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    asyncio.run(main())
