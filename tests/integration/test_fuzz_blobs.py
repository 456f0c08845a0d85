"""A small budget of the blob fuzzing (tests/fuzz/blobs.py) on the shared stack: every
committed regression (inputs that crash OpenFHE natively) and a few mutants of every seed,
through the API. `make fuzz` runs a large budget."""

from __future__ import annotations

import pytest

from fuzz.blobs import TARGETS, run
from wavis.devstack.stack import Stack


@pytest.mark.timeout(600)
async def test_mutated_blobs_get_4xx_in_the_envelope_and_crash_nothing(mesh: Stack) -> None:
    tally, restarted = await run(mesh, cases=6, seed=11)
    assert tally.violations == [] and restarted == []
    for target in TARGETS:  # each target was reached, and refused something
        statuses = {status for (name, status) in tally.statuses if name == target}
        assert 400 in statuses, (target, statuses)
