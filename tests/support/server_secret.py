"""Decrypting in the test with a server-mode key's own secret (fetched from the keys
service): for results server-mode decryption refuses by design (a bootstrapped ciphertext's
error is more than its noise flooding can hide, docs/security.md) whose values a test checks."""

from __future__ import annotations

import base64

import numpy as np
import openfhe as fhe

from wavis.core.grpc_client import open_channel
from wavis.devstack.stack import Stack
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc


async def _component(stub: keys_pb2_grpc.KeysServiceStub, key_id: str, name: str) -> bytes:
    chunks = stub.FetchKeyMaterial(keys_pb2.FetchKeyMaterialRequest(key_id=key_id,
                                                                    component=name))
    return b"".join([chunk.data async for chunk in chunks])


async def decrypt_with_the_servers_secret(stack: Stack, key_id: str, data_b64: str,
                                          length: int) -> np.ndarray:
    """The first `length` values of a downloaded ciphertext (its base64 `data`)."""
    async with open_channel(f"127.0.0.1:{stack.service_ports['keys']}") as channel:
        stub = keys_pb2_grpc.KeysServiceStub(channel)
        context = fhe.DeserializeCryptoContextString(
            await _component(stub, key_id, "crypto_context"), fhe.BINARY)
        secret = fhe.DeserializePrivateKeyString(await _component(stub, key_id, "secret_key"),
                                                 fhe.BINARY)
    ciphertext = fhe.DeserializeCiphertextString(base64.b64decode(data_b64), fhe.BINARY)
    plain = context.Decrypt(ciphertext, secret)
    plain.SetLength(length)
    return np.array(plain.GetRealPackedValue())
