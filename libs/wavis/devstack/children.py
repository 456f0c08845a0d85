"""Child processes that die with their launcher and stop gracefully on request."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1

# Run from a source tree (libs/wavis/devstack/children.py), children import that same tree,
# whichever tree the venv was installed from (docs/decisions/0001).
_LIBS = Path(__file__).resolve().parents[2]
SOURCE_ROOTS: tuple[Path, ...] = (_LIBS.parent, _LIBS) if _LIBS.name == "libs" else ()


def source_tree_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with the source tree's import roots first on PYTHONPATH (unchanged if installed)."""
    if not SOURCE_ROOTS:
        return env
    paths = [str(root) for root in SOURCE_ROOTS]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    return env | {"PYTHONPATH": os.pathsep.join(paths)}


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that asks Linux to SIGTERM the child if the launcher dies (even kill -9)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return preexec


class Child:
    """One named child process of the stack."""

    def __init__(self, name: str, args: Sequence[str], env: dict[str, str],
                 log_path: Path | None) -> None:
        self.name = name
        self.log_path = log_path
        log_file: IO[bytes] | None = open(log_path, "ab") if log_path else None
        try:
            self.process = subprocess.Popen(
                list(args), env=source_tree_env(env), stdout=log_file,
                stderr=subprocess.STDOUT if log_file else None, preexec_fn=die_with_parent(),
            )
        finally:
            if log_file is not None:
                log_file.close()  # the child holds its own descriptor

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 2000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def terminate(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.alive():
            self.process.kill()


def stop_all(children: Sequence[Child], timeout: float) -> None:
    """SIGTERM every child, wait up to `timeout` for all of them, then SIGKILL the rest."""
    for child in children:
        child.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        remaining = max(0.0, deadline - time.monotonic())
        try:
            child.process.wait(remaining)
        except subprocess.TimeoutExpired:
            child.kill()
            child.process.wait()


def python_module(module: str) -> list[str]:
    return [sys.executable, "-m", module]
