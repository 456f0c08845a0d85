"""What the keys service does with keys: generate, take uploads, serve and delete material.

Key generation and every look at untrusted bytes run in worker processes (FheWorkerPool): a
crash there is an INVALID_KEY answer, never a dead service. Material goes to the blob store;
a server-mode secret key is sealed (AES-256-GCM, bound to the key id) before it is stored.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from services.keys.blobstore import CHUNK_BYTES, LocalBlobStore
from services.keys.store import KeyStore
from services.keys.uploads import UploadStore
from wavis.core.errors import WavisError
from wavis.core.event_schemas import event_data
from wavis.core.events import EventPublisher
from wavis.core.ids import new_id
from wavis.core.sealing import Sealer
from wavis.core.tfhe_catalog import PRESET_NAMES
from wavis.fhe.ckks_keys import generate_ckks_key, inspect_ckks_key
from wavis.fhe.ckks_params import CkksParams, validate_ckks_params
from wavis.fhe.tfhe_keys import generate_tfhe_key, inspect_tfhe_key
from wavis.fhe.workers import FheWorkerPool, WorkerCrashed

log = logging.getLogger(__name__)

CKKS_COMPONENTS = ("crypto_context", "public_key", "eval_mult_key", "eval_rotation_keys")
CKKS_REQUIRED = ("crypto_context", "public_key", "eval_mult_key")
TFHE_COMPONENTS = ("context", "bootstrap_key")
# Members of the ZIP archives of chunked uploads -> component names.
ARCHIVE_MEMBERS = {
    "tfhe_eval_key": {"context.bin": "context", "bootstrap_key.bin": "bootstrap_key"},
    "ckks_key_bundle": {f"{name}.bin": name for name in CKKS_COMPONENTS},
}
SECRET = "secret_key"


class Keyring:
    def __init__(self, store: KeyStore, blobs: LocalBlobStore, uploads: UploadStore,
                 sealer: Sealer, pool: FheWorkerPool, sync_seconds: float,
                 events: EventPublisher | None = None) -> None:
        self.store = store
        self.blobs = blobs
        self.uploads = uploads
        self.sealer = sealer
        self.pool = pool
        self.sync_seconds = sync_seconds
        self.events = events  # key_created / key_deleted; never fails a key operation
        self.background: set[asyncio.Task[dict[str, Any]]] = set()

    # Generation -----------------------------------------------------------------------

    async def generate(self, account_id: str, scheme: str, params: CkksParams | None,
                       rotations: list[int] | None, preset: str, limits: tuple[int, int],
                       ) -> dict[str, Any]:
        key_id = new_id("key")
        if scheme == "ckks":
            assert params is not None
            validate_ckks_params(params)
            job: tuple[Any, ...] = (generate_ckks_key, params, rotations, key_id)
        elif scheme == "tfhe":
            if preset not in PRESET_NAMES:
                raise WavisError("INVALID_PARAMS", f"preset must be one of "
                                 f"{', '.join(PRESET_NAMES)}.", {"field": "preset"})
            job = (generate_tfhe_key, preset)
        else:
            raise WavisError("INVALID_PARAMS", "scheme must be ckks or tfhe.",
                             {"field": "scheme"})
        max_keys, max_bytes = limits
        await self.store.reserve(account_id, max_keys, max_bytes, 1, 0)
        pending = await self.store.create(account_id, {
            "scheme": scheme, "mode": "server", "status": "pending",
            "params": {}, "rotations": [], "components": {}}, key_id=key_id)
        task = asyncio.get_running_loop().create_task(
            self._generate(pending, job, max_bytes))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.sync_seconds)
        except asyncio.CancelledError:  # the caller went away: so does the key
            task.cancel()
            await self._discard(pending)
            raise
        if done:
            try:
                return task.result()
            except BaseException:
                await self._discard(pending)
                raise
        # Slow (secure TFHE presets, large CKKS rings): finish in the background.
        self.background.add(task)
        task.add_done_callback(lambda t: self._settle(t, pending))
        return pending

    def _settle(self, task: asyncio.Task[Any], pending: dict[str, Any]) -> None:
        self.background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            message = error.message if isinstance(error, WavisError) else "generation failed"
            if not isinstance(error, WavisError):
                log.error("key generation failed", exc_info=error)
            asyncio.get_running_loop().create_task(self.store.update(
                pending["key_id"], {"status": "failed", "failure": message}))

    async def _generate(self, pending: dict[str, Any], job: tuple[Any, ...],
                        max_bytes: int) -> dict[str, Any]:
        scratch = self.blobs.scratch_dir()
        try:
            fn, *args = job
            meta = await self.pool.run_fresh(fn, *args, str(scratch))
            return await self._store_material(pending, meta, _key_files(scratch), max_bytes)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    async def _discard(self, record: dict[str, Any]) -> None:
        await self.store.delete(record)

    async def _drop_blobs(self, components: dict[str, Any]) -> None:
        """One reference fewer to each component's blob; blobs no key uses are deleted."""
        for sha256 in await self.store.drop_blob_refs(components):
            self.blobs.delete(sha256)

    # Registration of material ---------------------------------------------------------

    async def _store_material(self, record: dict[str, Any], meta: dict[str, Any],
                              files: dict[str, Path], max_bytes: int) -> dict[str, Any]:
        """Seal, store and describe a key's files; its count was reserved with its record."""
        key_id = record["key_id"]
        if SECRET in files:  # sealed before it touches the store
            sealed = self.sealer.seal(files[SECRET].read_bytes(), key_id)
            files[SECRET].write_bytes(sealed)
        size = sum(path.stat().st_size for path in files.values())
        await self.store.reserve(record["account_id"], 0, max_bytes, 0, size)
        components = {}
        for name, path in files.items():
            ref = self.blobs.put_file(path)
            components[name] = {"sha256": ref.sha256, "size": ref.size,
                                "sealed": name == SECRET}
        await self.store.add_blob_refs(components)
        fields = _metadata_fields(meta) | {"status": "ready", "components": components,
                                           "size_bytes": size}
        if not await self.store.update(key_id, fields):  # deleted while it was generated
            await self.store.release(record["account_id"], 0, size)
            await self._drop_blobs(components)
            raise WavisError("KEY_NOT_FOUND", f"Key {key_id} was deleted while it was "
                             "generated.")
        ready = await self.store.get(None, key_id)
        if self.events is not None:
            await self.events.publish_or_log(ready["account_id"], "key_created", event_data(
                "key_created", key_id=key_id, scheme=ready["scheme"], mode=ready["mode"]))
        return ready

    async def _register_blind(self, account_id: str, scheme: str, meta: dict[str, Any],
                              files: dict[str, Path], limits: tuple[int, int],
                              key_id: str) -> dict[str, Any]:
        max_keys, max_bytes = limits
        await self.store.reserve(account_id, max_keys, 0, 1, 0)
        record = await self.store.create(account_id, {
            "scheme": scheme, "mode": "blind", "status": "pending", "params": {},
            "rotations": [], "components": {}}, key_id=key_id)
        try:
            return await self._store_material(record, meta, files, max_bytes)
        except BaseException:
            await self._discard(record)
            raise

    async def _inspect(self, fn: Any, *args: Any) -> dict[str, Any]:
        try:
            return dict(await self.pool.run(fn, *args))
        except WorkerCrashed:
            raise WavisError("INVALID_KEY", "The key material could not be read.") from None

    # Blind upload in one request ------------------------------------------------------

    async def upload(self, account_id: str, scheme: str, sizes: dict[str, int],
                     chunks: AsyncIterator[tuple[str, bytes]],
                     limits: tuple[int, int]) -> dict[str, Any]:
        if scheme == "tfhe":
            return await self._upload_tfhe(account_id, sizes, chunks, limits)
        if scheme != "ckks":
            raise WavisError("VALIDATION_ERROR", "scheme must be ckks or tfhe.",
                             {"field": "scheme"})
        unknown = set(sizes) - set(CKKS_COMPONENTS)
        missing = [name for name in CKKS_REQUIRED if name not in sizes]
        if unknown or missing:
            raise WavisError("VALIDATION_ERROR", f"Components needed: {', '.join(CKKS_REQUIRED)}"
                             " (and optionally eval_rotation_keys).")
        scratch = self.blobs.scratch_dir()
        try:
            handles = _open_for_writing(scratch, list(sizes))
            try:
                async for name, data in chunks:
                    if name not in handles:
                        raise WavisError("VALIDATION_ERROR", f"Unexpected component {name!r}.")
                    handles[name].write(data)
            finally:
                for handle in handles.values():
                    handle.close()
            files = {name: scratch / name for name in sizes}
            return await self._register_ckks(account_id, files, scratch, limits)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    async def _upload_tfhe(self, account_id: str, sizes: dict[str, int],
                           chunks: AsyncIterator[tuple[str, bytes]],
                           limits: tuple[int, int]) -> dict[str, Any]:
        """A TFHE eval key small enough for one request (toy keys, ~20 MB): the same ZIP as
        a chunked upload of kind tfhe_eval_key."""
        if set(sizes) != {"eval_key"}:
            raise WavisError("VALIDATION_ERROR", "A TFHE upload is one eval_key (a ZIP of "
                             "context.bin and bootstrap_key.bin).", {"field": "eval_key"})
        scratch = self.blobs.scratch_dir()
        try:
            archive = scratch / "eval_key.zip"
            handles = _open_for_writing(scratch, ["eval_key.zip"])
            try:
                async for name, data in chunks:
                    if name != "eval_key":
                        raise WavisError("VALIDATION_ERROR", f"Unexpected component {name!r}.")
                    handles["eval_key.zip"].write(data)
            finally:
                handles["eval_key.zip"].close()
            return await self._register_archive(account_id, "tfhe_eval_key", archive, scratch,
                                                limits)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    # Chunked upload ---------------------------------------------------------------------

    async def complete_upload(self, account_id: str, upload_id: str,
                              limits: tuple[int, int]) -> dict[str, Any]:
        record = await self.uploads.get(account_id, upload_id)
        scratch = self.blobs.scratch_dir()
        try:
            archive = await asyncio.to_thread(self.uploads.assemble, record, scratch)
            key = await self._register_archive(account_id, record["kind"], archive, scratch,
                                               limits)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        await self.uploads.finish(upload_id)
        return key

    async def _register_archive(self, account_id: str, kind: str, archive: Path,
                                scratch: Path, limits: tuple[int, int]) -> dict[str, Any]:
        """A blind key from a ZIP of its files (chunked uploads; toy TFHE keys in one go)."""
        files = await asyncio.to_thread(_unpack, archive, ARCHIVE_MEMBERS[kind], scratch)
        if kind == "tfhe_eval_key":
            meta = await self._inspect(inspect_tfhe_key, str(files["context"]),
                                       str(files["bootstrap_key"]))
            return await self._register_blind(account_id, "tfhe", meta, files, limits,
                                              new_id("key"))
        return await self._register_ckks(account_id, files, scratch, limits)

    async def _register_ckks(self, account_id: str, files: dict[str, Path], scratch: Path,
                             limits: tuple[int, int]) -> dict[str, Any]:
        """A blind CKKS key from the client's files: checked, and stored as the worker wrote
        it again, with the key id as its tag (wavis.fhe.ckks_key_tags)."""
        key_id = new_id("key")
        tagged = scratch / "server-tagged"
        meta = await self._inspect(inspect_ckks_key, {n: str(p) for n, p in files.items()},
                                   key_id, str(tagged))
        for path in files.values():  # not needed twice on disk
            path.unlink()
        return await self._register_blind(account_id, "ckks", meta, _key_files(tagged), limits,
                                          key_id)

    # Reading and deleting -----------------------------------------------------------------

    def material(self, record: dict[str, Any], component: str) -> Iterator[bytes]:
        entry = (record.get("components") or {}).get(component)
        if record["status"] != "ready" or entry is None:
            raise WavisError("NOT_FOUND", f"Key {record['key_id']} has no {component}.")
        if entry["sealed"]:
            with self.blobs.open(entry["sha256"]) as handle:
                plain = self.sealer.open(handle.read(), record["key_id"])
            return (plain[i:i + CHUNK_BYTES] for i in range(0, len(plain), CHUNK_BYTES))
        return self.blobs.chunks(entry["sha256"])

    async def delete(self, account_id: str, key_id: str) -> None:
        # The blobs are the deleted record's: a generation may have finished since `get`.
        deleted = await self.store.delete(await self.store.get(account_id, key_id))
        if deleted is not None:
            await self._drop_blobs(deleted.get("components") or {})
            if self.events is not None:
                await self.events.publish_or_log(account_id, "key_deleted",
                                                event_data("key_deleted", key_id=key_id))


