"""CKKS programs: record operations on handles, send them as one request.

    with client.program(key) as p:
        x, w = p.input(ct_x), p.input(ct_w)
        y = x * w + 1                # multiply (rescaled), then add-plain
        z = y.rotate(1) + y          # a rotation and an add
        p.output(y, z)
    client.ciphertexts.decrypt(z)   # outputs are stored ciphertexts

The whole program is checked by the server before any step runs (a refusal names the step
in `details["step"]`), costs the sum of its steps (30% off from 32 steps), and stores only
the outputs: by default the last step's. With `AsyncClient`, use `async with`. Products are
rescaled and operands aligned (`scale_stable`) unless the program says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wavis_sdk._errors import ValidationError
from wavis_sdk._models import ProgramOutput, ProgramResult

__all__ = ["MAX_PROGRAM_STEPS", "Program", "ProgramOutput", "ProgramResult", "Value"]

MAX_PROGRAM_STEPS = 1024  # the server's limit (a test keeps them equal)
STEP_REF_PREFIX = "$"


@dataclass(frozen=True)
class _Fill:
    """A plaintext of one number in every slot (the key's slot count, known at send)."""

    value: float


def _invalid(message: str, **details: Any) -> ValidationError:
    return ValidationError(message, code="INVALID_PROGRAM", details=details)


class Value:
    """A ciphertext inside a program: an input or a step's result. Arithmetic with another
    Value, a stored ciphertext, a number or a vector of slot_count numbers records steps."""

    def __init__(self, program: Program, ref: str) -> None:
        self.program = program
        self.ref = ref  # "$k" for step k, else an input's name

    # -- arithmetic ---------------------------------------------------------------------

    def __add__(self, other: Any) -> Value:
        return self.program.add(self, other)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Value:
        if _is_plain(other):
            return self.program.add_plain(self, _negated(other))
        return self.program.add(self, self.program.negate(other))

    def __rsub__(self, other: Any) -> Value:
        return self.program.add(self.program.negate(self), other)

    def __mul__(self, other: Any) -> Value:
        return self.program.multiply(self, other)

    __rmul__ = __mul__

    def __neg__(self) -> Value:
        return self.program.negate(self)

    def rotate(self, steps: int) -> Value:
        return self.program.rotate(self, steps)

    def rescale(self) -> Value:
        return self.program.rescale(self)

    def poly_eval(self, coefficients: Sequence[float]) -> Value:
        return self.program.poly_eval(self, coefficients)

    def matmul(self, matrix: Sequence[Sequence[float]]) -> Value:
        return self.program.matmul(self, matrix)

    # -- after the program ran ----------------------------------------------------------

    @property
    def output(self) -> ProgramOutput:
        """This step's stored output (once the program has run)."""
        result = self.program.result
        if result is None:
            raise ValidationError("The program has not run yet: leave its `with` block (or "
                                  "call run()) first.", code="VALIDATION_ERROR")
        try:
            return result[self.ref]
        except KeyError:
            raise ValidationError(f"{self.ref} is not an output of the program: list it with "
                                  "program.output(...).", code="VALIDATION_ERROR") from None

    @property
    def ciphertext_id(self) -> str:
        """The stored ciphertext: the input's, or this step's output's."""
        if not self.ref.startswith(STEP_REF_PREFIX):
            return self.program.inputs[self.ref]
        return self.output.ciphertext_id

    @property
    def data(self) -> bytes | None:
        return self.output.data

    def __repr__(self) -> str:
        return f"Value({self.ref!r})"


def _is_plain(value: Any) -> bool:
    """A number, or a vector of numbers (not a ciphertext)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    return (not isinstance(value, (str, bytes, Value)) and hasattr(value, "__len__")
            and not hasattr(value, "ciphertext_id"))


def _negated(value: Any) -> Any:
    return -value if isinstance(value, (int, float)) else [-float(v) for v in value]


class Program:
    """Steps for one POST /compute/program, in order; steps whose operands exist run in
    parallel on the server. Get one from `client.program(key)` (it runs when its `with`
    block ends), or build one alone and send it with `client.compute.run_program`."""

    def __init__(self, key: Any, *, scale_stable: bool = True, return_ciphertext: bool = False,
                 compact: bool = False, client: Any = None) -> None:
        key_id = key if isinstance(key, str) else getattr(key, "key_id", None)
        if not isinstance(key_id, str) or not key_id:
            raise ValidationError("The program's key has no key_id: upload it first "
                                  "(client.keys.upload).", code="VALIDATION_ERROR")
        self.key_id = key_id
        slots = getattr(key, "slot_count", None)
        self.slot_count: int | None = slots if isinstance(slots, int) and slots else None
        self.scale_stable = scale_stable
        self.return_ciphertext, self.compact = return_ciphertext, compact
        self.inputs: dict[str, str] = {}  # name -> ciphertext id
        self.steps: list[dict[str, Any]] = []
        self.outputs: list[Value] = []
        self.result: ProgramResult | None = None
        self._client = client

    # -- recording ----------------------------------------------------------------------

    def input(self, ciphertext: Any, name: str | None = None) -> Value:
        """A stored ciphertext (id, Ciphertext, ComputeResult, ProgramOutput...) as an
        operand; the same ciphertext twice is one input."""
        ciphertext_id = ciphertext if isinstance(ciphertext, str) else getattr(
            ciphertext, "ciphertext_id", None)
        if not isinstance(ciphertext_id, str) or not ciphertext_id:
            raise TypeError(f"expected a ciphertext id or a stored ciphertext, got "
                            f"{type(ciphertext).__name__}")
        for known, known_id in self.inputs.items():
            if known_id == ciphertext_id and name in (None, known):
                return Value(self, known)
        name = name or f"in{len(self.inputs)}"
        if name.startswith(STEP_REF_PREFIX) or name in self.inputs:
            raise _invalid(f"Input name {name!r} is taken or starts with '$'.", input=name)
        self.inputs[name] = ciphertext_id
        return Value(self, name)

    def _operand(self, value: Any) -> str:
        if isinstance(value, Value):
            if value.program is not self:
                raise _invalid("A value of another program cannot be used here.")
            return value.ref
        return self.input(value).ref

    def step(self, op: str, *operands: Any, **fields: Any) -> Value:
        """Record any operation with the fields of POST /compute/{op}."""
        if len(self.steps) >= MAX_PROGRAM_STEPS:
            raise _invalid(f"A program holds at most {MAX_PROGRAM_STEPS} steps.",
                           step=len(self.steps))
        entry: dict[str, Any] = {"op": op, "args": [self._operand(v) for v in operands]}
        entry.update({name: value for name, value in fields.items() if value is not None})
        self.steps.append(entry)
        return Value(self, f"{STEP_REF_PREFIX}{len(self.steps) - 1}")

    def add(self, a: Any, b: Any) -> Value:
        if _is_plain(b):
            return self.add_plain(a, b)
        return self.step("add", a, b, scale_stable=self.scale_stable or None)

    def multiply(self, a: Any, b: Any) -> Value:
        if _is_plain(b):
            return self.multiply_plain(a, b)
        return self.step("multiply", a, b, scale_stable=self.scale_stable or None)

    def add_plain(self, a: Any, values: Any) -> Value:
        return self.step("add-plain", a, plain_operand=_plain(values))

    def multiply_plain(self, a: Any, values: Any) -> Value:
        return self.step("multiply-plain", a, plain_operand=_plain(values),
                         scale_stable=self.scale_stable or None)

    def negate(self, a: Any) -> Value:
        return self.step("negate", a)

    def rescale(self, a: Any) -> Value:
        return self.step("rescale", a)

    def rotate(self, a: Any, steps: int) -> Value:
        return self.step("rotate", a, rotation_steps=int(steps))

    def matmul(self, a: Any, matrix: Sequence[Sequence[float]]) -> Value:
        return self.step("matmul", a, matrix=[[float(v) for v in row] for row in matrix],
                         scale_stable=self.scale_stable or None)

    def poly_eval(self, a: Any, coefficients: Sequence[float]) -> Value:
        return self.step("poly-eval", a, polynomial_coeffs=[float(c) for c in coefficients],
                         scale_stable=self.scale_stable or None)

    def bootstrap(self, a: Any) -> Value:
        """Bootstrappable server keys; the program then runs asynchronously (waited for)."""
        return self.step("bootstrap", a)

    def output(self, *values: Value) -> None:
        """Store these results (default: only the last step's)."""
        for value in values:
            if value.program is not self or not value.ref.startswith(STEP_REF_PREFIX):
                raise _invalid(f"{value.ref!r} is not a step of this program.")
            if value.ref not in (v.ref for v in self.outputs):
                self.outputs.append(value)

    def __len__(self) -> int:
        return len(self.steps)

    # -- sending --------------------------------------------------------------------------

    @property
    def needs_slot_count(self) -> bool:
        return self.slot_count is None and any(
            isinstance(step.get("plain_operand"), _Fill) for step in self.steps)

    def body(self) -> dict[str, Any]:
        """The request, with numbers broadcast to the key's slot count."""
        steps = []
        for step in self.steps:
            fill = step.get("plain_operand")
            if isinstance(fill, _Fill):
                assert self.slot_count is not None, "the key's slot count is needed"
                step = step | {"plain_operand": [fill.value] * self.slot_count}
            steps.append(step)
        body: dict[str, Any] = {"key_id": self.key_id, "inputs": dict(self.inputs),
                                "steps": steps}
        if self.outputs:
            body["outputs"] = [value.ref for value in self.outputs]
        if self.return_ciphertext:
            body["return_ciphertext"] = True
        if self.compact:
            body["compact"] = True
        return body

    def run(self) -> ProgramResult:
        """Send the program (synchronous Client); also what leaving `with` does."""
        client = self._require_client()
        if getattr(client, "is_async", False):
            raise TypeError("An AsyncClient's program runs with `async with` or "
                            "`await program.run_async()`.")
        self.result = client.run(client._ops.run_program(self))
        return self.result

    async def run_async(self) -> ProgramResult:
        """Send the program (AsyncClient); also what leaving `async with` does."""
        client = self._require_client()
        if not getattr(client, "is_async", False):
            raise TypeError("A Client's program runs with `with` or `program.run()`.")
        self.result = await client.run(client._ops.run_program(self))
        return self.result

    def _require_client(self) -> Any:
        if self._client is None:
            raise TypeError("This program has no client: send it with "
                            "client.compute.run_program(program).")
        return self._client

    def __enter__(self) -> Program:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.run()

    async def __aenter__(self) -> Program:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            await self.run_async()


def _plain(values: Any) -> Any:
    if isinstance(values, (int, float)) and not isinstance(values, bool):
        return _Fill(float(values))
    return [float(v) for v in values]
