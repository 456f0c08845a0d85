"""OpenFHE finds evaluation keys by key tag, a string inside the uploaded key: two accounts
whose keys carry the same tag must each compute under their own evaluation keys."""

from __future__ import annotations

import base64

import numpy as np
import openfhe as fhe

from support.accounts import Tenant, create_account
from support.fhe_client import CkksClient, make_ckks_client
from support.http import Api
from wavis.core.grpc_client import open_channel
from wavis.devstack.stack import Stack
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc

TOLERANCE = 1e-3  # N=2048, scale 40, one product and a rotation (as test_ckks_compute)
rng = np.random.default_rng(80)


class BlindAccount:
    """An account with a blind key whose tag may have been rewritten to another's."""

    def __init__(self, api: Api, tenant: Tenant, client: CkksClient,
                 retag: tuple[str, str] | None = None) -> None:
        self.api, self.tenant, self.client = api, tenant, client
        self.retag = retag  # (own tag, tag written in its place) in every byte uploaded
        self.key_id = ""

    def _bytes(self, data: bytes) -> bytes:
        if self.retag is None:
            return data
        own, other = (tag.encode() for tag in self.retag)
        assert own in data and len(own) == len(other)
        return data.replace(own, other)

    async def upload_key(self) -> None:
        wire = self.client.wire()
        for name in ("public_key", "eval_mult_key", "eval_rotation_keys"):  # the context
            # carries no tag
            wire[name] = base64.b64encode(self._bytes(base64.b64decode(wire[name]))).decode()
        reply = await self.api.post("/api/v1/keys/upload", headers=self.tenant.auth(),
                                    json={"scheme": "ckks", **wire})
        assert reply.status == 201, reply.text
        self.key_id = reply.json["key_id"]

    async def upload(self, values: np.ndarray) -> str:
        context, public_key = self.client.context, self.client.keys.publicKey
        ciphertext = context.Encrypt(public_key,
                                     context.MakeCKKSPackedPlaintext(values.tolist()))
        data = self._bytes(fhe.Serialize(ciphertext, fhe.BINARY))
        reply = await self.api.post("/api/v1/ciphertexts", headers=self.tenant.auth(), json={
            "key_id": self.key_id, "data": base64.b64encode(data).decode()})
        assert reply.status == 201, reply.text
        return str(reply.json["ciphertext_id"])

    async def compute(self, operation: str, ids: list[str], **fields: object) -> np.ndarray:
        """The result, downloaded and decrypted here with this account's secret key."""
        reply = await self.api.post(f"/api/v1/compute/{operation}", headers=self.tenant.auth(),
                                    json={"key_id": self.key_id, "ciphertext_ids": ids,
                                          "return_ciphertext": True, **fields})
        assert reply.status == 200, reply.text
        ciphertext = fhe.DeserializeCiphertextString(
            base64.b64decode(reply.json["result_ciphertext"]), fhe.BINARY)
        plain = self.client.context.Decrypt(ciphertext, self.client.keys.secretKey)
        plain.SetLength(8)
        return np.array(plain.GetRealPackedValue())

    async def check_multiply_and_rotate(self) -> None:
        x, y = rng.uniform(-1, 1, 8), rng.uniform(-1, 1, 8)
        ids = [await self.upload(x), await self.upload(y)]
        product = await self.compute("multiply", ids)  # the relinearization key
        assert np.max(np.abs(product - x * y)) < TOLERANCE, (product, x * y)
        rotated = await self.compute("rotate", ids[:1], rotation_steps=1)  # a rotation key
        assert np.max(np.abs(rotated[:7] - x[1:])) < TOLERANCE, (rotated, x)


async def _pair(api: Api, mesh: Stack) -> tuple[BlindAccount, BlindAccount]:
    """Two accounts; the second's key and ciphertexts carry the first's key tag."""
    clients = [make_ckks_client(ring_dim=2048, depth=2, scale_bits=40, rotations=(1,))
               for _ in range(2)]
    tags = [client.keys.secretKey.GetKeyTag() for client in clients]
    first = BlindAccount(api, await create_account(mesh), clients[0])
    second = BlindAccount(api, await create_account(mesh), clients[1], (tags[1], tags[0]))
    return first, second


async def test_keys_carrying_the_same_tag_compute_each_under_its_own_keys(
        api: Api, mesh: Stack) -> None:
    # One ckks-compute replica serves both, in both orders: whichever loads second must not
    # run on the evaluation keys the first loaded under that tag.
    for order in ((0, 1), (1, 0)):
        accounts = await _pair(api, mesh)
        for index in order:
            await accounts[index].upload_key()
            await accounts[index].check_multiply_and_rotate()
        for index in order:  # and again, with both keys loaded
            await accounts[index].check_multiply_and_rotate()


async def test_stored_key_material_carries_the_key_id_as_its_tag(api: Api, mesh: Stack) -> None:
    first, second = await _pair(api, mesh)
    await first.upload_key()
    await second.upload_key()
    server = await api.post("/api/v1/keys/generate", headers=first.tenant.auth(), json={
        "scheme": "ckks", "params": {"poly_degree": 2048, "scale_bits": 40, "max_depth": 1,
                                     "security_level": "testing"}})
    assert server.status == 201, server.text
    async with open_channel(f"127.0.0.1:{mesh.service_ports['keys']}") as channel:
        stub = keys_pb2_grpc.KeysServiceStub(channel)
        for key_id in (first.key_id, second.key_id, server.json["key_id"]):
            chunks = stub.FetchKeyMaterial(keys_pb2.FetchKeyMaterialRequest(
                key_id=key_id, component="public_key"))
            public_key = fhe.DeserializePublicKeyString(
                b"".join([chunk.data async for chunk in chunks]), fhe.BINARY)
            assert public_key.GetKeyTag() == key_id
