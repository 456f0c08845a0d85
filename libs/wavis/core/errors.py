"""The one table of public error codes, and how an error crosses gRPC unchanged.

Services raise `WavisError(code, message)`; the server interceptor sends it as a
`google.rpc.Status` whose `ErrorInfo.reason` is the code; `error_from_rpc` turns it back.
See docs/decisions/0002-one-error-table.md; the codes are listed in docs/api.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

ERROR_DOMAIN = "wavis.xyz"
STATUS_DETAILS_KEY = "grpc-status-details-bin"
_DETAILS_METADATA_KEY = "details_json"


@dataclass(frozen=True)
class ErrorCode:
    code: str
    http_status: int
    grpc_status: grpc.StatusCode
    message: str  # default sentence when the raiser gives none


_C = grpc.StatusCode
_TABLE: tuple[ErrorCode, ...] = (
    # Requests the edge refuses.
    ErrorCode("VALIDATION_ERROR", 400, _C.INVALID_ARGUMENT, "The request failed validation."),
    ErrorCode("INVALID_CURSOR", 400, _C.INVALID_ARGUMENT, "The pagination cursor is not valid."),
    ErrorCode("INVALID_JSON", 422, _C.INVALID_ARGUMENT, "The request body is not valid JSON."),
    ErrorCode("SCHEMA_MISMATCH", 422, _C.INVALID_ARGUMENT,
              "The request body does not match the endpoint's schema."),
    ErrorCode("UNAUTHORIZED", 401, _C.UNAUTHENTICATED, "A valid API key is required."),
    ErrorCode("FORBIDDEN", 403, _C.PERMISSION_DENIED,
              "This API key's role does not allow this operation."),
    ErrorCode("NOT_FOUND", 404, _C.NOT_FOUND, "No such resource."),
    ErrorCode("METHOD_NOT_ALLOWED", 405, _C.UNIMPLEMENTED,
              "This method is not allowed on this resource."),
    ErrorCode("PAYLOAD_TOO_LARGE", 413, _C.INVALID_ARGUMENT, "The request body is too large."),
    ErrorCode("RATE_LIMITED", 429, _C.RESOURCE_EXHAUSTED, "Too many requests."),
    ErrorCode("IDEMPOTENCY_KEY_REUSED", 409, _C.FAILED_PRECONDITION,
              "This Idempotency-Key was used with a different request."),
    ErrorCode("IDEMPOTENCY_IN_PROGRESS", 409, _C.ABORTED,
              "A request with this Idempotency-Key is still running."),
    # Quota and billing.
    ErrorCode("QUOTA_EXHAUSTED", 402, _C.RESOURCE_EXHAUSTED,
              "The plan's monthly FCU allowance is used up."),
    ErrorCode("BUDGET_CAP_REACHED", 402, _C.RESOURCE_EXHAUSTED,
              "The account's hard monthly budget cap is reached."),
    # FHE keys and ciphertexts.
    ErrorCode("INVALID_PARAMS", 400, _C.INVALID_ARGUMENT, "The FHE parameters are out of range."),
    ErrorCode("INSUFFICIENT_SECURITY", 400, _C.INVALID_ARGUMENT,
              "These parameters cannot meet the requested security level."),
    ErrorCode("INVALID_KEY", 400, _C.INVALID_ARGUMENT, "The key material is not valid."),
    ErrorCode("KEY_NOT_FOUND", 404, _C.NOT_FOUND, "No such key."),
    ErrorCode("BLIND_KEY", 400, _C.FAILED_PRECONDITION,
              "This key is FHE-blind: the server holds no secret key for it."),
    ErrorCode("CIPHERTEXT_NOT_FOUND", 404, _C.NOT_FOUND, "No such ciphertext, or it was evicted."),
    ErrorCode("INVALID_CIPHERTEXT", 400, _C.INVALID_ARGUMENT,
              "The ciphertext does not deserialize under this key."),
    ErrorCode("MISMATCHED_KEY", 400, _C.INVALID_ARGUMENT, "Ciphertexts are under different keys."),
    ErrorCode("MISMATCHED_LEVEL", 400, _C.INVALID_ARGUMENT,
              "Ciphertexts are at different modulus levels."),
    ErrorCode("NOISE_BUDGET_EXHAUSTED", 400, _C.FAILED_PRECONDITION,
              "The result would not decrypt: bootstrap first."),
    # Server-mode decryption (docs/security.md).
    ErrorCode("DECRYPTION_BUDGET_EXHAUSTED", 403, _C.RESOURCE_EXHAUSTED,
              "This key has used every decryption it allows: generate a new key."),
    ErrorCode("DECRYPTION_NOISE_TOO_HIGH", 400, _C.FAILED_PRECONDITION,
              "The ciphertext's error is larger than decryption under this key can hide."),
    ErrorCode("UPLOADED_CIPHERTEXT", 400, _C.FAILED_PRECONDITION,
              "The server decrypts only ciphertexts it encrypted and computed itself."),
    ErrorCode("INVALID_OPERATION", 400, _C.INVALID_ARGUMENT, "Unknown operation."),
    ErrorCode("MISSING_PLAIN_OPERAND", 400, _C.INVALID_ARGUMENT,
              "This operation needs plain_operand."),
    ErrorCode("INVALID_PLAIN_OPERAND", 400, _C.INVALID_ARGUMENT,
              "plain_operand must have slot_count values."),
    ErrorCode("POLYNOMIAL_TOO_LARGE", 400, _C.INVALID_ARGUMENT,
              "At most 65 polynomial coefficients."),
    ErrorCode("MISSING_ROTATION_KEY", 400, _C.FAILED_PRECONDITION,
              "The key has no rotation key for this step."),
    ErrorCode("OPERATION_NOT_FOUND", 404, _C.NOT_FOUND, "No such operation."),
    ErrorCode("INVALID_PROGRAM", 400, _C.INVALID_ARGUMENT,
              "The program is malformed (details.step names the first faulty step)."),
    # Encrypted inference.
    ErrorCode("MODEL_NOT_FOUND", 404, _C.NOT_FOUND, "No such model in the catalogue."),
    ErrorCode("KEY_REQUIREMENTS_NOT_MET", 400, _C.FAILED_PRECONDITION,
              "The key does not meet the model's requirements (details.unmet says what "
              "is missing)."),
    # TFHE.
    ErrorCode("SESSION_NOT_FOUND", 404, _C.NOT_FOUND, "No such TFHE session."),
    ErrorCode("SESSION_EXISTS", 409, _C.ALREADY_EXISTS, "This session_id is already in use."),
    ErrorCode("SESSION_NOT_READY", 409, _C.FAILED_PRECONDITION,
              "The session's key is still being generated: poll GET /tfhe/session/{id}."),
    ErrorCode("BLIND_SESSION", 400, _C.FAILED_PRECONDITION,
              "This session is FHE-blind: encrypt and decrypt on the client."),
    ErrorCode("UNAUTHENTICATED_CIPHERTEXT", 400, _C.INVALID_ARGUMENT,
              "A server-mode session takes only the ciphertexts it issued, unchanged."),
    ErrorCode("INVALID_BATCH", 400, _C.INVALID_ARGUMENT,
              "A batch gate refers to itself or to a later gate."),
    ErrorCode("DEPENDENT_INPUTS", 400, _C.INVALID_ARGUMENT,
              "A gate's two inputs are the same ciphertext."),
    # Webhooks.
    ErrorCode("WEBHOOK_NOT_FOUND", 404, _C.NOT_FOUND, "No such webhook endpoint."),
    ErrorCode("INVALID_WEBHOOK_URL", 400, _C.INVALID_ARGUMENT,
              "Webhook URLs must be https and resolve to public addresses."),
    ErrorCode("INVALID_SIGNATURE", 400, _C.INVALID_ARGUMENT, "The signature does not verify."),
    # Server side.
    ErrorCode("NOT_IMPLEMENTED_BY_DESIGN", 501, _C.UNIMPLEMENTED,
              "WAVIS never decrypts for you in FHE-blind mode."),
    ErrorCode("INTERNAL_ERROR", 500, _C.INTERNAL,
              "Something went wrong on our side; it is safe to retry idempotent requests."),
    ErrorCode("UPSTREAM_UNAVAILABLE", 502, _C.UNAVAILABLE,
              "A service this request depends on is unavailable; retry shortly."),
    ErrorCode("NOT_READY", 503, _C.UNAVAILABLE, "The service is not ready."),
    # An asynchronous operation's error (GET /compute/{op_id}, compute_failed).
    ErrorCode("WORKER_LOST", 503, _C.UNAVAILABLE, "The replica running this operation "
              "stopped; it was not billed. Run it again."),
    ErrorCode("MAINTENANCE", 503, _C.UNAVAILABLE, "The service is in maintenance."),
)

ERROR_CODES: dict[str, ErrorCode] = {entry.code: entry for entry in _TABLE}


class WavisError(Exception):
    """An error a caller can act on, carrying a public error code."""

    def __init__(self, code: str, message: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}: add it to wavis.core.errors")
        self.code = code
        self.message = message or ERROR_CODES[code].message
        self.details = details or {}
        super().__init__(f"{code}: {self.message}")

    def __reduce__(self) -> tuple[type[WavisError], tuple[str, str, dict[str, Any]]]:
        # Picklable, so worker processes can raise it to the service that called them.
        return (WavisError, (self.code, self.message, self.details))

    @property
    def http_status(self) -> int:
        return ERROR_CODES[self.code].http_status

    @property
    def grpc_status(self) -> grpc.StatusCode:
        return ERROR_CODES[self.code].grpc_status


def status_of(error: WavisError) -> status_pb2.Status:
    """The google.rpc.Status carrying the error: its ErrorInfo.reason is the public code."""
    info = error_details_pb2.ErrorInfo(reason=error.code, domain=ERROR_DOMAIN)
    if error.details:
        info.metadata[_DETAILS_METADATA_KEY] = json.dumps(error.details, sort_keys=True)
    detail = any_pb2.Any()
    detail.Pack(info)
    return status_pb2.Status(code=error.grpc_status.value[0], message=error.message,
                             details=[detail])


def error_from_status(status: status_pb2.Status) -> WavisError | None:
    """The WavisError a google.rpc.Status carries, if it carries one."""
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info) and info.domain == ERROR_DOMAIN and info.reason in ERROR_CODES:
            raw_details = info.metadata.get(_DETAILS_METADATA_KEY)
            details = json.loads(raw_details) if raw_details else None
            return WavisError(info.reason, status.message, details)
    return None


def to_rpc_status(error: WavisError) -> tuple[grpc.StatusCode, str, tuple[tuple[str, bytes], ...]]:
    """(status code, message, trailing metadata) carrying a google.rpc.Status with ErrorInfo."""
    status = status_of(error)
    return error.grpc_status, error.message, ((STATUS_DETAILS_KEY, status.SerializeToString()),)


# gRPC failures with no WAVIS reason: the callee is unreachable, overloaded or too slow.
_TRANSPORT_FAILURES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
}


def error_from_rpc(error: grpc.RpcError) -> WavisError:
    """The WavisError a failed call carried, or the closest public code when it carried none."""
    trailing = error.trailing_metadata() or ()
    for key, value in trailing:
        if key != STATUS_DETAILS_KEY:
            continue
        carried = error_from_status(status_pb2.Status.FromString(value))
        if carried is not None:
            return carried
    if error.code() in _TRANSPORT_FAILURES:
        return WavisError("UPSTREAM_UNAVAILABLE")
    return WavisError("INTERNAL_ERROR")
