"""CKKS on this machine: keys, encryption and decryption for FHE-blind mode.

`CkksKeys.generate` makes a key set at the parameters the API accepts and refuses what the
server would refuse, with the server's words (the ranges below mirror the server's; a test
in the repository compares them). The context is built the way the server builds its own
keys (HYBRID key switching, a first modulus 10 bits above the scale, all slots), so a key
made here reports the same `security_bits` once uploaded. The secret key stays here: only
the context, the public key and the evaluation keys are ever uploaded.

Files (`save`/`load`): the BINARY serializations the API's wire format names
(crypto_context.bin, public_key.bin, eval_mult_key.bin, eval_rotation_keys.bin), the secret
key in secret_key.bin (mode 0600) and wavis-key.json (parameters and, once uploaded, the key
id).
"""

from __future__ import annotations

import base64
import json
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wavis_sdk._errors import DecryptionError, ValidationError
from wavis_sdk._files import write_private

# The server's accepted parameters (the API reference, "FHE keys").
SECURITY_LEVELS: dict[str, str] = {
    "128-bit": "HEStd_128_classic",
    "192-bit": "HEStd_192_classic",
    "256-bit": "HEStd_256_classic",
    "testing": "HEStd_NotSet",
}
SECURE_POLY_DEGREES = (4096, 8192, 16384, 32768)
TESTING_POLY_DEGREES = (1024, 2048)  # only with security_level "testing"
SCALE_BITS_RANGE = (20, 60)
MAX_DEPTH_RANGE = (1, 30)
SCALING_TECHNIQUES = ("FLEXIBLEAUTO", "FIXEDMANUAL")
MAX_CIPHERTEXT_BYTES = 2 * 1024 * 1024  # POST /ciphertexts refuses larger ones (413)

# Wire part name -> file name, in the order the chunked upload's bundle lists them.
KEY_FILES = {
    "crypto_context": "crypto_context.bin",
    "public_key": "public_key.bin",
    "eval_mult_key": "eval_mult_key.bin",
    "eval_rotation_keys": "eval_rotation_keys.bin",
}
SECRET_FILE = "secret_key.bin"
META_FILE = "wavis-key.json"
_REQUIRED_RING = re.compile(r"recommendation \((\d+)\)")


@dataclass(frozen=True)
class CkksParams:
    poly_degree: int
    scale_bits: int
    max_depth: int
    security_level: str = "128-bit"

    @property
    def slot_count(self) -> int:
        return self.poly_degree // 2


def validate_params(params: CkksParams) -> None:
    """Raise ValidationError (code INVALID_PARAMS, details.field) as the server would."""
    if params.security_level not in SECURITY_LEVELS:
        raise _invalid("security_level", "security_level must be one of "
                       + ", ".join(f'"{name}"' for name in SECURITY_LEVELS) + ".")
    allowed: tuple[int, ...] = SECURE_POLY_DEGREES
    if params.security_level == "testing":
        allowed = TESTING_POLY_DEGREES + SECURE_POLY_DEGREES
    if not _is_int(params.poly_degree) or params.poly_degree not in allowed:
        if _is_int(params.poly_degree) and params.poly_degree in TESTING_POLY_DEGREES:
            raise _invalid("poly_degree", f"poly_degree {params.poly_degree} is insecure and is "
                           'allowed only with security_level "testing".')
        raise _invalid("poly_degree", "poly_degree must be one of "
                       + ", ".join(str(n) for n in SECURE_POLY_DEGREES)
                       + ' (or 1024 and 2048 with security_level "testing").')
    low, high = SCALE_BITS_RANGE
    if not _is_int(params.scale_bits) or not low <= params.scale_bits <= high:
        raise _invalid("scale_bits", f"scale_bits must be an integer from {low} to {high}.")
    low, high = MAX_DEPTH_RANGE
    if not _is_int(params.max_depth) or not low <= params.max_depth <= high:
        raise _invalid("max_depth", f"max_depth must be an integer from {low} to {high}.")
    _check_ciphertexts_fit(params)


