"""TFHE (BinFHE) key sets: generate one for a preset, or inspect an uploaded eval key, in a worker.

The eval key is two OpenFHE objects (the wire encoding is in docs/api.md): the BinFHEContext
and the RingGSWBTKey that `cc.GetBTKey()` returns, reloaded with `cc.BTKeyLoad(key)`. An
uploaded key's preset is the one whose context's parameter record equals the upload's; the
bootstrapping key is then exercised with two gates (a key for other parameters crashes the
worker: INVALID_KEY). See docs/decisions/0020-uploaded-tfhe-keys-matched-to-a-preset.md; the
presets are wavis.core.tfhe_catalog.PRESETS.
"""

from __future__ import annotations

import json
import os
from typing import Any

from wavis.core.errors import WavisError
from wavis.core.tfhe_catalog import PRESET_BY_NAME, PRESET_NAMES
from wavis.fhe.binfhe_io import (
    BinFheFormatError,
    deserialize_binfhe_file,
    serialize_binfhe_to_bytes,
    serialize_binfhe_to_file,
)

KEY_FILES = {
    "context": "context.bin",
    "bootstrap_key": "bootstrap_key.bin",
    "secret_key": "secret_key.bin",
}

_PROBE_GATES = 2

# Parameter records of the presets' contexts, built once per process (a few ms each).
_preset_records: dict[str, dict[str, Any]] = {}


def generate_tfhe_key(preset: str, out_dir: str) -> dict[str, Any]:
    """Generate a key set for preset, write KEY_FILES into out_dir, return its metadata."""
    paramset, method = _preset(preset)
    import openfhe

    cc = openfhe.BinFHEContext()
    cc.GenerateBinFHEContext(getattr(openfhe, paramset), getattr(openfhe, method))
    secret_key = cc.KeyGen()
    cc.BTKeyGen(secret_key)
    os.makedirs(out_dir, exist_ok=True)
    paths = {name: os.path.join(out_dir, file) for name, file in KEY_FILES.items()}
    serialize_binfhe_to_file(cc, paths["context"])
    serialize_binfhe_to_file(cc.GetBTKey(), paths["bootstrap_key"])
    serialize_binfhe_to_file(secret_key, paths["secret_key"])
    return _metadata(preset, cc, os.path.getsize(paths["bootstrap_key"]))


def inspect_tfhe_key(context_path: str, bootstrap_key_path: str) -> dict[str, Any]:
    """Metadata of an uploaded eval key (untrusted bytes; worker process), or INVALID_KEY."""
    try:
        cc = deserialize_binfhe_file("context", context_path)
    except BinFheFormatError as exc:
        raise _bad_key("context",
                       f"The context is not a valid OpenFHE BinFHEContext: {exc}.") from exc
    try:
        record = _params_record(cc)
    except Exception as exc:  # whatever OpenFHE raises, the context is unusable
        raise _bad_key("context", "The context's parameters cannot be read: "
                       f"{_short(exc)}.") from exc
    preset = next((name for name in PRESET_NAMES if _preset_record(name) == record), None)
    if preset is None:
        raise _bad_key("context", "The context uses an unsupported parameter set: it matches "
                       "none of the presets " + ", ".join(PRESET_NAMES) + ".")
    try:
        key = deserialize_binfhe_file("bootstrap_key", bootstrap_key_path)
    except BinFheFormatError as exc:
        raise _bad_key("bootstrap_key",
                       f"The bootstrap_key is not a valid OpenFHE bootstrapping key: {exc}."
                       ) from exc
    try:
        cc.BTKeyLoad(key)
        _probe(cc)
    except Exception as exc:  # whatever OpenFHE raises, the key is unusable
        raise _bad_key("bootstrap_key", "The bootstrap_key does not work with this context: "
                       f"{_short(exc)}.") from exc
    return _metadata(preset, cc, os.path.getsize(bootstrap_key_path))


def _probe(cc: Any) -> None:
    """Run gates that touch the whole bootstrapping key; raise or crash if it does not fit."""
    import openfhe

    # A throwaway secret gives ciphertexts with spread-out coefficients, so the accumulator
    # visits the key entries real ciphertexts use (EvalConstant's zero vector would not).
    # The results are meaningless: only their shape is checked.
    throwaway = cc.KeyGen()
    n, q = int(cc.Getn()), int(cc.Getq())
    for bit in range(_PROBE_GATES):
        left = cc.Encrypt(throwaway, bit, openfhe.FRESH)
        right = cc.Encrypt(throwaway, 1 - bit, openfhe.FRESH)
        result = cc.EvalBinGate(openfhe.NAND, left, right)
        if int(result.GetLength()) != n or int(result.GetModulus()) != q:
            raise ValueError(f"a gate returned a ciphertext of dimension {result.GetLength()} "
                             f"mod {result.GetModulus()}, expected {n} mod {q}")


def _metadata(preset: str, cc: Any, key_bytes: int) -> dict[str, Any]:
    return {
        "preset": preset,
        "n": int(cc.Getn()),
        "big_n": int(cc.GetN()),
        "security_bits": PRESET_BY_NAME[preset].security_bits,
        "bootstrap_key_bytes": key_bytes,
    }


def _preset(preset: str) -> tuple[str, str]:
    """(openfhe BINFHE_PARAMSET member, BINFHE_METHOD member) of a preset."""
    try:
        found = PRESET_BY_NAME[preset]
    except KeyError:
        raise WavisError("INVALID_PARAMS", f"Unknown TFHE preset {preset!r}: use one of "
                         + ", ".join(PRESET_NAMES) + ".", {"field": "preset"}) from None
    return found.paramset, found.method


def _preset_record(preset: str) -> dict[str, Any]:
    if preset not in _preset_records:
        import openfhe

        paramset, method = _preset(preset)
        cc = openfhe.BinFHEContext()
        cc.GenerateBinFHEContext(getattr(openfhe, paramset), getattr(openfhe, method))
        _preset_records[preset] = _params_record(cc)
    return _preset_records[preset]


def _params_record(cc: Any) -> dict[str, Any]:
    """Every parameter the context serializes (LWE and RingGSW sets, incl. "bmethod")."""
    return json.loads(serialize_binfhe_to_bytes(cc, as_json=True))


def _bad_key(field: str, message: str) -> WavisError:
    return WavisError("INVALID_KEY", message, {"field": field})


def _short(exc: BaseException) -> str:
    # OpenFHE prefixes messages with the build machine's source path: keep only the reason.
    text = str(exc).strip() or type(exc).__name__
    return text.rsplit("): ", 1)[-1].rstrip(".")[:300]
