"""CKKS programs: POST /compute/program runs a whole circuit in one request.

ckks-compute checks the program (structure, then levels through the whole graph) before
any step runs, meters it once as the sum of its steps, keeps intermediate results in memory
and stores only the outputs (docs/decisions/0060-ckks-programs.md). Asynchronous programs
are polled and cancelled like single operations (GET and DELETE /compute/{op_id}).
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from gateway import state
from gateway.body import read_body
from gateway.endpoints import Endpoint, Reply, refusal
from gateway.response_headers import LOCATION
from gateway.routes.compute import (
    _NOISE_HEADERS,
    COMPUTE_FIELDS,
    COMPUTE_TIMEOUT_SECONDS,
    budget_headers,
)
from gateway.schemas import register_schemas
from gateway.usage import charged, metered_call
from wavis.core.ckks_programs import MAX_PROGRAM_STEPS, MAX_RETURNED_OUTPUTS
from wavis.core.ids import new_id
from wavis.core.pricing import BATCH_DISCOUNT, BATCH_DISCOUNT_FROM_GATES
from wavis.core.roles import TRIAL
from wavis.core.usage_meter import Charge
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2 as pb

PROGRAM_OPERATION = "program"  # the operation name of a program's op id and usage


def _step_message(step: dict[str, Any]) -> pb.ProgramStep:
    message = pb.ProgramStep(
        operation=step.get("op", ""), args=step.get("args", []),
        plain_operand=step.get("plain_operand", []),
        has_plain_operand="plain_operand" in step,
        polynomial_coeffs=step.get("polynomial_coeffs", []),
        scale_stable=step.get("scale_stable", False),
        matrix=[pb.MatrixRow(values=row) for row in step.get("matrix", [])])
    if "rotation_steps" in step:
        message.rotation_steps = step["rotation_steps"]
    return message


def program_result_json(op_id: str, result: pb.ProgramResult,
                        with_data: bool) -> dict[str, Any]:
    outputs = []
    for output in result.outputs:
        ciphertext = output.result
        entry: dict[str, Any] = {
            "ref": output.ref, "result_ciphertext_id": ciphertext.ciphertext_id,
            "level": ciphertext.level,
            "noise_budget_remaining": ciphertext.noise_budget_remaining}
        if with_data:
            entry["result_ciphertext"] = base64.b64encode(ciphertext.data).decode()
        outputs.append(entry)
    return {"op_id": op_id, "operation": PROGRAM_OPERATION, "status": "completed",
            "outputs": outputs, "steps_evaluated": result.steps_evaluated,
            "compute_time_ms": result.compute_time_ms, "cost_units": result.cost_units,
            "cost_usd": result.cost_usd, "cost_jpy": result.cost_jpy,
            "discount_applied": result.discount_applied,
            "evicted_ciphertext_ids": list(result.evicted_ciphertext_ids)}


def program_headers(result: pb.ProgramResult) -> dict[str, str]:
    """The noise headers of the output with the least budget left."""
    lowest = min((output.result for output in result.outputs),
                 key=lambda ciphertext: ciphertext.noise_budget_remaining)
    return budget_headers(lowest)


async def run_program(request: web.Request) -> web.Response:
    body = await read_body(request)
    caller = request[state.CALLER]
    op_id = new_id("op")
    steps = body["steps"]
    message = pb.ExecuteProgramRequest(
        account_id=caller.account_id, key_id=body["key_id"], inputs=body["inputs"],
        steps=[_step_message(step) for step in steps], outputs=body.get("outputs", []),
        return_ciphertext=body.get("return_ciphertext", False),
        compact=body.get("compact", False),
        # Bootstraps take seconds: a program with one runs asynchronously, as they do.
        run_async=body.get("async", False) or any(s.get("op") == "bootstrap" for s in steps),
        op_id=op_id)
    del body, steps
    reply = await metered_call(request, caller.account_id, op_id, request.app[
        state.SERVICES].ckks_compute.ExecuteProgram(message, timeout=COMPUTE_TIMEOUT_SECONDS))
    if message.run_async:
        return web.json_response({"op_id": reply.op_id, "status": "pending"}, status=202,
                                 headers={LOCATION.name: f"/api/v1/compute/{reply.op_id}"})
    result = reply.result
    charged(request, caller.account_id, Charge(op_id, result.cost_units, owned=True))
    return web.json_response(program_result_json(reply.op_id, result,
                                                 message.return_ciphertext),
                             headers=program_headers(result))


# A step's operand fields are exactly those of POST /compute/{operation}.
_OPERAND_FIELDS = ("plain_operand", "polynomial_coeffs", "scale_stable", "rotation_steps",
                   "matrix")
_STEP = {
    "type": "object", "additionalProperties": False,
    "description": "One operation. Its fields are those of POST /compute/{operation}; a field "
                   "the operation needs and lacks is 400 INVALID_PROGRAM naming the step.",
    "properties": {
        "op": {"type": "string", "description": "add, multiply, add-plain, multiply-plain, "
               "negate, rescale, rotate, matmul, poly-eval or bootstrap (bootstrappable keys; "
               "the program then runs asynchronously)."},
        "args": {"type": "array", "items": {"type": "string"},
                 "description": "Operands: input names, or \"$k\" for the result of earlier "
                                "step k (0-based). Two for add and multiply, else one."},
        **{name: COMPUTE_FIELDS[name] for name in _OPERAND_FIELDS},
    },
}
_OUTPUT = {
    "type": "object",
    "required": ["ref", "result_ciphertext_id", "level", "noise_budget_remaining"],
    "properties": {
        "ref": {"type": "string", "description": "The step, \"$k\"."},
        "result_ciphertext_id": {"type": "string"},
        "level": {"type": "integer"}, "noise_budget_remaining": {"type": "number"},
        "result_ciphertext": {"type": "string", "contentEncoding": "base64"},
    },
}
register_schemas({
    "ProgramRequest": {
        "type": "object", "required": ["key_id", "inputs", "steps"],
        "additionalProperties": False,
        "properties": {
            "key_id": {"type": "string"},
            "inputs": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "Name -> stored ciphertext id, all under key_id. Names "
                                      "do not start with \"$\"."},
            "steps": {"type": "array", "items": _STEP,
                      "description": f"At most {MAX_PROGRAM_STEPS}; checked whole (structure, "
                                     "then levels through the graph) before any runs."},
            "outputs": {"type": "array", "items": {"type": "string"},
                        "description": "The steps (\"$k\") whose results are stored; default: "
                                       "the last. Other results are never stored."},
            "return_ciphertext": {"type": "boolean", "default": False,
                                  "description": "Each output's bytes in the answer, for at "
                                                 f"most {MAX_RETURNED_OUTPUTS} outputs."},
            "compact": {"type": "boolean", "default": False,
                        "description": "With return_ciphertext: each output reduced to its "
                                       "last level (a sixth of the bytes of a fresh "
                                       "ciphertext); it decrypts the same, the stored output "
                                       "is unchanged."},
            "async": {"type": "boolean", "default": False,
                      "description": "Answer 202 at once; poll GET /compute/{op_id}."},
        },
    },
    "ProgramResult": {
        "type": "object",
        "required": ["op_id", "operation", "status", "outputs", "steps_evaluated",
                     "compute_time_ms", "cost_units", "cost_usd", "cost_jpy",
                     "discount_applied", "evicted_ciphertext_ids"],
        "properties": {
            "op_id": {"type": "string"}, "operation": {"const": PROGRAM_OPERATION},
            "status": {"const": "completed"},
            "outputs": {"type": "array", "items": _OUTPUT},
            "steps_evaluated": {"type": "integer"}, "discount_applied": {"type": "boolean"},
            "compute_time_ms": {"type": "number"},
            "cost_units": {"type": "integer"}, "cost_usd": {"type": "number"},
            "cost_jpy": {"type": "number"},
            "evicted_ciphertext_ids": {"type": "array", "items": {"type": "string"}},
        },
    },
})

ENDPOINTS = (
    Endpoint("POST", "/compute/program", run_program, "Run a CKKS program (a whole circuit)",
             "Compute",
             {200: Reply("Its outputs; noise headers of the output with the least budget.",
                         "ProgramResult", _NOISE_HEADERS),
              202: Reply("Queued (async, or a program with a bootstrap).", "ComputePending",
                         (LOCATION.name,)),
              **refusal(400, "INVALID_PROGRAM", "VALIDATION_ERROR", "INVALID_OPERATION",
                        "MISSING_PLAIN_OPERAND", "INVALID_PLAIN_OPERAND", "POLYNOMIAL_TOO_LARGE",
                        "MISMATCHED_KEY", "MISMATCHED_LEVEL", "MISSING_ROTATION_KEY",
                        "NOISE_BUDGET_EXHAUSTED", "INVALID_CIPHERTEXT", "BLIND_KEY",
                        why="The program's graph or its steps do not fit the operations or the "
                            "key: references, fields, levels and scales through the graph")},
             min_role=TRIAL, request_schema="ProgramRequest", operation=True,
             description=(
                 "Steps whose operands exist run in parallel; intermediate results are never "
                 "stored. Refusals (400 INVALID_PROGRAM, NOISE_BUDGET_EXHAUSTED, "
                 "MISMATCHED_LEVEL, MISSING_ROTATION_KEY, INVALID_PLAIN_OPERAND, ...) name the "
                 "step in details.step and come before any step runs, at no cost. Priced as "
                 f"the sum of its steps, {round(BATCH_DISCOUNT * 100)}% off from "
                 f"{BATCH_DISCOUNT_FROM_GATES} steps; counts as one operation.")),
)
