"""An FHE-blind TFHE client: a toy BinFHE key (toy or toy_3) made by openfhe here, encrypt and
decrypt locally."""

from __future__ import annotations

import base64
import io
import os
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
