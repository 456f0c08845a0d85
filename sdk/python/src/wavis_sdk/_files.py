"""Files on this machine: secret keys written 0600, streamed hashes, upload journals,
BinFHE objects as bytes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HASH_CHUNK_BYTES = 4 * 1024 * 1024


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Write a secret: readable and writable by its owner only (0600), whatever the umask
    and whatever mode an older file at that path had."""
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def sha256_file(path: str | os.PathLike[str],
                on_bytes: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return digest.hexdigest()


def sha256_slice(path: str | os.PathLike[str], offset: int, length: int,
                 on_bytes: Callable[[int], None] | None = None) -> str:
    """The sha256 of bytes [offset, offset + length) of a file (one part of an upload)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        handle.seek(offset)
        left = length
        while left > 0 and (chunk := handle.read(min(HASH_CHUNK_BYTES, left))):
            digest.update(chunk)
            left -= len(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return digest.hexdigest()


@dataclass(frozen=True)
class UploadJournal:
    """What an interrupted chunked upload needs to go on: kept in the SDK's state folder,
    named after the file's checksum, the kind, the server and the API key's public prefix (so
    another account or server never picks it up). Deleted once the upload completes."""

    upload_id: str
    sha256: str
    size_bytes: int
    part_size: int
    part_count: int
    expires_at: str

    def part_length(self, number: int) -> int:
        """Bytes of part `number` (1-based; the last part may be shorter)."""
        return min(self.part_size, self.size_bytes - (number - 1) * self.part_size)

    @staticmethod
    def path(state_dir: str, base_url: str, api_key: str | None, kind: str, sha256: str,
             size: int) -> Path:
        owner = (api_key or "")[:16]
        name = hashlib.sha256(f"{base_url}|{owner}|{kind}|{sha256}|{size}".encode()).hexdigest()
        return Path(state_dir) / f"{name[:32]}.json"

    @staticmethod
    def read(path: Path) -> UploadJournal | None:
        try:
            record = json.loads(path.read_text())
            journal = UploadJournal(**record)
        except (OSError, ValueError, TypeError):
            return None
        if _expired(journal.expires_at):
            forget(path)
            return None
        return journal

    def write(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        write_private(temporary, json.dumps(asdict(self)).encode())
        os.replace(temporary, path)


def forget(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _expired(expires_at: str) -> bool:
    """True once the server's RFC 3339 expiry is less than a minute away."""
    try:
        moment = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp() < time.time() + 60


# -- BinFHE objects ---------------------------------------------------------------------------
# openfhe-python serializes BinFHE objects only to and from files: the byte helpers go through
# an anonymous in-memory file (memfd, reopened as /proc/self/fd/N), so nothing touches disk.


def binfhe_to_bytes(obj: Any) -> bytes:
    import openfhe

    fd = os.memfd_create("wavis-sdk", os.MFD_CLOEXEC)
    try:
        if not openfhe.SerializeToFile(f"/proc/self/fd/{fd}", obj, openfhe.BINARY):
            raise OSError(f"OpenFHE could not serialize {type(obj).__name__}")
        size = os.fstat(fd).st_size
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


def binfhe_from_bytes(loader: str, data: bytes) -> Any:
    """loader: the openfhe function's name (DeserializeLWECiphertext, ...)."""
    import openfhe

    fd = os.memfd_create("wavis-sdk", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        return binfhe_from_file(loader, f"/proc/self/fd/{fd}", openfhe)
    finally:
        os.close(fd)


def binfhe_from_file(loader: str, path: str, module: Any = None) -> Any:
    if module is None:
        import openfhe

        module = openfhe
    try:
        obj, ok = getattr(module, loader)(path, module.BINARY)
    except Exception as exc:  # garbage makes OpenFHE raise all sorts of errors
        raise ValueError(f"not a valid BinFHE object: {exc}") from exc
    if not ok or obj is None:
        raise ValueError("not a valid BinFHE object")
    return obj
