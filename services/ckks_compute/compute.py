"""The CKKS operations as the API defines them: operand checks, level and noise-budget
rules, evaluation on the engine's threads, and the stored result."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.ckks_compute.ciphertexts import CiphertextStore, StoredCiphertext, check_size
from services.ckks_compute.decryptions import DecryptionBudget
from services.ckks_compute.engine import CkksEngine, LoadedKey
from wavis.core.errors import WavisError
from wavis.core.limits import MAX_DECRYPTION_MARGIN_BITS
from wavis.core.pricing import CKKS_FCU
from wavis.fhe import ckks_levels, ckks_ops
from wavis.fhe.ckks_ciphertexts import inspect_ckks_ciphertext
from wavis.fhe.ckks_decryption import DecryptionPolicy, decryption_policy, flooded
from wavis.fhe.ckks_ops import KeyShape
from wavis.fhe.workers import FheWorkerPool, WorkerCrashed


@dataclass
class ComputeInput:
    account_id: str
    operation: str
    key_id: str
    ciphertext_ids: list[str]
    plain_operand: list[float] | None = None
    plain_repeats: bool = False  # plain_operand is a block repeated to fill the slots
    polynomial_coeffs: list[float] = field(default_factory=list)
    scale_stable: bool = False
    rotation_steps: int = 0
    matrix: list[list[float]] | None = None
    compact: bool = False  # the returned bytes: the result reduced to its last level


@dataclass
class ComputeOutput:
    result: StoredCiphertext
    compute_time_ms: float
    evicted: list[str]
    data: bytes  # the bytes to return (compacted when asked)
    bootstrap_applied: bool = False
    bootstrap_effective_degree: int = 0
    bootstrap_degraded: bool = False


@dataclass
class Prepared:
    """An operation checked and ready to evaluate."""

    request: ComputeInput
    key: LoadedKey
    inputs: list[Any]
    matrix: list[list[float]] | None
    value_count: int = 0  # the result's (StoredCiphertext.value_count)
    uploaded: bool = False  # an operand came from uploaded bytes, so does the result


@dataclass(frozen=True)
class DecryptionSettings:
    """The deployment's side of every key's DecryptionPolicy."""

    budget: int
    security_bits: int
    margin_bits: int


@dataclass
class Decryption:
    values: list[float]
    precision_bits: float
    decryptions_remaining: int
    insecure_key: bool
    margin_bits: int


def _operand_count(operation: str) -> int:
    return 2 if operation in ckks_ops.BINARY else 1


# Operations that leave the slots past the operands' values at zero; the others move values
# (rotate, matmul) or add to every slot (add-plain, poly-eval's constant term).
_KEEP_COUNT = frozenset({"add", "negate", "multiply", "multiply-plain", "rescale", "bootstrap"})


def result_count(operation: str, counts: list[int]) -> int:
    """The result's value count from its operands': their largest, else 0 (every slot)."""
    if operation not in _KEEP_COUNT or 0 in counts:
        return 0
    return max(counts)


class Calculator:
    def __init__(self, engine: CkksEngine, store: CiphertextStore, pool: FheWorkerPool,
                 decryptions: DecryptionBudget, decryption: DecryptionSettings) -> None:
        self.engine = engine
        self.store = store
        self.pool = pool
        self.decryptions = decryptions
        self.decryption = decryption

    # Ciphertexts in and out ---------------------------------------------------------------

    async def store_result(self, key: LoadedKey, result: Serialized, value_count: int = 0,
                           uploaded: bool = False) -> tuple[StoredCiphertext, list[str]]:
        stored, evicted = await self.store.put(key.account_id, key.key_id, result.data,
                                               result.level, result.budget_pct, key.insecure,
                                               value_count, uploaded)
        self.engine.remember_ciphertext(stored.ciphertext_id, result.ciphertext,
                                        len(result.data))
        return stored, evicted

    async def upload(self, account_id: str, key_id: str, data: bytes) -> tuple[
            StoredCiphertext, list[str]]:
        check_size(data)  # before a worker reads it
        key = await self.engine.key(account_id, key_id)
        try:  # untrusted bytes: first read in a worker process, where a crash is contained
            facts = await self.pool.run(inspect_ckks_ciphertext, data,
                                        (key.client_tag, key.tag), key.params)
        except WorkerCrashed:
            raise WavisError("INVALID_CIPHERTEXT", "The bytes could not be read.") from None
        state = ckks_levels.Level(facts["level"], facts["noise_scale_degree"])
        return await self.store.put(account_id, key_id, data, ckks_levels.used(state, key.shape),
                                    ckks_levels.budget_pct(state, key.shape), key.insecure,
                                    uploaded=True)

    async def encrypt(self, account_id: str, key_id: str, values: Sequence[float]) -> tuple[
            StoredCiphertext, list[str]]:
        key = await self.engine.key(account_id, key_id)
        if key.mode != "server":
            raise WavisError("BLIND_KEY", "This key is FHE-blind: encrypt on your side and "
                             "upload with POST /api/v1/ciphertexts.")
        if not 1 <= len(values) <= key.shape.slot_count:
            raise WavisError("VALIDATION_ERROR", f"values needs 1 to {key.shape.slot_count} "
                             "numbers.", {"field": "values"})

        def encrypt() -> Serialized:
            plain = key.context.MakeCKKSPackedPlaintext([float(v) for v in values])
            return serialized(key.context.Encrypt(key.public_key, plain), key.shape)

        return await self.store_result(key, await self.engine.run(encrypt), len(values))

    async def load(self, account_id: str, ciphertext_id: str, key: LoadedKey) -> Any:
        return (await self.load_many(account_id, [ciphertext_id], key))[0]

    async def load_many(self, account_id: str, ciphertext_ids: list[str],
                        key: LoadedKey) -> list[Any]:
        return (await self.load_records(account_id, ciphertext_ids, key))[0]

    async def load_records(self, account_id: str, ciphertext_ids: list[str],
                            key: LoadedKey) -> tuple[list[Any], list[StoredCiphertext]]:
        """The ciphertexts, deserialized (from this replica's cache when it has them), and
        their records."""
        cached = [self.engine.cached_ciphertext(ct_id) for ct_id in ciphertext_ids]
        stored = await self.store.get_many(account_id, ciphertext_ids,
                                           [c is None for c in cached])
        loaded = []
        for record, ciphertext in zip(stored, cached, strict=True):
            if record.key_id != key.key_id:
                raise WavisError("MISMATCHED_KEY", f"{record.ciphertext_id} is under key "
                                 f"{record.key_id}, not {key.key_id}.",
                                 {"ciphertext_id": record.ciphertext_id})
            if ciphertext is None:
                assert record.data is not None
                ciphertext = await self.engine.run(read_ciphertext, record.data, key.tag)
                self.engine.remember_ciphertext(record.ciphertext_id, ciphertext, record.size)
            loaded.append(ciphertext)
        return loaded, stored

    async def compact(self, account_id: str, ciphertext_id: str,
                      ) -> tuple[StoredCiphertext, bytes]:
        """A stored ciphertext's record, and its bytes reduced to its last level (the
        stored ciphertext is unchanged)."""
        stored = await self.store.get(account_id, ciphertext_id, with_data=False)
        key = await self.engine.key(account_id, stored.key_id)
        ciphertext = await self.load(account_id, ciphertext_id, key)
        return stored, await self.engine.run(compact_bytes, key.context, ciphertext)

    def decryption_policy(self, key: LoadedKey, margin_bits: int | None = None,
                          ) -> DecryptionPolicy:
        """The key's policy at margin_bits (None: the deployment's). The noise grows with the
        error admitted, so every margin gives each decryption the same statistical security
        (docs/decisions/0088-the-decryption-margin-is-the-callers.md)."""
        settings = self.decryption
        return decryption_policy(scale_bits=key.scale_bits, ring_dim=key.ring_dim,
                                 slot_count=key.shape.slot_count, budget=settings.budget,
                                 security_bits=settings.security_bits,
                                 margin_bits=settings.margin_bits if margin_bits is None
                                 else margin_bits)

    async def decrypt(self, account_id: str, ciphertext_id: str, count: int = 0,
                      margin_bits: int | None = None) -> Decryption:
        """count values (0: the value count recorded with the ciphertext, else every slot),
        flooded with noise at the key's published precision for margin_bits (None: the
        deployment's margin), one of the key's budget of decryptions taken
        (wavis.fhe.ckks_decryption)."""
        stored = await self.store.get(account_id, ciphertext_id, with_data=False)
        key = await self.engine.key(account_id, stored.key_id)
        if not 0 <= count <= key.shape.slot_count:
            raise WavisError("VALIDATION_ERROR", f"count must be 1 to {key.shape.slot_count} "
                             "(the key's slot_count).", {"field": "count"})
        length = count or stored.value_count or key.shape.slot_count
        if key.secret_key is None:
            raise WavisError("BLIND_KEY", "This key is FHE-blind: the server cannot decrypt; "
                             "download the ciphertext and decrypt on your side.")
        if stored.uploaded:  # c0 + c1*s for a chosen c1 would reveal the secret key
            raise WavisError("UPLOADED_CIPHERTEXT", f"{ciphertext_id} was built from bytes "
                             "sent to the server (uploaded, or computed from an upload): the "
                             "server decrypts only ciphertexts it encrypted and computed "
                             "itself.", {"ciphertext_id": ciphertext_id})
        if margin_bits is not None and not 0 <= margin_bits <= MAX_DECRYPTION_MARGIN_BITS:
            raise WavisError("VALIDATION_ERROR", "noise_margin_bits must be 0 to "
                             f"{MAX_DECRYPTION_MARGIN_BITS}.", {"field": "noise_margin_bits"})
        policy = self.decryption_policy(key, margin_bits)
        if policy.precision_bits < 1 and margin_bits is not None:
            largest = margin_bits - math.ceil(1 - policy.precision_bits)
            raise WavisError("VALIDATION_ERROR", f"A noise margin of {margin_bits} bits leaves "
                             f"this key's decryptions {policy.precision_bits} bits of "
                             "precision: the noise would drown the values. "
                             + (f"This key allows a margin of at most {largest} bits."
                                if largest >= 0 else "This key allows no margin at all."),
                             {"field": "noise_margin_bits",
                              "precision_bits": policy.precision_bits})
        if policy.precision_bits < 1:  # the noise would drown every value: nothing to take
            needed = key.scale_bits + math.ceil(1 - policy.precision_bits)
            raise WavisError("INVALID_PARAMS", f"This key's parameters leave server-mode "
                             f"decryption {policy.precision_bits} bits of precision: the noise "
                             "that keeps its secret key hidden drowns the values. Generate a "
                             f"key with scale_bits {needed} or more (or decrypt on your side "
                             "with a blind key).",
                             {"field": "scale_bits", "precision_bits": policy.precision_bits,
                              "min_scale_bits": needed})
        ciphertext = await self.load(account_id, ciphertext_id, key)
        remaining = await self.decryptions.take(key.key_id, policy.budget)

        def decrypt() -> list[float]:
            too_noisy = WavisError(
                "DECRYPTION_NOISE_TOO_HIGH", "The ciphertext's error is larger than this "
                "decryption's noise can hide: decrypt a result of fewer operations or "
                "smaller factors, or admit larger errors with noise_margin_bits (each bit "
                "costs one of precision). (The refusal counts against the key's "
                "decryptions.)", {"ciphertext_id": ciphertext_id,
                                  "noise_margin_bits": policy.margin_bits})
            try:
                plain = key.context.Decrypt(ciphertext, key.secret_key)
            except RuntimeError:  # OpenFHE will not decode noise at all
                raise too_noisy from None
            plain.SetLength(key.shape.slot_count)
            # OpenFHE's estimate of this ciphertext's precision decides, and stays here.
            if plain.GetLogPrecision() < policy.admitted_bits:
                raise too_noisy
            return flooded([float(v) for v in plain.GetRealPackedValue()[:length]],
                           policy.sigma)

        values = await self.engine.run(decrypt)
        return Decryption(values, policy.precision_bits, remaining, key.insecure,
                          policy.margin_bits)

    # Operations -------------------------------------------------------------------------

    async def key_for(self, request: ComputeInput) -> LoadedKey:
        """The operation's key, after the checks that need nothing loaded."""
        operation = request.operation
        if operation not in ckks_ops.OPERATIONS:
            raise WavisError("INVALID_OPERATION", f"Unknown operation {operation!r}; one of "
                             f"{', '.join(ckks_ops.OPERATIONS)}.", {"operation": operation})
        count = _operand_count(operation)
        if len(request.ciphertext_ids) != count:
            raise WavisError("VALIDATION_ERROR", f"{operation} takes {count} ciphertext id(s).",
                             {"field": "ciphertext_ids"})
        return await self.engine.key(request.account_id, request.key_id)

    @staticmethod
    def fcu(request: ComputeInput, key: LoadedKey) -> int:
        """What the operation costs; rescale under an automatic scaling technique (blind keys
        that kept FLEXIBLEAUTO) is a no-op and free."""
        if request.operation == "rescale" and not key.shape.manual_scaling:
            return 0
        return CKKS_FCU[request.operation]

    async def prepare(self, request: ComputeInput, key: LoadedKey) -> Prepared:
        """Load and check everything; any refusal happens here, before work is queued."""
        inputs, records = await self.load_records(request.account_id, request.ciphertext_ids,
                                                   key)
        return Prepared(request, key, inputs, self._check(request, key.shape, inputs),
                        result_count(request.operation, [r.value_count for r in records]),
                        any(record.uploaded for record in records))

    async def execute(self, prepared: Prepared) -> ComputeOutput:
        key, request = prepared.key, prepared.request
        # One trip to the pool: the result is serialized right after it is computed.
        result = await self.engine.run(_evaluate_and_serialize, key.context, request,
                                       key.shape, prepared.inputs, prepared.matrix)
        stored, evicted = await self.store_result(key, result, prepared.value_count,
                                                  prepared.uploaded)
        output = ComputeOutput(stored, result.compute_time_ms, evicted,
                               result.compact_data if request.compact else result.data)
        if request.operation == "bootstrap":
            output.bootstrap_applied = True
            output.bootstrap_effective_degree = key.shape.max_depth - stored.level
            # Fewer levels back than the key promised between bootstraps.
            output.bootstrap_degraded = (output.bootstrap_effective_degree
                                         < key.shape.levels_after_bootstrap)
        return output

    async def discard(self, output: ComputeOutput) -> None:
        """Drop a result that will not be answered (its reservation was refused)."""
        ciphertext_id = output.result.ciphertext_id
        self.engine.forget_ciphertext(ciphertext_id)
        await self.store.delete(output.result.account_id, ciphertext_id)

    @staticmethod
    def _check(request: ComputeInput, shape: KeyShape,
               inputs: list[Any]) -> list[list[float]] | None:
        """Every refusal happens here, before any evaluation (so it costs nothing)."""
        matrix = check_operands(request, shape)
        ckks_levels.after(request.operation, [ckks_levels.level_of(ct) for ct in inputs],
                          shape, scale_stable=request.scale_stable,
                          coefficients=request.polynomial_coeffs)
        return matrix


