"""Compact downloads: GET /ciphertexts/{id}?compact=true and return_ciphertext with compact
return the ciphertext reduced to its last level, smaller, decrypting to the same values;
the stored ciphertext is unchanged."""

from __future__ import annotations

import base64

import numpy as np
import openfhe as fhe

from support.accounts import create_account
from support.ckks_account import PARAMS, SLOTS, ckks_account
from support.fhe_client import make_ckks_client
from support.http import Api
from wavis.devstack.stack import Stack

rng = np.random.default_rng(3)


async def test_a_compact_download_decrypts_the_same_and_leaves_the_stored_one(
        api: Api, mesh: Stack) -> None:
    account = await ckks_account(api, mesh)
    auth = account.tenant.auth()
    x = rng.uniform(-1, 1, SLOTS)
    cx = await account.encrypt(x)
    full = await api.get(f"/api/v1/ciphertexts/{cx}", headers=auth)
    compact = await api.get(f"/api/v1/ciphertexts/{cx}?compact=true", headers=auth)
    assert full.status == compact.status == 200, compact.text
    assert compact.json["compact"] is True and "compact" not in full.json
    # The record is the stored ciphertext's; only the bytes are reduced, to one modulus of
    # the key's max_depth + 1.
    for field in ("ciphertext_id", "level", "noise_budget_remaining", "size_bytes"):
        assert compact.json[field] == full.json[field]
    full_bytes = base64.b64decode(full.json["data"])
    small = base64.b64decode(compact.json["data"])
    assert len(full_bytes) == full.json["size_bytes"]
    assert len(small) < len(full_bytes) / PARAMS["max_depth"]
    uploaded = await api.post("/api/v1/ciphertexts", headers=auth, json={
        "key_id": account.key["key_id"], "data": compact.json["data"]})
    assert uploaded.status == 201, uploaded.text
    assert uploaded.json["noise_budget_remaining"] == 0  # no level left for products
    # Decrypted here with the key's own secret: the server does not decrypt bytes sent to
    # it under a server-mode key (docs/security.md).
    assert np.max(np.abs(await account.decrypt_here(uploaded.json["ciphertext_id"], SLOTS)
                         - x)) < 1e-3
    again = await api.get(f"/api/v1/ciphertexts/{cx}", headers=auth)
    assert again.json["data"] == full.json["data"]  # the stored ciphertext is unchanged
    bad = await api.get(f"/api/v1/ciphertexts/{cx}?compact=yes", headers=auth)
    assert bad.status == 400 and bad.json["error"]["details"] == {"parameter": "compact"}
    stranger = await create_account(mesh)
    foreign = await api.get(f"/api/v1/ciphertexts/{cx}?compact=true",
                            headers=stranger.auth())
    assert foreign.status == 404


async def test_a_compact_result_decrypts_on_the_client(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    client = make_ckks_client(ring_dim=2048, depth=3, scale_bits=40)
    key = (await api.post("/api/v1/keys/upload", headers=tenant.auth(),
                          json={"scheme": "ckks", **client.wire()})).json
    x = rng.uniform(-1, 1, 8)
    ciphertext = client.context.Encrypt(client.keys.publicKey,
                                        client.context.MakeCKKSPackedPlaintext(x.tolist()))
    stored = await api.post("/api/v1/ciphertexts", headers=tenant.auth(), json={
        "key_id": key["key_id"],
        "data": base64.b64encode(fhe.Serialize(ciphertext, fhe.BINARY)).decode()})
    sizes = []
    for compact in (False, True):
        product = await api.post("/api/v1/compute/multiply", headers=tenant.auth(), json={
            "key_id": key["key_id"], "ciphertext_ids": [stored.json["ciphertext_id"]] * 2,
            "return_ciphertext": True, "compact": compact})
        assert product.status == 200, product.text
        data = base64.b64decode(product.json["result_ciphertext"])
        sizes.append(len(data))
        plain = client.context.Decrypt(fhe.DeserializeCiphertextString(data, fhe.BINARY),
                                       client.keys.secretKey)
        plain.SetLength(8)
        assert np.max(np.abs(np.array(plain.GetRealPackedValue()) - x * x)) < 1e-3
    assert sizes[1] < sizes[0] / 2
