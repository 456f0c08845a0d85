"""Timestamps as the API shows them: RFC 3339, UTC, whole seconds ("2026-11-23T00:00:00Z")."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def rfc3339(epoch_seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


def parse_rfc3339(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
