"""What a client does with OpenFHE on its own side: make keys, serialize them in the API's wire
encodings (docs/api.md), encrypt and decrypt. Tests use it to play an FHE-blind client."""

from __future__ import annotations

import base64
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from typing import Any

import openfhe as fhe


@dataclass
class CkksClient:
    context: Any
    keys: Any

    def wire(self, rotations: bool = True) -> dict[str, str]:
        tag = self.keys.secretKey.GetKeyTag()
        parts = {
            "crypto_context": fhe.Serialize(self.context, fhe.BINARY),
            "public_key": fhe.Serialize(self.keys.publicKey, fhe.BINARY),
            "eval_mult_key": fhe.SerializeEvalMultKeyString(fhe.BINARY, tag),
        }
        if rotations:
            parts["eval_rotation_keys"] = fhe.SerializeEvalAutomorphismKeyString(fhe.BINARY, tag)
        return {name: base64.b64encode(data).decode() for name, data in parts.items()}


def make_ckks_client(ring_dim: int = 2048, depth: int = 2, scale_bits: int = 30,
                     rotations: tuple[int, ...] = (1, -1)) -> CkksClient:
    params = fhe.CCParamsCKKSRNS()
    params.SetMultiplicativeDepth(depth)
    params.SetScalingModSize(scale_bits)
    params.SetRingDim(ring_dim)
    params.SetSecurityLevel(fhe.HEStd_NotSet if ring_dim < 8192 else fhe.HEStd_128_classic)
    params.SetScalingTechnique(fhe.FLEXIBLEAUTO)
    context = fhe.GenCryptoContext(params)
    for feature in (fhe.PKE, fhe.KEYSWITCH, fhe.LEVELEDSHE):
        context.Enable(feature)
    keys = context.KeyGen()
    context.EvalMultKeyGen(keys.secretKey)
    context.EvalRotateKeyGen(keys.secretKey, list(rotations))
    return CkksClient(context, keys)


def toy_tfhe_archive() -> bytes:
    """A client's toy BinFHE eval key as the API's stored ZIP (context + bootstrap key)."""
    context = fhe.BinFHEContext()
    context.GenerateBinFHEContext(fhe.TOY, fhe.GINX)
    secret = context.KeyGen()
    context.BTKeyGen(secret)
    with tempfile.TemporaryDirectory() as folder:
        ctx_path, bt_path = os.path.join(folder, "c"), os.path.join(folder, "b")
        assert fhe.SerializeToFile(ctx_path, context, fhe.BINARY)
        assert fhe.SerializeToFile(bt_path, context.GetBTKey(), fhe.BINARY)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            archive.write(ctx_path, "context.bin")
            archive.write(bt_path, "bootstrap_key.bin")
    return buffer.getvalue()
