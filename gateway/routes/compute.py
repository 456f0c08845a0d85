"""CKKS compute: POST /compute/{operation} and POST /compute, async polling and cancelling."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from gateway import state
from gateway.body import read_body
from gateway.endpoints import Endpoint, Reply, refusal
from gateway.response_headers import (
    LOCATION,
    LOW_BUDGET_PCT,
    NOISE_BUDGET_RECOVERY,
    NOISE_BUDGET_REMAINING,
    NOISE_BUDGET_WARNING,
    SECURITY_WARNING,
    security_warning,
)
from gateway.schemas import integer, number, register_schemas
from gateway.usage import charged, metered_call
from wavis.core.errors import WavisError
from wavis.core.ids import new_id
from wavis.core.limits import MAX_CKKS_VALUE
from wavis.core.pricing import CKKS_FCU
from wavis.core.roles import TRIAL, WRITE
from wavis.core.usage_meter import Charge
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2 as pb

OPERATIONS = tuple(op for op in CKKS_FCU if op != "key_switch")
RECOVERY_HINT = "POST /api/v1/compute/bootstrap to refresh"
COMPUTE_TIMEOUT_SECONDS = 600.0
OP_ID_PREFIX = "op"


def result_json(op_id: str, operation: str, result: pb.OperationResult,
                with_data: bool) -> dict[str, Any]:
    ciphertext = result.result
    body: dict[str, Any] = {
        "op_id": op_id, "operation": operation, "status": "completed",
        "result_ciphertext_id": ciphertext.ciphertext_id,
        "compute_time_ms": result.compute_time_ms, "level": ciphertext.level,
        "noise_budget_remaining": ciphertext.noise_budget_remaining,
        "evicted_ciphertext_ids": list(result.evicted_ciphertext_ids),
        "cost_units": result.cost_units, "cost_usd": result.cost_usd,
        "cost_jpy": result.cost_jpy,
        "bootstrap_applied": result.bootstrap_applied,
        "bootstrap_effective_degree": result.bootstrap_effective_degree,
        "bootstrap_degraded": result.bootstrap_degraded,
    }
    if with_data:
        body["result_ciphertext"] = base64.b64encode(ciphertext.data).decode()
    return body


def budget_headers(result: pb.Ciphertext) -> dict[str, str]:
    remaining = result.noise_budget_remaining
    return {NOISE_BUDGET_REMAINING.name: f"{remaining:g}",
            NOISE_BUDGET_WARNING.name: "true" if remaining < LOW_BUDGET_PCT else "false",
            NOISE_BUDGET_RECOVERY.name: RECOVERY_HINT} | security_warning(result.insecure_key)


async def _run(request: web.Request, operation: str, body: dict[str, Any]) -> web.Response:
    if operation not in OPERATIONS:
        raise WavisError("INVALID_OPERATION", f"Unknown operation {operation!r}; one of "
                         f"{', '.join(OPERATIONS)}.", {"operation": operation})
    if operation == "rotate":
        body = _rotate_steps(body)
    caller = request[state.CALLER]
    op_id = new_id(OP_ID_PREFIX)
    message = pb.ComputeRequest(
        account_id=caller.account_id, operation=operation, key_id=body["key_id"],
        ciphertext_ids=body["ciphertext_ids"], plain_operand=body.get("plain_operand", []),
        has_plain_operand="plain_operand" in body,
        polynomial_coeffs=body.get("polynomial_coeffs", []),
        scale_stable=body.get("scale_stable", False),
        rotation_steps=body.get("rotation_steps", 0),
        matrix=[pb.MatrixRow(values=row) for row in body.get("matrix", [])],
        return_ciphertext=body.get("return_ciphertext", False),
        compact=body.get("compact", False),
        run_async=body.get("async", False) or operation == "bootstrap", op_id=op_id)
    # ckks-compute reserves the FCU while it loads the operands (and, with headroom before the
    # account's limits, while it evaluates; a refusal answers 402 with no result) and
    # records it (sync) or settles it when the queued op ends (async).
    reply = await metered_call(request, caller.account_id, op_id, request.app[
        state.SERVICES].ckks_compute.Compute(message, timeout=COMPUTE_TIMEOUT_SECONDS))
    if message.run_async:
        return web.json_response({"op_id": reply.op_id, "status": "pending"}, status=202,
                                 headers={LOCATION.name: f"/api/v1/compute/{reply.op_id}"})
    result = reply.result
    charged(request, caller.account_id, Charge(op_id, result.cost_units, owned=True))
    return web.json_response(result_json(reply.op_id, operation, result,
                                         message.return_ciphertext),
                             headers=budget_headers(result.result))


def _rotate_steps(body: dict[str, Any]) -> dict[str, Any]:
    """rotation_steps, else the older form with the steps as plain_operand[0]; ckks-compute
    refuses a rotation by 0 (mod the slot count), which only the key's slot count tells."""
    if "rotation_steps" in body:
        return body
    older = body.get("plain_operand")
    if older is None or len(older) != 1 or older[0] != int(older[0]):
        raise WavisError("VALIDATION_ERROR", "rotate needs rotation_steps (a non-zero integer).",
                         {"field": "rotation_steps"})
    rest = {name: value for name, value in body.items() if name != "plain_operand"}
    return rest | {"rotation_steps": int(older[0])}


