"""Programs end to end inside ckks-compute: load and check, run, store the outputs; their
results as messages and as the JSON an asynchronous operation's record keeps
(docs/decisions/0060-ckks-programs.md)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from services.ckks_compute.ciphertexts import StoredCiphertext
from services.ckks_compute.compute import Calculator
from services.ckks_compute.engine import LoadedKey
from services.ckks_compute.program import (
    Program,
    check_operands_and_price,
    propagate,
    value_counts,
)
from services.ckks_compute.program_run import ProgramRun
from wavis.core.usage_meter import in_background
from wavis.fhe import ckks_levels
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2 as pb


@dataclass
class PreparedProgram:
    """A program whose inputs are loaded and whose every step passed its checks."""

    program: Program
    key: LoadedKey
    inputs: dict[str, Any]  # name -> deserialized ciphertext
    predicted: list[ckks_levels.Level]
    counts: list[int]  # each step result's value count
    uploaded: bool  # an input came from uploaded bytes: so do the outputs


@dataclass
class StoredOutput:
    step: int
    stored: StoredCiphertext
    data: bytes | None  # the bytes to return, if asked for


@dataclass
class ProgramOutcome:
    outputs: list[StoredOutput]
    evicted: list[str]
    compute_time_ms: float
    steps_evaluated: int


class Programs:
    def __init__(self, calculator: Calculator) -> None:
        self.calculator = calculator
        self.engine = calculator.engine
        self.store = calculator.store

    async def key_for(self, program: Program) -> LoadedKey:
        """The program's key, with every step's fields checked against it and priced."""
        key = await self.engine.key(program.account_id, program.key_id)
        check_operands_and_price(program, key.shape)
        return key

    async def prepare(self, program: Program, key: LoadedKey) -> PreparedProgram:
        """Load the inputs and carry levels through every step: any refusal happens here,
        before anything runs."""
        names = list(program.inputs)
        loaded, records = await self.calculator.load_records(
            program.account_id, [program.inputs[name] for name in names], key)
        levels = {name: ckks_levels.level_of(ct) for name, ct in zip(names, loaded, strict=True)}
        predicted = propagate(program, key.shape, levels)
        counts = value_counts(program, {name: record.value_count
                                        for name, record in zip(names, records, strict=True)})
        return PreparedProgram(program, key, dict(zip(names, loaded, strict=True)), predicted,
                               counts, any(record.uploaded for record in records))

    async def execute(self, prepared: PreparedProgram, return_data: bool = False,
                      compact: bool = False) -> ProgramOutcome:
        program, key = prepared.program, prepared.key
        run = ProgramRun(program, key, prepared.inputs, prepared.predicted, self.engine,
                         return_data=return_data, compact=compact)
        results = await run.run()
        storing = asyncio.ensure_future(asyncio.gather(
            *(self.calculator.store_result(key, results[step].serialized,
                                           prepared.counts[step], prepared.uploaded)
              for step in program.outputs), return_exceptions=True))
        try:
            stored = await asyncio.shield(storing)
        except asyncio.CancelledError:  # the stores go on: drop whatever they store
            storing.add_done_callback(lambda done: in_background(
                self._drop(program.account_id, done.result())))
            raise
        failures = [s for s in stored if isinstance(s, BaseException)]
        if failures:
            await self._drop(program.account_id, stored)
            raise failures[0]
        outputs: list[StoredOutput] = []
        evicted: list[str] = []
        for step, entry in zip(program.outputs, stored, strict=True):
            assert isinstance(entry, tuple)
            record, pushed_out = entry
            outputs.append(StoredOutput(step, record, results[step].returned))
            evicted += pushed_out
        return ProgramOutcome(outputs, evicted, run.compute_time_ms, len(program.steps))

    async def _drop(self, account_id: str, stored: list[Any]) -> None:
        for entry in stored:
            if isinstance(entry, tuple):
                await self.discard_ciphertext(account_id, entry[0].ciphertext_id)

    async def discard(self, outcome: ProgramOutcome) -> None:
        """Drop a program's stored outputs (its charge was refused, or it was cancelled)."""
        for output in outcome.outputs:
            await self.discard_ciphertext(output.stored.account_id,
                                          output.stored.ciphertext_id)

    async def discard_ciphertext(self, account_id: str, ciphertext_id: str) -> None:
        self.engine.forget_ciphertext(ciphertext_id)
        with contextlib.suppress(Exception):  # already gone: nothing to drop
            await self.store.delete(account_id, ciphertext_id)


def result_to_json(result: pb.ProgramResult) -> dict[str, Any]:
    """For an asynchronous program's record (no ciphertext bytes)."""
    return json_format.MessageToDict(result, preserving_proto_field_name=True)


def result_from_json(record: dict[str, Any]) -> pb.ProgramResult:
    return json_format.ParseDict(record, pb.ProgramResult())
