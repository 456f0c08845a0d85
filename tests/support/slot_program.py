"""A compiled model's program run on plaintext slots (numpy), the way CKKS runs it on
encrypted ones but exact: for testing the compiler and the layout without encryption."""

from __future__ import annotations

import numpy as np

from services.inference.compiler import INPUT, Program
from wavis.core.ckks_programs import step_ref


def run_on_slots(program: Program, slots: np.ndarray) -> np.ndarray:
    """The program's output for input slots (len = the slot count)."""
    values: dict[str, np.ndarray] = {INPUT: np.asarray(slots, dtype=np.float64)}
    slot_count = len(slots)
    for index, step in enumerate(program.steps):
        args = [values[arg] for arg in step.args]
        if step.operation == "add":
            result = args[0] + args[1]
        elif step.operation == "multiply-plain":
            result = args[0] * step.plain_values(slot_count)
        elif step.operation == "add-plain":
            result = args[0] + step.plain_values(slot_count)
        elif step.operation == "rotate":
            assert step.rotation_steps is not None
            result = np.roll(args[0], -step.rotation_steps)  # positive is left
        elif step.operation == "poly-eval":
            result = np.polynomial.polynomial.polyval(args[0], step.polynomial_coeffs)
        else:
            raise AssertionError(step.operation)
        values[step_ref(index)] = result
    return values[program.output]


def pack(features: np.ndarray, block_size: int, slot_count: int) -> np.ndarray:
    slots = np.zeros(slot_count)
    for sample, row in enumerate(features):
        slots[sample * block_size:sample * block_size + len(row)] = row
    return slots


def unpack(slots: np.ndarray, block_size: int, samples: int, outputs: int) -> np.ndarray:
    return np.stack([slots[s * block_size:s * block_size + outputs] for s in range(samples)])