async def compute_operation(request: web.Request) -> web.Response:
    body = await read_body(request)
    return await _run(request, request.match_info["operation"], body)


async def compute(request: web.Request) -> web.Response:
    body = await read_body(request)
    return await _run(request, body["operation"], body)


async def get_operation(request: web.Request) -> web.Response:
    reply = await request.app[state.SERVICES].ckks_compute.GetOperation(pb.GetOperationRequest(
        account_id=request[state.CALLER].account_id, op_id=request.match_info["op_id"]))
    if reply.status == "completed" and reply.HasField("program_result"):
        from gateway.routes import programs  # it builds on this module

        return web.json_response(
            programs.program_result_json(reply.op_id, reply.program_result, False),
            headers=programs.program_headers(reply.program_result))
    if reply.status == "completed":
        body = result_json(reply.op_id, reply.operation, reply.result, False)
        return web.json_response(body, headers=budget_headers(
            reply.result.result))
    body = {"op_id": reply.op_id, "operation": reply.operation, "status": reply.status}
    if reply.status == "failed":
        body["error"] = {"code": reply.error_code, "message": reply.error_message}
    return web.json_response(body)


async def cancel_operation(request: web.Request) -> web.Response:
    reply = await request.app[state.SERVICES].ckks_compute.CancelOperation(
        pb.CancelOperationRequest(account_id=request[state.CALLER].account_id,
                                  op_id=request.match_info["op_id"]))
    return web.json_response({"op_id": request.match_info["op_id"], "status": reply.status})


_CKKS_NUMBER = number(-MAX_CKKS_VALUE, MAX_CKKS_VALUE)
COMPUTE_FIELDS: dict[str, Any] = {
    "key_id": {"type": "string"},
    "ciphertext_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                       "description": "One for unary operations, two for add and multiply."},
    "plain_operand": {"type": "array", "items": _CKKS_NUMBER,
                      "description": "add-plain, multiply-plain: slot_count values."},
    "polynomial_coeffs": {"type": "array", "items": _CKKS_NUMBER,
                          "description": "poly-eval: low to high, at most 65."},
    "scale_stable": {"type": "boolean", "default": False,
                     "description": "Rescale after multiplies and align levels."},
    "rotation_steps": integer(-2 ** 63, 2 ** 63 - 1,
                              description="rotate (required, non-zero modulo the key's "
                                          "slot_count): positive rotates left. Older clients "
                                          "may send [steps] as plain_operand instead."),
    "matrix": {"type": "array", "items": {"type": "array", "items": _CKKS_NUMBER},
               "description": "matmul: a square block (power-of-two side dividing "
                              "slot_count, vector in its first slots) or rows of slot_count."},
    "return_ciphertext": {"type": "boolean", "default": False},
    "compact": {"type": "boolean", "default": False,
                "description": "With return_ciphertext: the result reduced to its last level "
                               "(a sixth of the bytes of a fresh ciphertext at N=16384 depth "
                               "5); it decrypts the same; the stored result is unchanged."},
    "async": {"type": "boolean", "default": False,
              "description": "Answer 202 at once; poll GET /compute/{op_id}."},
}
_RESULT = {
    "type": "object",
    "required": ["op_id", "operation", "status", "result_ciphertext_id", "compute_time_ms",
                 "level", "noise_budget_remaining", "evicted_ciphertext_ids", "cost_units",
                 "cost_usd", "cost_jpy", "bootstrap_applied", "bootstrap_effective_degree",
                 "bootstrap_degraded"],
    "properties": {
        "op_id": {"type": "string"}, "operation": {"type": "string"},
        "status": {"const": "completed"}, "result_ciphertext_id": {"type": "string"},
        "result_ciphertext": {"type": "string", "contentEncoding": "base64"},
        "compute_time_ms": {"type": "number"}, "level": {"type": "integer"},
        "noise_budget_remaining": {"type": "number"},
        "evicted_ciphertext_ids": {"type": "array", "items": {"type": "string"}},
        "cost_units": {"type": "integer"}, "cost_usd": {"type": "number"},
        "cost_jpy": {"type": "number"}, "bootstrap_applied": {"type": "boolean"},
        "bootstrap_effective_degree": {"type": "integer"},
        "bootstrap_degraded": {"type": "boolean"},
    },
}
register_schemas({
    "ComputeRequest": {"type": "object", "required": ["key_id", "ciphertext_ids"],
                       "additionalProperties": False, "properties": COMPUTE_FIELDS},
    "ComputeRequestWithOperation": {
        "type": "object", "required": ["operation", "key_id", "ciphertext_ids"],
        "additionalProperties": False,
        "properties": {"operation": {"type": "string", "enum": list(OPERATIONS)},
                       **COMPUTE_FIELDS}},
    "ComputeResult": _RESULT,
    "ComputePending": {"type": "object", "required": ["op_id", "status"],
                       "properties": {"op_id": {"type": "string"},
                                      "status": {"const": "pending"}}},
    "ComputeStatus": {
        "type": "object", "required": ["op_id", "status"],
        "description": "Once completed, the fields of ComputeResult (ProgramResult for a "
                       "program).",
        "properties": {"op_id": {"type": "string"}, "operation": {"type": "string"},
                       "status": {"enum": ["pending", "running", "completed", "cancelled",
                                           "failed"]},
                       "error": {"type": "object", "required": ["code", "message"],
                                 "properties": {"code": {"type": "string"},
                                                "message": {"type": "string"}}}},
    },
})

