"""An FHE-blind TFHE client: a toy BinFHE key (toy or toy_3) made by openfhe here, encrypt and
decrypt locally; and LWE ciphertexts built by hand, as an attacker would."""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import tempfile
import zipfile
from typing import Any

import openfhe as fhe

from wavis.core.tfhe_catalog import PRESET_BY_NAME, STANDARD_MODULUS


class ToyTfheClient:
    def __init__(self, preset: str = "toy") -> None:
        found = PRESET_BY_NAME[preset]
        assert found.security_bits == 0, "tests use the insecure presets"
        self.context = fhe.BinFHEContext()
        self.context.GenerateBinFHEContext(getattr(fhe, found.paramset),
                                           getattr(fhe, found.method))
        self.secret = self.context.KeyGen()
        self.context.BTKeyGen(self.secret)
        self._folder = tempfile.mkdtemp(prefix="tfhe-client-")

    def archive(self) -> bytes:
        """The eval key as the API's stored ZIP (context + bootstrap key)."""
        ctx_path = os.path.join(self._folder, "context.bin")
        bt_path = os.path.join(self._folder, "bootstrap_key.bin")
        assert fhe.SerializeToFile(ctx_path, self.context, fhe.BINARY)
        assert fhe.SerializeToFile(bt_path, self.context.GetBTKey(), fhe.BINARY)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as bundle:
            bundle.write(ctx_path, "context.bin")
            bundle.write(bt_path, "bootstrap_key.bin")
        return buffer.getvalue()

    def archive_b64(self) -> str:
        return base64.b64encode(self.archive()).decode()

    def encrypt(self, bit: int, plaintext_modulus: int = STANDARD_MODULUS) -> str:
        ct = self.context.Encrypt(self.secret, bit, fhe.FRESH, plaintext_modulus)
        return base64.b64encode(_to_bytes(ct, self._folder)).decode()

    def decrypt(self, text: str) -> int:
        """The bit, decrypted with the plaintext modulus the ciphertext carries."""
        ct = self._read(text)
        return int(self.context.Decrypt(self.secret, ct, ct.GetptModulus()))

    def plaintext_modulus(self, text: str) -> int:
        return int(self._read(text).GetptModulus())

    def _read(self, text: str) -> Any:
        path = os.path.join(self._folder, "ct.bin")
        with open(path, "wb") as out:
            out.write(base64.b64decode(text))
        ct, ok = fhe.DeserializeLWECiphertext(path, fhe.BINARY)
        assert ok
        return ct


def _to_bytes(obj: Any, folder: str) -> bytes:
    path = os.path.join(folder, "out.bin")
    assert fhe.SerializeToFile(path, obj, fhe.BINARY)
    with open(path, "rb") as handle:
        return handle.read()


def toy_lwe_ciphertext(a: list[int], b: int,
                       plaintext_modulus: int = STANDARD_MODULUS) -> bytes:
    """The BINARY bytes of the LWE ciphertext (a, b) of the toy presets' dimension and modulus,
    built by hand: what a caller who queries a secret key through decryption sends. OpenFHE's
    serialization of an LWE ciphertext ends with a's n words, a 4-byte version and a's modulus,
    then b and the plaintext modulus, each a little-endian 64-bit word; the bytes are read back
    with OpenFHE to check they say what was asked."""
    context = fhe.BinFHEContext()
    context.GenerateBinFHEContext(fhe.TOY, fhe.GINX)
    n, q = int(context.Getn()), int(context.Getq())
    assert len(a) == n and all(0 <= x < q for x in a) and 0 <= b < q
    with tempfile.TemporaryDirectory() as folder:
        template = bytearray(_to_bytes(context.Encrypt(context.KeyGen(), 0), folder))
        start = len(template) - (8 * n + 4 + 8 + 8 + 8)
        for i, value in enumerate(a):
            struct.pack_into("<Q", template, start + 8 * i, value)
        struct.pack_into("<QQ", template, len(template) - 16, b, plaintext_modulus)
        data = bytes(template)
        path = os.path.join(folder, "chosen.bin")
        with open(path, "wb") as out:
            out.write(data)
        assert fhe.SerializeToFile(path + ".json", fhe.DeserializeLWECiphertext(
            path, fhe.BINARY)[0], fhe.JSON)
        with open(path + ".json") as handle:
            read = json.load(handle)["value0"]["ptr_wrapper"]["data"]
    assert (read["a"]["v"], read["a"]["m"]["v"], read["b"]["v"], read["p"]["v"]) == \
        (list(a), q, b, plaintext_modulus)
    return data
