"""A compiled model's program run on plaintext slots (numpy), the way CKKS runs it on
encrypted ones but exact: for testing the compiler and the layout without encryption."""

from __future__ import annotations

import numpy as np

from services.inference.compiler import Program


def run_on_slots(program: Program, slots: np.ndarray) -> np.ndarray:
    """The program's output for input slots (len = the slot count)."""
    return program.simulate(np.asarray(slots, dtype=np.float64))[program.output]


def pack(features: np.ndarray, block_size: int, slot_count: int) -> np.ndarray:
    slots = np.zeros(slot_count)
    for sample, row in enumerate(features):
        slots[sample * block_size:sample * block_size + len(row)] = row
    return slots


def unpack(slots: np.ndarray, block_size: int, samples: int, outputs: int) -> np.ndarray:
    return np.stack([slots[s * block_size:s * block_size + outputs] for s in range(samples)])
