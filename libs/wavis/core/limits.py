"""Size limits of the API that more than one process enforces, each declared once here; the
messages and the OpenAPI text that state them are formatted from these values
(docs/decisions/0050-shared-limits-in-wavis-core.md)."""

from __future__ import annotations

MB = 1024 * 1024

# One serialized ciphertext, CKKS or TFHE: uploaded, stored, or given to a gate.
MAX_CIPHERTEXT_BYTES = 2 * MB
# The largest request body the gateway accepts unless configured otherwise
# (WAVIS_MAX_REQUEST_BYTES), and so the largest key sent inline (POST /keys/upload,
# eval_key_b64); larger keys go through a chunked upload.
DEFAULT_MAX_REQUEST_BYTES = 40 * MB
# One part of a chunked key upload (the most and the least WAVIS_UPLOAD_PART_BYTES may be).
MAX_UPLOAD_PART_BYTES = 40 * MB
MIN_UPLOAD_PART_BYTES = MB
# TFHE: gates in one batch; bits (or ciphertexts) in one encrypt or decrypt call.
MAX_BATCH_GATES = 1024
MAX_TFHE_BITS = 1024
# CKKS ring dimensions a key may have; the testing ones only with security_level "testing".
CKKS_TESTING_POLY_DEGREES = (1024, 2048)
CKKS_SECURE_POLY_DEGREES = (4096, 8192, 16384, 32768)
# Slots of the largest CKKS key: the most values one ciphertext holds.
MAX_CKKS_SLOTS = CKKS_SECURE_POLY_DEGREES[-1] // 2
# The largest magnitude of a number CKKS encodes from a request (values, plaintext operands,
# polynomial coefficients, matrix entries): OpenFHE encodes up to ~1e15 under every key shape
# and refuses far larger ones; results are only as exact as the scale allows.
MAX_CKKS_VALUE = 1e12
# Server-mode CKKS decryption: how many bits of error above a fresh encryption's a decryption
# may admit (WAVIS_CKKS_DECRYPTION_MARGIN_BITS, or a decrypt request's noise_margin_bits);
# each bit costs one bit of published precision
# (docs/decisions/0088-the-decryption-margin-is-the-callers.md).
MAX_DECRYPTION_MARGIN_BITS = 40
# The largest key a chunked upload may declare: the ceiling of WAVIS_MAX_UPLOAD_BYTES.
MAX_KEY_UPLOAD_BYTES = 64 * 1024 ** 3
# The most parts a chunked upload can have (the largest key in the smallest parts).
MAX_UPLOAD_PARTS = MAX_KEY_UPLOAD_BYTES // MIN_UPLOAD_PART_BYTES
# The largest monthly budget cap an account may set, in US dollars.
MAX_BUDGET_CAP_USD = 1_000_000_000


def megabytes(size: int) -> str:
    """A limit as the API's texts state it: "2 MB" (sizes are whole MiB)."""
    if size % MB:
        raise ValueError(f"{size} bytes is not a whole number of MB")
    return f"{size // MB} MB"
