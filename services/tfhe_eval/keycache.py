"""The keys a replica holds: fetched from the keys service, unloaded least recently used first.

Public parts go to a local folder every worker loads from (`KeyRef`); a server-mode secret key
is fetched only to encrypt or decrypt and kept in memory only. The budget counts each key at
MEMORY_FACTOR times its size in every worker; the last key is always kept. See
docs/decisions/0018-tfhe-sessions-served-by-any-replica.md.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import grpc

from wavis.core.errors import WavisError, error_from_rpc
from wavis.fhe.tfhe_gates import KeyRef
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc

log = logging.getLogger(__name__)

MEMORY_FACTOR = 2  # loaded size / serialized size of a bootstrapping key (measured at STD128)
FETCH_TIMEOUT_SECONDS = 600.0


@dataclass
class CachedKey:
    ref: KeyRef  # without the secret
    cost: int
    account_id: str
    secret: bytes | None = None

    def with_secret(self) -> KeyRef:
        return replace(self.ref, secret_key=self.secret)


class KeyGone(Exception):
    """The keys service no longer has the key (deleted)."""


class KeyCache:
    def __init__(self, keys: keys_pb2_grpc.KeysServiceStub, root: Path, budget_bytes: int,
                 workers: int) -> None:
        self.keys = keys
        self.root = root
        self.budget = budget_bytes
        self.workers = workers
        self.entries: OrderedDict[str, CachedKey] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)

    @property
    def loaded_bytes(self) -> int:
        return sum(entry.cost for entry in self.entries.values())

    def keep(self) -> frozenset[str]:
        return frozenset(self.entries)

    def keys_in_use(self) -> dict[str, str]:
        """{key_id: account_id} of the keys this replica holds."""
        return {key_id: entry.account_id for key_id, entry in self.entries.items()}

    def holds(self, key_id: str) -> bool:
        return key_id in self.entries

    async def get(self, account_id: str, key_id: str, *, secret: bool = False) -> CachedKey:
        """The key, fetched if this replica does not hold it (KeyGone when it was deleted)."""
        entry = self.entries.get(key_id)
        if entry is None or (secret and entry.secret is None):
            lock = self._locks.setdefault(key_id, asyncio.Lock())
            async with lock:
                entry = self.entries.get(key_id)
                if entry is None:
                    entry = await self._fetch(account_id, key_id)
                    self.entries[key_id] = entry
                    self._evict()
                if secret and entry.secret is None:
                    entry.secret = await self._material(account_id, key_id, "secret_key")
        if key_id in self.entries:
            self.entries.move_to_end(key_id)
        return entry

    async def _fetch(self, account_id: str, key_id: str) -> CachedKey:
        folder = self.root / key_id
        folder.mkdir(parents=True, exist_ok=True)
        paths = {name: folder / f"{name}.bin" for name in ("context", "bootstrap_key")}
        try:
            for name, path in paths.items():
                await self._material(account_id, key_id, name, path)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        size = sum(path.stat().st_size for path in paths.values())
        log.info("fetched TFHE key %s (%d bytes)", key_id, size)
        return CachedKey(KeyRef(key_id, str(paths["context"]), str(paths["bootstrap_key"])),
                         size * MEMORY_FACTOR * self.workers, account_id)

    async def _material(self, account_id: str, key_id: str, component: str,
                        path: Path | None = None) -> bytes:
        """One component: into path (streamed), or returned."""
        chunks: list[bytes] = []
        try:
            stream = self.keys.FetchKeyMaterial(keys_pb2.FetchKeyMaterialRequest(
                account_id=account_id, key_id=key_id, component=component),
                timeout=FETCH_TIMEOUT_SECONDS)
            if path is None:
                chunks = [chunk.data async for chunk in stream]
            else:
                out = await asyncio.to_thread(open, path, "wb")
                try:
                    async for chunk in stream:
                        await asyncio.to_thread(out.write, chunk.data)
                finally:
                    out.close()
        except grpc.RpcError as exc:
            error = error_from_rpc(exc)
            if error.code in ("KEY_NOT_FOUND", "NOT_FOUND"):
                raise KeyGone(key_id) from None
            raise error from None
        except WavisError as exc:
            if exc.code in ("KEY_NOT_FOUND", "NOT_FOUND"):
                raise KeyGone(key_id) from None
            raise
        return b"".join(chunks)

    def _evict(self) -> None:
        while len(self.entries) > 1 and self.loaded_bytes > self.budget:
            key_id, _ = self.entries.popitem(last=False)
            self._remove_files(key_id)
            log.info("unloaded TFHE key %s (least recently used)", key_id)

    def forget(self, key_id: str) -> bool:
        entry = self.entries.pop(key_id, None)
        self._remove_files(key_id)
        return entry is not None

    def _remove_files(self, key_id: str) -> None:
        self._locks.pop(key_id, None)
        shutil.rmtree(self.root / key_id, ignore_errors=True)

    def close(self) -> None:
        self.entries.clear()
        shutil.rmtree(self.root, ignore_errors=True)
