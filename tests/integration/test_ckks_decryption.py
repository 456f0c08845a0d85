"""Server-mode CKKS decryption is not a key-recovery oracle: the values come back flooded with
noise at the key's published precision, a budget of decryptions per key is enforced, and
ciphertexts built from uploaded bytes or too noisy to hide are refused
(docs/decisions/0081-server-mode-decryption-floods-with-noise.md, docs/security.md)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from support.accounts import Tenant, create_account
from support.http import Api
from support.stack_settings import DECRYPTIONS_PER_KEY
from wavis.devstack.stack import Stack

# Testing parameters whose published precision is meaningful (docs/security.md).
PARAMS = {"poly_degree": 2048, "scale_bits": 55, "max_depth": 2, "security_level": "testing"}


class ServerKey:
    def __init__(self, api: Api, tenant: Tenant, key: dict[str, Any]) -> None:
        self.api, self.tenant, self.key_id = api, tenant, key["key_id"]

    async def encrypt(self, values: list[float]) -> str:
        reply = await self.api.post("/api/v1/ciphertexts/encrypt", headers=self.tenant.auth(),
                                    json={"key_id": self.key_id, "values": values})
        assert reply.status == 201, reply.text
        return str(reply.json["ciphertext_id"])

    async def compute(self, operation: str, ids: list[str], **fields: object) -> str:
        reply = await self.api.post(f"/api/v1/compute/{operation}", headers=self.tenant.auth(),
                                    json={"key_id": self.key_id, "ciphertext_ids": ids,
                                          **fields})
        assert reply.status == 200, reply.text
        return str(reply.json["result_ciphertext_id"])

    async def decrypt(self, ciphertext_id: str, **fields: object) -> Any:
        return await self.api.post(f"/api/v1/ciphertexts/{ciphertext_id}/decrypt",
                                   headers=self.tenant.auth(), json=fields or None)


async def server_key(api: Api, mesh: Stack) -> ServerKey:
    tenant = await create_account(mesh)
    reply = await api.post("/api/v1/keys/generate", headers=tenant.auth(),
                           json={"scheme": "ckks", "params": PARAMS})
    assert reply.status == 201, reply.text
    return ServerKey(api, tenant, reply.json)


async def test_decrypting_twice_differs_in_the_low_bits_within_the_stated_precision(
        api: Api, mesh: Stack) -> None:
    key = await server_key(api, mesh)
    x = np.array([1.5, -0.25, 3.0])
    ciphertext = await key.encrypt(x.tolist())
    first, second = await key.decrypt(ciphertext), await key.decrypt(ciphertext)
    assert first.status == second.status == 200, (first.text, second.text)
    precision = first.json["precision_bits"]
    assert precision == second.json["precision_bits"] and precision >= 6
    bound = 2.0 ** -precision  # each value within it of the exact one
    a, b = np.array(first.json["values"]), np.array(second.json["values"])
    assert np.max(np.abs(a - x)) <= bound and np.max(np.abs(b - x)) <= bound, (a, b, bound)
    assert np.all(a != b)  # fresh noise on every value, every time
    assert np.max(np.abs(a - b)) > bound / 2 ** 12  # and well above rounding


async def test_precision_bits_is_published_not_measured(api: Api, mesh: Stack) -> None:
    """A fresh ciphertext and a product carry different noise; both decrypt at the key's one
    published precision (another key of the same parameters: the same figure)."""
    key, twin = await server_key(api, mesh), await server_key(api, mesh)
    x = [0.5, -1.25, 2.0]
    fresh = await key.encrypt(x)
    product = await key.compute("multiply", [fresh, fresh], scale_stable=True)
    figures = set()
    for which, ciphertext in ((key, fresh), (key, product), (twin, await twin.encrypt(x))):
        reply = await which.decrypt(ciphertext)
        assert reply.status == 200, reply.text
        figures.add(reply.json["precision_bits"])
    assert len(figures) == 1, figures


async def test_the_budget_refuses_past_its_limit(api: Api, mesh: Stack) -> None:
    key, other = await server_key(api, mesh), await server_key(api, mesh)
    ciphertext = await key.encrypt([1.0, 2.0])
    for used in range(1, DECRYPTIONS_PER_KEY + 1):
        reply = await key.decrypt(ciphertext)
        assert reply.status == 200, (used, reply.text)
        assert reply.json["decryptions_remaining"] == DECRYPTIONS_PER_KEY - used
    refused = await key.decrypt(await key.encrypt([3.0]))
    assert refused.status == 403, refused.text
    error = refused.json["error"]
    assert error["code"] == "DECRYPTION_BUDGET_EXHAUSTED"
    assert error["details"] == {"key_id": key.key_id, "budget": DECRYPTIONS_PER_KEY}
    still = await key.compute("add", [ciphertext, ciphertext])  # computing goes on
    assert (await key.decrypt(still)).status == 403
    elsewhere = await other.decrypt(await other.encrypt([1.0]))  # per key
    assert elsewhere.status == 200 and elsewhere.json["decryptions_remaining"] == \
        DECRYPTIONS_PER_KEY - 1


async def test_ciphertexts_from_uploaded_bytes_are_not_decrypted(api: Api, mesh: Stack) -> None:
    """Bytes a caller sends decrypt to whatever they were built to reveal (c0 + c1*s with c1
    chosen): the server decrypts only what it encrypted and computed itself."""
    key = await server_key(api, mesh)
    mine = await key.encrypt([1.0, 2.0])
    stored = await api.get(f"/api/v1/ciphertexts/{mine}", headers=key.tenant.auth())
    sent = await api.post("/api/v1/ciphertexts", headers=key.tenant.auth(),
                          json={"key_id": key.key_id, "data": stored.json["data"]})
    assert sent.status == 201, sent.text
    uploaded = sent.json["ciphertext_id"]
    derived = await key.compute("add", [mine, uploaded])
    for ciphertext in (uploaded, derived):
        reply = await key.decrypt(ciphertext)
        assert reply.status == 400, reply.text
        assert reply.json["error"]["code"] == "UPLOADED_CIPHERTEXT"
    assert base64.b64decode(stored.json["data"])  # (the download itself is allowed)
    decrypted = await key.decrypt(mine)  # refusals took nothing from the budget
    assert decrypted.status == 200 and decrypted.json["decryptions_remaining"] == \
        DECRYPTIONS_PER_KEY - 1


async def test_a_ciphertext_too_noisy_to_hide_is_refused_and_counted(api: Api,
                                                                    mesh: Stack) -> None:
    """Multiplying by large plaintexts grows the error far past a fresh encryption's: the
    flooding sized for the key would not hide it, so decryption refuses (and counts)."""
    key = await server_key(api, mesh)
    small = await key.encrypt([0.001] * 4)
    loud = await key.compute("multiply-plain", [small], plain_operand=[4096.0] * 1024,
                             scale_stable=True)
    reply = await key.decrypt(loud)
    assert reply.status == 400, reply.text
    assert reply.json["error"]["code"] == "DECRYPTION_NOISE_TOO_HIGH"
    assert "bits" not in reply.json["error"]["details"]  # the measured figure stays secret
    after = await key.decrypt(small)
    assert after.status == 200 and after.json["decryptions_remaining"] == \
        DECRYPTIONS_PER_KEY - 2


async def test_a_wider_noise_margin_admits_a_noisier_result_at_a_stated_lower_precision(
        api: Api, mesh: Stack) -> None:
    """A product 64 times the input carries about 6 bits more error than the default margin
    admits; a margin 4 bits wider admits it, with noise 2^4 times larger: precision_bits 4
    lower, the values within it. A margin that leaves no precision is refused, uncounted."""
    key = await server_key(api, mesh)
    small = await key.encrypt([0.001] * 4)
    fresh = await key.decrypt(small)
    assert fresh.status == 200, fresh.text
    default = fresh.json["noise_margin_bits"]
    loud = await key.compute("multiply-plain", [small], plain_operand=[64.0] * 1024,
                             scale_stable=True)
    refused = await key.decrypt(loud)
    assert refused.status == 400, refused.text
    assert refused.json["error"]["code"] == "DECRYPTION_NOISE_TOO_HIGH"
    assert refused.json["error"]["details"]["noise_margin_bits"] == default
    wider = await key.decrypt(loud, noise_margin_bits=default + 4)
    assert wider.status == 200, wider.text
    assert wider.json["noise_margin_bits"] == default + 4
    precision = wider.json["precision_bits"]
    assert precision == pytest.approx(fresh.json["precision_bits"] - 4)
    assert np.max(np.abs(np.array(wider.json["values"]) - 0.064)) <= 2.0 ** -precision
    drowned = await key.decrypt(loud, noise_margin_bits=default + 20)
    assert drowned.status == 400, drowned.text
    assert drowned.json["error"]["code"] == "VALIDATION_ERROR"
    assert drowned.json["error"]["details"]["field"] == "noise_margin_bits"
    assert drowned.json["error"]["details"]["precision_bits"] < 1
    over = await key.decrypt(loud, noise_margin_bits=41)
    assert over.status == 400 and over.json["error"]["code"] == "VALIDATION_ERROR"
    after = await key.decrypt(small)
    assert after.json["decryptions_remaining"] == wider.json["decryptions_remaining"] - 1
