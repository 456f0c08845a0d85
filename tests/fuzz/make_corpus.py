"""Write the seed corpus: valid blobs of a small CKKS key (N=1024, insecure) and a toy TFHE
key, as a blind client sends them. The seeds are committed (corpus/seeds/); run this only to
replace them (for instance after an OpenFHE upgrade changes the serialization):

    OMP_NUM_THREADS=1 .venv/bin/python tests/fuzz/make_corpus.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import openfhe as fhe

SEEDS = Path(__file__).resolve().parent / "corpus" / "seeds"


def ckks_seeds() -> dict[str, bytes]:
    params = fhe.CCParamsCKKSRNS()
    params.SetMultiplicativeDepth(1)
    params.SetScalingModSize(30)
    params.SetRingDim(1024)
    params.SetSecurityLevel(fhe.HEStd_NotSet)
    params.SetScalingTechnique(fhe.FLEXIBLEAUTO)
    context = fhe.GenCryptoContext(params)
    for feature in (fhe.PKE, fhe.KEYSWITCH, fhe.LEVELEDSHE):
        context.Enable(feature)
    keys = context.KeyGen()
    context.EvalMultKeyGen(keys.secretKey)
    context.EvalRotateKeyGen(keys.secretKey, [1])
    tag = keys.secretKey.GetKeyTag()
    ciphertext = context.Encrypt(keys.publicKey, context.MakeCKKSPackedPlaintext([1.5, -2.0]))
    return {
        "ckks_crypto_context": fhe.Serialize(context, fhe.BINARY),
        "ckks_public_key": fhe.Serialize(keys.publicKey, fhe.BINARY),
        "ckks_eval_mult_key": fhe.SerializeEvalMultKeyString(fhe.BINARY, tag),
        "ckks_eval_rotation_keys": fhe.SerializeEvalAutomorphismKeyString(fhe.BINARY, tag),
        "ckks_ciphertext": fhe.Serialize(ciphertext, fhe.BINARY),
    }


def _file_bytes(obj: object, folder: str, name: str) -> bytes:
    path = os.path.join(folder, name)
    assert fhe.SerializeToFile(path, obj, fhe.BINARY)
    return Path(path).read_bytes()


def tfhe_seeds() -> dict[str, bytes]:
    """The toy context and a ciphertext (the bootstrapping key, 20 MB, is made at run time)."""
    context = fhe.BinFHEContext()
    context.GenerateBinFHEContext(fhe.TOY, fhe.GINX)
    secret = context.KeyGen()
    with tempfile.TemporaryDirectory() as folder:
        return {"tfhe_context": _file_bytes(context, folder, "context"),
                "tfhe_ciphertext": _file_bytes(context.Encrypt(secret, 1), folder, "ct")}


def main() -> None:
    SEEDS.mkdir(parents=True, exist_ok=True)
    for name, data in (ckks_seeds() | tfhe_seeds()).items():
        (SEEDS / f"{name}.bin").write_bytes(data)
        print(f"{name}: {len(data)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
