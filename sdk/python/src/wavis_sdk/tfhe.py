"""TFHE (OpenFHE BinFHE) on this machine: keys, the eval-key archive, bits, and circuits.

`TfheKeys.generate(preset)` makes a BinFHE key set for one of the API's presets. The server
needs only the evaluation key: the context and the bootstrapping key, as the stored ZIP of
`context.bin` + `bootstrap_key.bin` the API's wire format names (about 20 MB for `toy`,
915 MB for `fast_128`: written to disk and streamed from there, never held as bytes). The
secret key stays here; bits are encrypted and decrypted here.

`Circuit` builds the gate list of `POST /tfhe/batch`: each gate's inputs are ciphertexts or
`$k`, the output of an earlier gate k. Wires support `^ & | ~`, so an adder reads like one.

The three-input presets (`*_3`) add AND3, OR3 and MAJORITY. AND3 and OR3 take and give bits
of plaintext modulus 6 (`encrypt(bit, plaintext_modulus=6)`), every other gate modulus 4; a
ciphertext carries its modulus, and the server refuses one of the wrong modulus.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import weakref
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wavis_sdk._errors import DecryptionError, ValidationError
from wavis_sdk._files import binfhe_from_bytes, binfhe_from_file, binfhe_to_bytes, write_private

# Preset -> (openfhe BINFHE_PARAMSET, BINFHE_METHOD): the API's presets (the repository's
# tests compare this table, the gates below and the three-input presets with the server's).
PRESETS: dict[str, tuple[str, str]] = {
    "fast_128": ("STD128", "GINX"),
    "standard_128": ("STD128_LMKCDEY", "LMKCDEY"),
    "conservative_128": ("STD128Q_LMKCDEY", "LMKCDEY"),
    "toy": ("TOY", "GINX"),
    "fast_128_3": ("STD128_3", "GINX"),
    "standard_128_3": ("STD128_3_LMKCDEY", "LMKCDEY"),
    "conservative_128_3": ("STD128Q_3_LMKCDEY", "LMKCDEY"),
    "toy_3": ("TOY", "LMKCDEY"),
}
# Presets whose sessions also evaluate the three-input gates (AND3, OR3, MAJORITY).
THREE_INPUT_PRESETS = frozenset({"fast_128_3", "standard_128_3", "conservative_128_3",
                                 "toy_3"})
STANDARD_MODULUS = 4  # a bit's plaintext modulus for every gate but AND3 and OR3
CONTEXT_FILE = "context.bin"
BOOTSTRAP_KEY_FILE = "bootstrap_key.bin"
SECRET_FILE = "secret_key.bin"
ARCHIVE_FILE = "eval_key.zip"
META_FILE = "wavis-key.json"


class TfheKeys:
    """A BinFHE key set, file-backed: a folder holding the context, the bootstrapping key
    and the secret key (0600). Generated without a folder, it lives in a temporary one that
    goes away with the object."""

    def __init__(self, preset: str, directory: Path, context: Any = None,
                 secret_key: Any = None, key_id: str | None = None) -> None:
        self.preset = preset
        self.directory = directory
        self.key_id = key_id  # set once uploaded (chunked upload)
        self._context = context
        self._secret_key = secret_key

    @classmethod
    def generate(cls, preset: str = "toy",
                 directory: str | os.PathLike[str] | None = None) -> TfheKeys:
        """A new key set (fast_128 takes several seconds and about 1 GB of memory)."""
        if preset not in PRESETS:
            raise ValidationError(f"Unknown TFHE preset {preset!r}: use one of "
                                  + ", ".join(PRESETS) + ".", code="INVALID_PARAMS",
                                  details={"field": "preset"})
        import openfhe

        paramset, method = PRESETS[preset]
        context = openfhe.BinFHEContext()
        context.GenerateBinFHEContext(getattr(openfhe, paramset), getattr(openfhe, method))
        secret_key = context.KeyGen()
        context.BTKeyGen(secret_key)
        if directory is None:
            folder = Path(tempfile.mkdtemp(prefix="wavis-tfhe-"))
            keys = cls(preset, folder, context, secret_key)
            weakref.finalize(keys, shutil.rmtree, folder, True)
        else:
            folder = Path(directory)
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            keys = cls(preset, folder, context, secret_key)
        for name, obj in ((CONTEXT_FILE, context), (BOOTSTRAP_KEY_FILE, context.GetBTKey())):
            if not openfhe.SerializeToFile(str(folder / name), obj, openfhe.BINARY):
                raise OSError(f"OpenFHE could not write {folder / name}")
        write_private(folder / SECRET_FILE, binfhe_to_bytes(secret_key))
        keys._write_meta()
        return keys

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Copy the key files to `directory` (secret key 0600) and use them from there."""
        folder = Path(directory)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in (CONTEXT_FILE, BOOTSTRAP_KEY_FILE):
            shutil.copyfile(self.directory / name, folder / name)
        write_private(folder / SECRET_FILE, (self.directory / SECRET_FILE).read_bytes())
        self.directory = folder
        self._write_meta()
        return folder

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> TfheKeys:
        """Keys saved earlier; the bootstrapping key is read only to upload it."""
        folder = Path(directory)
        meta = json.loads((folder / META_FILE).read_text())
        return cls(meta["preset"], folder, key_id=meta.get("key_id"))

    def _write_meta(self) -> None:
        meta = {"scheme": "tfhe", "preset": self.preset, "key_id": self.key_id}
        (self.directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")

    def remember_key_id(self, key_id: str) -> None:
        self.key_id = key_id
        self._write_meta()

    @property
    def context(self) -> Any:
        if self._context is None:
            self._context = binfhe_from_file("DeserializeBinFHECryptoContext",
                                             str(self.directory / CONTEXT_FILE))
        return self._context

    @property
    def secret_key(self) -> Any:
        if self._secret_key is None:
            self._secret_key = binfhe_from_file("DeserializeLWEPrivateKey",
                                                str(self.directory / SECRET_FILE))
        return self._secret_key

    # -- the eval key -------------------------------------------------------------------------

    def eval_key_archive(self) -> Path:
        """The stored ZIP of context.bin + bootstrap_key.bin (written once, beside the keys):
        what POST /tfhe/eval-session and the tfhe_eval_key chunked upload take."""
        target = self.directory / ARCHIVE_FILE
        if not target.exists():
            partial = target.with_suffix(".partial")
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
                archive.write(self.directory / CONTEXT_FILE, CONTEXT_FILE)
                archive.write(self.directory / BOOTSTRAP_KEY_FILE, BOOTSTRAP_KEY_FILE)
            os.replace(partial, target)
        return target

    # -- bits -----------------------------------------------------------------------------------

    def encrypt(self, bit: int | bool, plaintext_modulus: int = STANDARD_MODULUS) -> bytes:
        """One bit's LWE ciphertext (BINARY serialization), with the plaintext modulus of the
        gates it goes into: 6 for AND3 and OR3 (three-input presets), else the default."""
        if bit not in (0, 1):
            raise ValidationError(f"A bit is 0 or 1, not {bit!r}.", code="VALIDATION_ERROR")
        allowed = moduli_for_preset(self.preset)
        if plaintext_modulus not in allowed:
            raise ValidationError(f"The {self.preset} preset encrypts with plaintext modulus "
                                  + " or ".join(map(str, allowed))
                                  + f", not {plaintext_modulus}.", code="VALIDATION_ERROR",
                                  details={"field": "plaintext_modulus"})
        import openfhe

        return binfhe_to_bytes(self.context.Encrypt(self.secret_key, int(bit), openfhe.FRESH,
                                                    plaintext_modulus))

    def encrypt_bits(self, bits: Iterable[int | bool],
                     plaintext_modulus: int = STANDARD_MODULUS) -> list[bytes]:
        return [self.encrypt(bit, plaintext_modulus) for bit in bits]

    def decrypt(self, ciphertext: Any) -> int:
        """A bit from bytes, base64 text, or a GateResult, decrypted with the plaintext
        modulus the ciphertext carries."""
        data = getattr(ciphertext, "result", ciphertext)
        if isinstance(data, str):
            data = base64.b64decode(data)
        try:
            value = binfhe_from_bytes("DeserializeLWECiphertext", data)
            return int(self.context.Decrypt(self.secret_key, value, value.GetptModulus()))
        except Exception as exc:
            raise DecryptionError(f"Decryption failed: {exc}.", code="DECRYPTION_FAILED") \
                from exc

    def decrypt_bits(self, ciphertexts: Iterable[Any]) -> list[int]:
        return [self.decrypt(c) for c in ciphertexts]


# -- circuits -------------------------------------------------------------------------------

@dataclass(frozen=True)
class GateSpec:
    """What a gate takes: its input fields, in order, and the plaintext modulus of its
    ciphertexts (inputs and output); three-input gates need a three-input preset."""

    inputs: tuple[str, ...]
    plaintext_modulus: int = STANDARD_MODULUS
    three_input: bool = False


_TWO, _THREE = ("a", "b"), ("a", "b", "c")
GATES: dict[str, GateSpec] = {
    **{op: GateSpec(_TWO) for op in ("NAND", "AND", "OR", "XOR", "NOR", "XNOR")},
    "NOT": GateSpec(("a",)),
    "MUX": GateSpec(("a", "b", "sel")),
    "AND3": GateSpec(_THREE, 6, three_input=True),
    "OR3": GateSpec(_THREE, 6, three_input=True),
    "MAJORITY": GateSpec(_THREE, three_input=True),
}


def moduli_for_preset(preset: str) -> tuple[int, ...]:
    """The plaintext moduli the gates of a preset's sessions take."""
    three_input = preset in THREE_INPUT_PRESETS
    return tuple(sorted({spec.plaintext_modulus for spec in GATES.values()
                         if three_input or not spec.three_input}))


MAX_BATCH_GATES = 1024


@dataclass(frozen=True, eq=False)
class Wire:
    """A value in a circuit: an input ciphertext, or the output of gate `gate_index`."""

    circuit: Circuit
    ciphertext: bytes | None = None
    gate_index: int | None = None
    plaintext_modulus: int | None = None  # of a gate's output (an input's is not known)

    def wire_value(self) -> str:
        if self.gate_index is not None:
            return f"${self.gate_index}"
        assert self.ciphertext is not None
        return base64.b64encode(self.ciphertext).decode()

    def __xor__(self, other: Wire) -> Wire:
        return self.circuit.gate("XOR", self, other)

    def __and__(self, other: Wire) -> Wire:
        return self.circuit.gate("AND", self, other)

    def __or__(self, other: Wire) -> Wire:
        return self.circuit.gate("OR", self, other)

    def __invert__(self) -> Wire:
        return self.circuit.gate("NOT", self)


class Circuit:
    """Gates for one POST /tfhe/batch, in order; independent gates run in parallel."""

    def __init__(self) -> None:
        self.gates: list[dict[str, str]] = []

    def input(self, ciphertext: bytes | str) -> Wire:
        data = base64.b64decode(ciphertext) if isinstance(ciphertext, str) else ciphertext
        return Wire(self, ciphertext=data)

    def inputs(self, ciphertexts: Iterable[bytes | str]) -> list[Wire]:
        return [self.input(c) for c in ciphertexts]

    def gate(self, op: str, a: Wire, b: Wire | None = None, sel: Wire | None = None,
             c: Wire | None = None) -> Wire:
        op = op.upper()
        spec = GATES.get(op)
        if spec is None:
            raise ValidationError(f"Unknown gate {op!r}: one of {', '.join(GATES)}.",
                                  code="INVALID_OPERATION", details={"op": op})
        given = {name: wire for name, wire in (("a", a), ("b", b), ("sel", sel), ("c", c))
                 if wire is not None}
        if set(given) != set(spec.inputs):
            names = spec.inputs
            takes = "only a" if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            raise ValidationError(f"{op} takes {takes}.", code="VALIDATION_ERROR",
                                  details={"op": op})
        entry = {"op": op}
        for name, wire in given.items():
            self._own(wire)
            if wire.gate_index is not None and wire.plaintext_modulus != spec.plaintext_modulus:
                source = self.gates[wire.gate_index]["op"]
                raise ValidationError(
                    f"{op} takes ciphertexts of plaintext modulus {spec.plaintext_modulus}, "
                    f"but gate {wire.gate_index} ({source}) gives modulus "
                    f"{wire.plaintext_modulus}.", code="INVALID_BATCH",
                    details={"op": op, "input": name, "ref": wire.gate_index})
            entry[name] = wire.wire_value()
        self.gates.append(entry)
        return Wire(self, gate_index=len(self.gates) - 1,
                    plaintext_modulus=spec.plaintext_modulus)

    def _own(self, wire: Wire) -> Wire:
        if wire.circuit is not self:
            raise ValidationError("A wire of another circuit cannot be used here.",
                                  code="INVALID_BATCH")
        return wire

    def nand(self, a: Wire, b: Wire) -> Wire:
        return self.gate("NAND", a, b)

    def and_(self, a: Wire, b: Wire) -> Wire:
        return self.gate("AND", a, b)

    def or_(self, a: Wire, b: Wire) -> Wire:
        return self.gate("OR", a, b)

    def xor(self, a: Wire, b: Wire) -> Wire:
        return self.gate("XOR", a, b)

    def nor(self, a: Wire, b: Wire) -> Wire:
        return self.gate("NOR", a, b)

    def xnor(self, a: Wire, b: Wire) -> Wire:
        return self.gate("XNOR", a, b)

    def not_(self, a: Wire) -> Wire:
        return self.gate("NOT", a)

    def mux(self, sel: Wire, a: Wire, b: Wire) -> Wire:
        """a when sel is 1, b when sel is 0."""
        return self.gate("MUX", a, b, sel)

    def and3(self, a: Wire, b: Wire, c: Wire) -> Wire:
        """Three-input presets; inputs of plaintext modulus 6, and so is the output."""
        return self.gate("AND3", a, b, c=c)

    def or3(self, a: Wire, b: Wire, c: Wire) -> Wire:
        """Three-input presets; inputs of plaintext modulus 6, and so is the output."""
        return self.gate("OR3", a, b, c=c)

    def majority(self, a: Wire, b: Wire, c: Wire) -> Wire:
        """1 when at least two inputs are 1; three-input presets."""
        return self.gate("MAJORITY", a, b, c=c)

    def __len__(self) -> int:
        return len(self.gates)


def full_adder(a: Wire, b: Wire, carry: Wire) -> tuple[Wire, Wire]:
    """(sum, carry out) of three bits: five gates."""
    half = a ^ b
    return half ^ carry, (a & b) | (half & carry)


def ripple_carry_adder(xs: Sequence[Wire], ys: Sequence[Wire], carry: Wire
                       ) -> tuple[list[Wire], Wire]:
    """Sum bits (least significant first) and the carry out of xs + ys + carry."""
    if len(xs) != len(ys):
        raise ValidationError("Both numbers need the same number of bits.",
                              code="VALIDATION_ERROR")
    sums = []
    for x, y in zip(xs, ys, strict=True):
        total, carry = full_adder(x, y, carry)
        sums.append(total)
    return sums, carry