_NOISE_HEADERS = tuple(header.name for header in (
    NOISE_BUDGET_REMAINING, NOISE_BUDGET_WARNING, NOISE_BUDGET_RECOVERY, SECURITY_WARNING))
_REPLIES = {200: Reply("The result.", "ComputeResult", _NOISE_HEADERS),
            202: Reply("Queued (async, and every bootstrap).", "ComputePending", (LOCATION.name,)),
            **refusal(400, "VALIDATION_ERROR", "INVALID_OPERATION", "MISSING_PLAIN_OPERAND",
                      "INVALID_PLAIN_OPERAND", "POLYNOMIAL_TOO_LARGE", "MISMATCHED_KEY",
                      "MISSING_ROTATION_KEY", "NOISE_BUDGET_EXHAUSTED", "INVALID_CIPHERTEXT",
                      "BLIND_KEY",
                      why="The operation's operands do not fit it or the key: the fields it "
                          "needs, their lengths against the key's slots, the levels left")}

# An op_id's form tells /compute/{op_id} from /compute/{operation} (add, multiply, ...).
_OP_ID = {"op_id": {"type": "string", "pattern": f"^{OP_ID_PREFIX}_[A-Za-z0-9]+$"}}
ENDPOINTS = (
    Endpoint("POST", "/compute/{operation}", compute_operation, "Run a CKKS operation",
             "Compute", _REPLIES, min_role=TRIAL, request_schema="ComputeRequest",
             operation=True, description=f"operation: one of {', '.join(OPERATIONS)}.",
             path_parameters={"operation": {"type": "string", "enum": list(OPERATIONS)}}),
    Endpoint("POST", "/compute", compute, "Run a CKKS operation (named in the body)",
             "Compute", _REPLIES, min_role=TRIAL, request_schema="ComputeRequestWithOperation",
             operation=True),
    Endpoint("GET", "/compute/{op_id}", get_operation, "Poll an operation", "Compute",
             {200: Reply("Its status; the result fields once completed.", "ComputeStatus",
                         _NOISE_HEADERS)}, min_role=TRIAL, path_parameters=_OP_ID,
             description="A trial key polls the operations it started. An operation whose "
                         "replica stopped fails with WORKER_LOST within 30 s (not billed)."),
    Endpoint("DELETE", "/compute/{op_id}", cancel_operation, "Cancel an operation", "Compute",
             {200: Reply("Cancelled (or its final status).", "ComputeStatus")},
             min_role=WRITE, description="Best effort; a cancelled operation is not billed.",
             path_parameters=_OP_ID),
)
