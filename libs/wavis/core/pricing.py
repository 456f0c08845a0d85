"""What work costs: FHE compute units (FCU) per operation, and their price."""

from __future__ import annotations

import math

USD_PER_FCU = 0.000002
DEFAULT_JPY_PER_USD = 150.0

# CKKS operations.
CKKS_FCU = {
    "add": 1, "negate": 1, "rescale": 1, "add-plain": 1,
    "multiply-plain": 2,
    "multiply": 5, "rotate": 5, "key_switch": 5,
    "poly-eval": 10,
    "matmul": 20,
    "bootstrap": 50,
}

# TFHE: a gate costs its bootstraps (wavis.core.tfhe_catalog) x this; NOT, with none, is free.
FCU_PER_BOOTSTRAP = 5
BATCH_DISCOUNT_FROM_GATES = 32
BATCH_DISCOUNT = 0.30


def tfhe_fcu(bootstraps: int) -> int:
    return bootstraps * FCU_PER_BOOTSTRAP


def batch_fcu(gate_bootstraps: list[int]) -> tuple[int, bool]:
    """(FCU of a TFHE batch, whether the batch discount applies): 30% off from 32 gates,
    rounded up to a whole unit."""
    return _discounted([tfhe_fcu(bootstraps) for bootstraps in gate_bootstraps])


def program_fcu(step_fcu: list[int]) -> tuple[int, bool]:
    """(FCU of a CKKS program, whether the discount applies): the sum of its steps, with
    the batch discount of TFHE batches from as many steps as a batch needs gates."""
    return _discounted(step_fcu)


def _discounted(each: list[int]) -> tuple[int, bool]:
    fcu = sum(each)
    if len(each) < BATCH_DISCOUNT_FROM_GATES:
        return fcu, False
    return math.ceil(round(fcu * (1 - BATCH_DISCOUNT), 9)), True


def cost_usd(fcu: int | float) -> float:
    return round(fcu * USD_PER_FCU, 8)


def cost_jpy(fcu: int | float, jpy_per_usd: float) -> float:
    return round(cost_usd(fcu) * jpy_per_usd, 6)
