"""The level model (wavis.fhe.ckks_levels) predicts what OpenFHE does, for every operation,
operand state and scaling technique: programs are checked with it before anything runs, so a
wrong prediction would refuse a valid program or let an invalid one start."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace

import openfhe as fhe
import pytest

from services.ckks_compute.compute import ComputeInput, _evaluate, check_operands
from support.ckks_local import DEPTH, SLOTS, Context
from wavis.core.errors import WavisError
from wavis.fhe import ckks_levels

TECHNIQUES = ("FIXEDMANUAL", "FLEXIBLEAUTO", "FLEXIBLEAUTOEXT")


@pytest.fixture(scope="module", params=TECHNIQUES)
def context(request: pytest.FixtureRequest) -> Iterator[Context]:
    yield Context(request.param)
    fhe.ClearEvalMultKeys()
    fhe.CryptoContext.ClearEvalAutomorphismKeys()
    fhe.ReleaseAllContexts()


def _cases() -> list[ComputeInput]:
    plain = [0.5] * SLOTS
    cases = [ComputeInput("a", "add", "k", []), ComputeInput("a", "multiply", "k", []),
             ComputeInput("a", "negate", "k", []), ComputeInput("a", "rescale", "k", []),
             ComputeInput("a", "rotate", "k", [], rotation_steps=3),
             ComputeInput("a", "add-plain", "k", [], plain_operand=plain),
             ComputeInput("a", "multiply-plain", "k", [], plain_operand=plain),
             ComputeInput("a", "matmul", "k", [], matrix=[[0.1] * 4] * 4)]
    cases += [ComputeInput("a", "poly-eval", "k", [], polynomial_coeffs=[0.1] * n)
              for n in (2, 3, 4, 6, 9)]
    return [replace(case, scale_stable=stable) for case in cases for stable in (False, True)]


def test_predicted_levels_match_openfhe(context: Context) -> None:
    states = context.states()
    checked = refused = 0
    for case in _cases():
        arity = 2 if case.operation in ("add", "multiply") else 1
        for names in itertools.product(states, repeat=arity):
            operands = [states[name] for name in names]
            matrix = check_operands(case, context.shape)
            try:
                predicted = ckks_levels.after(
                    case.operation, [ckks_levels.level_of(ct) for ct in operands],
                    context.shape, scale_stable=case.scale_stable,
                    coefficients=case.polynomial_coeffs)
            except WavisError as refusal:
                assert refusal.code in ("MISMATCHED_LEVEL", "NOISE_BUDGET_EXHAUSTED",
                                        "VALIDATION_ERROR"), refusal
                refused += 1
                continue
            result = _evaluate(context.cc, case, context.shape, operands, matrix)
            where = (case.operation, case.scale_stable, names, case.polynomial_coeffs)
            assert ckks_levels.level_of(result) == predicted, where
            checked += 1
    assert checked > 100 and refused > 10, (checked, refused)


def test_an_exhausted_budget_names_what_is_needed(context: Context) -> None:
    deepest = ckks_levels.level_of(context.states()["deepest"])
    remaining = DEPTH - ckks_levels.used(deepest, context.shape)
    with pytest.raises(WavisError) as refused:
        ckks_levels.after("poly-eval", [deepest], context.shape, scale_stable=True,
                          coefficients=[0.1] * 9)  # degree 8: 4 levels
    assert refused.value.code == "NOISE_BUDGET_EXHAUSTED"
    assert refused.value.details == {"levels_needed": 4, "levels_remaining": remaining}
