"""CKKS key sets: generate one from asked parameters, or inspect an uploaded one, in a worker.

Both entry points run in an `FheWorkerPool` process (picklable arguments, plain-dict results;
docs/decisions/0008-untrusted-bytes-in-worker-processes.md), describe the key set from the
context and key maps themselves, and clear OpenFHE's global maps on the way out. Server keys
use FIXEDMANUAL scaling (docs/decisions/0009-fixedmanual-scaling-for-server-keys.md);
`security_bits` is the highest level OpenFHE accepts for the parameters
(docs/decisions/0010-security-bits-from-openfhe.md).
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

from wavis.core.errors import WavisError
from wavis.core.limits import (
    MAX_CIPHERTEXT_BYTES,
    MB,
    megabytes,
)
from wavis.fhe.ckks_key_tags import server_key_tag, server_tagged_parts
from wavis.fhe.ckks_params import (
    BOOTSTRAP_MIN_SCALE_BITS,
    SECURE_POLY_DEGREES,
    SECURITY_LEVELS,
    CkksParams,
    _invalid,
    _is_int,
    bootstrap_depth,
    default_rotations,
    first_mod_bits,
    fresh_ciphertext_bytes,
    level_budget,
    validate_ckks_params,
)

# The files generate_ckks_key writes, each in OpenFHE's BINARY serialization (the wire
# encoding docs/api.md describes).
KEY_FILES = {
    "crypto_context": "crypto_context.bin",
    "public_key": "public_key.bin",
    "eval_mult_key": "eval_mult_key.bin",
    "eval_rotation_keys": "eval_rotation_keys.bin",
    "secret_key": "secret_key.bin",
}

# Highest first: security_bits is the first level OpenFHE accepts.
_PROBE_LEVELS = ((256, "HEStd_256_classic"), (192, "HEStd_192_classic"),
                 (128, "HEStd_128_classic"))
_LEVEL_NAMES = {256: "256-bit", 192: "192-bit", 128: "128-bit", 0: "testing"}
_CKKS_PARAMS_CLASS = "lbcrypto::CryptoParametersCKKSRNS"
_REQUIRED_RING = re.compile(r"recommendation \((\d+)\)")


def generate_ckks_key(params: CkksParams, rotations: list[int] | None, key_id: str,
                      out_dir: str) -> dict[str, Any]:
    """Generate the key set of `key_id`, write KEY_FILES into out_dir, return its metadata
    (worker process). Its material carries the key id as tag (wavis.fhe.ckks_key_tags).

    rotations None means default_rotations(slot_count); an empty list, no rotation keys.
    """
    validate_ckks_params(params)
    slot_count = params.poly_degree // 2
    steps = _checked_rotations(default_rotations(slot_count) if rotations is None else rotations,
                               slot_count)
    if params.bootstrappable and params.scale_bits < BOOTSTRAP_MIN_SCALE_BITS:
        raise _invalid("scale_bits", f"bootstrappable keys need scale_bits of at least "
                       f"{BOOTSTRAP_MIN_SCALE_BITS} (59 gives the best precision).")
    import openfhe

    _clear_globals(openfhe)
    budget = level_budget(slot_count)
    try:
        depth = params.max_depth
        if params.bootstrappable:  # the refresh itself takes levels on top of max_depth,
            # plus one, which EvalBootstrap needs left on its input.
            depth += bootstrap_depth(budget) + 1
        try:
            cc = _make_context(openfhe, ring_dim=params.poly_degree, depth=depth,
                               scale_bits=params.scale_bits,
                               first_bits=first_mod_bits(params.scale_bits),
                               level=SECURITY_LEVELS[params.security_level],
                               scaling=openfhe.FIXEDMANUAL, key_switching=openfhe.HYBRID,
                               batch_size=slot_count)
        except RuntimeError as exc:
            raise _generation_error(exc, params) from None
        for feature in (openfhe.PKE, openfhe.KEYSWITCH, openfhe.LEVELEDSHE, openfhe.ADVANCEDSHE):
            cc.Enable(feature)
        if params.bootstrappable:
            cc.Enable(openfhe.FHE)
            cc.EvalBootstrapSetup(budget)
        keys = cc.KeyGen()
        tag = server_key_tag(key_id)  # before any evaluation key is made under the secret's
        keys.publicKey.SetKeyTag(tag)
        keys.secretKey.SetKeyTag(tag)
        cc.EvalMultKeyGen(keys.secretKey)
        if steps:
            cc.EvalRotateKeyGen(keys.secretKey, steps)
        if params.bootstrappable:  # its automorphism keys travel with the rotation keys
            cc.EvalBootstrapKeyGen(keys.secretKey, slot_count)
        blobs = {
            "crypto_context": openfhe.Serialize(cc, openfhe.BINARY),
            "public_key": openfhe.Serialize(keys.publicKey, openfhe.BINARY),
            "eval_mult_key": openfhe.SerializeEvalMultKeyString(openfhe.BINARY, tag),
            "secret_key": openfhe.Serialize(keys.secretKey, openfhe.BINARY),
        }
        if steps or params.bootstrappable:  # OpenFHE cannot serialize an empty key map
            blobs["eval_rotation_keys"] = openfhe.SerializeEvalAutomorphismKeyString(
                openfhe.BINARY, tag)
        metadata = _describe(openfhe, cc, tag)
        if params.bootstrappable:
            metadata["params"]["max_depth"] = params.max_depth
            # EvalBootstrap itself needs one level left, so computations get one fewer.
            metadata["max_level"] = depth - 1
            metadata["bootstrappable"] = True
            metadata["level_budget"] = budget
    finally:
        _clear_globals(openfhe)
    _write_parts(out_dir, blobs)
    return metadata | {"client_key_tag": tag}


def inspect_ckks_key(files: dict[str, str], key_id: str, out_dir: str) -> dict[str, Any]:
    """Metadata of an uploaded key set (untrusted bytes; worker process), or INVALID_KEY; the
    set is written into out_dir (KEY_FILES) with the key id as its tag, the tag it came with
    in the metadata's client_key_tag (wavis.fhe.ckks_key_tags).

    files maps crypto_context, public_key, eval_mult_key and optionally eval_rotation_keys to
    paths. Checks: each part deserializes; the context is CKKS; every part lives in that one
    context; the eval keys are registered under the public key's tag. (That the eval keys were
    made from the same secret as the public key cannot be checked without the secret.)
    """
    data = {name: _read_part(files, name)
            for name in ("crypto_context", "public_key", "eval_mult_key")}
    if files.get("eval_rotation_keys"):
        data["eval_rotation_keys"] = _read_part(files, "eval_rotation_keys")
    import openfhe

    # Start from empty maps: the checks below count contexts and key tags in them.
    _clear_globals(openfhe)
    try:
        cc = _parse("crypto_context", lambda: openfhe.DeserializeCryptoContextString(
            data["crypto_context"], openfhe.BINARY))
        record = _parse("crypto_context", lambda: params_record(openfhe, cc))
        if record.get("cc/polymorphic_name") != _CKKS_PARAMS_CLASS:
            raise _bad_key("crypto_context", "The crypto_context is not a CKKS crypto context.")
        public_key = _parse("public_key", lambda: openfhe.DeserializePublicKeyString(
            data["public_key"], openfhe.BINARY))
        # OpenFHE reuses a registered context whose parameters equal the ones a key carries,
        # so a second context in the registry means the key was made under other parameters.
        _require_one_context(openfhe, "public_key")
        # Tags are read back as str: bytes that are not UTF-8 make the key invalid, not a bug.
        tag = _parse("public_key", public_key.GetKeyTag)
        _parse("eval_mult_key", lambda: openfhe.DeserializeEvalMultKeyString(
            data["eval_mult_key"], openfhe.BINARY))
        _require_one_context(openfhe, "eval_mult_key")
        _require_tag(_parse("eval_mult_key", lambda: set(
            openfhe.CryptoContext.GetAllEvalMultKeys())), tag, "eval_mult_key")
        if not _parse("eval_mult_key", lambda: openfhe.CryptoContext.GetEvalMultKeyVector(tag)):
            raise _bad_key("eval_mult_key", "The eval_mult_key holds no relinearization key.")
        if "eval_rotation_keys" in data:
            _parse("eval_rotation_keys", lambda: openfhe.DeserializeEvalAutomorphismKeyString(
                data["eval_rotation_keys"], openfhe.BINARY))
            _require_one_context(openfhe, "eval_rotation_keys")
            _require_tag(_parse("eval_rotation_keys", lambda: set(
                openfhe.CryptoContext.GetAllEvalAutomorphismKeys())), tag, "eval_rotation_keys")
        try:
            metadata = _describe(openfhe, cc, tag)
        except Exception as exc:  # whatever OpenFHE raises, the context is unusable
            raise _bad_key("crypto_context", "The crypto_context's parameters cannot be read: "
                           f"{_short(exc)}.") from exc
        moduli = metadata["max_level"] + 1 + (metadata["scaling_technique"] == "FLEXIBLEAUTOEXT")
        size = fresh_ciphertext_bytes(metadata["params"]["poly_degree"], moduli)
        if size > MAX_CIPHERTEXT_BYTES:  # it could upload or compute nothing
            raise _bad_key("crypto_context", f"A ciphertext under this crypto_context would "
                           f"take {size / MB:.2f} MB, above the "
                           f"{megabytes(MAX_CIPHERTEXT_BYTES)} a ciphertext may be: use a "
                           "smaller ring or depth.")
        parts = server_tagged_parts(openfhe, public_key, tag, key_id,
                                    rotations="eval_rotation_keys" in data)
        parts["crypto_context"] = data["crypto_context"]
    finally:
        _clear_globals(openfhe)
    _write_parts(out_dir, parts)
    return metadata | {"client_key_tag": tag}


# --- helpers -------------------------------------------------------------------------------


def _write_parts(out_dir: str, parts: dict[str, bytes]) -> None:
    os.makedirs(out_dir, exist_ok=True)
    for name, blob in parts.items():
        with open(os.path.join(out_dir, KEY_FILES[name]), "wb") as handle:
            handle.write(blob)


def _describe(openfhe: Any, cc: Any, tag: str) -> dict[str, Any]:
    """The key object's FHE fields, read from the context and the global key maps."""
    ring_dim = int(cc.GetRingDimension())
    depth = int(cc.GetMultiplicativeDepth())
    security_bits = _security_bits(openfhe, cc)
    indices = openfhe.CryptoContext.GetExistingEvalAutomorphismKeyIndices(tag)
    return {
        "params": {
            "poly_degree": ring_dim,
            "scale_bits": round(math.log2(cc.GetScalingFactorReal(0))),
            "max_depth": depth,
            "security_level": _LEVEL_NAMES[security_bits],
        },
        "slot_count": int(cc.GetBatchSize()) or ring_dim // 2,
        "max_level": depth,
        "rotations": rotations_from_automorphisms(indices, ring_dim),
        "security_bits": security_bits,
        "scaling_technique": cc.GetScalingTechnique().name,
        "key_switching": cc.GetKeySwitchTechnique().name,
    }


