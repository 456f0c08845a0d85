"""What the processes of a test stack wrote to their logs."""

from __future__ import annotations

from pathlib import Path

from wavis.devstack.stack import Stack


def read_logs(stack: Stack) -> dict[str, str]:
    """Each process's log by name ("gateway", "keys", ...)."""
    assert stack.log_dir is not None
    return {path.stem: path.read_text() for path in Path(stack.log_dir).glob("*.log")}
