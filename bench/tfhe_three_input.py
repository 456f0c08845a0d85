"""Three-input TFHE presets in raw OpenFHE: key generation, key sizes, and gate times.

One child process per preset (so each figure of memory is that preset's alone, at
OMP_NUM_THREADS=1): it generates the key, serializes the context and the bootstrapping key,
then times NAND, AND3, OR3, MAJORITY and MUX (built as the service builds it) in turns, on
ciphertexts that went through serialization, inputs cycling through all eight rows of the
truth tables, and counts the outputs that decrypt wrong. A gate's time over NAND's (one
bootstrap) is the bootstraps it really runs; the price counts them from
wavis.core.tfhe_catalog.

    .venv/bin/python bench/tfhe_three_input.py [--gates 40] [--presets toy_3,fast_128_3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from wavis.core.tfhe_catalog import GATE_BY_OP, PRESET_BY_NAME, PRESETS

TIMED = ("NAND", "AND3", "OR3", "MAJORITY", "MUX")
TRUTH = {
    "NAND": lambda a, b, c: 1 - (a & b),
    "AND3": lambda a, b, c: a & b & c,
    "OR3": lambda a, b, c: a | b | c,
    "MAJORITY": lambda a, b, c: int(a + b + c >= 2),
    "MUX": lambda a, b, c: a if c else b,  # c is the selector
}


def child(preset: str, gates: int) -> None:
    import openfhe as fhe

    from wavis.fhe.binfhe_io import (
        deserialize_binfhe_from_bytes,
        serialize_binfhe_to_bytes,
        serialize_binfhe_to_file,
    )

    found = PRESET_BY_NAME[preset]
    cc = fhe.BinFHEContext()
    cc.GenerateBinFHEContext(getattr(fhe, found.paramset), getattr(fhe, found.method))
    started = time.perf_counter()
    secret = cc.KeyGen()
    cc.BTKeyGen(secret)
    keygen = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        serialize_binfhe_to_file(cc.GetBTKey(), os.path.join(folder, "bootstrap_key.bin"))
        serialize_binfhe_to_file(cc, os.path.join(folder, "context.bin"))
        key_bytes = os.path.getsize(os.path.join(folder, "bootstrap_key.bin"))
        context_bytes = os.path.getsize(os.path.join(folder, "context.bin"))

    def fresh(bit: int, modulus: int):  # type: ignore[no-untyped-def]
        data = serialize_binfhe_to_bytes(cc.Encrypt(secret, bit, fhe.FRESH, modulus))
        return deserialize_binfhe_from_bytes("ciphertext", data), len(data)

    ops = [op for op in TIMED if found.three_input or not GATE_BY_OP[op].three_input]
    samples: dict[str, list[float]] = {op: [] for op in ops}
    wrong = dict.fromkeys(ops, 0)
    ciphertext_bytes = fresh(1, 4)[1]
    # Round robin over the gates, so the machine's drift touches each the same.
    for i in range(gates):
        bits = ((i >> 2) & 1, (i >> 1) & 1, i & 1)
        for op in ops:
            a, b, c = (fresh(bit, GATE_BY_OP[op].plaintext_modulus)[0] for bit in bits)
            t = time.perf_counter()
            if op == "MUX":
                chosen_a = cc.EvalBinGate(fhe.AND, c, a)
                chosen_b = cc.EvalBinGate(fhe.AND, cc.EvalNOT(c), b)
                out = cc.EvalBinGate(fhe.OR, chosen_a, chosen_b)
            elif op == "NAND":
                out = cc.EvalBinGate(fhe.NAND, a, b)
            else:
                out = cc.EvalBinGate(getattr(fhe, op), [a, b, c])
            samples[op].append(time.perf_counter() - t)
            wrong[op] += cc.Decrypt(secret, out, out.GetptModulus()) != TRUTH[op](*bits)
    figures = {op: {"p50_ms": statistics.median(samples[op]) * 1000, "wrong": wrong[op]}
               for op in ops}
    print(json.dumps({
        "preset": preset, "n": int(cc.Getn()), "big_n": int(cc.GetN()), "q": int(cc.Getq()),
        "keygen_s": keygen, "bootstrap_key_bytes": key_bytes, "context_bytes": context_bytes,
        "ciphertext_bytes": ciphertext_bytes,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "gates": figures}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gates", type=int, default=40, help="gates timed per gate kind")
    parser.add_argument("--presets", default=",".join(p.name for p in PRESETS if p.three_input),
                        help="comma-separated presets (default: the three-input ones)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.gates)
        return
    print(f"{'preset':<20}{'n':>5}{'N':>6}{'keygen s':>10}{'key MB':>9}{'ct B':>7}"
          f"{'RSS MB':>8}  gate p50 ms (x NAND) [wrong]")
    for preset in args.presets.split(","):
        done = subprocess.run([sys.executable, __file__, "--child", preset, "--gates",
                               str(args.gates)], capture_output=True, text=True, check=True,
                              env=os.environ | {"OMP_NUM_THREADS": "1"})
        row = json.loads(done.stdout)
        nand = row["gates"]["NAND"]["p50_ms"]
        times = "  ".join(f"{op} {g['p50_ms']:.1f} (x{g['p50_ms'] / nand:.2f}) [{g['wrong']}]"
                          for op, g in row["gates"].items())
        print(f"{preset:<20}{row['n']:>5}{row['big_n']:>6}{row['keygen_s']:>10.2f}"
              f"{row['bootstrap_key_bytes'] / 1e6:>9.1f}{row['ciphertext_bytes']:>7}"
              f"{row['max_rss_mb']:>8.0f}  {times}", flush=True)


if __name__ == "__main__":
    main()
