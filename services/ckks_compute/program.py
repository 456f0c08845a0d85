"""CKKS programs: a whole circuit read and checked before any of it runs.

`parse` checks the structure (operations, references, fields present, outputs) and needs
nothing loaded; `check_operands` the fields against the key; `propagate` carries every
step's level and scale through the graph from the inputs' (wavis.fhe.ckks_levels), so a
step that would exhaust the budget or mix levels is refused with its index before the first
step runs, at no cost. See docs/decisions/0060-ckks-programs.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from services.ckks_compute.compute import ComputeInput, check_operands, result_count
from wavis.core.ckks_programs import (
    MAX_PROGRAM_STEPS,
    MAX_RETURNED_OUTPUTS,
    parse_step_ref,
    step_ref,
)
from wavis.core.errors import WavisError
from wavis.core.pricing import CKKS_FCU, program_fcu
from wavis.fhe import ckks_levels, ckks_ops
from wavis.fhe.ckks_ops import KeyShape
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2 as pb

# An operand: an input's name, or the index of the step whose result it is.
Source = str | int


@dataclass
class Step:
    index: int
    work: ComputeInput  # the operation and its fields (no ciphertext ids)
    args: list[Source]
    matrix: list[list[float]] | None = None  # matmul's, checked
    fcu: int = 0
    # Rotations of one operand share one hoisted precomputation (OpenFHE's fast rotation)
    # when the program rotates it more than once: the index of that operand in `hoisted`.
    hoist: int | None = None


@dataclass
class Program:
    account_id: str
    key_id: str
    inputs: dict[str, str]  # name -> ciphertext id
    steps: list[Step]
    outputs: list[int]  # step indices, in the order asked for
    hoisted: list[Source] = field(default_factory=list)  # operands rotated more than once
    fcu: int = 0
    discounted: bool = False


@contextmanager
def at_step(index: int) -> Iterator[None]:
    """Refusals raised inside name the step they are about."""
    try:
        yield
    except WavisError as error:
        raise WavisError(error.code, f"Step {index}: {error.message}",
                         error.details | {"step": index}) from None


def _invalid(message: str, **details: object) -> WavisError:
    return WavisError("INVALID_PROGRAM", message, dict(details))


# The field each operation cannot do without (a step without it is malformed).
_REQUIRED = {"add-plain": "plain_operand", "multiply-plain": "plain_operand",
             "poly-eval": "polynomial_coeffs", "rotate": "rotation_steps", "matmul": "matrix"}


def parse(request: pb.ExecuteProgramRequest) -> Program:
    """The program's structure, or INVALID_PROGRAM naming the first faulty step."""
    for name, ciphertext_id in request.inputs.items():
        if not name or name.startswith("$") or not ciphertext_id:
            raise _invalid(f"Input {name!r}: names are non-empty and do not start with '$', "
                           "and each names a ciphertext id.", input=name)
    count = len(request.steps)
    if not count:
        raise _invalid("A program needs at least one step.", field="steps")
    if count > MAX_PROGRAM_STEPS:
        raise _invalid(f"A program holds at most {MAX_PROGRAM_STEPS} steps; this one has "
                       f"{count}.", step=MAX_PROGRAM_STEPS)
    inputs = dict(request.inputs)
    steps = [_parse_step(index, message, inputs)
             for index, message in enumerate(request.steps)]
    if request.return_ciphertext and len(request.outputs) > MAX_RETURNED_OUTPUTS:
        raise _invalid(f"An answer carries the bytes of at most {MAX_RETURNED_OUTPUTS} outputs; "
                       "return_ciphertext with fewer outputs, or download them with GET "
                       "/ciphertexts/{id}.", field="outputs")
    outputs = []
    for position, ref in enumerate(request.outputs or [step_ref(count - 1)]):
        index = _reference(ref, count)
        if index is None:
            raise _invalid(f"Output {ref!r} is not a step of the program (\"$0\" to "
                           f"\"${count - 1}\").", output=position)
        if index in outputs:
            raise _invalid(f"Output {ref!r} is listed twice.", output=position)
        outputs.append(index)
    return Program(request.account_id, request.key_id, inputs, steps, outputs)


