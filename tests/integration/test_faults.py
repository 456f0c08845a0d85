"""bench/faults.py's short run: kill -9 of each service in turn and a paused Redis, under load.

Counts are not asserted (they depend on the machine); what a user relies on is: nothing
acknowledged is lost, usage equals the successful answers exactly, a fault is never a 500, and
every fault is recovered from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from wavis.core.mesh import SERVICES

REPO = Path(__file__).resolve().parents[2]


def test_faults_under_load_lose_nothing_and_bill_exactly() -> None:
    run = subprocess.run([sys.executable, str(REPO / "bench" / "faults.py"), "--short", "--json"],
                         cwd=REPO, capture_output=True, text=True, timeout=300,
                         env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["read_back"] == summary["acknowledged"] > 0
    assert summary["billed_fcu"] == summary["charged_fcu"] > 0
    assert summary["status_500"] == 0
    faults = {row["fault"]: row for row in summary["rows"]}
    assert set(faults) == {service.key for service in SERVICES} | {"redis paused"}
    assert "inference" in faults
    for row in faults.values():
        assert row["ok"] > 0, row  # the load went on after each fault
        assert set(row["errors"]) <= {"502 UPSTREAM_UNAVAILABLE", "503 SERVICE_UNAVAILABLE",
                                      "0 CONNECTION"}, row
    # Killing the service that evaluates a request's work fails some of them.
    assert faults["ckks_compute"]["errors"] and faults["metering"]["errors"]
    assert faults["inference"]["errors"]  # the predictions it was running
