"""The ckks-compute service's settings."""

from __future__ import annotations

from dataclasses import dataclass

from wavis.core.limits import MAX_DECRYPTION_MARGIN_BITS
from wavis.core.settings import (
    ServiceSettings,
    accepting,
    parse_int,
    parse_redis_url,
    setting,
)

MB = 1024 * 1024


@dataclass(frozen=True)
class CkksSettings(ServiceSettings):
    # matmul requests carry a plaintext matrix: up to the gateway's 40 MB body.
    grpc_max_receive_bytes: int = setting(
        "WAVIS_GRPC_MAX_RECEIVE_BYTES", 48 * MB, parse_int(1024, 1024 * MB),
        doc="largest gRPC message the service accepts")
    compute_threads: int = setting("WAVIS_CKKS_THREADS", 2, parse_int(1, 256),
                                   doc="threads evaluating CKKS operations (OMP=1 each)")
    ciphertext_redis_url: str = setting(
        "WAVIS_CIPHERTEXT_REDIS_URL", "",
        accepting("Redis URL or empty", lambda raw: parse_redis_url(raw) if raw else ""),
        doc="Redis for the ciphertext cache, best without AOF: a cache's writes (0.26-1.5 MB "
            "per result) need not go through the append-only file; empty: WAVIS_REDIS_URL")
    ciphertext_store_bytes: int = setting(
        "WAVIS_CIPHERTEXT_STORE_BYTES", 1024 * MB, parse_int(MB, 1024 * 1024 * MB),
        doc="byte budget of stored ciphertexts (Redis); least recently used are evicted")
    ciphertext_ttl_seconds: int = setting("WAVIS_CIPHERTEXT_TTL_SECONDS", 86_400,
                                          parse_int(1, 30 * 86_400),
                                          doc="stored ciphertexts expire after this")
    key_cache_bytes: int = setting("WAVIS_CKKS_KEY_CACHE_BYTES", 2048 * MB,
                                   parse_int(MB, 1024 * 1024 * MB),
                                   doc="bytes of keys kept loaded in this process")
    ciphertext_cache_bytes: int = setting(
        "WAVIS_CKKS_CIPHERTEXT_CACHE_BYTES", 256 * MB, parse_int(0, 1024 * 1024 * MB),
        doc="bytes of deserialized ciphertexts kept in this process")
    operation_ttl_seconds: int = setting("WAVIS_OPERATION_TTL_SECONDS", 86_400,
                                         parse_int(60, 30 * 86_400),
                                         doc="how long asynchronous operations stay pollable")
    decryptions_per_key: int = setting(
        "WAVIS_CKKS_DECRYPTIONS_PER_KEY", 1000, parse_int(1, 1_000_000_000),
        doc="server-mode decryptions each CKKS key allows (the budget tau of the noise "
            "flooding, counted in Redis across replicas); more costs precision: half a bit per "
            "doubling (docs/security.md)")
    decryption_security_bits: int = setting(
        "WAVIS_CKKS_DECRYPTION_SECURITY_BITS", 30, parse_int(1, 128),
        doc="statistical security s of server-mode decryption: over a key's whole budget, an "
            "adversary recovers it with probability at most 2^-s; each bit costs half a bit "
            "of precision")
    decryption_margin_bits: int = setting(
        "WAVIS_CKKS_DECRYPTION_MARGIN_BITS", 6, parse_int(0, MAX_DECRYPTION_MARGIN_BITS),
        doc="server-mode decryption admits ciphertexts OpenFHE estimates at scale_bits - "
            "log2(poly_degree) - this many bits of precision or better (a fresh encryption: "
            "about 2 bits below scale_bits - log2(poly_degree)); each bit admits errors twice "
            "as large and costs a bit of precision; the default of a decrypt request's "
            "noise_margin_bits")
    operation_lease_seconds: int = setting(
        "WAVIS_OPERATION_LEASE_SECONDS", 10, parse_int(2, 3600),
        doc="lease a replica holds on each asynchronous operation it runs, renewed every "
            "third of it; an operation whose lease lapses fails with WORKER_LOST")