# What a serialized ciphertext carries besides its coefficients (OpenFHE's header), rounded up.
CIPHERTEXT_HEADER_BYTES = 1536
_MIB = 1024 * 1024


def _check_ciphertexts_fit(params: CkksParams) -> None:
    """Parameters whose fresh ciphertexts (two polynomials of poly_degree 64-bit coefficients
    per RNS modulus, max_depth + 1 of them) exceed what the server takes could not upload or
    compute anything: refused as the server refuses them."""
    degree = params.poly_degree
    size = 2 * degree * 8 * (params.max_depth + 1) + CIPHERTEXT_HEADER_BYTES
    if size <= MAX_CIPHERTEXT_BYTES:
        return
    deepest = (MAX_CIPHERTEXT_BYTES - CIPHERTEXT_HEADER_BYTES) // (16 * degree) - 1
    raise _invalid("max_depth", f"A ciphertext under these parameters would take "
                   f"{size / _MIB:.2f} MB, above the {MAX_CIPHERTEXT_BYTES // _MIB} MB a "
                   "ciphertext may be: "
                   + (f"at poly_degree {degree}, max_depth at most {deepest}."
                      if deepest >= MAX_DEPTH_RANGE[0] else
                      f"poly_degree {degree} leaves no room; use a smaller ring."))


def default_rotations(slot_count: int) -> list[int]:
    """Power-of-two steps both ways, 1, 2, 4 .. slot_count/2 and their negatives (what the
    server's own keys get: enough for slot sums and matmul)."""
    steps: list[int] = []
    step = 1
    while step <= slot_count // 2:
        steps += [step, -step]
        step *= 2
    return sorted(steps)


def checked_rotations(rotations: Sequence[int], slot_count: int) -> list[int]:
    for step in rotations:
        if not _is_int(step) or step == 0 or abs(step) >= slot_count:
            raise ValidationError(
                f"Rotation {step!r} is not valid: rotations must be nonzero integers with "
                f"absolute value below {slot_count}.", code="INVALID_PARAMS",
                details={"field": "rotations"})
    return sorted(set(rotations))


def first_mod_bits(scale_bits: int) -> int:
    """Bits of the first RNS modulus: 10 above the scale (room for |x| < 2^9), at most 60."""
    return min(60, scale_bits + 10)


@dataclass(frozen=True)
class LocalCiphertext:
    """A ciphertext encrypted here: its BINARY serialization, ready for POST /ciphertexts."""

    data: bytes
    key_id: str | None = None  # the uploaded key it belongs to, when known

    @property
    def b64(self) -> str:
        return base64.b64encode(self.data).decode()


