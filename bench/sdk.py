"""The Python SDK's figures: (a) a blind CKKS multiply through the SDK with one keep-alive
client against a new connection per request (as curl would do), p50/p90 over N runs; (b) the
chunked upload of a real fast_128 TFHE evaluation key (~915 MB) through the SDK: MB/s and
the client's peak RSS.

Starts its own stack (nothing shared with `make run`). The upload runs in a child process
(`python bench/sdk.py --upload-child ...`), so its peak RSS is the upload's alone: the
child's VmHWM (/proc/self/status) before and after the upload. Not getrusage's ru_maxrss:
Linux carries the forked parent's high-water mark across exec into it (this script's parent
holds a CKKS key and OpenFHE, ~250 MB), which would be reported as the child's. The key is
made beforehand in another child (OpenFHE needs ~1 GB to make it). CPU seconds of the
client, the gateway and the keys service during the call say where the time went.

    .venv/bin/python bench/sdk.py [--runs 200] [--skip-upload] [--random-bytes]

--random-bytes uploads a file of random bytes of the same size instead of a real key (no key
generation; the server then refuses it at completion, after every part was stored).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import wavis_sdk
from benchlib import bench_account, bench_stack
from wavis_sdk.ckks import CkksKeys

UPLOAD_BYTES = 915_000_000  # --random-bytes: about a fast_128 evaluation key


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (1000 * statistics.median(ordered),
            1000 * ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))])


def multiply_latencies(base_url: str, api_key: str, runs: int) -> list[tuple[str, float, float]]:
    """p50 and p90 ms of client.compute.multiply, keep-alive vs a connection per request."""
    keys = CkksKeys.generate(poly_degree=8192, scale_bits=40, max_depth=1)
    rows = []
    with wavis_sdk.Client(api_key, base_url) as client:
        key = client.keys.upload(keys)
        x = client.ciphertexts.upload(keys.encrypt([1.5] * 16))
        y = client.ciphertexts.upload(keys.encrypt([2.0] * 16))
        for _ in range(10):  # warm: the service loads the key once
            client.compute.multiply(key, x, y)
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            client.compute.multiply(key, x, y)
            samples.append(time.perf_counter() - started)
        rows.append(("SDK, one keep-alive client", *_percentiles(samples)))
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        with httpx.Client() as http, wavis_sdk.Client(api_key, base_url,
                                                      http_client=http) as fresh:
            fresh.compute.multiply(key, x, y)
        samples.append(time.perf_counter() - started)
    rows.append(("SDK, new client and connection each", *_percentiles(samples)))
    # The connection's share alone: one client, but the server closes every connection.
    samples = []
    with wavis_sdk.Client(api_key, base_url, default_headers={"Connection": "close"}) as closing:
        for _ in range(runs):
            started = time.perf_counter()
            closing.compute.multiply(key, x, y)
            samples.append(time.perf_counter() - started)
    rows.append(("SDK, one client, Connection: close", *_percentiles(samples)))
    started = time.perf_counter()
    for _ in range(20):
        httpx.Client().close()
    rows.append(("(making an httpx.Client alone)", 1000 * (time.perf_counter() - started) / 20,
                 float("nan")))
    return rows


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _make_key_archive(folder: Path, random_bytes: bool) -> tuple[Path, float]:
    started = time.perf_counter()
    if random_bytes:
        path = folder / "random.bin"
        with open(path, "wb") as handle:
            for _ in range(UPLOAD_BYTES // (8 << 20)):
                handle.write(os.urandom(8 << 20))
            handle.write(os.urandom(UPLOAD_BYTES % (8 << 20)))
        return path, time.perf_counter() - started
    code = ("import sys; from wavis_sdk.tfhe import TfheKeys; "
            "print(TfheKeys.generate('fast_128', sys.argv[1]).eval_key_archive())")
    done = subprocess.run([sys.executable, "-c", code, str(folder / "fast_128")],
                          capture_output=True, text=True, check=True)
    archive = Path(done.stdout.strip())
    (folder / "fast_128" / "bootstrap_key.bin").unlink()  # the archive holds it
    return archive, time.perf_counter() - started


def upload_child(base_url: str, api_key: str, path: str, state_dir: str) -> None:
    """Runs in its own process: one upload_file through the SDK; prints its figures."""
    before_kb = _hwm_kb()
    phases: dict[str, float] = {}

    def progress(event: wavis_sdk.UploadProgress) -> None:
        now = time.perf_counter()
        phases.setdefault(event.phase, now)
        phases[event.phase + "_end"] = now

    started = time.perf_counter()
    outcome: dict[str, Any] = {}
    with wavis_sdk.Client(api_key, base_url, state_dir=state_dir) as client:
        try:
            key = client.keys.upload_file(path, scheme="tfhe", kind="tfhe_eval_key",
                                          progress=progress, resume=False)
            outcome = {"key_id": key.key_id, "preset": key.preset}
        except wavis_sdk.WavisError as error:
            outcome = {"refused": error.code}
    ended = time.perf_counter()
    print(json.dumps({
        "hwm_before_kb": before_kb,
        "hwm_after_kb": _hwm_kb(),
        "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "hash_s": phases.get("hashing_end", started) - phases.get("hashing", started),
        "parts_s": phases["completing"] - phases["uploading"],
        "complete_s": ended - phases["completing"],
        "total_s": ended - started, **outcome}))


def _hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def measure_upload(stack: Any, api_key: str, random_bytes: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="wavis-bench-sdk-") as scratch:
        archive, made_in = _make_key_archive(Path(scratch), random_bytes)
        size = archive.stat().st_size
        pids = {"gateway": stack.gateway.pid, "keys service": stack.services["keys"].pid}
        cpu_before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
        child = subprocess.Popen(
            [sys.executable, __file__, "--upload-child", stack.gateway_url, api_key,
             str(archive), str(Path(scratch) / "state")], stdout=subprocess.PIPE, text=True)
        usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out, _ = child.communicate()
        usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures = json.loads(out)
        cpu = {name: _cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        cpu["client"] = (usage_after.ru_utime + usage_after.ru_stime
                         - usage_before.ru_utime - usage_before.ru_stime)
    what = "random bytes" if random_bytes else "a real fast_128 evaluation key archive"
    print(f"\n(b) chunked upload through the SDK: {size / 1e6:.0f} MB, {what} "
          f"(made in {made_in:.1f} s)")
    print(f"{'step':<44}{'seconds':>9}{'MB/s':>8}")
    for label, seconds in (("sha256 of the file (client)", figures["hash_s"]),
                           ("parts (PUT, streamed from disk)", figures["parts_s"]),
                           ("complete (server: sha256, unpack, check)", figures["complete_s"]),
                           ("whole upload_file call", figures["total_s"])):
        print(f"{label:<44}{seconds:>9.2f}{size / 1e6 / seconds:>8.0f}")
    print(f"client peak RSS (VmHWM): {figures['hwm_after_kb'] / 1024:.0f} MB, of which "
          f"{figures['hwm_before_kb'] / 1024:.0f} MB before the upload began (interpreter, "
          f"httpx, numpy); ru_maxrss says {figures['ru_maxrss_kb'] / 1024:.0f} MB (the "
          f"parent's, inherited across exec)")
    print("CPU seconds during the whole call: " + ", ".join(
        f"{name} {seconds:.1f}" for name, seconds in cpu.items()))
    print("result: " + ", ".join(f"{k} {v}" for k, v in figures.items()
                                 if k in ("key_id", "preset", "refused")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--skip-upload", action="store_true")
    parser.add_argument("--random-bytes", action="store_true")
    parser.add_argument("--upload-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upload_child:
        upload_child(*args.upload_child)
        return
    with bench_stack() as stack:
        _, headers = asyncio.run(bench_account(stack))
        api_key = headers["Authorization"].removeprefix("Bearer ")
        print(f"WAVIS SDK benchmark: {os.cpu_count()} cores, OMP_NUM_THREADS="
              f"{os.environ.get('OMP_NUM_THREADS')}, load {os.getloadavg()[0]:.1f}")
        print(f"\n(a) blind CKKS multiply, N=8192 depth 1 (128-bit), {args.runs} runs")
        print(f"{'client':<36}{'p50 ms':>9}{'p90 ms':>9}")
        for label, p50, p90 in multiply_latencies(stack.gateway_url, api_key, args.runs):
            print(f"{label:<36}{p50:>9.1f}{p90:>9.1f}")
        if not args.skip_upload:
            measure_upload(stack, api_key, args.random_bytes)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