def _open_for_writing(folder: Path, names: list[str]) -> dict[str, BinaryIO]:
    # Local scratch files: writes land in the page cache and do not stall the event loop
    # the way network I/O would.
    return {name: open(folder / name, "wb") for name in names}


def _key_files(folder: Path) -> dict[str, Path]:
    """Component name -> file of the key set a worker wrote into folder ("<name>.bin")."""
    return {path.stem: path for path in folder.iterdir()}


def _metadata_fields(meta: dict[str, Any]) -> dict[str, Any]:
    names = ("params", "slot_count", "max_level", "rotations", "security_bits",
             "scaling_technique", "preset", "n", "big_n", "bootstrappable",
             "level_budget", "client_key_tag")
    fields: dict[str, Any] = {name: meta[name] for name in names if name in meta}
    fields.setdefault("params", {})
    fields.setdefault("rotations", [])
    return fields


def _unpack(archive: Path, members: dict[str, str], into: Path) -> dict[str, Path]:
    """Copy the archive's known members out, streaming; unknown or missing ones are refused."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            names = set(bundle.namelist())
            required = {m for m, c in members.items() if c not in ("eval_rotation_keys",)}
            if not required <= names or not names <= set(members):
                raise WavisError("INVALID_KEY", f"The archive must hold {', '.join(members)} "
                                 "and nothing else.")
            files = {}
            for member in sorted(names):
                target = into / members[member]
                with bundle.open(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK_BYTES)
                files[members[member]] = target
        archive.unlink()  # its members are out: no need to keep the bytes twice
        return files
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise WavisError("INVALID_KEY", f"The upload is not a readable ZIP archive ({exc}).",
                         ) from None
