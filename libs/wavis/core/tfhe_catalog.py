"""The TFHE gates and presets the API offers, declared once as plain data.

What each gate takes, how many bootstraps it really costs (its price is that x FCU_PER_BOOTSTRAP,
wavis.core.pricing) and which plaintext modulus its ciphertexts carry; which OpenFHE parameter
set each preset is. The gateway (pricing, OpenAPI enums), tfhe-eval (validation, evaluation,
metering) and the keys service (generation, matching uploads) all read this module, which
loads no OpenFHE (docs/decisions/0046-tfhe-gates-and-presets-declared-once.md).

Bootstraps, from OpenFHE's BinFHEScheme::EvalBinGate: every two-input gate and every
three-input gate sums its inputs and runs one bootstrap (BootstrapGateCore); NOT negates
without one; MUX is built here as (sel AND a) OR (NOT sel AND b), three.

Three-input gates need a preset whose parameter set holds the noise of three summed inputs,
and AND3/OR3 need ciphertexts of plaintext modulus 6 (their inputs and their output), every
other gate modulus 4 (docs/decisions/0045-three-input-tfhe-presets.md).
"""

from __future__ import annotations

from dataclasses import dataclass

STANDARD_MODULUS = 4  # OpenFHE's default plaintext modulus: a bit is 0 or q/4
THREE_INPUT_MODULUS = 6  # AND3, OR3: a bit is 0 or q/6, so a sum of three is told apart


@dataclass(frozen=True)
class TfheGate:
    op: str
    inputs: tuple[str, ...]  # field names of the API, in OpenFHE's order
    bootstraps: int
    plaintext_modulus: int = STANDARD_MODULUS  # of every input and of the output
    three_input: bool = False  # only on presets with three_input


@dataclass(frozen=True)
class TfhePreset:
    name: str
    paramset: str  # openfhe.BINFHE_PARAMSET member
    method: str  # openfhe.BINFHE_METHOD member
    security_bits: int
    three_input: bool = False


_TWO = ("a", "b")
_THREE = ("a", "b", "c")
GATES: tuple[TfheGate, ...] = (
    TfheGate("NAND", _TWO, 1),
    TfheGate("AND", _TWO, 1),
    TfheGate("OR", _TWO, 1),
    TfheGate("XOR", _TWO, 1),
    TfheGate("NOR", _TWO, 1),
    TfheGate("XNOR", _TWO, 1),
    TfheGate("NOT", ("a",), 0),
    TfheGate("MUX", ("a", "b", "sel"), 3),
    TfheGate("AND3", _THREE, 1, THREE_INPUT_MODULUS, three_input=True),
    TfheGate("OR3", _THREE, 1, THREE_INPUT_MODULUS, three_input=True),
    TfheGate("MAJORITY", _THREE, 1, three_input=True),
)

PRESETS: tuple[TfhePreset, ...] = (
    TfhePreset("fast_128", "STD128", "GINX", 128),
    TfhePreset("standard_128", "STD128_LMKCDEY", "LMKCDEY", 128),
    TfhePreset("conservative_128", "STD128Q_LMKCDEY", "LMKCDEY", 128),
    TfhePreset("toy", "TOY", "GINX", 0),
    TfhePreset("fast_128_3", "STD128_3", "GINX", 128, three_input=True),
    TfhePreset("standard_128_3", "STD128_3_LMKCDEY", "LMKCDEY", 128, three_input=True),
    TfhePreset("conservative_128_3", "STD128Q_3_LMKCDEY", "LMKCDEY", 128, three_input=True),
    # OpenFHE has no TOY_3: TOY's margins hold three inputs, and LMKCDEY makes its parameter
    # record differ from toy's, so an uploaded key names its preset (0045).
    TfhePreset("toy_3", "TOY", "LMKCDEY", 0, three_input=True),
)

GATE_BY_OP: dict[str, TfheGate] = {gate.op: gate for gate in GATES}
PRESET_BY_NAME: dict[str, TfhePreset] = {preset.name: preset for preset in PRESETS}
GATE_OPS: tuple[str, ...] = tuple(GATE_BY_OP)
GATE_BOOTSTRAPS: dict[str, int] = {gate.op: gate.bootstraps for gate in GATES}
PRESET_NAMES: tuple[str, ...] = tuple(PRESET_BY_NAME)
PLAINTEXT_MODULI: tuple[int, ...] = tuple(sorted({g.plaintext_modulus for g in GATES}))


def security_bits(preset: str) -> int:
    found = PRESET_BY_NAME.get(preset)
    return found.security_bits if found else 0


def gates_for_preset(preset: str) -> tuple[str, ...]:
    """The gates a session of this preset evaluates."""
    found = PRESET_BY_NAME.get(preset)
    three_input = found is not None and found.three_input
    return tuple(g.op for g in GATES if three_input or not g.three_input)


def presets_for_gate(op: str) -> tuple[str, ...]:
    """The presets whose sessions evaluate this gate."""
    return tuple(name for name in PRESET_NAMES if op in gates_for_preset(name))


def moduli_for_preset(preset: str) -> tuple[int, ...]:
    """The plaintext moduli a session of this preset encrypts and evaluates."""
    return tuple(sorted({GATE_BY_OP[op].plaintext_modulus for op in gates_for_preset(preset)}))
