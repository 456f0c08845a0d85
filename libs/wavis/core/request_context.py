"""The request id of the work in progress, and the mode of the API key it is done for,
carried across the gateway -> service hops."""

from __future__ import annotations

import contextlib
import contextvars
import re
import secrets
import time
from collections.abc import Iterator

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID_METADATA = REQUEST_ID_HEADER.lower()  # gRPC metadata keys are lower case

# A client may choose its own id: up to 128 characters that are safe in headers and logs.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "wavis_request_id", default=None
)


# The mode of the API key the work is done for ("live", "test" or "trial"): metered work is
# recorded in that mode's ledger (docs/decisions/0067-test-mode-is-separate-state.md).
ENVIRONMENT_METADATA = "x-wavis-environment"
current_environment: contextvars.ContextVar[str] = contextvars.ContextVar(
    "wavis_environment", default="live"
)


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


def accept_request_id(candidate: str | None) -> str:
    """Keep a client's id when it is safe, else make one."""
    if candidate and _SAFE_REQUEST_ID.fullmatch(candidate):
        return candidate
    return new_request_id()


# Where the current request's time went ("redis", "grpc"): seconds per kind, reported to
# the client in Server-Timing. None outside a request.
request_timings: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "wavis_request_timings", default=None
)


def add_time(kind: str, seconds: float, timings: dict[str, float] | None = None) -> None:
    timings = timings if timings is not None else request_timings.get()
    if timings is not None:
        timings[kind] = timings.get(kind, 0.0) + seconds


@contextlib.contextmanager
def timed(kind: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        add_time(kind, time.perf_counter() - started)
