"""A compiled model's program run directly on OpenFHE objects in this process: what
ckks-compute does step by step (the same operations of wavis.fhe.ckks_ops, the same hoisted
rotations), without the service around it. The measuring script (scripts/measure_models.py)
and the benchmark (bench/inference.py) use it; the service never does.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from services.inference.compiler import INPUT, Program
from wavis.core.ckks_programs import step_ref
from wavis.fhe import ckks_ops
from wavis.fhe.ckks_ops import KeyShape


def key_shape(context: Any, rotations: list[int], manual_scaling: bool = False) -> KeyShape:
    return KeyShape(slot_count=int(context.GetRingDimension()) // 2, max_depth=1 << 10,
                    rotations=frozenset(rotations), manual_scaling=manual_scaling)


def run_program(context: Any, program: Program, ciphertext: Any, shape: KeyShape) -> Any:
    """The program's output ciphertext."""
    values: dict[str, Any] = {INPUT: ciphertext}
    rotations = Counter(step.args[0] for step in program.steps if step.operation == "rotate")
    digits: dict[str, Any] = {}
    uses = Counter(arg for step in program.steps for arg in step.args)
    slots = shape.slot_count
    for index, step in enumerate(program.steps):
        a = values[step.args[0]]
        operation = step.operation
        if step.scale_stable and operation in ("multiply-plain", "poly-eval"):
            a = ckks_ops.rescale_products(context, a, shape)
        if operation == "add":
            b = values[step.args[1]]
            if step.scale_stable:
                a, b = (ckks_ops.rescale_products(context, ct, shape) for ct in (a, b))
            result = context.EvalAdd(a, b)
        elif operation == "multiply-plain":
            product = context.EvalMult(a, ckks_ops.plaintext(
                context, step.plain_values(slots).tolist(), a))
            result = (ckks_ops.rescale_products(context, product, shape)
                      if step.scale_stable else product)
        elif operation == "add-plain":
            result = context.EvalAdd(a, ckks_ops.plaintext(
                context, step.plain_values(slots).tolist(), a))
        elif operation == "rotate":
            assert step.rotation_steps is not None
            operand = step.args[0]
            if rotations[operand] > 1:  # hoisted, as ckks-compute does
                if operand not in digits:
                    digits[operand] = context.EvalFastRotationPrecompute(a)
                result = ckks_ops.rotate_hoisted(context, a, step.rotation_steps, shape,
                                                 digits[operand])
            else:
                result = ckks_ops.rotate(context, a, step.rotation_steps, shape)
        elif operation == "poly-eval":
            result = context.EvalPoly(a, list(step.polynomial_coeffs))
        else:
            raise AssertionError(operation)
        values[step_ref(index)] = result
        for arg in step.args:  # drop what no later step reads
            uses[arg] -= 1
            if not uses[arg] and arg != program.output:
                values.pop(arg, None)
                digits.pop(arg, None)
    return values[program.output]
