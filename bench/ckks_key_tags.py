"""What the server's key tags cost (docs/decisions/0080-the-server-owns-ckks-key-tags.md).

Once per uploaded key: the keys service's check writes the key set again under the key id
(`server_tagged_parts`). Per ciphertext read from the store: ckks-compute sets the key's tag on
it (`read_ciphertext`). Prints, per parameter set with the default rotations: the whole upload
check, the re-tagging within it, and a ciphertext read with and without the tag set.

    OMP_NUM_THREADS=1 .venv/bin/python bench/ckks_key_tags.py [--reads 200]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # services.*

import openfhe

from services.ckks_compute.compute import read_ciphertext
from wavis.fhe.ckks_key_tags import server_tagged_parts
from wavis.fhe.ckks_keys import KEY_FILES, _clear_globals, generate_ckks_key, inspect_ckks_key
from wavis.fhe.ckks_params import CkksParams

# (parameters, rotations: None for the default powers of two)
SETS: list[tuple[CkksParams, list[int] | None]] = [
    (CkksParams(8192, 40, 1), None), (CkksParams(16384, 50, 4), None),
    (CkksParams(32768, 50, 2), [1])]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def measure(params: CkksParams, rotations: list[int] | None, reads: int) -> None:
    folder = Path(tempfile.mkdtemp())
    generate_ckks_key(params, rotations, "key_bench", str(folder / "made"))
    files = {name: str(folder / "made" / KEY_FILES[name]) for name in KEY_FILES
             if name != "secret_key"}
    size = sum(os.path.getsize(path) for path in files.values())
    started = time.perf_counter()
    inspect_ckks_key(files, "key_uploaded", str(folder / "checked"))
    check = time.perf_counter() - started

    # The re-tagging alone, on the key set loaded as the check leaves it.
    _clear_globals(openfhe)
    cc = openfhe.DeserializeCryptoContextString(Path(files["crypto_context"]).read_bytes(),
                                                openfhe.BINARY)
    public_key = openfhe.DeserializePublicKeyString(Path(files["public_key"]).read_bytes(),
                                                    openfhe.BINARY)
    openfhe.DeserializeEvalMultKeyString(Path(files["eval_mult_key"]).read_bytes(),
                                         openfhe.BINARY)
    openfhe.DeserializeEvalAutomorphismKeyString(
        Path(files["eval_rotation_keys"]).read_bytes(), openfhe.BINARY)
    started = time.perf_counter()
    server_tagged_parts(openfhe, public_key, public_key.GetKeyTag(), "key_retagged", True)
    retag = time.perf_counter() - started

    data = openfhe.Serialize(cc.Encrypt(public_key, cc.MakeCKKSPackedPlaintext([0.5] * 8)),
                             openfhe.BINARY)
    plain, tagged = [], []
    for _ in range(reads):
        started = time.perf_counter()
        openfhe.DeserializeCiphertextString(data, openfhe.BINARY)
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        read_ciphertext(data, "key_retagged")
        tagged.append(time.perf_counter() - started)
    _clear_globals(openfhe)
    shutil.rmtree(folder)
    print(f"N={params.poly_degree} depth {params.max_depth} rotations "
          f"{'default' if rotations is None else rotations} ({size / 1e6:.1f} MB of keys): "
          f"upload check {_ms(check)}, of which re-tagging {_ms(retag)}; ciphertext read "
          f"p50 {_ms(statistics.median(plain))} -> {_ms(statistics.median(tagged))} with the "
          f"tag set ({len(data) / 1e6:.2f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()
    for params, rotations in SETS:
        measure(params, rotations, args.reads)


if __name__ == "__main__":
    main()