def rotations_from_automorphisms(indices: list[int], ring_dim: int) -> list[int]:
    """Rotation steps in [-slots/2, slots/2] served by these CKKS automorphism indices.

    A left rotation by k uses automorphism 5^k mod 2N (right rotations use 5^-k), and 5 has
    order N/2 = slots, so k and k - slots are the same key: each index is reported as the step
    in [-slots/2, slots/2] (both signs for slots/2). Indices outside the powers of 5 (the
    conjugation 2N-1 of bootstrapping keys) are not rotations and are left out.
    """
    modulus = 2 * ring_dim
    slots = ring_dim // 2
    wanted = set(indices)
    steps: set[int] = set()
    power = 1
    for k in range(slots):
        if power in wanted and k:
            steps.update(step for step in (k, k - slots) if abs(step) <= slots // 2)
        power = power * 5 % modulus
    return sorted(steps)


def _security_bits(openfhe: Any, cc: Any) -> int:
    """Highest of 256/192/128 at which OpenFHE accepts cc's parameters, else 0.

    The parameters are regenerated from what the context exposes; the regeneration must
    reproduce the context's whole parameter record (moduli, digits, key distribution...), or a
    context built some other way could borrow a verdict that is not its own: then 0.
    """
    try:
        settings = {
            "ring_dim": int(cc.GetRingDimension()),
            "depth": int(cc.GetMultiplicativeDepth()),
            "scale_bits": round(math.log2(cc.GetScalingFactorReal(0))),
            "first_bits": round(math.log2(cc.GetModulusCKKS())),
            "scaling": cc.GetScalingTechnique(),
            "key_switching": cc.GetKeySwitchTechnique(),
            "batch_size": int(cc.GetBatchSize()),
            "digit_size": int(cc.GetDigitSize()),
        }
        record = params_record(openfhe, cc)
        large_digits = record.get("cc/dnum")
        reproduced = _make_context(openfhe, level="HEStd_NotSet", large_digits=large_digits,
                                   **settings)
    except (RuntimeError, ValueError, ArithmeticError):
        return 0
    if params_record(openfhe, reproduced) != record:
        return 0
    try:
        for bits, level in _PROBE_LEVELS:
            try:
                _make_context(openfhe, level=level, large_digits=large_digits, **settings)
            except RuntimeError:
                continue
            return bits
        return 0
    finally:
        _settle_modulus_estimate(openfhe, large_digits, settings)


def _settle_modulus_estimate(openfhe: Any, large_digits: int | None,
                             settings: dict[str, Any]) -> None:
    """Clear the process-global estimate a refused probe leaves behind.

    OpenFHE's parameter generation stores its estimate of the key-switching modulus count in a
    global (`sizeP_estimate_global`) and clears it only when the next context's CRT tables are
    built; a probe refused for its security level throws in between, and the next context of
    other parameters in this process was refused ("EstimateLogP() failure: expected sizeP [1],
    but got sizeP [2]"). Building the same parameters without a level builds those tables for
    the estimate just made, which clears it.
    """
    try:
        _make_context(openfhe, level="HEStd_NotSet", large_digits=large_digits, **settings)
    except (RuntimeError, ValueError, ArithmeticError):
        pass  # the check itself is done; keys are checked in a fresh process anyway (0008)


def _make_context(openfhe: Any, *, ring_dim: int, depth: int, scale_bits: int, first_bits: int,
                  level: str, scaling: Any, key_switching: Any, batch_size: int,
                  large_digits: int | None = None, digit_size: int = 0) -> Any:
    parameters = openfhe.CCParamsCKKSRNS()
    parameters.SetRingDim(ring_dim)
    parameters.SetMultiplicativeDepth(depth)
    parameters.SetScalingModSize(scale_bits)
    parameters.SetFirstModSize(first_bits)
    parameters.SetSecurityLevel(getattr(openfhe, level))
    parameters.SetScalingTechnique(scaling)
    parameters.SetKeySwitchTechnique(key_switching)
    parameters.SetBatchSize(batch_size)
    if large_digits:
        parameters.SetNumLargeDigits(large_digits)
    if digit_size:
        parameters.SetDigitSize(digit_size)
    return openfhe.GenCryptoContext(parameters)


def params_record(openfhe: Any, cc: Any) -> dict[str, Any]:
    """The context's crypto-parameter record ("cc/..." paths of its JSON serialization): equal
    for two contexts exactly when OpenFHE treats them as one, whatever features each enabled.

    The security level it was made at ("cc/slv") is left out: it is what we recompute.
    Serializer plumbing (ptr_wrapper, data, value0) is dropped from the paths.
    """
    flat: dict[str, Any] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                skip = key in ("ptr_wrapper", "data", "value0")
                walk(value, path if skip else (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*path, str(index)))
        else:
            flat["/".join(path)] = node

    walk(json.loads(openfhe.Serialize(cc, openfhe.JSON)), ())
    return {path: value for path, value in flat.items()
            if path.startswith("cc/") and path != "cc/slv"}


def _checked_rotations(rotations: list[int], slot_count: int) -> list[int]:
    for step in rotations:
        if not _is_int(step) or step == 0 or abs(step) >= slot_count:
            raise WavisError("INVALID_PARAMS", f"Rotation {step!r} is not valid: rotations must "
                             f"be nonzero integers with absolute value below {slot_count}.",
                             {"field": "rotations"})
    return sorted(set(rotations))


def _generation_error(exc: RuntimeError, params: CkksParams) -> WavisError:
    reason = _short(exc)
    if "HE standard" in reason or "ring dimension" in reason:
        match = _REQUIRED_RING.search(reason)
        required = int(match.group(1)) if match else None
        message = (f"poly_degree {params.poly_degree} cannot give {params.security_level} "
                   f"security with max_depth {params.max_depth} and scale_bits "
                   f"{params.scale_bits}")
        if required is None:
            return WavisError("INSUFFICIENT_SECURITY", message + ".")
        message += f": OpenFHE requires poly_degree {required} for that modulus"
        if required not in SECURE_POLY_DEGREES:
            message += ", which WAVIS does not offer; lower max_depth or scale_bits"
        return WavisError("INSUFFICIENT_SECURITY", message + ".",
                          {"required_poly_degree": required})
    if "scalingModSize" in reason:
        return _invalid("scale_bits", f"OpenFHE refused scale_bits {params.scale_bits}: {reason}.")
    # e.g. too few NTT-friendly primes of that size for this ring ("PreviousPrime()").
    return WavisError("INVALID_PARAMS", "OpenFHE cannot build a modulus chain for these "
                      f"parameters: {reason}.", {"field": "params"})


def _read_part(files: dict[str, str], name: str) -> bytes:
    path = files.get(name)
    if not path:
        raise _bad_key(name, f"The {name} is missing.")
    with open(path, "rb") as handle:
        return handle.read()


def _parse(name: str, load: Any) -> Any:
    try:
        return load()
    except Exception as exc:  # OpenFHE raises RuntimeError, ValueError, MemoryError... on garbage
        raise _bad_key(name, f"The {name} is not a valid OpenFHE BINARY serialization: "
                       f"{_short(exc)}.") from exc


def _require_one_context(openfhe: Any, name: str) -> None:
    if len(openfhe.GetAllContexts()) != 1:
        raise _bad_key(name, f"The {name} was made under a different crypto context.")


def _require_tag(tags: set[str], tag: str, name: str) -> None:
    if tags != {tag}:
        raise _bad_key(name, f"The {name} does not belong to the public key "
                       "(it is registered under another key tag).")


def _clear_globals(openfhe: Any) -> None:
    # Eval keys and contexts live in process-global maps: a long-lived worker must not keep or
    # accumulate them between calls (nor see a previous call's keys during the checks).
    openfhe.ClearEvalMultKeys()
    openfhe.CryptoContext.ClearEvalAutomorphismKeys()
    openfhe.ReleaseAllContexts()


def _bad_key(field: str, message: str) -> WavisError:
    return WavisError("INVALID_KEY", message, {"field": field})


def _short(exc: BaseException) -> str:
    # OpenFHE prefixes messages with the build machine's source path: keep only the reason.
    text = str(exc).strip() or type(exc).__name__
    return text.rsplit("): ", 1)[-1].rstrip(".")[:300]
