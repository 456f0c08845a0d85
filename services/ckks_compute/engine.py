"""Where CKKS work runs: a thread pool, with the keys loaded in this process and recently
used ciphertexts kept deserialized, both bounded by bytes. See
docs/decisions/0007-ckks-thread-pool-and-eval-key-lock.md.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from services.ckks_compute.rwlock import ReadWriteLock
from wavis.core.errors import WavisError
from wavis.fhe.ckks_key_tags import server_key_tag
from wavis.fhe.ckks_keys import params_record
from wavis.fhe.ckks_ops import KeyShape, shape_scale_degree
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class LoadedKey:
    key_id: str
    account_id: str
    mode: str
    context: Any
    public_key: Any
    secret_key: Any | None
    tag: str  # the key id: the tag its material carries and its eval keys are loaded under
    client_tag: str  # the tag of the client's own key set, so of ciphertexts it uploads
    shape: KeyShape
    ring_dim: int
    params: dict[str, Any]  # wavis.fhe.ckks_keys.params_record of the context
    size: int
    level_budget: list[int]
    scale_bits: int  # of the key's parameters
    insecure: bool = False  # below 128-bit security (testing parameters)


class CkksEngine:
    def __init__(self, keys: keys_pb2_grpc.KeysServiceStub, threads: int, key_cache_bytes: int,
                 ciphertext_cache_bytes: int) -> None:
        self.keys = keys
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="ckks")
        self.lock = ReadWriteLock()
        self.key_cache_bytes = key_cache_bytes
        self.ciphertext_cache_bytes = ciphertext_cache_bytes
        self._loaded: OrderedDict[str, LoadedKey] = OrderedDict()
        self._loaded_tags: set[str] = set()
        self._loading: dict[str, asyncio.Future[LoadedKey]] = {}
        self._ciphertexts: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._ciphertext_bytes = 0
        self._ciphertext_guard = threading.Lock()

    # Running work ---------------------------------------------------------------------

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run an evaluation on the pool, alongside others but never beside a key change."""
        def guarded() -> T:
            with self.lock.reading():
                return fn(*args)

        return await asyncio.get_running_loop().run_in_executor(self.executor, guarded)

    # Keys ---------------------------------------------------------------------------------

    async def key(self, account_id: str, key_id: str) -> LoadedKey:
        loaded = self._loaded.get(key_id)
        if loaded is not None:
            if loaded.account_id != account_id:
                raise WavisError("KEY_NOT_FOUND", f"No key {key_id!r}.")
            self._loaded.move_to_end(key_id)
            return loaded
        pending = self._loading.get(key_id)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._loading[key_id] = pending
            try:
                pending.set_result(await self._load(account_id, key_id))
            except BaseException as exc:
                pending.set_exception(exc)
                pending.exception()  # retrieved: later awaiters re-raise it themselves
            finally:
                del self._loading[key_id]
        loaded = await asyncio.shield(pending)
        if loaded.account_id != account_id:
            raise WavisError("KEY_NOT_FOUND", f"No key {key_id!r}.")
        return loaded

    async def _fetch(self, key_id: str, component: str) -> bytes:
        chunks = self.keys.FetchKeyMaterial(keys_pb2.FetchKeyMaterialRequest(
            key_id=key_id, component=component), timeout=120)
        return b"".join([chunk.data async for chunk in chunks])

    async def _load(self, account_id: str, key_id: str) -> LoadedKey:
        record = (await self.keys.GetKey(keys_pb2.GetKeyRequest(
            account_id=account_id, key_id=key_id))).key
        if record.scheme != "ckks":
            raise WavisError("KEY_NOT_FOUND", f"{key_id} is not a CKKS key.")
        if record.status != "ready":
            raise WavisError("KEY_NOT_FOUND", f"Key {key_id} is {record.status}, not ready.")
        names = ["crypto_context", "public_key", "eval_mult_key"]
        names += [n for n in ("eval_rotation_keys", "secret_key") if n in record.components]
        material = dict(zip(names, await asyncio.gather(
            *(self._fetch(key_id, name) for name in names)), strict=True))
        shape = KeyShape(
            slot_count=int(record.slot_count), max_depth=int(record.max_level),
            rotations=frozenset(int(r) for r in record.rotations),
            manual_scaling=record.scaling_technique == "FIXEDMANUAL",
            fresh_scale_degree=shape_scale_degree(record.scaling_technique),
            bootstrappable=record.bootstrappable,
            levels_after_bootstrap=int(record.params.max_depth))
        size = sum(len(v) for v in material.values())
        loaded = await asyncio.get_running_loop().run_in_executor(
            self.executor, self._deserialize, record, material, shape, size)
        self._loaded[key_id] = loaded
        return loaded

    def _deserialize(self, record: keys_pb2.Key, material: dict[str, bytes], shape: KeyShape,
                     size: int) -> LoadedKey:
        import openfhe

        with self.lock.writing():
            if sum(k.size for k in self._loaded.values()) + size > self.key_cache_bytes:
                self._evict_all_keys()
            context = openfhe.DeserializeCryptoContextString(material["crypto_context"],
                                                             openfhe.BINARY)
            for feature in (openfhe.PKE, openfhe.KEYSWITCH, openfhe.LEVELEDSHE,
                            openfhe.ADVANCEDSHE):
                context.Enable(feature)
            if record.bootstrappable:  # precomputations live in the context, not the keys
                context.Enable(openfhe.FHE)
                context.EvalBootstrapSetup([int(v) for v in record.level_budget])
            public_key = openfhe.DeserializePublicKeyString(material["public_key"],
                                                            openfhe.BINARY)
            tag = public_key.GetKeyTag()
            if tag != server_key_tag(record.key_id):  # eval keys load under this very tag
                raise WavisError("INVALID_KEY", f"Key {record.key_id} was stored before the "
                                 "server tagged keys with their ids: upload or generate it "
                                 "again.", {"key_id": record.key_id})
            if tag not in self._loaded_tags:  # OpenFHE refuses to load a tag twice
                openfhe.DeserializeEvalMultKeyString(material["eval_mult_key"], openfhe.BINARY)
                if "eval_rotation_keys" in material:
                    openfhe.DeserializeEvalAutomorphismKeyString(
                        material["eval_rotation_keys"], openfhe.BINARY)
                self._loaded_tags.add(tag)
            secret = None
            if "secret_key" in material:
                secret = openfhe.DeserializePrivateKeyString(material["secret_key"],
                                                             openfhe.BINARY)
        return LoadedKey(record.key_id, record.account_id, record.mode, context, public_key,
                         secret, tag, record.client_key_tag or tag, shape,
                         int(context.GetRingDimension()),
                         params_record(openfhe, context), size,
                         [int(v) for v in record.level_budget], int(record.params.scale_bits),
                         insecure=int(record.security_bits) < 128)

    def _evict_all_keys(self) -> None:
        """Drop every loaded key (the caller holds the write lock). OpenFHE can only clear
        its eval-key maps whole; keys still in use load again on demand."""
        import openfhe

        openfhe.ClearEvalMultKeys()
        openfhe.CryptoContext.ClearEvalAutomorphismKeys()
        self._loaded.clear()
        self._loaded_tags.clear()
        with self._ciphertext_guard:
            self._ciphertexts.clear()
            self._ciphertext_bytes = 0
        log.info("key cache full: unloaded every key")

    async def forget_key(self, key_id: str) -> None:
        """A deleted key: unload it (with every other, as OpenFHE clears maps whole)."""
        if key_id in self._loaded:
            await asyncio.get_running_loop().run_in_executor(self.executor, self._forget_all)

    def _forget_all(self) -> None:
        with self.lock.writing():
            self._evict_all_keys()

    # Deserialized ciphertexts ---------------------------------------------------------

    def cached_ciphertext(self, ciphertext_id: str) -> Any | None:
        with self._ciphertext_guard:
            entry = self._ciphertexts.get(ciphertext_id)
            if entry is None:
                return None
            self._ciphertexts.move_to_end(ciphertext_id)
            return entry[0]

    def remember_ciphertext(self, ciphertext_id: str, ciphertext: Any, size: int) -> None:
        with self._ciphertext_guard:
            if ciphertext_id in self._ciphertexts:
                return
            self._ciphertexts[ciphertext_id] = (ciphertext, size)
            self._ciphertext_bytes += size
            while self._ciphertext_bytes > self.ciphertext_cache_bytes and self._ciphertexts:
                _, (_, dropped) = self._ciphertexts.popitem(last=False)
                self._ciphertext_bytes -= dropped

    def forget_ciphertext(self, ciphertext_id: str) -> None:
        with self._ciphertext_guard:
            entry = self._ciphertexts.pop(ciphertext_id, None)
            if entry is not None:
                self._ciphertext_bytes -= entry[1]

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
