"""Chunked uploads of large keys: parts on disk, metadata in Redis (wavis:keys:upload:*).

Parts may arrive in any order and be retried (a part is written to a temp file and renamed
over any earlier copy). Each part's sha256 is computed as it is written and recorded beside
the upload's record, so a client resuming an upload learns which parts the service holds
and whether they match its file (GetUpload). Completing streams the parts, in order, into
one file while hashing it, so no key is ever held in memory. Uploads not completed within
their lifetime lose their Redis records (TTL) and a periodic sweep removes their parts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import redis.asyncio as aioredis

from wavis.core.errors import WavisError
from wavis.core.ids import new_id
from wavis.core.timefmt import parse_rfc3339, rfc3339

NS = "wavis:keys:upload"
KINDS = {"tfhe_eval_key": "tfhe", "ckks_key_bundle": "ckks"}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_COPY_BYTES = 1024 * 1024


class UploadStore:
    def __init__(self, redis: aioredis.Redis, root: Path, *, part_bytes: int,
                 ttl_seconds: int, max_bytes: int) -> None:
        self.redis = redis
        self.root = root
        self.part_bytes = part_bytes
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True)

    async def create(self, account_id: str, scheme: str, kind: str, size_bytes: int,
                     sha256: str) -> dict[str, Any]:
        if KINDS.get(kind) is None or KINDS[kind] != scheme:
            raise WavisError("VALIDATION_ERROR", "kind must be tfhe_eval_key (scheme tfhe) or "
                             "ckks_key_bundle (scheme ckks).", {"field": "kind"})
        if not 1 <= size_bytes <= self.max_bytes:
            raise WavisError("VALIDATION_ERROR", f"size_bytes must be 1 to {self.max_bytes}.",
                             {"field": "size_bytes"})
        if not _SHA256.fullmatch(sha256):
            raise WavisError("VALIDATION_ERROR", "sha256 must be 64 lowercase hex digits.",
                             {"field": "sha256"})
        expires = time.time() + self.ttl_seconds
        record = {
            "upload_id": new_id("upl"), "account_id": account_id, "scheme": scheme,
            "kind": kind, "size_bytes": size_bytes, "sha256": sha256,
            "part_size": self.part_bytes, "part_count": math.ceil(size_bytes / self.part_bytes),
            "expires_at": rfc3339(expires),
        }
        key = f"{NS}:{record['upload_id']}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=cast(Any, record))
            pipe.expireat(key, int(expires))
            await pipe.execute()
        (self.root / str(record["upload_id"])).mkdir()
        return record

    async def get(self, account_id: str, upload_id: str) -> dict[str, Any]:
        record = cast(dict[str, str], await self.redis.hgetall(f"{NS}:{upload_id}"))
        if not record or record["account_id"] != account_id:
            raise WavisError("NOT_FOUND", "No such upload, or it expired.")
        return {**record, **{k: int(record[k]) for k in ("size_bytes", "part_size",
                                                         "part_count")}}

    async def parts(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The parts on disk, by number, with the sha256 recorded when each was stored
        (None for a part stored but not recorded: the service stopped in between)."""
        folder = self.root / record["upload_id"]
        recorded = cast(dict[str, str], await self.redis.hgetall(
            _parts_key(record["upload_id"])))
        found = []
        for path in await asyncio.to_thread(sorted, folder.glob("part-*")):
            number = int(path.name.removeprefix("part-"))
            size = path.stat().st_size
            entry = recorded.get(str(number), "")
            recorded_size, _, sha256 = entry.partition(":")
            found.append({"part_number": number, "size_bytes": size,
                          "sha256": sha256 if recorded_size == str(size) else None})
        return found

    def _expected_part_size(self, record: dict[str, Any], number: int) -> int:
        if number < record["part_count"]:
            return int(record["part_size"])
        return int(record["size_bytes"]) - (record["part_count"] - 1) * int(record["part_size"])

    async def put_part(self, record: dict[str, Any], number: int,
                       chunks: AsyncIterator[bytes]) -> int:
        if not 1 <= number <= record["part_count"]:
            raise WavisError("VALIDATION_ERROR",
                             f"Part numbers run from 1 to {record['part_count']}.",
                             {"field": "part_number"})
        expected = self._expected_part_size(record, number)
        folder = self.root / record["upload_id"]
        fd, name = tempfile.mkstemp(dir=folder, prefix=".part-")
        size = 0
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as handle:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > expected:
                        raise WavisError("VALIDATION_ERROR", f"Part {number} must be exactly "
                                         f"{expected} bytes.", {"expected_bytes": expected})
                    await asyncio.to_thread(_hash_and_write, digest, handle, chunk)
                handle.flush()
                await asyncio.to_thread(os.fsync, handle.fileno())
            if size != expected:
                raise WavisError("VALIDATION_ERROR", f"Part {number} must be exactly "
                                 f"{expected} bytes; got {size}.", {"expected_bytes": expected})
            os.replace(name, folder / f"part-{number:05d}")  # a retry replaces it whole
        finally:
            with contextlib.suppress(FileNotFoundError):  # left only when the part was refused
                os.unlink(name)
        parts_key = _parts_key(record["upload_id"])
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(parts_key, str(number), f"{size}:{digest.hexdigest()}")
            pipe.expireat(parts_key, int(parse_rfc3339(record["expires_at"])))
            await pipe.execute()
        return size

    def assemble(self, record: dict[str, Any], into_dir: Path) -> Path:
        """The parts joined in order into one file, its size and sha256 verified."""
        folder = self.root / record["upload_id"]
        missing = [n for n in range(1, record["part_count"] + 1)
                   if not (folder / f"part-{n:05d}").exists()]
        if missing:
            raise WavisError("VALIDATION_ERROR", f"Parts missing: {missing[:20]}.",
                             {"missing_parts": missing[:100]})
        target = into_dir / "upload.bin"
        digest = hashlib.sha256()
        with open(target, "wb") as out:
            for number in range(1, record["part_count"] + 1):
                with open(folder / f"part-{number:05d}", "rb") as part:
                    while chunk := part.read(_COPY_BYTES):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != record["sha256"]:
            target.unlink()
            raise WavisError("VALIDATION_ERROR", "The uploaded bytes do not match sha256.",
                             {"field": "sha256", "actual_sha256": digest.hexdigest()})
        return target

    async def finish(self, upload_id: str) -> None:
        await self.redis.delete(f"{NS}:{upload_id}", _parts_key(upload_id))
        shutil.rmtree(self.root / upload_id, ignore_errors=True)

    async def sweep(self) -> list[str]:
        """Remove the parts of uploads whose record expired; returns their ids."""
        removed = []
        for folder in self.root.iterdir():
            if folder.is_dir() and not await self.redis.exists(f"{NS}:{folder.name}"):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
        return removed


def _parts_key(upload_id: str) -> str:
    """The Redis hash of an upload's stored parts: part number -> "size:sha256"."""
    return f"{NS}:{upload_id}:parts"


def _hash_and_write(digest: Any, handle: Any, chunk: bytes) -> None:
    # One trip to a worker thread per chunk; hashlib releases the GIL on large buffers.
    digest.update(chunk)
    handle.write(chunk)
