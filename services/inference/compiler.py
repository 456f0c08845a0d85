"""A network compiled into a CKKS program over a batch of samples in one ciphertext.

Layout (docs/decisions/0085-models-compiled-to-ckks-programs.md): the slots are cut into
blocks of `block_size` (the smallest power of two that holds the widest layer); sample s
occupies block s, its features at slots s*block_size + j. Every layer keeps that layout, so a
ciphertext of slot_count values carries slot_count / block_size samples and one run of the
program infers them all.

- A dense layer W (out x in) is y = sum_k d_k * rot(x, k) over its non-cyclic diagonals
  k = -(out-1) .. in-1, with d_k[r] = W[r][r+k] where 0 <= r < out and 0 <= r+k < in, else 0,
  repeated in every block. A rotation that crosses into the next block meets a zero of d_k,
  so whatever the other slots hold never leaks in, and the rows past `out` come out as
  zeros. Baby-step giant-step: rotations of the input by 1..m-1 (one operand rotated many
  times: ckks-compute hoists them), then one rotation per group of m diagonals, by a
  multiple of m (m a power of two, the same for every layer: few distinct rotation keys).
- The last layer, when it has one output, is a product then log2(block_size) rotations and
  additions that sum each block into its first slot (fewer rotations than the diagonals).
- An activation is one poly-eval of its stated approximation; the map from the stated range
  to [-1, 1] is folded into the dense layer before it.
Every product is `scale_stable`, so server keys (FIXEDMANUAL) rescale as they go and blind
keys (FLEXIBLEAUTO) are unaffected.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from services.inference.approximations import Approximation
from services.inference.network import Activation, Dense, Network
from wavis.core.ckks_programs import MAX_PROGRAM_STEPS, step_ref
from wavis.core.pricing import CKKS_FCU, program_fcu
from wavis.fhe import ckks_levels
from wavis.fhe.ckks_ops import KeyShape

INPUT = "x"  # the program's one input: the ciphertext of packed samples
# OpenFHE refuses ring dimensions below this (1024, as the API's "testing" keys).
MIN_POLY_DEGREE = 1024


class CompileError(ValueError):
    """A network that cannot become a program (too wide, too many steps)."""


@dataclass(frozen=True)
class Step:
    """One program step, as ExecuteProgramRequest.steps takes it."""

    operation: str
    args: tuple[str, ...]
    plain_operand: np.ndarray | None = None  # one block, repeated over the slots
    polynomial_coeffs: tuple[float, ...] = ()
    rotation_steps: int | None = None
    scale_stable: bool = False

    def plain_values(self, slot_count: int) -> np.ndarray:
        assert self.plain_operand is not None
        return np.tile(self.plain_operand, slot_count // len(self.plain_operand))


@dataclass
class Program:
    """A compiled model: steps independent of the slot count (plaintext operands are one
    block each, repeated over whatever slots the key has)."""

    block_size: int
    baby_steps: int = 1  # the baby-step count of every dense layer's diagonals
    steps: list[Step] = field(default_factory=list)
    output: str = ""

    def add(self, operation: str, *args: str, **fields: object) -> str:
        self.steps.append(Step(operation, tuple(args), **fields))  # type: ignore[arg-type]
        return step_ref(len(self.steps) - 1)

    @property
    def rotations(self) -> list[int]:
        return sorted({step.rotation_steps for step in self.steps
                       if step.rotation_steps is not None})

    @property
    def fcu(self) -> int:
        return program_fcu([CKKS_FCU[step.operation] for step in self.steps])[0]

    def levels_used(self, manual_scaling: bool = False) -> dict[str, int]:
        """Levels each value has consumed from a fresh input (INPUT and every step), by the
        level model ckks-compute checks programs with."""
        shape = KeyShape(slot_count=1 << 20, max_depth=1 << 10,
                         rotations=frozenset(self.rotations), manual_scaling=manual_scaling)
        levels = {INPUT: ckks_levels.Level(0, 1)}
        for index, step in enumerate(self.steps):
            levels[step_ref(index)] = ckks_levels.after(
                step.operation, [levels[arg] for arg in step.args], shape,
                scale_stable=step.scale_stable, coefficients=step.polynomial_coeffs)
        return {ref: ckks_levels.used(level, shape) for ref, level in levels.items()}

    def depth(self) -> int:
        """Levels the program consumes from a fresh input (the same under automatic and
        manual scaling)."""
        return max(self.levels_used(manual)[self.output] for manual in (False, True))

    def simulate(self, vector: np.ndarray) -> dict[str, np.ndarray]:
        """Every step's slots computed in plaintext, as the encrypted program computes them
        (garbage in the slots outside the outputs included); the input under INPUT."""
        slots = len(vector)
        values = {INPUT: np.asarray(vector, dtype=float)}
        for index, step in enumerate(self.steps):
            a = values[step.args[0]]
            if step.operation == "add":
                result = a + values[step.args[1]]
            elif step.operation == "multiply-plain":
                result = a * step.plain_values(slots)
            elif step.operation == "add-plain":
                result = a + step.plain_values(slots)
            elif step.operation == "rotate":
                result = np.roll(a, -int(step.rotation_steps or 0))
            elif step.operation == "poly-eval":
                result = np.polynomial.polynomial.polyval(a, step.polynomial_coeffs)
            else:
                raise AssertionError(step.operation)
            values[step_ref(index)] = result
        return values

    def last_level_refs(self) -> list[str]:
        """The values at the output's level: on a key of exactly the program's depth, the
        ones that live under the smallest modulus, so whose magnitude the key must hold."""
        used = self.levels_used()
        return [ref for ref, level in used.items() if level == used[self.output]]

    def last_level_magnitude(self, vectors: Iterable[np.ndarray]) -> float:
        """The largest mean magnitude, over the slots, of a value the program leaves at its
        last level for any of these inputs: it bounds every coefficient CKKS decodes there."""
        refs = self.last_level_refs()
        worst = 0.0
        for vector in vectors:
            values = self.simulate(vector)
            worst = max(worst, *(float(np.mean(np.abs(values[ref]))) for ref in refs))
        return worst


def block_size_of(network: Network) -> int:
    return 1 << math.ceil(math.log2(max(network.widths)))


def baby_steps_of(layers: list[Dense | Approximation]) -> int:
    """The power of two nearest the square root of the widest span of diagonals."""
    spans = [sum(layer.weights.shape) - 1 for layer in layers if isinstance(layer, Dense)]
    return 1 << max(0, round(math.log2(math.sqrt(max(spans)))))


def compile_network(network: Network, approximations: dict[str, Approximation],
                    output_scale: float = 1.0) -> Program:
    """The program for `network`; each activation's approximation by node name. Its outputs
    are the network's divided by output_scale, folded into the last layer at no cost: values
    the last level holds must stay far below its modulus over the scale, or the decryption
    wraps around (docs/decisions/0087-model-outputs-fit-the-last-level.md)."""
    layers = _folded(network, approximations)
    if output_scale != 1.0:
        layers[-1] = _scaled(layers[-1], 1.0 / output_scale)
    program = Program(block_size_of(network), baby_steps_of(layers))
    current = INPUT
    for position, layer in enumerate(layers):
        if isinstance(layer, Dense):
            last = position == len(layers) - 1
            if last and layer.width == 1:
                current = _dense_to_one(program, current, layer)
            else:
                current = _dense(program, current, layer)
        else:
            current = program.add("poly-eval", current,
                                  polynomial_coeffs=layer.coefficients, scale_stable=True)
    program.output = current
    if len(program.steps) > MAX_PROGRAM_STEPS:
        raise CompileError(f"The model compiles to {len(program.steps)} steps; a program holds "
                           f"at most {MAX_PROGRAM_STEPS}.")
    return program


def _folded(network: Network, approximations: dict[str, Approximation],
            ) -> list[Dense | Approximation]:
    """Consecutive dense layers multiplied into one; each activation's range map folded
    into the dense layer before it (so the polynomial sees [-1, 1])."""
    layers: list[Dense | Approximation] = []
    for layer in network.layers:
        if isinstance(layer, Dense):
            previous = layers[-1] if layers else None
            if isinstance(previous, Dense):
                layers[-1] = Dense(layer.weights @ previous.weights,
                                   layer.weights @ previous.bias + layer.bias, previous.node)
            else:
                layers.append(Dense(layer.weights.copy(), layer.bias.copy(), layer.node))
            continue
        assert isinstance(layer, Activation)
        approximation = approximations[layer.node]
        dense = layers[-1]
        assert isinstance(dense, Dense)  # the reader allows activations after dense only
        low, high = approximation.low, approximation.high
        dense.weights = dense.weights * (2.0 / (high - low))
        dense.bias = (2.0 * dense.bias - (low + high)) / (high - low)
        layers.append(approximation)
    return layers


def _scaled(layer: Dense | Approximation, factor: float) -> Dense | Approximation:
    if isinstance(layer, Dense):
        return Dense(layer.weights * factor, layer.bias * factor, layer.node)
    return replace(layer, coefficients=tuple(c * factor
                                                         for c in layer.coefficients))


# A weight this much smaller than the layer's largest changes nothing CKKS can represent
# (its precision is about 2^-40 of the values), and a diagonal of such weights alone cannot
# even be encoded (OpenFHE: "Scaling factor too small"): such weights become zeros. Training
# leaves them on inputs that never vary (the digits' always-blank pixels: 1e-51).
NEGLIGIBLE = 1e-12


def negligible_to_zero(weights: np.ndarray) -> np.ndarray:
    largest = float(np.max(np.abs(weights))) if weights.size else 0.0
    return np.where(np.abs(weights) < NEGLIGIBLE * largest, 0.0, weights)


def _block(values: np.ndarray, block_size: int) -> np.ndarray:
    block = np.zeros(block_size)
    block[:len(values)] = values
    return block


def _sum(program: Program, refs: list[str]) -> str:
    """A balanced tree of additions (its halves can run side by side)."""
    while len(refs) > 1:
        paired = [program.add("add", refs[i], refs[i + 1]) for i in range(0, len(refs) - 1, 2)]
        refs = paired + ([refs[-1]] if len(refs) % 2 else [])
    return refs[0]


def _dense(program: Program, current: str, layer: Dense) -> str:
    """Baby-step giant-step over the layer's non-cyclic diagonals."""
    weights, block = negligible_to_zero(layer.weights), program.block_size
    out, width = weights.shape
    diagonals: dict[int, np.ndarray] = {}
    for k in range(-(out - 1), width):
        rows = np.arange(out)
        keep = (rows + k >= 0) & (rows + k < width)
        if not keep.any() or not np.any(weights[rows[keep], rows[keep] + k]):
            continue
        diagonal = np.zeros(block)
        diagonal[rows[keep]] = weights[rows[keep], rows[keep] + k]
        diagonals[k] = diagonal
    babies: dict[int, str] = {0: current}
    groups: list[str] = []
    baby = program.baby_steps
    # k = shift + b with shift a multiple of `baby`: every layer's giant rotations are
    # multiples of one number and its baby rotations 1..baby-1, so the model needs few
    # distinct rotation keys.
    for shift in range(baby * (min(diagonals) // baby), max(diagonals) + 1, baby):
        terms = []
        for b in range(baby):
            values = diagonals.get(shift + b)
            if values is None:
                continue
            if b not in babies:
                babies[b] = program.add("rotate", current, rotation_steps=b)
            # d_k rotated right by `shift`, so the group's rotation by `shift` aligns it.
            terms.append(program.add("multiply-plain", babies[b],
                                     plain_operand=np.roll(values, shift), scale_stable=True))
        if not terms:
            continue
        group = _sum(program, terms)
        if shift:
            group = program.add("rotate", group, rotation_steps=shift)
        groups.append(group)
    total = _sum(program, groups)
    if np.any(layer.bias):
        total = program.add("add-plain", total, plain_operand=_block(layer.bias, block))
    return total


def _dense_to_one(program: Program, current: str, layer: Dense) -> str:
    """One output: the products, then each block summed into its first slot."""
    block = program.block_size
    total = program.add("multiply-plain", current,
                        plain_operand=_block(negligible_to_zero(layer.weights)[0], block),
                        scale_stable=True)
    step = 1
    while step < layer.weights.shape[1]:
        total = program.add("add", total, program.add("rotate", total, rotation_steps=step))
        step *= 2
    if layer.bias[0]:
        total = program.add("add-plain", total, plain_operand=_block(layer.bias, block))
    return total
