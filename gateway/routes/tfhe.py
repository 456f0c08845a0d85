"""TFHE (BinFHE boolean gates): sessions, encrypt/decrypt (server mode), gates, batches, prices.

Every gate costs its real number of bootstraps x 5 FCU (NOT is free, MUX is three); a batch
of 32 gates or more gets 30% off, rounded up to a whole FCU (wavis.core.pricing). tfhe-eval
meters the work (docs/decisions/0003-metering-in-the-compute-services.md). Every response
about a toy session carries X-Security-Warning.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from gateway import state
from gateway.body import read_body
from gateway.endpoints import Endpoint, Reply
from gateway.routes.keys import SECURITY_WARNING
from gateway.schemas import register_schemas
from gateway.usage import charged, metered_call
from wavis.core.errors import WavisError
from wavis.core.ids import new_id
from wavis.core.pricing import (
    BATCH_DISCOUNT,
    BATCH_DISCOUNT_FROM_GATES,
    FCU_PER_BOOTSTRAP,
    USD_PER_FCU,
    cost_jpy,
    cost_usd,
    tfhe_fcu,
)
from wavis.core.roles import TRIAL
from wavis.core.usage_meter import Charge
from wavis.generated.tfhe_eval.v1 import tfhe_eval_pb2 as pb

PRESETS = ("fast_128", "standard_128", "conservative_128", "toy")
# Bootstraps per gate as tfhe-eval builds them, for GET /tfhe/pricing; a test keeps it equal
# to wavis.fhe.tfhe_gates.GATE_BOOTSTRAPS (docs/decisions/0024-gateway-holds-no-fhe-code.md).
GATE_BOOTSTRAPS = {"NAND": 1, "AND": 1, "OR": 1, "XOR": 1, "NOR": 1, "XNOR": 1, "NOT": 0,
                   "MUX": 3, "AND3": 1, "OR3": 1, "MAJORITY": 1}
LIST_INPUT_GATES = ("AND3", "OR3", "MAJORITY")
INPUTS = ("a", "b", "sel", "c")
SESSION_TIMEOUT_SECONDS = 900.0
EVAL_TIMEOUT_SECONDS = 600.0


def _warning(session: pb.Session) -> dict[str, str]:
    return {"X-Security-Warning": SECURITY_WARNING} if session.security_bits < 128 else {}


def session_json(session: pb.Session) -> dict[str, Any]:
    return {"session_id": session.session_id, "preset": session.preset, "n": session.n,
            "big_n": session.big_n, "is_blind": session.is_blind, "key_id": session.key_id,
            "security_bits": session.security_bits,
            "idle_timeout_seconds": session.idle_timeout_seconds}


def _charged(request: web.Request, op_id: str,
             reply: pb.EvaluateGateResponse | pb.EvaluateBatchResponse) -> dict[str, Any]:
    """The charge tfhe-eval recorded, filed to be given back if the answer still fails."""
    charged(request, request[state.CALLER].account_id,
            Charge(op_id, reply.cost_units, owned=True))
    return {"cost_units": reply.cost_units, "cost_usd": reply.cost_usd,
            "cost_jpy": reply.cost_jpy}


def _ciphertext(text: str, where: dict[str, Any]) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise WavisError("INVALID_CIPHERTEXT", "A ciphertext is not valid base64.",
                         where) from None


def _gate_message(body: dict[str, Any], index: int | None) -> pb.Gate:
    gate = pb.Gate(op=body["op"])
    for name in INPUTS:
        if name not in body:
            continue
        value = body[name]
        where: dict[str, Any] = {"field": name} | ({"gate": index} if index is not None else {})
        target = getattr(gate, name)
        if index is not None and value.startswith("$"):
            if not value[1:].isdigit():
                raise WavisError("INVALID_BATCH", f"{value!r} is not a gate reference ($k).",
                                 where)
            target.gate_ref = int(value[1:])
        else:
            target.ciphertext = _ciphertext(value, where)
    return gate


async def create_session(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    body = await read_body(request, "TfheSessionRequest", value_error="INVALID_PARAMS")
    reply = await request.app[state.SERVICES].tfhe_eval.CreateSession(pb.CreateSessionRequest(
        account_id=caller.account_id, preset=body["preset"],
        max_keys=caller.limits.max_keys, max_key_bytes=caller.limits.max_key_bytes),
        timeout=SESSION_TIMEOUT_SECONDS)
    return web.json_response(session_json(reply.session), status=201,
                             headers=_warning(reply.session))


async def create_eval_session(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    body = await read_body(request, "TfheEvalSessionRequest")
    if ("eval_key_b64" in body) == ("key_id" in body):
        raise WavisError("VALIDATION_ERROR", "Give exactly one of eval_key_b64 and key_id.",
                         {"field": "eval_key_b64"})
    eval_key = b""
    if "eval_key_b64" in body:
        try:
            eval_key = base64.b64decode(body.pop("eval_key_b64"), validate=True)
        except (binascii.Error, ValueError):
            raise WavisError("INVALID_KEY", "eval_key_b64 is not valid base64.",
                             {"field": "eval_key_b64"}) from None
    reply = await request.app[state.SERVICES].tfhe_eval.CreateEvalSession(
        pb.CreateEvalSessionRequest(
            account_id=caller.account_id, eval_key=eval_key, key_id=body.get("key_id", ""),
            session_id=body.get("session_id", ""), max_keys=caller.limits.max_keys,
            max_key_bytes=caller.limits.max_key_bytes), timeout=SESSION_TIMEOUT_SECONDS)
    return web.json_response(session_json(reply.session), status=201,
                             headers=_warning(reply.session))


async def delete_session(request: web.Request) -> web.Response:
    reply = await request.app[state.SERVICES].tfhe_eval.DeleteSession(pb.DeleteSessionRequest(
        account_id=request[state.CALLER].account_id,
        session_id=request.match_info["session_id"]), timeout=60)
    return web.Response(status=204, headers=_warning(reply.session))


async def encrypt(request: web.Request) -> web.Response:
    body = await read_body(request, "TfheEncryptRequest")
    if ("bit" in body) == ("bits" in body):
        raise WavisError("VALIDATION_ERROR", "Give exactly one of bit and bits.",
                         {"field": "bit"})
    bits = [int(b) for b in ([body["bit"]] if "bit" in body else body["bits"])]
    reply = await request.app[state.SERVICES].tfhe_eval.Encrypt(pb.EncryptRequest(
        account_id=request[state.CALLER].account_id,
        session_id=request.match_info["session_id"], bits=bits), timeout=EVAL_TIMEOUT_SECONDS)
    texts = [base64.b64encode(c).decode() for c in reply.ciphertexts]
    out = {"ciphertext_b64": texts[0]} if "bit" in body else {"ciphertexts_b64": texts}
    return web.json_response(out, headers=_warning(reply.session))


async def decrypt(request: web.Request) -> web.Response:
    body = await read_body(request, "TfheDecryptRequest")
    if ("ciphertext_b64" in body) == ("ciphertexts_b64" in body):
        raise WavisError("VALIDATION_ERROR", "Give exactly one of ciphertext_b64 and "
                         "ciphertexts_b64.", {"field": "ciphertext_b64"})
    single = "ciphertext_b64" in body
    texts = [body["ciphertext_b64"]] if single else body["ciphertexts_b64"]
    ciphertexts = [_ciphertext(t, {"index": i}) for i, t in enumerate(texts)]
    reply = await request.app[state.SERVICES].tfhe_eval.Decrypt(pb.DecryptRequest(
        account_id=request[state.CALLER].account_id,
        session_id=request.match_info["session_id"], ciphertexts=ciphertexts),
        timeout=EVAL_TIMEOUT_SECONDS)
    bits = list(reply.bits)
    return web.json_response({"bit": bits[0]} if single else {"bits": bits},
                             headers=_warning(reply.session))


async def evaluate_gate(request: web.Request) -> web.Response:
    body = await read_body(request, "TfheGateRequest")
    op = body["op"]
    account_id, op_id = request[state.CALLER].account_id, new_id("op")
    message = pb.EvaluateGateRequest(account_id=account_id, session_id=body["session_id"],
                                     gate=_gate_message(body, None), op_id=op_id)
    # tfhe-eval reserves the FCU while it loads the session (and, with headroom before the
    # account's limits, while the gate runs); a refusal answers 402 with no result.
    reply = await metered_call(request, account_id, op_id, request.app[
        state.SERVICES].tfhe_eval.EvaluateGate(message, timeout=EVAL_TIMEOUT_SECONDS))
    return web.json_response({"op": op, "result_b64": base64.b64encode(reply.result).decode(),
                              "bootstraps": reply.bootstraps,
                              **_charged(request, op_id, reply),
                              "compute_time_ms": reply.compute_time_ms},
                             headers=_warning(reply.session))


async def evaluate_batch(request: web.Request) -> web.Response:
    body = await read_body(request, "TfheBatchRequest")
    session_id = body["session_id"]
    gates = []
    for index, gate in enumerate(body["gates"]):
        if gate.get("session_id", session_id) != session_id:
            raise WavisError("INVALID_BATCH", "Every gate of a batch runs in the batch's "
                             "session.", {"gate": index})
        gates.append(_gate_message(gate, index))
    del body
    account_id, op_id = request[state.CALLER].account_id, new_id("op")
    message = pb.EvaluateBatchRequest(account_id=account_id, session_id=session_id,
                                      gates=gates, op_id=op_id)
    results: list[str] = []
    last = pb.EvaluateBatchResponse()

    async def receive() -> None:
        nonlocal last
        async for part in request.app[state.SERVICES].tfhe_eval.EvaluateBatch(
                message, timeout=EVAL_TIMEOUT_SECONDS):
            results.extend(base64.b64encode(r).decode() for r in part.results)
            last = part

    await metered_call(request, account_id, op_id, receive())
    return web.json_response({"results_b64": results, "gates_evaluated": len(results),
                              "bootstraps": last.bootstraps, "levels": last.levels,
                              **_charged(request, op_id, last),
                              "discount_applied": last.discount_applied,
                              "compute_time_ms": last.compute_time_ms},
                             headers=_warning(last.session))


async def get_pricing(request: web.Request) -> web.Response:
    rate = request.app[state.SETTINGS].jpy_per_usd
    gates = []
    for op, bootstraps in GATE_BOOTSTRAPS.items():
        fcu = tfhe_fcu(bootstraps)
        gates.append({"op": op, "bootstraps": bootstraps, "cost_units": fcu,
                      "cost_usd": cost_usd(fcu), "cost_jpy": cost_jpy(fcu, rate),
                      "presets": [] if op in LIST_INPUT_GATES else list(PRESETS)})
    return web.json_response({
        "fcu_per_bootstrap": FCU_PER_BOOTSTRAP, "usd_per_fcu": USD_PER_FCU, "gates": gates,
        "batch_discount": {"from_gates": BATCH_DISCOUNT_FROM_GATES, "rate": BATCH_DISCOUNT,
                           "rounding": "the discounted FCU is rounded up to a whole unit"}})


_B64 = {"type": "string", "contentEncoding": "base64"}
_INPUT = {"type": "string", "description": "A ciphertext (base64); in a batch also \"$k\", "
          "the output of earlier gate k (0-based)."}
_GATE_FIELDS: dict[str, Any] = {
    "session_id": {"type": "string"},
    "op": {"type": "string", "enum": list(GATE_BOOTSTRAPS)},
    "a": _INPUT | {"description": "First input; MUX: the value when sel is 1."},
    "b": _INPUT | {"description": "Second input; MUX: the value when sel is 0."},
    "sel": _INPUT | {"description": "MUX's selector."},
    "c": _INPUT | {"description": "Third input of AND3, OR3, MAJORITY."},
}
_SESSION = {
    "type": "object",
    "required": ["session_id", "preset", "n", "big_n", "is_blind", "key_id", "security_bits",
                 "idle_timeout_seconds"],
    "properties": {
        "session_id": {"type": "string"}, "preset": {"enum": list(PRESETS)},
        "n": {"type": "integer", "description": "LWE dimension."},
        "big_n": {"type": "integer", "description": "Ring dimension of the bootstrapping key."},
        "is_blind": {"type": "boolean"}, "key_id": {"type": "string"},
        "security_bits": {"type": "integer"},
        "idle_timeout_seconds": {"type": "integer",
                                 "description": "The session ends after this long unused."},
    },
}
_COSTS = {"cost_units": {"type": "integer"}, "cost_usd": {"type": "number"},
          "cost_jpy": {"type": "number"}}
# JSON clients send true/false as often as 1/0; both mean the same bit.
_BIT = {"type": ["integer", "boolean"], "enum": [0, 1, False, True],
        "description": "0 or 1; true and false are accepted too."}
register_schemas({
    "TfheSessionRequest": {"type": "object", "required": ["preset"],
                           "additionalProperties": False,
                           "properties": {"preset": {"type": "string", "enum": list(PRESETS)}}},
    "TfheEvalSessionRequest": {
        "type": "object", "additionalProperties": False,
        "description": "Exactly one of eval_key_b64 and key_id.",
        "properties": {
            "eval_key_b64": _B64 | {"description": "ZIP of context.bin + bootstrap_key.bin, "
                                                   "at most 40 MB."},
            "key_id": {"type": "string", "description": "A TFHE key from a chunked upload."},
            "session_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}},
    "TfheSession": _SESSION,
    "TfheEncryptRequest": {"type": "object", "additionalProperties": False, "properties": {
        "bit": _BIT,
        "bits": {"type": "array", "minItems": 1, "maxItems": 1024, "items": _BIT}}},
    "TfheEncryptResult": {"type": "object", "properties": {
        "ciphertext_b64": _B64, "ciphertexts_b64": {"type": "array", "items": _B64}}},
    "TfheDecryptRequest": {"type": "object", "additionalProperties": False, "properties": {
        "ciphertext_b64": _B64,
        "ciphertexts_b64": {"type": "array", "minItems": 1, "maxItems": 1024, "items": _B64}}},
    "TfheDecryptResult": {"type": "object", "properties": {
        "bit": {"type": "integer"}, "bits": {"type": "array", "items": {"type": "integer"}}}},
    "TfheGateRequest": {"type": "object", "required": ["session_id", "op", "a"],
                        "additionalProperties": False, "properties": _GATE_FIELDS},
    "TfheGateResult": {
        "type": "object",
        "required": ["op", "result_b64", "bootstraps", "cost_units", "cost_usd", "cost_jpy",
                     "compute_time_ms"],
        "properties": {"op": {"type": "string"}, "result_b64": _B64,
                       "bootstraps": {"type": "integer"}, **_COSTS,
                       "compute_time_ms": {"type": "number"}}},
    "TfheBatchRequest": {
        "type": "object", "required": ["session_id", "gates"], "additionalProperties": False,
        "properties": {
            "session_id": {"type": "string"},
            "gates": {"type": "array", "minItems": 1, "maxItems": 1024,
                      "items": {"type": "object", "required": ["op", "a"],
                                "additionalProperties": False, "properties": _GATE_FIELDS}}}},
    "TfheBatchResult": {
        "type": "object",
        "required": ["results_b64", "gates_evaluated", "bootstraps", "levels", "cost_units",
                     "cost_usd", "cost_jpy", "discount_applied", "compute_time_ms"],
        "properties": {"results_b64": {"type": "array", "items": _B64},
                       "gates_evaluated": {"type": "integer"},
                       "bootstraps": {"type": "integer"},
                       "levels": {"type": "integer", "description": "Depth of the gate DAG."},
                       **_COSTS, "discount_applied": {"type": "boolean"},
                       "compute_time_ms": {"type": "number"}}},
    "TfhePricing": {
        "type": "object", "required": ["fcu_per_bootstrap", "usd_per_fcu", "gates",
                                       "batch_discount"],
        "properties": {
            "fcu_per_bootstrap": {"type": "integer"}, "usd_per_fcu": {"type": "number"},
            "gates": {"type": "array", "items": {
                "type": "object",
                "required": ["op", "bootstraps", "cost_units", "cost_usd", "cost_jpy",
                             "presets"],
                "properties": {"op": {"type": "string"}, "bootstraps": {"type": "integer"},
                               **_COSTS, "presets": {"type": "array",
                                                     "items": {"type": "string"}}}}},
            "batch_discount": {"type": "object", "properties": {
                "from_gates": {"type": "integer"}, "rate": {"type": "number"},
                "rounding": {"type": "string"}}}}},
})

_WARN = ("X-Security-Warning",)
_SESSION_PATH = "/tfhe/session/{session_id}"
ENDPOINTS = (
    Endpoint("POST", "/tfhe/session", create_session, "Open a server-mode TFHE session",
             "TFHE", {201: Reply("The session.", "TfheSession", _WARN)}, min_role=TRIAL,
             request_schema="TfheSessionRequest",
             description="The server generates the key (fast_128 takes seconds) and keeps "
                         "the secret key, sealed at rest."),
    Endpoint("POST", "/tfhe/eval-session", create_eval_session,
             "Open an FHE-blind TFHE session from a client's eval key", "TFHE",
             {201: Reply("The session.", "TfheSession", _WARN)}, min_role=TRIAL,
             request_schema="TfheEvalSessionRequest",
             description="eval_key_b64 (<= 40 MB) or key_id (chunked upload). A session_id "
                         "already in use: 409 SESSION_EXISTS."),
    Endpoint("DELETE", _SESSION_PATH, delete_session, "End a TFHE session", "TFHE",
             {204: Reply("Ended, with the key it created.", None, _WARN)}, min_role=TRIAL),
    Endpoint("POST", _SESSION_PATH + "/encrypt", encrypt, "Encrypt bits (server mode)",
             "TFHE", {200: Reply("The ciphertexts.", "TfheEncryptResult", _WARN)},
             min_role=TRIAL, request_schema="TfheEncryptRequest",
             description="{bit} -> {ciphertext_b64}; {bits} -> {ciphertexts_b64}. Blind "
                         "sessions: 400 BLIND_SESSION."),
    Endpoint("POST", _SESSION_PATH + "/decrypt", decrypt, "Decrypt bits (server mode)",
             "TFHE", {200: Reply("The bits.", "TfheDecryptResult", _WARN)}, min_role=TRIAL,
             request_schema="TfheDecryptRequest",
             description="{ciphertext_b64} -> {bit}; {ciphertexts_b64} -> {bits}."),
    Endpoint("POST", "/tfhe/gate", evaluate_gate, "Evaluate one boolean gate", "TFHE",
             {200: Reply("The output ciphertext and its cost.", "TfheGateResult", _WARN)},
             min_role=TRIAL, request_schema="TfheGateRequest", operation=True,
             description="MUX = a when sel is 1, b when sel is 0. Identical inputs: 400 "
                         "DEPENDENT_INPUTS."),
    Endpoint("POST", "/tfhe/batch", evaluate_batch, "Evaluate a batch of gates (a DAG)",
             "TFHE", {200: Reply("Every gate's output, in order.", "TfheBatchResult", _WARN)},
             min_role=TRIAL, request_schema="TfheBatchRequest", operation=True,
             description="1-1024 gates; inputs may be \"$k\" (earlier gate k). Independent "
                         "gates run in parallel; 30% off from 32 gates."),
    Endpoint("GET", "/tfhe/pricing", get_pricing, "Prices of TFHE gates", "TFHE",
             {200: Reply("Bootstraps and FCU per gate, and the batch discount.",
                         "TfhePricing")}),
)
