"""A server-mode CKKS key and encrypted vectors, made through the REST API (aiohttp)."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

# Small, fast and insecure: for tests only.
TESTING_PARAMS = {"poly_degree": 2048, "scale_bits": 40, "max_depth": 2,
                  "security_level": "testing"}


async def generate_ckks_key(http: aiohttp.ClientSession, base: str,
                            params: dict[str, object] = TESTING_PARAMS) -> str:
    """The new key's id; `base` ends in /api/v1 and `http` carries the Authorization."""
    async with http.post(f"{base}/keys/generate",
                         json={"scheme": "ckks", "params": params}) as reply:
        assert reply.status == 201, await reply.text()
        return str((await reply.json())["key_id"])


async def encrypt(http: aiohttp.ClientSession, base: str, key_id: str,
                  values: Sequence[float]) -> str:
    """The stored ciphertext's id."""
    async with http.post(f"{base}/ciphertexts/encrypt",
                         json={"key_id": key_id, "values": list(values)}) as reply:
        assert reply.status == 201, await reply.text()
        return str((await reply.json())["ciphertext_id"])
