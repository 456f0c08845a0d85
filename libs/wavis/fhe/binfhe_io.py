"""BinFHE (TFHE) objects as bytes, although openfhe-python serializes them only through files.

The byte helpers go through an anonymous in-memory file (`os.memfd_create`, opened again as
`/proc/self/fd/N`); every deserialization failure becomes `BinFheFormatError`. See
docs/decisions/0019-binfhe-bytes-through-memfd.md.
"""

from __future__ import annotations

import os
from typing import Any

# kind -> name of the openfhe function that reads it; resolved on use so that importing this
# module does not load OpenFHE (workers set OMP_NUM_THREADS first).
_DESERIALIZERS = {
    "context": "DeserializeBinFHECryptoContext",
    "bootstrap_key": "DeserializeBinFHEBTKey",  # RingGSWBTKey: refresh + switching (+ public) keys
    "secret_key": "DeserializeLWEPrivateKey",
    "ciphertext": "DeserializeLWECiphertext",
}
KINDS = tuple(_DESERIALIZERS)


class BinFheFormatError(ValueError):
    """The bytes are not a valid BinFHE object of the expected kind."""


def serialize_binfhe_to_file(obj: Any, path: str, *, as_json: bool = False) -> None:
    """Write obj with SerializeToFile (BINARY; JSON only for inspecting parameters)."""
    import openfhe

    if not openfhe.SerializeToFile(path, obj, openfhe.JSON if as_json else openfhe.BINARY):
        raise OSError(f"OpenFHE could not serialize {type(obj).__name__} to {path}")


def deserialize_binfhe_file(kind: str, path: str) -> Any:
    """Read a BINARY BinFHE object of this kind from path; BinFheFormatError when it is invalid."""
    try:
        name = _DESERIALIZERS[kind]
    except KeyError:
        raise ValueError(f"unknown BinFHE object kind {kind!r}; expected one of {KINDS}") from None
    import openfhe

    try:
        # Each binding returns (object, success flag); garbage usually raises instead.
        obj, ok = getattr(openfhe, name)(path, openfhe.BINARY)
    except Exception as exc:  # RuntimeError, ValueError, MemoryError...: all mean bad bytes
        raise BinFheFormatError(f"not a valid BinFHE {kind}: {_short(exc)}") from exc
    if not ok or obj is None:
        raise BinFheFormatError(f"not a valid BinFHE {kind}")
    return obj


def serialize_binfhe_to_bytes(obj: Any, *, as_json: bool = False) -> bytes:
    """obj's BINARY serialization (as SerializeToFile writes it), without touching disk."""
    fd = os.memfd_create("wavis-binfhe", os.MFD_CLOEXEC)
    try:
        serialize_binfhe_to_file(obj, f"/proc/self/fd/{fd}", as_json=as_json)
        # The path was opened as a new file description, so this fd's offset is still 0.
        return _read_all(fd)
    finally:
        os.close(fd)


def deserialize_binfhe_from_bytes(kind: str, data: bytes) -> Any:
    """The BinFHE object of this kind that data holds; BinFheFormatError when it is invalid."""
    fd = os.memfd_create("wavis-binfhe", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        return deserialize_binfhe_file(kind, f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks: list[bytes] = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(size - offset, 1 << 26), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _short(exc: BaseException) -> str:
    # OpenFHE prefixes messages with the build machine's source path: keep only the reason.
    text = str(exc).strip() or type(exc).__name__
    return text.rsplit("): ", 1)[-1][:200]
