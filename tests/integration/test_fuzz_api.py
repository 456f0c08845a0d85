"""A small schemathesis run over every operation (`make fuzz-api` runs a large one): no 5xx,
no failed check (schemathesis's and ours: every refusal in the envelope, schema-valid requests
refused only with codes the document lists), no process of the stack restarted."""

from __future__ import annotations

import pytest

from fuzz.api import fuzz_stack, run

# A few cases per operation and phase: about a minute on a loaded 2-core machine.
MAX_EXAMPLES = 3


@pytest.mark.timeout(600)
def test_schemathesis_finds_nothing() -> None:
    with fuzz_stack() as stack:
        report = run(stack, MAX_EXAMPLES, seed=1)
    report.print()
    assert len(report.operations) >= 50
    assert report.server_errors == 0
    assert not report.failures_by_check()
    assert not report.errors
    assert not report.restarted
