"""Functions the worker-pool tests run in worker processes (importable there by name)."""

from __future__ import annotations

import os
import time

from wavis.core.errors import WavisError


def echo(value: bytes) -> bytes:
    return value


def pid() -> int:
    return os.getpid()


def sleep_then_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def refuse(code: str) -> None:
    raise WavisError(code, "refused in a worker", {"where": "worker"})


def crash() -> None:
    os.abort()  # as a segfault in native code would: no Python cleanup


def omp_threads() -> str:
    return os.environ.get("OMP_NUM_THREADS", "")


def allocate(megabytes: int) -> int:
    """Take `megabytes` of memory at once (as a hostile length field makes OpenFHE do)."""
    return len(bytearray(megabytes * 1024 * 1024))
