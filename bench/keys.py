"""Keys service figures: key generation time per CKKS parameter set and TFHE preset, and
chunked-upload throughput and memory for a real fast_128 bootstrapping key.

Starts its own stack (nothing shared with `make run`) and goes through the gateway like a
client. Peak RSS is the keys service process's high-water mark (VmHWM) before and after the
upload; the worker process that checks the key is reported separately (deserializing a
secure bootstrapping key needs about twice its size, by OpenFHE's design).

    .venv/bin/python bench/keys.py [--skip-secure]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import tempfile
import time
import zipfile
from pathlib import Path

import aiohttp
from benchlib import bench_headers, bench_stack

CKKS_SETS = [
    ("N=4096 depth 2 (testing)", {"poly_degree": 4096, "scale_bits": 40, "max_depth": 2,
                                  "security_level": "testing"}, None),
    ("N=8192 depth 1 (128-bit)", {"poly_degree": 8192, "scale_bits": 40, "max_depth": 1}, None),
    ("N=16384 depth 5 (128-bit)", {"poly_degree": 16384, "scale_bits": 50, "max_depth": 5},
     None),
    ("N=32768 depth 2 (128-bit), rotations [1]",
     {"poly_degree": 32768, "scale_bits": 50, "max_depth": 2}, [1]),
]


def _hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


async def _generate(session: aiohttp.ClientSession, base: str, auth: dict[str, str],
                    body: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    async with session.post(base + "/keys/generate", json=body, headers=auth) as response:
        key = await response.json()
        assert response.status in (201, 202), key
    while key["status"] == "pending":
        await asyncio.sleep(0.2)
        async with session.get(f"{base}/keys/{key['key_id']}", headers=auth) as response:
            key = await response.json()
    assert key["status"] == "ready", key
    return time.perf_counter() - started, key


def _fast_128_archive(folder: Path) -> tuple[Path, float]:
    import openfhe as fhe

    started = time.perf_counter()
    context = fhe.BinFHEContext()
    context.GenerateBinFHEContext(fhe.STD128, fhe.GINX)
    secret = context.KeyGen()
    context.BTKeyGen(secret)
    keygen = time.perf_counter() - started
    fhe.SerializeToFile(str(folder / "context.bin"), context, fhe.BINARY)
    fhe.SerializeToFile(str(folder / "bootstrap_key.bin"), context.GetBTKey(), fhe.BINARY)
    archive = folder / "fast_128.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED, allowZip64=True) as bundle:
        bundle.write(folder / "context.bin", "context.bin")
        bundle.write(folder / "bootstrap_key.bin", "bootstrap_key.bin")
    (folder / "bootstrap_key.bin").unlink()
    return archive, keygen


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-secure", action="store_true",
                        help="skip fast_128 generation and the 900 MB upload")
    args = parser.parse_args()
    with bench_stack() as stack:
        auth = await bench_headers(stack)
        base = stack.gateway_url + "/api/v1"
        timeout = aiohttp.ClientTimeout(total=1800)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            print(f"WAVIS keys benchmark: {os.cpu_count()} cores, OMP_NUM_THREADS="
                  f"{os.environ.get('OMP_NUM_THREADS')}, one keygen worker process")
            print(f"{'key generation (server mode, via HTTP)':<48}{'seconds':>9}"
                  f"{'stored MB':>11}{'rotations':>11}")
            for label, params, rotations in CKKS_SETS:
                body = {"scheme": "ckks", "params": params}
                if rotations:
                    body["rotations"] = rotations
                seconds, key = await _generate(session, base, auth, body)
                print(f"CKKS {label:<43}{seconds:>9.2f}{key['size_bytes'] / 1e6:>11.1f}"
                      f"{len(key['rotations']):>11}")
            presets = ["toy"] + ([] if args.skip_secure else ["fast_128", "standard_128"])
            for preset in presets:
                seconds, key = await _generate(session, base, auth,
                                               {"scheme": "tfhe", "preset": preset})
                print(f"TFHE {preset:<43}{seconds:>9.2f}{key['size_bytes'] / 1e6:>11.1f}"
                      f"{'':>11}")
            if args.skip_secure:
                return
            scratch = tempfile.TemporaryDirectory(prefix="wavis-bench-key-")
            archive, keygen = _fast_128_archive(Path(scratch.name))
            size = archive.stat().st_size
            digest = hashlib.sha256(archive.read_bytes())
            keys_pid = stack.services["keys"].pid
            hwm_before = _hwm_kb(keys_pid)
            async with session.post(base + "/keys/uploads", headers=auth, json={
                    "scheme": "tfhe", "kind": "tfhe_eval_key", "size_bytes": size,
                    "sha256": digest.hexdigest()}) as response:
                upload = await response.json()
            started = time.perf_counter()
            with archive.open("rb") as handle:  # a benchmark client: blocking reads are fine
                for number in range(1, upload["part_count"] + 1):
                    part = handle.read(upload["part_size"])
                    async with session.put(
                            f"{base}/keys/uploads/{upload['upload_id']}/parts/{number}",
                            data=part, headers=auth) as response:
                        assert response.status == 204, await response.text()
            parts_seconds = time.perf_counter() - started
            started = time.perf_counter()
            async with session.post(f"{base}/keys/uploads/{upload['upload_id']}/complete",
                                    headers=auth) as response:
                key = await response.json()
                assert response.status == 201, key
            complete_seconds = time.perf_counter() - started
            hwm_after = _hwm_kb(keys_pid)
            workers = _children(keys_pid)
            print(f"\nclient-side fast_128 keygen (openfhe, this process): {keygen:.1f} s")
            print(f"chunked upload of a fast_128 eval key: {size / 1e6:.0f} MB in "
                  f"{upload['part_count']} parts of {upload['part_size'] >> 20} MiB")
            print(f"  parts: {parts_seconds:.1f} s = {size / 1e6 / parts_seconds:.0f} MB/s "
                  f"through the gateway")
            print(f"  complete (sha256, unpack, check in a worker): {complete_seconds:.1f} s"
                  f"; preset read from the key: {key['preset']}")
            print(f"  keys service peak RSS: {hwm_before / 1024:.0f} MB before, "
                  f"{hwm_after / 1024:.0f} MB after (growth "
                  f"{(hwm_after - hwm_before) / 1024:.0f} MB)")
            for pid in workers:
                print(f"  key-check worker {pid} peak RSS: {_hwm_kb(pid) / 1024:.0f} MB")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    asyncio.run(main())
