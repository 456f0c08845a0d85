"""An idle stack stays quiet: the channels' keepalive pings are what the servers accept, so
no connection is dropped with GOAWAY too_many_pings (grpc C-core logs that to stderr, which
the stack writes into each child's log file)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from wavis.devstack.stack import Stack

INTERVAL_SECONDS = 1  # 15 keepalive rounds in the idle time below
IDLE_SECONDS = 15


def _loud_lines(log: Path) -> list[str]:
    """Log lines at warning level or above, and any GOAWAY, whatever their format."""
    loud = []
    for line in log.read_text(errors="replace").splitlines():
        if "goaway" in line.lower() or "too_many_pings" in line:
            loud.append(line)
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if " WARNING " in line or " ERROR " in line or line.startswith(("E", "W")):
                loud.append(line)  # C-core's own lines: E1202 ... / W1202 ...
            continue
        if isinstance(record, dict) and record.get("level") in ("warning", "error",
                                                                "critical"):
            loud.append(line)
    return loud


def test_an_idle_stack_logs_nothing_loud(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(env={"WAVIS_GRPC_KEEPALIVE_SECONDS": str(INTERVAL_SECONDS)})
    assert stack.log_dir is not None
    logs = sorted(stack.log_dir.glob("*.log"))
    assert {"gateway.log", "metering.log", "ckks_compute.log"} <= {p.name for p in logs}
    before = {log: len(_loud_lines(log)) for log in logs}
    time.sleep(IDLE_SECONDS)
    grown = {log.name: _loud_lines(log)[before[log]:] for log in logs}
    assert not any(grown.values()), grown
