"""A server-mode CKKS key and encrypted vectors, made through the REST API (aiohttp)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiohttp

# Small, fast and insecure: for tests only. The 55-bit scale leaves server-mode decryption's
# noise about 8 bits on the default budget (docs/security.md).
TESTING_PARAMS = {"poly_degree": 2048, "scale_bits": 55, "max_depth": 2,
                  "security_level": "testing"}


async def generate_ckks_key(http: aiohttp.ClientSession, base: str,
                            params: dict[str, object] = TESTING_PARAMS) -> str:
    """The new key's id, once ready; `base` ends in /api/v1 and `http` carries the
    Authorization. (A loaded machine may answer 202: the key is then waited for.)"""
    async with http.post(f"{base}/keys/generate",
                         json={"scheme": "ckks", "params": params}) as reply:
        assert reply.status in (201, 202), await reply.text()
        key = await reply.json()
    for _ in range(600):
        if key["status"] != "pending":
            break
        await asyncio.sleep(0.1)
        async with http.get(f"{base}/keys/{key['key_id']}") as reply:
            key = await reply.json()
    assert key["status"] == "ready", key
    return str(key["key_id"])


async def encrypt(http: aiohttp.ClientSession, base: str, key_id: str,
                  values: Sequence[float]) -> str:
    """The stored ciphertext's id."""
    async with http.post(f"{base}/ciphertexts/encrypt",
                         json={"key_id": key_id, "values": list(values)}) as reply:
        assert reply.status == 201, await reply.text()
        return str((await reply.json())["ciphertext_id"])
