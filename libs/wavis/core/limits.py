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
# One part of a chunked key upload (the most WAVIS_UPLOAD_PART_BYTES may be).
MAX_UPLOAD_PART_BYTES = 40 * MB
# TFHE: gates in one batch; bits (or ciphertexts) in one encrypt or decrypt call.
MAX_BATCH_GATES = 1024
MAX_TFHE_BITS = 1024


def megabytes(size: int) -> str:
    """A limit as the API's texts state it: "2 MB" (sizes are whole MiB)."""
    if size % MB:
        raise ValueError(f"{size} bytes is not a whole number of MB")
    return f"{size // MB} MB"