class CkksKeys:
    """A CKKS key set held on this machine (secret key included)."""

    def __init__(self, context: Any, public_key: Any, secret_key: Any, params: CkksParams,
                 rotations: list[int], scaling_technique: str,
                 key_id: str | None = None, directory: Path | None = None) -> None:
        self.context = context
        self.public_key = public_key
        self.secret_key = secret_key
        self.params = params
        self.rotations = rotations
        self.scaling_technique = scaling_technique
        self.key_id = key_id  # set by client.keys.upload
        self.directory = directory

    # -- making and storing ---------------------------------------------------------------

    @classmethod
    def generate(cls, poly_degree: int, scale_bits: int, max_depth: int,
                 security_level: str = "128-bit", rotations: Sequence[int] | None = None,
                 scaling_technique: str = "FLEXIBLEAUTO") -> CkksKeys:
        """A new key set. `rotations` None gives default_rotations; [] gives none.

        FLEXIBLEAUTO (the default) lets OpenFHE rescale by itself: the server's `rescale` is
        then a free no-op. FIXEDMANUAL is how the server makes its own keys: products stay at
        double scale until `rescale` or `scale_stable=True`.
        """
        params = CkksParams(poly_degree, scale_bits, max_depth, security_level)
        validate_params(params)
        if scaling_technique not in SCALING_TECHNIQUES:
            raise _invalid("scaling_technique", "scaling_technique must be one of "
                           + ", ".join(SCALING_TECHNIQUES) + ".")
        steps = checked_rotations(default_rotations(params.slot_count) if rotations is None
                                  else rotations, params.slot_count)
        import openfhe

        parameters = openfhe.CCParamsCKKSRNS()
        parameters.SetRingDim(poly_degree)
        parameters.SetMultiplicativeDepth(max_depth)
        parameters.SetScalingModSize(scale_bits)
        parameters.SetFirstModSize(first_mod_bits(scale_bits))
        parameters.SetSecurityLevel(getattr(openfhe, SECURITY_LEVELS[security_level]))
        parameters.SetScalingTechnique(getattr(openfhe, scaling_technique))
        parameters.SetKeySwitchTechnique(openfhe.HYBRID)
        parameters.SetBatchSize(params.slot_count)
        try:
            context = openfhe.GenCryptoContext(parameters)
        except RuntimeError as exc:
            raise _generation_error(exc, params) from None
        for feature in (openfhe.PKE, openfhe.KEYSWITCH, openfhe.LEVELEDSHE,
                        openfhe.ADVANCEDSHE):
            context.Enable(feature)
        pair = context.KeyGen()
        context.EvalMultKeyGen(pair.secretKey)
        if steps:
            context.EvalRotateKeyGen(pair.secretKey, steps)
        return cls(context, pair.publicKey, pair.secretKey, params, steps, scaling_technique)

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write every part; the secret key with mode 0600 (the folder 0700 if created)."""
        folder = Path(directory)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, data in self.wire_parts().items():
            (folder / KEY_FILES[name]).write_bytes(data)
        import openfhe

        write_private(folder / SECRET_FILE, openfhe.Serialize(self.secret_key, openfhe.BINARY))
        self.directory = folder
        self._write_meta()
        return folder

    def _write_meta(self) -> None:
        if self.directory is None:
            return
        meta = {"scheme": "ckks", "params": asdict(self.params), "rotations": self.rotations,
                "scaling_technique": self.scaling_technique, "key_id": self.key_id}
        (self.directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")

    def remember_key_id(self, key_id: str) -> None:
        """Record the server's id for this key (in wavis-key.json too, when saved)."""
        self.key_id = key_id
        self._write_meta()

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> CkksKeys:
        folder = Path(directory)
        meta = json.loads((folder / META_FILE).read_text())
        import openfhe

        context = openfhe.DeserializeCryptoContextString(
            (folder / KEY_FILES["crypto_context"]).read_bytes(), openfhe.BINARY)
        public_key = openfhe.DeserializePublicKeyString(
            (folder / KEY_FILES["public_key"]).read_bytes(), openfhe.BINARY)
        secret_key = openfhe.DeserializePrivateKeyString(
            (folder / SECRET_FILE).read_bytes(), openfhe.BINARY)
        return cls(context, public_key, secret_key, CkksParams(**meta["params"]),
                   list(meta.get("rotations") or []), meta["scaling_technique"],
                   meta.get("key_id"), folder)

    # -- the wire format ------------------------------------------------------------------

    def wire_parts(self) -> dict[str, bytes]:
        """Context, public key and evaluation keys as BINARY serializations (never the
        secret key): the saved files when there are some, else serialized now."""
        names = [*KEY_FILES][:4 if self.rotations else 3]
        if self.directory is not None and all(
                (self.directory / KEY_FILES[n]).exists() for n in names):
            return {name: (self.directory / KEY_FILES[name]).read_bytes() for name in names}
        import openfhe

        tag = self.public_key.GetKeyTag()
        parts = {
            "crypto_context": openfhe.Serialize(self.context, openfhe.BINARY),
            "public_key": openfhe.Serialize(self.public_key, openfhe.BINARY),
            "eval_mult_key": openfhe.SerializeEvalMultKeyString(openfhe.BINARY, tag),
        }
        if self.rotations:
            parts["eval_rotation_keys"] = openfhe.SerializeEvalAutomorphismKeyString(
                openfhe.BINARY, tag)
        return parts

    def write_bundle(self, path: str | os.PathLike[str]) -> Path:
        """The chunked upload's `ckks_key_bundle`: a stored ZIP of the wire parts."""
        target = Path(path)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as bundle:
            for name, data in self.wire_parts().items():
                bundle.writestr(KEY_FILES[name], data)
        return target

    # -- encryption -----------------------------------------------------------------------

    @property
    def slot_count(self) -> int:
        return self.params.slot_count

    def encrypt(self, values: Sequence[float] | np.ndarray[Any, Any]) -> LocalCiphertext:
        """Encrypt up to slot_count real numbers (the rest of the slots are 0)."""
        vector = [float(v) for v in np.asarray(values, dtype=float).ravel()]
        if not 1 <= len(vector) <= self.slot_count:
            raise ValidationError(f"Between 1 and {self.slot_count} values fit in one "
                                  f"ciphertext; got {len(vector)}.", code="VALIDATION_ERROR",
                                  details={"field": "values"})
        import openfhe

        plaintext = self.context.MakeCKKSPackedPlaintext(vector)
        data = openfhe.Serialize(self.context.Encrypt(self.public_key, plaintext),
                                 openfhe.BINARY)
        if len(data) > MAX_CIPHERTEXT_BYTES:
            raise ValidationError(
                f"The ciphertext is {len(data)} bytes; the API takes at most "
                f"{MAX_CIPHERTEXT_BYTES} (use a smaller poly_degree or max_depth).",
                code="PAYLOAD_TOO_LARGE", details={"limit_bytes": MAX_CIPHERTEXT_BYTES})
        return LocalCiphertext(data, self.key_id)

    def decrypt(self, ciphertext: Any, length: int | None = None) -> np.ndarray[Any, Any]:
        """The real values of a ciphertext: bytes, a LocalCiphertext, a downloaded
        Ciphertext, or a ComputeResult made with return_ciphertext=True."""
        data = ciphertext if isinstance(ciphertext, bytes) else getattr(ciphertext, "data", None)
        if not data:
            raise ValidationError(
                "This result carries no ciphertext bytes: compute with return_ciphertext=True "
                "or download it with client.ciphertexts.get(id).", code="VALIDATION_ERROR")
        import openfhe

        try:
            value = openfhe.DeserializeCiphertextString(data, openfhe.BINARY)
            plaintext = self.context.Decrypt(value, self.secret_key)
        except Exception as exc:  # OpenFHE raises RuntimeError with its own reasons
            raise DecryptionError(f"Decryption failed: {_short(exc)}.",
                                  code="DECRYPTION_FAILED") from exc
        count = self.slot_count if length is None else length
        plaintext.SetLength(count)
        return np.array(plaintext.GetRealPackedValue()[:count])