def check_operands(request: ComputeInput, shape: KeyShape) -> list[list[float]] | None:
    """The refusals that depend on the operation's fields and the key, not on the
    ciphertexts; the matrix of a matmul, checked."""
    operation = request.operation
    matrix = None
    if operation in ("add-plain", "multiply-plain"):
        if request.plain_operand is None:
            raise WavisError("MISSING_PLAIN_OPERAND", f"{operation} needs plain_operand.")
        block = len(request.plain_operand)
        if request.plain_repeats and block and shape.slot_count % block == 0:
            request.plain_operand = request.plain_operand * (shape.slot_count // block)
            request.plain_repeats = False
        if len(request.plain_operand) != shape.slot_count:
            raise WavisError("INVALID_PLAIN_OPERAND", f"plain_operand must have "
                             f"{shape.slot_count} values (the key's slot_count); got "
                             f"{len(request.plain_operand)}.",
                             {"slot_count": shape.slot_count})
    if operation == "poly-eval":
        if len(request.polynomial_coeffs) > ckks_ops.MAX_POLY_COEFFS:
            raise WavisError("POLYNOMIAL_TOO_LARGE", "At most 65 coefficients; split the "
                             "polynomial or use a Chebyshev expansion.")
        if len(request.polynomial_coeffs) < 2:
            raise WavisError("VALIDATION_ERROR", "polynomial_coeffs needs at least 2 "
                             "coefficients (low to high).", {"field": "polynomial_coeffs"})
    if operation == "rotate" and not ckks_ops.rotation_plan(request.rotation_steps, shape):
        # A rotation by 0 (mod the slot count) would bill for returning the input.
        raise WavisError("VALIDATION_ERROR", f"rotation_steps must be a non-zero integer, "
                         f"not a multiple of the slot count ({shape.slot_count}).",
                         {"field": "rotation_steps"})
    if operation == "matmul":
        if request.matrix is None:
            raise WavisError("VALIDATION_ERROR", "matmul needs matrix.", {"field": "matrix"})
        matrix = ckks_ops.validate_matrix(request.matrix, shape)
        for step in ckks_ops.matmul_steps(len(matrix), shape):
            ckks_ops.rotation_plan(step, shape)
    if operation == "bootstrap" and not shape.bootstrappable:
        raise WavisError("VALIDATION_ERROR", "This key has no bootstrapping keys: generate "
                         "it with bootstrappable: true.", {"field": "key_id"})
    return matrix


@dataclass
class Serialized:
    """A ciphertext with its bytes and the level facts the store keeps."""

    ciphertext: Any
    data: bytes
    level: int
    budget_pct: float
    compute_time_ms: float = 0.0
    compact_data: bytes = b""  # when asked: the ciphertext reduced to its last level


def read_ciphertext(data: bytes, key_tag: str) -> Any:
    """A stored ciphertext, deserialized under the key's tag: uploaded ones carry the
    client's, and OpenFHE finds evaluation keys by the ciphertext's tag, which for this key
    are loaded under its id (docs/decisions/0080-the-server-owns-ckks-key-tags.md)."""
    import openfhe

    ciphertext = openfhe.DeserializeCiphertextString(data, openfhe.BINARY)
    ciphertext.SetKeyTag(key_tag)
    return ciphertext


def serialized(ciphertext: Any, shape: KeyShape, compute_time_ms: float = 0.0) -> Serialized:
    import openfhe

    data = openfhe.Serialize(ciphertext, openfhe.BINARY)
    state = ckks_levels.level_of(ciphertext)
    return Serialized(ciphertext, data, ckks_levels.used(state, shape),
                      ckks_levels.budget_pct(state, shape), compute_time_ms)


def _evaluate_and_serialize(cc: Any, request: ComputeInput, shape: KeyShape,
                            inputs: list[Any], matrix: list[list[float]] | None) -> Serialized:
    started = time.perf_counter()
    result = _evaluate(cc, request, shape, inputs, matrix)
    compute_ms = round(1000 * (time.perf_counter() - started), 3)
    out = serialized(result, shape, compute_ms)
    if request.compact:
        out.compact_data = compact_bytes(cc, result)
    return out


def compact_bytes(cc: Any, ciphertext: Any) -> bytes:
    """The serialization of the ciphertext reduced to its last level (for downloads)."""
    import openfhe

    return bytes(openfhe.Serialize(ckks_ops.compact(cc, ciphertext), openfhe.BINARY))


def _evaluate(cc: Any, request: ComputeInput, shape: KeyShape, inputs: list[Any],
              matrix: list[list[float]] | None) -> Any:
    """Runs on an engine thread (holding the read side of the key lock)."""
    operation = request.operation
    stable = request.scale_stable
    a = inputs[0]
    if stable and len(inputs) == 2:  # align: rescale pending products, OpenFHE aligns levels
        a, b = (ckks_ops.rescale_products(cc, ct, shape) for ct in inputs)
    elif len(inputs) == 2:
        b = inputs[1]
    if stable and operation in ("poly-eval", "matmul", "multiply-plain"):
        a = ckks_ops.rescale_products(cc, a, shape)
    if operation == "add":
        return cc.EvalAdd(a, b)
    if operation == "multiply":
        product = cc.EvalMult(a, b)
        return ckks_ops.rescale_products(cc, product, shape) if stable else product
    if operation == "add-plain":
        return cc.EvalAdd(a, ckks_ops.plaintext(cc, request.plain_operand or [], a))
    if operation == "multiply-plain":
        product = cc.EvalMult(a, ckks_ops.plaintext(cc, request.plain_operand or [], a))
        return ckks_ops.rescale_products(cc, product, shape) if stable else product
    if operation == "negate":
        return cc.EvalNegate(a)
    if operation == "rescale":
        return cc.Rescale(a) if shape.manual_scaling else a
    if operation == "rotate":
        return ckks_ops.rotate(cc, a, request.rotation_steps, shape)
    if operation == "poly-eval":
        return cc.EvalPoly(a, list(request.polynomial_coeffs))
    if operation == "matmul":
        assert matrix is not None
        return ckks_ops.matmul(cc, a, matrix, shape, stable)
    if operation == "bootstrap":
        refreshed = cc.EvalBootstrap(ckks_ops.rescale_products(cc, a, shape))
        return ckks_ops.rescale_products(cc, refreshed, shape)
    raise AssertionError(operation)
