"""An account with a server-mode CKKS key, driven through the REST API (support.http.Api):
encrypt, run programs, decrypt, and look at what was billed and stored."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import redis.asyncio as aioredis

from support.accounts import Tenant, create_account
from support.http import Api
from support.server_secret import decrypt_with_the_servers_secret
from wavis.devstack.stack import Stack

# Small, fast and insecure: for tests only (slot_count 1024). Server-mode decryption adds
# noise at the key's published precision (docs/security.md): about 10 bits at this scale.
PARAMS = {"poly_degree": 2048, "scale_bits": 55, "max_depth": 3, "security_level": "testing"}
SLOTS = 1024


class CkksAccount:
    """One account with a server-mode key."""

    def __init__(self, api: Api, mesh: Stack, tenant: Tenant, key: dict[str, Any]) -> None:
        self.api, self.mesh, self.tenant, self.key = api, mesh, tenant, key
        self.tolerance = 0.0  # 2^-precision_bits of the last decryption

    async def encrypt(self, values: np.ndarray) -> str:
        reply = await self.api.post("/api/v1/ciphertexts/encrypt", headers=self.tenant.auth(),
                                    json={"key_id": self.key["key_id"],
                                          "values": values.tolist()})
        assert reply.status == 201, reply.text
        return str(reply.json["ciphertext_id"])

    async def program(self, inputs: dict[str, str], steps: list[dict[str, Any]],
                      **fields: Any) -> Any:
        return await self.api.post("/api/v1/compute/program", headers=self.tenant.auth(),
                                   json={"key_id": self.key["key_id"], "inputs": inputs,
                                         "steps": steps, **fields})

    async def decrypt(self, ciphertext_id: str, count: int = SLOTS,
                      noise_margin_bits: int | None = None) -> np.ndarray:
        body: dict[str, Any] = {"count": count}
        if noise_margin_bits is not None:
            body["noise_margin_bits"] = noise_margin_bits
        reply = await self.api.post(f"/api/v1/ciphertexts/{ciphertext_id}/decrypt",
                                    headers=self.tenant.auth(), json=body)
        assert reply.status == 200, reply.text
        self.tolerance = 2.0 ** -reply.json["precision_bits"]
        return np.array(reply.json["values"])

    async def check(self, ciphertext_id: str, expected: np.ndarray,
                    noise_margin_bits: int | None = None) -> None:
        """Decrypted, the ciphertext is within the published precision of expected."""
        values = await self.decrypt(ciphertext_id, len(expected), noise_margin_bits)
        error = np.max(np.abs(values - expected))
        assert error < self.tolerance, (error, self.tolerance)

    async def decrypt_here(self, ciphertext_id: str, count: int) -> np.ndarray:
        """Decrypted in the test with the key's own secret, for results server-mode
        decryption refuses by design (their error is more than its noise hides)."""
        stored = await self.api.get(f"/api/v1/ciphertexts/{ciphertext_id}",
                                    headers=self.tenant.auth())
        assert stored.status == 200, stored.text
        return await decrypt_with_the_servers_secret(self.mesh, self.key["key_id"],
                                                     stored.json["data"], count)

    async def fcu_used(self) -> int:
        usage = await self.api.get("/api/v1/billing/usage", headers=self.tenant.auth())
        return int(usage.json["total_fcu"])

    async def stored(self) -> set[str]:
        """Every ciphertext stored under the key (the ciphertext store's index)."""
        assert self.mesh.cache_redis is not None
        client = aioredis.Redis.from_url(self.mesh.cache_redis.url, decode_responses=True)
        try:
            return set(await client.smembers(f"wavis:ckks:key:{self.key['key_id']}:cts"))
        finally:
            await client.aclose()


async def generate_key(api: Api, tenant: Tenant, **key_fields: Any) -> dict[str, Any]:
    """A server-mode key, waited for if a loaded machine answered 202."""
    reply = await api.post("/api/v1/keys/generate", headers=tenant.auth(),
                           json={"scheme": "ckks", "params": PARAMS, **key_fields})
    assert reply.status in (201, 202), reply.text
    key = reply.json
    for _ in range(600):
        if key["status"] != "pending":
            break
        await asyncio.sleep(0.1)
        key = (await api.get(f"/api/v1/keys/{key['key_id']}", headers=tenant.auth())).json
    assert key["status"] == "ready", key
    return dict(key)


async def ckks_account(api: Api, mesh: Stack, **key_fields: Any) -> CkksAccount:
    tenant = await create_account(mesh)
    return CkksAccount(api, mesh, tenant, await generate_key(api, tenant, **key_fields))


