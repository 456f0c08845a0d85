"""What the API answers, as typed objects; every one keeps the whole JSON in `raw`.

The FHE objects (keys, ciphertexts, results, sessions) are dataclasses with the fields the
API guarantees. Account objects (API keys, webhooks, invoices, usage) are `WavisObject`s:
dicts that also answer attribute access, as Stripe's objects do, so fields the server adds
later are there without a new SDK.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from wavis_sdk._core import Response

T = TypeVar("T")


class WavisObject(dict[str, Any]):
    """A JSON object with attribute access (`obj.webhook_id` is `obj["webhook_id"]`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return WavisObject({k: wrap(v) for k, v in value.items()})
    if isinstance(value, list):
        return [wrap(v) for v in value]
    return value


def as_object(body: Mapping[str, Any]) -> WavisObject:
    result = wrap(dict(body))
    assert isinstance(result, WavisObject)
    return result


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    has_more: bool
    next_cursor: str | None

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)


def _b64(value: str | None) -> bytes | None:
    return base64.b64decode(value) if value else None


@dataclass(frozen=True)
class Key:
    key_id: str
    scheme: str  # "ckks" | "tfhe"
    mode: str  # "server" | "blind"
    status: str  # "ready" | "pending" | "failed"
    size_bytes: int
    security_bits: int
    created_at: str
    params: Mapping[str, Any] | None = None  # CKKS: poly_degree, scale_bits, max_depth, ...
    slot_count: int | None = None
    max_level: int | None = None
    rotations: tuple[int, ...] = ()
    scaling_technique: str | None = None
    preset: str | None = None  # TFHE
    n: int | None = None
    big_n: int | None = None
    failure: str | None = None
    secret_key: bytes | None = None  # server mode, only where the deployment allows it
    security_warning: str | None = None  # X-Security-Warning: below 128-bit security
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @staticmethod
    def parse(body: Mapping[str, Any], response: Response | None = None) -> Key:
        return Key(
            key_id=body["key_id"], scheme=body["scheme"], mode=body["mode"],
            status=body["status"], size_bytes=body.get("size_bytes", 0),
            security_bits=body.get("security_bits", 0), created_at=body.get("created_at", ""),
            params=body.get("params"), slot_count=body.get("slot_count"),
            max_level=body.get("max_level"), rotations=tuple(body.get("rotations") or ()),
            scaling_technique=body.get("scaling_technique"), preset=body.get("preset"),
            n=body.get("n"), big_n=body.get("big_n"), failure=body.get("failure"),
            secret_key=_b64(body.get("secret_key")),
            security_warning=response.header("X-Security-Warning") if response else None,
            raw=dict(body))


@dataclass(frozen=True)
class Ciphertext:
    """A CKKS ciphertext stored on the server; `data` (its BINARY serialization) when
    downloaded."""

    ciphertext_id: str
    key_id: str
    level: int
    noise_budget_remaining: float
    size_bytes: int
    expires_at: str
    data: bytes | None = None
    evicted_ciphertext_ids: tuple[str, ...] = ()
    security_warning: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @staticmethod
    def parse(body: Mapping[str, Any], response: Response | None = None) -> Ciphertext:
        return Ciphertext(
            ciphertext_id=body["ciphertext_id"], key_id=body["key_id"], level=body["level"],
            noise_budget_remaining=body["noise_budget_remaining"],
            size_bytes=body.get("size_bytes", 0), expires_at=body.get("expires_at", ""),
            data=_b64(body.get("data")),
            evicted_ciphertext_ids=tuple(body.get("evicted_ciphertext_ids") or ()),
            security_warning=response.header("X-Security-Warning") if response else None,
            raw=dict(body))


@dataclass(frozen=True)
class Decrypted:
    """Values decrypted by the server (server-mode keys only). The server adds noise to each
    (so that decryptions do not reveal the secret key): every value is within
    2^-precision_bits of the exact result, and each decryption takes one of the key's
    budget (decryptions_remaining after this one). noise_margin_bits: the bits of error
    above a fresh encryption's the decryption admitted."""

    values: list[float]
    precision_bits: float
    decryptions_remaining: int = 0
    noise_margin_bits: int = 0


