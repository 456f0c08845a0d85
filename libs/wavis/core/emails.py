"""What an account's email address must look like: metering checks it, the gateway's schemas
state it (a pattern, and the length limit)."""

from __future__ import annotations

import re

EMAIL_PATTERN = r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+"
EMAIL_MAX_CHARS = 254
_EMAIL = re.compile(EMAIL_PATTERN)


def is_email(text: str) -> bool:
    return len(text) <= EMAIL_MAX_CHARS and _EMAIL.fullmatch(text) is not None
