"""Key material on disk, addressed by sha256, written atomically (temp file, fsync, rename).

The interface is small (a streaming writer, open, size, delete) so an S3-compatible store can
stand in later. See docs/decisions/0017-content-addressed-blob-store.md.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class BlobRef:
    sha256: str
    size: int


class BlobWriter:
    """Bytes appended in pieces; `finish` makes them a blob (or a kept temp file)."""

    def __init__(self, store: LocalBlobStore) -> None:
        self.store = store
        fd, name = tempfile.mkstemp(dir=store.tmp_dir)
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._digest.update(data)
        self.size += len(data)

    def finish(self) -> BlobRef:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        ref = BlobRef(self._digest.hexdigest(), self.size)
        self.store.adopt(self.path, ref)
        return ref

    def abort(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256")
        return self.root / sha256[:2] / sha256

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def scratch_dir(self) -> Path:
        """A private folder on the same filesystem (files in it can be adopted by rename)."""
        return Path(tempfile.mkdtemp(dir=self.tmp_dir))

    def put_file(self, source: Path) -> BlobRef:
        """Adopt a finished file (hashed while read once), e.g. one a worker wrote."""
        digest = hashlib.sha256()
        size = 0
        with open(source, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
            os.fsync(handle.fileno())
        ref = BlobRef(digest.hexdigest(), size)
        self.adopt(source, ref)
        return ref

    def adopt(self, source: Path, ref: BlobRef) -> None:
        target = self.path(ref.sha256)
        target.parent.mkdir(exist_ok=True)
        if target.exists():  # same bytes already stored: content addressing dedupes
            source.unlink()
            return
        os.replace(source, target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")

    def chunks(self, sha256: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        with self.open(sha256) as handle:
            while chunk := handle.read(chunk_bytes):
                yield chunk

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def remove_scratch(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
