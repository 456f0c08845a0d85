"""Mutants read by OpenFHE in a plain process, as our services never do: finds the inputs that
crash OpenFHE natively (a signal, not an exception). Each runs in a forked child; a child that
dies by a signal is a crasher, saved to corpus/regressions/ so the API fuzzing replays it for
ever (the services read untrusted bytes in worker processes, so a crasher must cost a worker,
never a service).

    OMP_NUM_THREADS=1 .venv/bin/python tests/fuzz/native.py [--cases 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[1] / "libs")]

from fuzz.mutate import mutants  # noqa: E402

SEEDS = HERE / "corpus" / "seeds"
REGRESSIONS = HERE / "corpus" / "regressions"


def _ckks_ciphertext(data: bytes) -> None:
    import openfhe

    ciphertext = openfhe.DeserializeCiphertextString(data, openfhe.BINARY)
    ciphertext.GetLevel()
    ciphertext.GetCryptoContext().GetRingDimension()


def _ckks(function: str) -> Callable[[bytes], None]:
    def read(data: bytes) -> None:
        import openfhe

        getattr(openfhe, function)(data, openfhe.BINARY)

    return read


def _binfhe(kind: str) -> Callable[[bytes], None]:
    def read(data: bytes) -> None:
        from wavis.fhe.binfhe_io import deserialize_binfhe_from_bytes

        deserialize_binfhe_from_bytes(kind, data)

    return read


# seed file -> what reads it (the deserializers our workers call on untrusted bytes)
READERS: dict[str, Callable[[bytes], None]] = {
    "ckks_ciphertext": _ckks_ciphertext,
    "ckks_crypto_context": _ckks("DeserializeCryptoContextString"),
    "ckks_public_key": _ckks("DeserializePublicKeyString"),
    "ckks_eval_mult_key": _ckks("DeserializeEvalMultKeyString"),
    "ckks_eval_rotation_keys": _ckks("DeserializeEvalAutomorphismKeyString"),
    "tfhe_ciphertext": _binfhe("ciphertext"),
    "tfhe_context": _binfhe("context"),
}


def outcome_in_child(reader: Callable[[bytes], None], data: bytes) -> str:
    """"ok", "refused" (an exception) or "signal N" (a native crash), read in a fork."""
    pid = os.fork()
    if pid == 0:  # the child: read, then leave without cleanup
        code = 0
        try:
            reader(data)
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return "ok" if os.WEXITSTATUS(status) == 0 else "refused"


def regression_path(kind: str, data: bytes) -> Path:
    return REGRESSIONS / f"{kind}-{hashlib.sha256(data).hexdigest()[:12]}.bin"


def run(cases: int, seed: int) -> Counter[tuple[str, str]]:
    import openfhe  # noqa: F401  (loaded once, before the forks)

    rng = random.Random(seed)
    results: Counter[tuple[str, str]] = Counter()
    per_kind = max(1, cases // len(READERS))
    REGRESSIONS.mkdir(parents=True, exist_ok=True)
    for kind, reader in READERS.items():
        seed_bytes = (SEEDS / f"{kind}.bin").read_bytes()
        for _, data in mutants(seed_bytes, rng, per_kind):
            outcome = outcome_in_child(reader, data)
            results[(kind, outcome.split(" ")[0])] += 1
            if outcome.startswith("signal"):
                path = regression_path(kind, data)
                if not path.exists():
                    path.write_bytes(data)
                    print(f"{kind}: {outcome} -> {path.relative_to(HERE)}", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    results = run(args.cases, args.seed)
    print(f"{'seed':<26} {'ok':>6} {'refused':>8} {'crashed':>8}")
    for kind in READERS:
        print(f"{kind:<26} {results[(kind, 'ok')]:>6} {results[(kind, 'refused')]:>8} "
              f"{results[(kind, 'signal')]:>8}")


if __name__ == "__main__":
    main()