@dataclass(frozen=True)
class ComputeResult:
    """A completed CKKS operation. The noise budget is the share of the key's levels left
    (the API's `noise_budget_remaining`, in percent); `noise_budget_warning` is the server's
    advice that it is running low (below 50%)."""

    op_id: str
    operation: str
    result_ciphertext_id: str
    level: int
    noise_budget_remaining: float
    cost_units: int
    cost_usd: float
    cost_jpy: float
    compute_time_ms: float
    result_ciphertext: bytes | None = None  # with return_ciphertext=True
    evicted_ciphertext_ids: tuple[str, ...] = ()
    noise_budget_warning: bool = False
    noise_budget_recovery: str | None = None
    bootstrap_applied: bool = False
    security_warning: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ciphertext_id(self) -> str:
        """The result's id (so a result can be passed wherever a ciphertext is expected)."""
        return self.result_ciphertext_id

    @property
    def data(self) -> bytes | None:
        return self.result_ciphertext

    @staticmethod
    def parse(body: Mapping[str, Any], response: Response | None = None) -> ComputeResult:
        header = response.header if response else (lambda name: None)
        return ComputeResult(
            op_id=body["op_id"], operation=body.get("operation", ""),
            result_ciphertext_id=body["result_ciphertext_id"], level=body["level"],
            noise_budget_remaining=body["noise_budget_remaining"],
            cost_units=body.get("cost_units", 0), cost_usd=body.get("cost_usd", 0.0),
            cost_jpy=body.get("cost_jpy", 0.0),
            compute_time_ms=body.get("compute_time_ms", 0.0),
            result_ciphertext=_b64(body.get("result_ciphertext")),
            evicted_ciphertext_ids=tuple(body.get("evicted_ciphertext_ids") or ()),
            noise_budget_warning=header("X-Noise-Budget-Warning") == "true",
            noise_budget_recovery=header("X-Noise-Budget-Recovery"),
            bootstrap_applied=bool(body.get("bootstrap_applied")),
            security_warning=header("X-Security-Warning"), raw=dict(body))


@dataclass(frozen=True)
class ProgramOutput:
    """One stored output of a program: the step it is the result of ("$k") and the stored
    ciphertext (pass it wherever a ciphertext is expected)."""

    ref: str
    ciphertext_id: str
    level: int
    noise_budget_remaining: float
    data: bytes | None = None  # with return_ciphertext=True (compacted with compact=True)

    @staticmethod
    def parse(body: Mapping[str, Any]) -> ProgramOutput:
        return ProgramOutput(ref=body["ref"], ciphertext_id=body["result_ciphertext_id"],
                             level=body["level"],
                             noise_budget_remaining=body["noise_budget_remaining"],
                             data=_b64(body.get("result_ciphertext")))


@dataclass(frozen=True)
class ProgramResult:
    """A completed CKKS program: its outputs in the order asked for (also by reference,
    `result["$3"]`), what it cost, and the noise headers of its lowest output."""

    op_id: str
    outputs: tuple[ProgramOutput, ...]
    steps_evaluated: int
    cost_units: int
    cost_usd: float
    cost_jpy: float
    compute_time_ms: float
    discount_applied: bool = False
    evicted_ciphertext_ids: tuple[str, ...] = ()
    noise_budget_warning: bool = False
    security_warning: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __getitem__(self, ref: str) -> ProgramOutput:
        for output in self.outputs:
            if output.ref == ref:
                return output
        raise KeyError(ref)

    @staticmethod
    def parse(body: Mapping[str, Any], response: Response | None = None) -> ProgramResult:
        header = response.header if response else (lambda name: None)
        return ProgramResult(
            op_id=body["op_id"],
            outputs=tuple(ProgramOutput.parse(o) for o in body["outputs"]),
            steps_evaluated=body["steps_evaluated"], cost_units=body.get("cost_units", 0),
            cost_usd=body.get("cost_usd", 0.0), cost_jpy=body.get("cost_jpy", 0.0),
            compute_time_ms=body.get("compute_time_ms", 0.0),
            discount_applied=bool(body.get("discount_applied")),
            evicted_ciphertext_ids=tuple(body.get("evicted_ciphertext_ids") or ()),
            noise_budget_warning=header("X-Noise-Budget-Warning") == "true",
            security_warning=header("X-Security-Warning"), raw=dict(body))


TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True)
class OperationStatus:
    op_id: str
    status: str  # pending, running, completed, cancelled, failed
    operation: str | None = None
    result: ComputeResult | None = None
    error: Mapping[str, Any] | None = None
    program: ProgramResult | None = None  # a completed program's result

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @staticmethod
    def parse(body: Mapping[str, Any], response: Response | None = None) -> OperationStatus:
        status = body["status"]
        return OperationStatus(
            op_id=body["op_id"], status=status, operation=body.get("operation"),
            # The cancel answer of a finished operation names its status only.
            result=ComputeResult.parse(body, response) if "result_ciphertext_id" in body
            else None,
            error=body.get("error"),
            program=ProgramResult.parse(body, response) if "outputs" in body else None)


@dataclass(frozen=True)
class TfheSession:
    session_id: str
    status: str  # "ready"; "pending" while a server-mode key is generated; "failed"
    preset: str
    n: int
    big_n: int
    is_blind: bool
    key_id: str
    security_bits: int
    idle_timeout_seconds: int
    security_warning: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @staticmethod
    def parse(body: Mapping[str, Any], response: Response | None = None) -> TfheSession:
        return TfheSession(
            session_id=body["session_id"], status=body.get("status", "ready"),
            preset=body["preset"], n=body["n"],
            big_n=body["big_n"], is_blind=body["is_blind"], key_id=body["key_id"],
            security_bits=body["security_bits"],
            idle_timeout_seconds=body["idle_timeout_seconds"],
            security_warning=response.header("X-Security-Warning") if response else None,
            raw=dict(body))


@dataclass(frozen=True)
class GateResult:
    op: str
    result: bytes  # the output ciphertext (BINARY LWE serialization)
    bootstraps: int
    cost_units: int
    cost_usd: float
    cost_jpy: float
    compute_time_ms: float
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @staticmethod
    def parse(body: Mapping[str, Any]) -> GateResult:
        return GateResult(op=body["op"], result=base64.b64decode(body["result_b64"]),
                          bootstraps=body["bootstraps"], cost_units=body["cost_units"],
                          cost_usd=body["cost_usd"], cost_jpy=body["cost_jpy"],
                          compute_time_ms=body["compute_time_ms"], raw=dict(body))


@dataclass(frozen=True)
class BatchResult:
    """Every gate's output ciphertext, in gate order; index it with a circuit's wire."""

    results: tuple[bytes, ...]
    gates_evaluated: int
    bootstraps: int
    levels: int
    cost_units: int
    cost_usd: float
    cost_jpy: float
    discount_applied: bool
    compute_time_ms: float
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __getitem__(self, wire: Any) -> bytes:
        index = getattr(wire, "gate_index", wire)
        if not isinstance(index, int):
            raise TypeError("index a BatchResult with a gate number or a circuit's gate wire")
        return self.results[index]

    def __len__(self) -> int:
        return len(self.results)

    @staticmethod
    def parse(body: Mapping[str, Any]) -> BatchResult:
        return BatchResult(
            results=tuple(base64.b64decode(r) for r in body["results_b64"]),
            gates_evaluated=body["gates_evaluated"], bootstraps=body["bootstraps"],
            levels=body["levels"], cost_units=body["cost_units"], cost_usd=body["cost_usd"],
            cost_jpy=body["cost_jpy"], discount_applied=body["discount_applied"],
            compute_time_ms=body["compute_time_ms"], raw=dict(body))


@dataclass(frozen=True)
class UploadProgress:
    """Where a chunked upload is: `phase` is "hashing" (the file's sha256), "verifying"
    (resuming: the parts the server holds, hashed here to compare), "uploading" or
    "completing" (the server checks the key)."""

    phase: str
    bytes_done: int
    bytes_total: int
    parts_done: int
    part_count: int
    upload_id: str | None = None
    resumed: bool = False  # parts found on the server from an earlier, interrupted run
