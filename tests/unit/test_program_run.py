"""ckks-compute's program runner on a local context: independent steps run at the same time
on the compute threads, rotations of one operand share one hoisted precomputation, results
no step reads any more are dropped, and a failing step stops the program."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import numpy as np
import openfhe as fhe
import pytest

from services.ckks_compute import compute
from services.ckks_compute.program import check_operands_and_price, parse, propagate
from services.ckks_compute.program_run import ProgramRun
from services.ckks_compute.rwlock import ReadWriteLock
from support.ckks_local import SLOTS, Context
from wavis.fhe import ckks_levels
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2 as pb


class Counting:
    """The crypto context, counting the calls made on it."""

    def __init__(self, cc: Any) -> None:
        self.cc, self.calls = cc, Counter[str]()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.cc, name)

        def counted(*args: Any) -> Any:
            self.calls[name] += 1
            return method(*args)

        return counted


@pytest.fixture(scope="module")
def context() -> Iterator[Context]:
    yield Context("FIXEDMANUAL")
    fhe.ClearEvalMultKeys()
    fhe.CryptoContext.ClearEvalAutomorphismKeys()
    fhe.ReleaseAllContexts()


def _run(context: Context, steps: list[pb.ProgramStep], outputs: list[str],
         inputs: dict[str, Any], threads: int = 2) -> tuple[ProgramRun, Counting]:
    request = pb.ExecuteProgramRequest(account_id="a", key_id="k",
                                       inputs={name: "ct" for name in inputs}, steps=steps,
                                       outputs=outputs)
    program = parse(request)
    check_operands_and_price(program, context.shape)
    predicted = propagate(program, context.shape,
                          {name: ckks_levels.level_of(ct) for name, ct in inputs.items()})
    counting = Counting(context.cc)
    engine = SimpleNamespace(executor=ThreadPoolExecutor(threads), lock=ReadWriteLock())
    run = ProgramRun(program, SimpleNamespace(context=counting, shape=context.shape), inputs,
                     predicted, engine)  # type: ignore[arg-type]
    try:
        asyncio.run(run.run())
    finally:
        engine.executor.shutdown()
    return run, counting


def _decrypt(context: Context, run: ProgramRun, step: int) -> np.ndarray:
    ciphertext = fhe.DeserializeCiphertextString(run.outputs[step].serialized.data, fhe.BINARY)
    plain = context.cc.Decrypt(ciphertext, context.keys.secretKey)
    plain.SetLength(SLOTS)
    return np.array(plain.GetRealPackedValue())


def _step(op: str, *args: str, **fields: Any) -> pb.ProgramStep:
    return pb.ProgramStep(operation=op, args=list(args), **fields)


def test_independent_steps_run_at_the_same_time(context: Context,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    both = threading.Barrier(2, timeout=30)  # passed only by two steps evaluating at once
    evaluate = compute._evaluate

    def meeting(cc: Any, request: compute.ComputeInput, *args: Any) -> Any:
        if request.operation == "multiply":
            both.wait()
        return evaluate(cc, request, *args)

    monkeypatch.setattr(compute, "_evaluate", meeting)
    x, y = np.full(SLOTS, 0.5), np.full(SLOTS, 0.25)
    inputs = {"x": context.encrypt(0.5), "y": context.encrypt(0.25)}
    run, _ = _run(context, [_step("multiply", "x", "y", scale_stable=True),
                            _step("multiply", "y", "y", scale_stable=True),
                            _step("add", "$0", "$1")], ["$2"], inputs)
    assert np.max(np.abs(_decrypt(context, run, 2) - (x * y + y * y))) < 1e-3


def test_rotations_of_one_operand_share_one_precomputation(context: Context) -> None:
    inputs = {"x": context.encrypt(0.5)}
    shifts = (1, 2, -4, 3)  # 3 composes 2 + 1: its first rotation is hoisted, then one more
    steps = [_step("multiply", "x", "x", scale_stable=True)] + [
        _step("rotate", "$0", rotation_steps=s) for s in shifts]
    run, counting = _run(context, steps, [f"${k}" for k in range(1, 5)], inputs)
    assert counting.calls["EvalFastRotationPrecompute"] == 1
    assert counting.calls["EvalFastRotation"] == len(shifts)
    assert counting.calls["EvalRotate"] == 1  # the second part of 3
    for index in range(1, 5):
        assert np.max(np.abs(_decrypt(context, run, index) - 0.25)) < 1e-3
    _, counted = _run(context, steps[:2], ["$1"], inputs)
    assert counted.calls["EvalFastRotationPrecompute"] == 0  # one rotation: nothing to share


def test_results_no_step_reads_are_dropped(context: Context) -> None:
    inputs = {"x": context.encrypt(0.5)}
    steps = [_step("negate", "x"), _step("negate", "$0"), _step("add", "$1", "x"),
             _step("negate", "$2")]
    run, _ = _run(context, steps, ["$1", "$3"], inputs, threads=1)
    assert [value is not None for value in run._values] == [False, True, False, True]
    assert set(run.outputs) == {1, 3}


def test_a_failing_step_stops_the_program(context: Context,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    evaluate = compute._evaluate
    ran: list[str] = []

    def failing(cc: Any, request: compute.ComputeInput, *args: Any) -> Any:
        ran.append(request.operation)
        if request.operation == "negate":
            raise RuntimeError("simulated OpenFHE failure")
        return evaluate(cc, request, *args)

    monkeypatch.setattr(compute, "_evaluate", failing)
    inputs = {"x": context.encrypt(0.5)}
    with pytest.raises(RuntimeError, match="simulated"):
        _run(context, [_step("negate", "x"), _step("add", "$0", "x"),
                       _step("rotate", "$1", rotation_steps=1)], ["$2"], inputs)
    assert ran == ["negate"]
