"""An FHE-blind TFHE client: a toy BinFHE key made by openfhe here, encrypt and decrypt locally."""

from __future__ import annotations

import base64
import io
import os
import tempfile
import zipfile
from typing import Any

import openfhe as fhe


class ToyTfheClient:
    def __init__(self) -> None:
        self.context = fhe.BinFHEContext()
        self.context.GenerateBinFHEContext(fhe.TOY, fhe.GINX)
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

    def encrypt(self, bit: int) -> str:
        return base64.b64encode(_to_bytes(self.context.Encrypt(self.secret, bit),
                                          self._folder)).decode()

    def decrypt(self, text: str) -> int:
        path = os.path.join(self._folder, "ct.bin")
        with open(path, "wb") as out:
            out.write(base64.b64decode(text))
        ct, ok = fhe.DeserializeLWECiphertext(path, fhe.BINARY)
        assert ok
        return int(self.context.Decrypt(self.secret, ct))


def _to_bytes(obj: Any, folder: str) -> bytes:
    path = os.path.join(folder, "out.bin")
    assert fhe.SerializeToFile(path, obj, fhe.BINARY)
    with open(path, "rb") as handle:
        return handle.read()
