"""What a CKKS program may hold, for everyone who reads or writes one (the gateway's schema,
ckks-compute, the SDK's builder, which a test keeps equal): docs/decisions/0060-ckks-programs.md.
"""

from __future__ import annotations

MAX_PROGRAM_STEPS = 1024
# Outputs whose bytes one answer may carry (return_ciphertext): each at most 2 MB, the
# ciphertext store's limit, so an answer stays within MAX_ANSWER_BYTES.
MAX_RETURNED_OUTPUTS = 16
MAX_ANSWER_BYTES = 40 * 1024 * 1024  # what the gateway accepts from ckks-compute in one message
STEP_REF_PREFIX = "$"  # "$k" names the result of step k (0-based); other names are inputs


def step_ref(index: int) -> str:
    return f"{STEP_REF_PREFIX}{index}"


def parse_step_ref(name: str) -> int | None:
    """k for "$k"; None for a name that is not a step reference at all. A malformed
    reference ("$", "$x", "$-1") raises ValueError."""
    if not name.startswith(STEP_REF_PREFIX):
        return None
    digits = name[len(STEP_REF_PREFIX):]
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(name)
    return int(digits)