def _reference(ref: str, before: int) -> int | None:
    try:
        index = parse_step_ref(ref)
    except ValueError:
        return None
    return index if index is not None and index < before else None


def _parse_step(index: int, message: pb.ProgramStep, inputs: dict[str, str]) -> Step:
    operation = message.operation
    if operation not in ckks_ops.OPERATIONS:
        raise _invalid(f"Step {index}: unknown operation {operation!r}; one of "
                       f"{', '.join(ckks_ops.OPERATIONS)}.", step=index, field="op")
    arity = 2 if operation in ckks_ops.BINARY else 1
    if len(message.args) != arity:
        raise _invalid(f"Step {index}: {operation} takes {arity} argument(s), not "
                       f"{len(message.args)}.", step=index, field="args")
    args: list[Source] = []
    for arg in message.args:
        try:
            ref = parse_step_ref(arg)
        except ValueError:
            raise _invalid(f"Step {index}: {arg!r} is not a step reference (\"$k\").",
                           step=index, field="args") from None
        if ref is None and arg not in inputs:
            raise _invalid(f"Step {index}: no input named {arg!r}.", step=index, field="args")
        if ref is not None and ref >= index:
            which = "itself" if ref == index else "a later step"
            raise _invalid(f"Step {index}: {arg} refers to {which}; arguments name inputs or "
                           "earlier steps.", step=index, field="args")
        args.append(arg if ref is None else ref)
    required = _REQUIRED.get(operation)
    given = {"plain_operand": message.has_plain_operand,
             "polynomial_coeffs": bool(message.polynomial_coeffs),
             "rotation_steps": message.HasField("rotation_steps"),
             "matrix": bool(message.matrix)}
    if required is not None and not given[required]:
        raise _invalid(f"Step {index}: {operation} needs {required}.", step=index,
                       field=required)
    work = ComputeInput(
        account_id="", operation=operation, key_id="", ciphertext_ids=[],
        plain_operand=list(message.plain_operand) if message.has_plain_operand else None,
        plain_repeats=message.plain_operand_repeats,
        polynomial_coeffs=list(message.polynomial_coeffs), scale_stable=message.scale_stable,
        rotation_steps=int(message.rotation_steps),
        matrix=[list(row.values) for row in message.matrix] or None)
    return Step(index, work, args)


def check_operands_and_price(program: Program, shape: KeyShape) -> None:
    """Each step's fields against the key (lengths, rotation keys, bootstrapping), its FCU,
    the program's, and which rotations share a precomputation."""
    rotated: dict[Source, list[Step]] = {}
    for step in program.steps:
        with at_step(step.index):
            step.matrix = check_operands(step.work, shape)
        if step.work.operation == "rescale" and not shape.manual_scaling:
            step.fcu = 0  # a no-op under automatic scaling, free as a single operation
        else:
            step.fcu = CKKS_FCU[step.work.operation]
        if step.work.operation == "rotate":
            rotated.setdefault(step.args[0], []).append(step)
    for operand, rotations in rotated.items():
        if len(rotations) > 1:
            for step in rotations:
                step.hoist = len(program.hoisted)
            program.hoisted.append(operand)
    program.fcu, program.discounted = program_fcu([step.fcu for step in program.steps])


def propagate(program: Program, shape: KeyShape,
              inputs: dict[str, ckks_levels.Level]) -> list[ckks_levels.Level]:
    """Every step's predicted level and scale; the first step that must not run raises its
    refusal (NOISE_BUDGET_EXHAUSTED, MISMATCHED_LEVEL...) with details.step."""
    levels: list[ckks_levels.Level] = []
    for step in program.steps:
        operands = [inputs[a] if isinstance(a, str) else levels[a] for a in step.args]
        with at_step(step.index):
            levels.append(ckks_levels.after(
                step.work.operation, operands, shape, scale_stable=step.work.scale_stable,
                coefficients=step.work.polynomial_coeffs))
    return levels


def value_counts(program: Program, inputs: dict[str, int]) -> list[int]:
    """Each step result's value count (docs/decisions/0035-decrypt-value-count.md)."""
    counts: list[int] = []
    for step in program.steps:
        operands = [inputs[a] if isinstance(a, str) else counts[a] for a in step.args]
        counts.append(result_count(step.work.operation, operands))
    return counts
