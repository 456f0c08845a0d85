"""The keys service's settings."""

from __future__ import annotations

from dataclasses import dataclass

from wavis.core.limits import (
    MAX_KEY_UPLOAD_BYTES,
    MAX_UPLOAD_PART_BYTES,
    MB,
    MIN_UPLOAD_PART_BYTES,
)
from wavis.core.sealing import parse_encryption_key_setting
from wavis.core.settings import ServiceSettings, parse_float, parse_int, setting


@dataclass(frozen=True)
class KeysSettings(ServiceSettings):
    key_encryption_key: str | None = setting(
        "WAVIS_KEY_ENCRYPTION_KEY", None, parse_encryption_key_setting,
        doc="AES-256-GCM key (base64 of 32 bytes) sealing secret keys at rest; "
            "required in production")
    fhe_workers: int = setting("WAVIS_FHE_WORKERS", 1, parse_int(1, 64),
                               doc="worker processes for key generation and key checks")
    worker_memory_bytes: int = setting(
        "WAVIS_KEYS_WORKER_MEMORY_BYTES", 8 * 1024 * MB, parse_int(256 * MB, 1024 * 1024 * MB),
        doc="address space of each key worker: a key check (about 1.1 GB for fast_128) or a "
            "generation past it fails, where hostile bytes would otherwise take the host's "
            "memory")
    keygen_sync_seconds: float = setting(
        "WAVIS_KEYGEN_SYNC_SECONDS", 3.0, parse_float(0, 600),
        doc="key generation that takes longer answers 202 and continues in the background")
    upload_ttl_seconds: int = setting("WAVIS_UPLOAD_TTL_SECONDS", 86_400,
                                      parse_int(1, 7 * 86_400),
                                      doc="unfinished chunked uploads are discarded after this")
    upload_part_bytes: int = setting("WAVIS_UPLOAD_PART_BYTES", 32 * 1024 * 1024,
                                     parse_int(MIN_UPLOAD_PART_BYTES, MAX_UPLOAD_PART_BYTES),
                                     doc="part size of chunked uploads")
    max_upload_bytes: int = setting("WAVIS_MAX_UPLOAD_BYTES", 4 * 1024 ** 3,
                                    parse_int(1024, MAX_KEY_UPLOAD_BYTES),
                                    doc="largest key accepted by chunked upload")