def _generation_error(exc: RuntimeError, params: CkksParams) -> ValidationError:
    """OpenFHE's refusal in the server's words (INSUFFICIENT_SECURITY or INVALID_PARAMS)."""
    reason = _short(exc)
    if "HE standard" in reason or "ring dimension" in reason:
        match = _REQUIRED_RING.search(reason)
        required = int(match.group(1)) if match else None
        message = (f"poly_degree {params.poly_degree} cannot give {params.security_level} "
                   f"security with max_depth {params.max_depth} and scale_bits "
                   f"{params.scale_bits}")
        if required is None:
            return ValidationError(message + ".", code="INSUFFICIENT_SECURITY")
        message += f": OpenFHE requires poly_degree {required} for that modulus"
        if required not in SECURE_POLY_DEGREES:
            message += ", which WAVIS does not offer; lower max_depth or scale_bits"
        return ValidationError(message + ".", code="INSUFFICIENT_SECURITY",
                               details={"required_poly_degree": required})
    if "scalingModSize" in reason:
        return _invalid("scale_bits", f"OpenFHE refused scale_bits {params.scale_bits}: "
                        f"{reason}.")
    return ValidationError("OpenFHE cannot build a modulus chain for these parameters: "
                           f"{reason}.", code="INVALID_PARAMS", details={"field": "params"})


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError(message, code="INVALID_PARAMS", details={"field": field})


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(exc: BaseException) -> str:
    # OpenFHE prefixes messages with the build machine's source path: keep only the reason.
    text = str(exc).strip() or type(exc).__name__
    return text.rsplit("): ", 1)[-1].rstrip(".")[:300]
