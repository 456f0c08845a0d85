"""TFHE (BinFHE) gates, encryption and decryption, run inside worker processes
(docs/decisions/0006-binfhe-worker-processes.md): picklable arguments only.

A worker keeps the keys it loaded in a module-level table; each call carries a `KeyRef` (any
worker, even a fresh replacement, loads the key from local files on first use) and `keep`,
the key ids the replica still holds, so a worker drops what the replica evicted.

What each gate takes and costs, and which plaintext modulus its ciphertexts carry, is
wavis.core.tfhe_catalog; a ciphertext of another modulus is refused, as OpenFHE would
silently compute another function on it (docs/decisions/0045-three-input-tfhe-presets.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from wavis.core.errors import WavisError
from wavis.core.tfhe_catalog import GATE_BY_OP, PLAINTEXT_MODULI, STANDARD_MODULUS
from wavis.fhe.binfhe_io import (
    BinFheFormatError,
    deserialize_binfhe_file,
    deserialize_binfhe_from_bytes,
    serialize_binfhe_to_bytes,
)


@dataclass(frozen=True)
class KeyRef:
    """Where a worker finds a key: local files of its public parts, the secret in memory."""

    key_id: str
    context_path: str
    bootstrap_key_path: str
    secret_key: bytes | None = None  # server mode, only for encrypt/decrypt calls


@dataclass
class _Loaded:
    cc: Any
    n: int
    q: int
    secret: Any = None


_loaded: dict[str, _Loaded] = {}


def _key(ref: KeyRef, keep: frozenset[str]) -> _Loaded:
    for key_id in [k for k in _loaded if k not in keep and k != ref.key_id]:
        _forget(key_id)
    loaded = _loaded.get(ref.key_id)
    if loaded is None:
        cc = deserialize_binfhe_file("context", ref.context_path)
        cc.BTKeyLoad(deserialize_binfhe_file("bootstrap_key", ref.bootstrap_key_path))
        loaded = _loaded[ref.key_id] = _Loaded(cc, int(cc.Getn()), int(cc.Getq()))
    if ref.secret_key is not None and loaded.secret is None:
        loaded.secret = deserialize_binfhe_from_bytes("secret_key", ref.secret_key)
    return loaded


def _forget(key_id: str) -> None:
    loaded = _loaded.pop(key_id, None)
    if loaded is not None:
        loaded.cc.ClearBTKeys()


def load_key(ref: KeyRef, keep: frozenset[str]) -> dict[str, int]:
    """Load the key into this worker (if it is not yet); its n and N."""
    loaded = _key(ref, keep)
    return {"n": loaded.n, "big_n": int(loaded.cc.GetN())}


def trim(keep: frozenset[str]) -> int:
    """Drop every key not in keep; the number of keys still loaded."""
    for key_id in [k for k in _loaded if k not in keep]:
        _forget(key_id)
    return len(_loaded)


def encrypt_bits(ref: KeyRef, keep: frozenset[str], bits: list[int],
                 plaintext_modulus: int = STANDARD_MODULUS) -> list[bytes]:
    import openfhe

    loaded = _key(ref, keep)
    return [serialize_binfhe_to_bytes(loaded.cc.Encrypt(loaded.secret, int(bit), openfhe.FRESH,
                                                        plaintext_modulus))
            for bit in bits]


def decrypt_bits(ref: KeyRef, keep: frozenset[str], ciphertexts: list[bytes]) -> list[int]:
    """Each ciphertext decrypted with the plaintext modulus it carries."""
    loaded = _key(ref, keep)
    bits = []
    for i, data in enumerate(ciphertexts):
        ct = _ciphertext(loaded, data, {"index": i})
        bits.append(int(loaded.cc.Decrypt(loaded.secret, ct, int(ct.GetptModulus()))))
    return bits


# One gate of a worker's share of a batch: (batch index, op, {input name: bytes}).
GateJob = tuple[int, str, dict[str, bytes]]


def evaluate_gates(ref: KeyRef, keep: frozenset[str],
                   jobs: list[GateJob]) -> tuple[list[bytes], int, float]:
    """Evaluate independent gates in order: (outputs, bootstraps, seconds of evaluation)."""
    import openfhe

    loaded = _key(ref, keep)
    started = time.perf_counter()
    outputs: list[bytes] = []
    bootstraps = 0
    for index, op, inputs in jobs:
        gate = GATE_BY_OP[op]
        cts = {name: _ciphertext(loaded, data, {"gate": index, "input": name},
                                 gate=(op, gate.plaintext_modulus))
               for name, data in inputs.items()}
        cc = loaded.cc
        try:
            if op == "NOT":
                result = cc.EvalNOT(cts["a"])
            elif op == "MUX":
                chosen_a = cc.EvalBinGate(openfhe.AND, cts["sel"], cts["a"])
                chosen_b = cc.EvalBinGate(openfhe.AND, cc.EvalNOT(cts["sel"]), cts["b"])
                result = cc.EvalBinGate(openfhe.OR, chosen_a, chosen_b)
            elif gate.three_input:
                result = cc.EvalBinGate(getattr(openfhe, op), [cts[n] for n in gate.inputs])
            else:
                result = cc.EvalBinGate(getattr(openfhe, op), cts["a"], cts["b"])
        except RuntimeError as exc:
            if "independ" in str(exc):
                raise WavisError("DEPENDENT_INPUTS", "A gate's inputs are the same "
                                 "ciphertext.", {"gate": index}) from None
            raise WavisError("INVALID_CIPHERTEXT", "The gate could not be evaluated on "
                             "these ciphertexts.", {"gate": index}) from None
        bootstraps += gate.bootstraps
        outputs.append(serialize_binfhe_to_bytes(result))
    return outputs, bootstraps, time.perf_counter() - started


def _ciphertext(loaded: _Loaded, data: bytes, where: dict[str, Any],
                gate: tuple[str, int] | None = None) -> Any:
    """Deserialize untrusted bytes and check they are a ciphertext of this key's parameters,
    of the plaintext modulus the gate (op, modulus) takes, or of any modulus a gate takes."""
    try:
        ct = deserialize_binfhe_from_bytes("ciphertext", data)
    except BinFheFormatError:
        raise WavisError("INVALID_CIPHERTEXT", "The ciphertext is not a valid OpenFHE LWE "
                         "ciphertext.", where) from None
    if int(ct.GetLength()) != loaded.n or int(ct.GetModulus()) != loaded.q:
        raise WavisError("INVALID_CIPHERTEXT", f"The ciphertext has dimension "
                         f"{ct.GetLength()} mod {ct.GetModulus()}; this session's key needs "
                         f"{loaded.n} mod {loaded.q}.", where)
    modulus = int(ct.GetptModulus())
    if gate is not None and modulus != gate[1]:
        raise WavisError("INVALID_CIPHERTEXT", f"{gate[0]} takes ciphertexts of plaintext "
                         f"modulus {gate[1]}; this one has {modulus}.",
                         where | {"plaintext_modulus": modulus})
    if modulus not in PLAINTEXT_MODULI:
        raise WavisError("INVALID_CIPHERTEXT", f"The ciphertext has plaintext modulus "
                         f"{modulus}; gates take " + " or ".join(map(str, PLAINTEXT_MODULI))
                         + ".", where | {"plaintext_modulus": modulus})
    return ct
