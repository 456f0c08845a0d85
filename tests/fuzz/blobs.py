"""Mutated OpenFHE blobs through the API of a live stack: CKKS keys and ciphertexts, TFHE
eval-key archives and ciphertexts, from the committed corpus (seeds and the regressions that
crash OpenFHE natively) plus generated mutants (truncated, bit flips, region overwrites,
random bytes, wrong parameters).

Every answer must be below 500 and, when refused, in the contract's error envelope; no process
of the stack may restart. Starts its own stack unless given one.

    OMP_NUM_THREADS=1 .venv/bin/python tests/fuzz/blobs.py [--cases 400] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import random
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[1] / "libs"), str(HERE.parents[1])]

from fuzz.mutate import mutants  # noqa: E402
from support.accounts import create_account  # noqa: E402
from support.fhe_client import make_ckks_client  # noqa: E402
from support.tfhe_client import ToyTfheClient  # noqa: E402
from wavis.core.errors import ERROR_CODES  # noqa: E402
from wavis.devstack.stack import Stack  # noqa: E402

SEEDS = HERE / "corpus" / "seeds"
REGRESSIONS = HERE / "corpus" / "regressions"
CKKS_PARTS = ("crypto_context", "public_key", "eval_mult_key", "eval_rotation_keys")
SERVER_KEY = {"scheme": "ckks", "rotations": [1],
              "params": {"poly_degree": 2048, "scale_bits": 40, "max_depth": 2,
                         "security_level": "testing"}}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class Tally:
    """Answers per target: status counts, and what broke the contract."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    def check(self, target: str, what: str, status: int, body: Any) -> None:
        self.statuses[(target, status)] += 1
        if status >= 500:
            self.violations.append(f"{target}: {what}: {status} {body}")
        elif status >= 400 and status != 429:
            error = body.get("error") if isinstance(body, dict) else None
            if not (isinstance(error, dict) and error.get("code") in ERROR_CODES
                    and isinstance(error.get("message"), str)
                    and isinstance(error.get("request_id"), str)
                    and isinstance(error.get("details"), dict)):
                self.violations.append(f"{target}: {what}: {status} outside the envelope: "
                                       f"{body}")


class Client:
    def __init__(self, session: aiohttp.ClientSession, base: str, tally: Tally) -> None:
        self.session, self.base, self.tally = session, base, tally

    async def call(self, target: str, method: str, path: str,
                   body: dict[str, Any] | None = None) -> tuple[int, Any]:
        try:
            async with self.session.request(method, self.base + path, json=body) as reply:
                data = (await reply.json(content_type=None) if reply.content_length != 0
                        else None)
        except aiohttp.ClientError as exc:  # the gateway dropped the connection: a failure
            self.tally.statuses[(target, 0)] += 1
            self.tally.violations.append(f"{target}: {method} {path}: no answer ({exc!r})")
            return 0, None
        self.tally.check(target, f"{method} {path}", reply.status, data)
        return reply.status, data


def corpus(kind: str) -> list[bytes]:
    """The seed of `kind` and its regressions."""
    found = [(SEEDS / f"{kind}.bin").read_bytes()] if (SEEDS / f"{kind}.bin").exists() else []
    return found + [path.read_bytes() for path in sorted(REGRESSIONS.glob(f"{kind}-*.bin"))]


def archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


