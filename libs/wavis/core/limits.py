"""Size limits of the API that more than one process enforces, each declared once here; the
messages and the OpenAPI text that state them are formatted from these values
(docs/decisions/0050-shared-limits-in-wavis-core.md)."""

from __future__ import annotations

MB = 1024 * 1024

# One serialized ciphertext, CKKS or TFHE: uploaded, stored, or given to a gate.
MAX_CIPHERTEXT_BYTES = 2 * MB


def megabytes(size: int) -> str:
    """A limit as the API's texts state it: "2 MB" (sizes are whole MiB)."""
    if size % MB:
        raise ValueError(f"{size} bytes is not a whole number of MB")
    return f"{size // MB} MB"
