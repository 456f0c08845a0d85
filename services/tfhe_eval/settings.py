"""The tfhe-eval service's settings."""

from __future__ import annotations

import os
from dataclasses import dataclass

from wavis.core.secrets import parse_secret
from wavis.core.settings import ServiceSettings, parse_int, setting

MB = 1024 * 1024


@dataclass(frozen=True)
class TfheSettings(ServiceSettings):
    ciphertext_secret: str | None = setting(
        "WAVIS_TFHE_CIPHERTEXT_SECRET", None, parse_secret,
        doc="HMAC secret (>= 32 chars) tagging server-mode TFHE ciphertexts with their session "
            "(the same on every tfhe-eval replica; changing it voids every server-mode "
            "ciphertext issued); required in production")
    # CreateEvalSession carries a client's eval key (the gateway's 40 MB body, decoded).
    grpc_max_receive_bytes: int = setting(
        "WAVIS_GRPC_MAX_RECEIVE_BYTES", 48 * MB, parse_int(1024, 1024 * MB),
        doc="largest gRPC message the service accepts")
    workers: int = setting("WAVIS_TFHE_WORKERS", os.cpu_count() or 1, parse_int(1, 256),
                           doc="worker processes evaluating gates", shown_default="one per core")
    key_cache_bytes: int = setting(
        "WAVIS_TFHE_KEY_CACHE_BYTES", 8192 * MB, parse_int(MB, 1024 * 1024 * MB),
        doc="memory of loaded bootstrapping keys (all workers) a replica keeps; least "
            "recently used keys are unloaded and reloaded from the keys service on demand")
    session_idle_seconds: int = setting(
        "WAVIS_TFHE_SESSION_IDLE_SECONDS", 3600, parse_int(1, 30 * 86_400),
        doc="a TFHE session ends after this long without use")
    keygen_timeout_seconds: int = setting(
        "WAVIS_TFHE_KEYGEN_TIMEOUT_SECONDS", 600, parse_int(1, 3600),
        doc="how long POST /tfhe/session waits for the keys service to generate a key")