async def fuzz_ckks_keys(client: Client, rng: random.Random, cases: int) -> None:
    """One part of a valid blind key replaced: by a mutant, a regression, or another key's."""
    valid = {part: (SEEDS / f"ckks_{part}.bin").read_bytes() for part in CKKS_PARTS}
    other = make_ckks_client(ring_dim=2048, depth=2).wire()  # wrong parameters
    candidates: list[tuple[str, bytes]] = []
    for part in CKKS_PARTS:
        candidates += [(part, blob) for blob in corpus(f"ckks_{part}")[1:]]
        candidates += [(part, base64.b64decode(other[part]))]
        candidates += [(part, mutant) for _, mutant in
                       mutants(valid[part], rng, max(1, cases // len(CKKS_PARTS)))]
    for part, blob in candidates:
        body = {"scheme": "ckks", **{name: b64(data) for name, data in valid.items()},
                part: b64(blob)}
        status, data = await client.call("ckks key", "POST", "/keys/upload", body)
        if status == 201:
            await client.call("ckks key", "DELETE", f"/keys/{data['key_id']}")


async def fuzz_ckks_ciphertexts(client: Client, rng: random.Random, cases: int) -> None:
    """Mutated ciphertexts uploaded under a blind key and a server key, then computed on and
    (server key) decrypted."""
    valid = {part: (SEEDS / f"ckks_{part}.bin").read_bytes() for part in CKKS_PARTS}
    _, blind = await client.call("setup", "POST", "/keys/upload",
                                 {"scheme": "ckks", **{k: b64(v) for k, v in valid.items()}})
    _, server = await client.call("setup", "POST", "/keys/generate", SERVER_KEY)
    _, encrypted = await client.call("setup", "POST", "/ciphertexts/encrypt",
                                     {"key_id": server["key_id"], "values": [1.0, 2.0]})
    _, stored = await client.call("setup", "GET", f"/ciphertexts/{encrypted['ciphertext_id']}")
    seeds = {blind["key_id"]: corpus("ckks_ciphertext"),
             server["key_id"]: [base64.b64decode(stored["data"])]}
    for key_id, blobs in seeds.items():
        _, good = await client.call("setup", "POST", "/ciphertexts",
                                    {"key_id": key_id, "data": b64(blobs[0])})
        candidates = blobs[1:] + [m for _, m in mutants(blobs[0], rng, cases // 2)]
        for blob in candidates:
            status, data = await client.call("ckks ciphertext", "POST", "/ciphertexts",
                                             {"key_id": key_id, "data": b64(blob)})
            if status != 201:
                continue
            ids = [data["ciphertext_id"], good["ciphertext_id"]]
            for operation in ("add", "multiply", "rotate"):
                extra = {"rotation_steps": 1} if operation == "rotate" else {}
                await client.call("ckks ciphertext", "POST", f"/compute/{operation}",
                                  {"key_id": key_id, "ciphertext_ids": ids[:1 if extra else 2],
                                   **extra})
            if key_id == server["key_id"]:
                await client.call("ckks ciphertext", "POST",
                                  f"/ciphertexts/{ids[0]}/decrypt", {})
            await client.call("ckks ciphertext", "DELETE", f"/ciphertexts/{ids[0]}")
    for key in (blind, server):
        await client.call("setup", "DELETE", f"/keys/{key['key_id']}")


async def fuzz_tfhe_archives(client: Client, rng: random.Random, cases: int) -> None:
    """Eval-key archives: the context member mutated or a regression, the bootstrapping key
    truncated or with a mutated header, the ZIP itself mutated."""
    tfhe = ToyTfheClient()
    with zipfile.ZipFile(io.BytesIO(tfhe.archive())) as bundle:
        members = {name: bundle.read(name) for name in bundle.namelist()}
    context_name = next(name for name in members if name.startswith("context"))
    key_name = next(name for name in members if name.startswith("bootstrap"))
    key = members[key_name]
    # Regressions crash the context's reader, which runs first: a short key keeps them cheap.
    candidates = [archive({context_name: blob, key_name: key[:4096]})
                  for blob in corpus("tfhe_context")[1:]]
    for strategy, mutant in mutants(members[context_name], rng, cases // 2):
        candidates.append(archive(members | {context_name: mutant}))
        # The 20 MB key: mutate its first 4 KB (headers, lengths) or cut it.
        head = mutant if strategy == "random" else key[:4096]
        candidates.append(archive(members | {key_name: head[:4096] + key[4096:]}))
    whole = archive(members)
    candidates += [m for _, m in mutants(whole[:65536], rng, 4)]  # the ZIP's own structure
    candidates.append(archive({context_name: members[context_name]}))  # no key at all
    for blob in candidates:
        status, data = await client.call("tfhe archive", "POST", "/tfhe/eval-session",
                                         {"eval_key_b64": b64(blob)})
        if status == 201:
            await client.call("tfhe archive", "DELETE", f"/tfhe/session/{data['session_id']}")


async def fuzz_tfhe_ciphertexts(client: Client, rng: random.Random, cases: int) -> None:
    """Mutated LWE ciphertexts as gate inputs of a blind session, whose workers read them;
    mutated server-issued ciphertexts as gate inputs of their server-mode session and to
    decrypt, which refuse them before anything reads them (their tags)."""
    tfhe = ToyTfheClient()
    _, blind = await client.call("setup", "POST", "/tfhe/eval-session",
                                 {"eval_key_b64": tfhe.archive_b64()})
    _, server = await client.call("setup", "POST", "/tfhe/session", {"preset": "toy"})
    _, bits = await client.call("setup", "POST", f"/tfhe/session/{server['session_id']}/encrypt",
                                {"bits": [1, 0]})
    seeds = corpus("tfhe_ciphertext")
    issued = base64.b64decode(bits["ciphertexts_b64"][0])
    for session, good, blobs in (
            (blind["session_id"], tfhe.encrypt(0),
             seeds + [m for _, m in mutants(seeds[0], rng, cases // 2)]),
            (server["session_id"], bits["ciphertexts_b64"][1],
             [issued] + [m for _, m in mutants(issued, rng, cases // 2)])):
        for blob in blobs:
            await client.call("tfhe ciphertext", "POST", "/tfhe/gate",
                              {"session_id": session, "op": "NAND", "a": b64(blob), "b": good})
            await client.call("tfhe ciphertext", "POST", "/tfhe/batch",
                              {"session_id": session, "gates": [
                                  {"op": "AND", "a": good, "b": b64(blob)},
                                  {"op": "NOT", "a": "$0"}]})
            if session == server["session_id"]:
                await client.call("tfhe ciphertext", "POST", f"/tfhe/session/{session}/decrypt",
                                  {"ciphertext_b64": b64(blob)})
    for made in (blind, server):
        await client.call("setup", "DELETE", f"/tfhe/session/{made['session_id']}")


TARGETS: dict[str, Callable[[Client, random.Random, int], Awaitable[None]]] = {
    "ckks key": fuzz_ckks_keys,
    "ckks ciphertext": fuzz_ckks_ciphertexts,
    "tfhe archive": fuzz_tfhe_archives,
    "tfhe ciphertext": fuzz_tfhe_ciphertexts,
}


async def run(stack: Stack, cases: int, seed: int,
              targets: tuple[str, ...] = tuple(TARGETS)) -> tuple[Tally, list[str]]:
    """Fuzz every target with about `cases` mutants each; (answers, processes restarted)."""
    before = stack.pids()
    tally = Tally()
    tenant = await create_account(stack, plan="enterprise")
    rng = random.Random(seed)
    async with aiohttp.ClientSession(headers=tenant.auth(),
                                     timeout=aiohttp.ClientTimeout(total=300)) as session:
        client = Client(session, stack.gateway_url + "/api/v1", tally)
        for name in targets:
            await TARGETS[name](client, rng, cases)
    after = stack.pids()
    restarted = [name for name, pid in before.items()
                 if after.get(name) != pid or not alive(stack, name)]
    return tally, restarted


def alive(stack: Stack, name: str) -> bool:
    child = stack.services.get(name) or (stack.gateway if name == "gateway" else None)
    return child is None or child.alive()


def report(tally: Tally, restarted: list[str]) -> bool:
    print(f"{'target':<16} {'cases':>6}  statuses")
    for target in sorted({name for name, _ in tally.statuses if name in TARGETS}):
        counts = {status: n for (name, status), n in tally.statuses.items() if name == target}
        print(f"{target:<16} {sum(counts.values()):>6}  "
              + ", ".join(f"{n} x {status}" for status, n in sorted(counts.items())))
    fives = sum(n for (_, status), n in tally.statuses.items() if status >= 500)
    print(f"\n5xx: {fives}; outside the envelope or 5xx: {len(tally.violations)}; "
          f"processes restarted: {len(restarted)} {restarted or ''}")
    for violation in tally.violations[:20]:
        print("  " + violation[:300])
    return not tally.violations and not restarted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=400, help="mutants per target")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the stack's data and logs here")
    parser.add_argument("--target", action="append", choices=list(TARGETS),
                        help="only these targets (repeatable); default: every one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wavis-fuzz-") as scratch:
        folder = args.keep or Path(scratch)
        stack = Stack(data_dir=Path(folder) / "data", http_port=0,
                      log_dir=Path(folder) / "logs", env={"WAVIS_LOG_LEVEL": "warning"})
        stack.start()
        try:
            tally, restarted = asyncio.run(run(stack, args.cases, args.seed,
                                               tuple(args.target or TARGETS)))
        finally:
            stack.stop()
    sys.exit(0 if report(tally, restarted) else 1)


if __name__ == "__main__":
    main()
