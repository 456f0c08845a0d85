"""TFHE (BinFHE boolean gates): sessions, encrypt/decrypt (server mode), gates, batches, prices.

Every gate costs its real number of bootstraps (wavis.core.tfhe_catalog) x FCU_PER_BOOTSTRAP;
a batch of 32 gates or more gets 30% off, rounded up to a whole FCU (wavis.core.pricing).
tfhe-eval meters the work (docs/decisions/0003-metering-in-the-compute-services.md). Every
response about a toy session carries X-Security-Warning.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from gateway import state
from gateway.body import exactly_one_of, read_body
from gateway.endpoints import Endpoint, Reply, refusal
from gateway.response_headers import LOCATION, SECURITY_WARNING, security_warning
from gateway.schemas import integer, register_schemas
from gateway.usage import charged, metered_call
from wavis.core.errors import WavisError
from wavis.core.ids import new_id
from wavis.core.limits import (
    DEFAULT_MAX_REQUEST_BYTES,
    MAX_BATCH_GATES,
    MAX_TFHE_BITS,
    megabytes,
)
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
from wavis.core.tfhe_catalog import (
    GATE_OPS,
    GATES,
    PLAINTEXT_MODULI,
    PRESET_NAMES,
    STANDARD_MODULUS,
    THREE_INPUT_MODULUS,
    presets_for_gate,
)
from wavis.core.usage_meter import Charge
from wavis.generated.tfhe_eval.v1 import tfhe_eval_pb2 as pb

INPUTS = ("a", "b", "sel", "c")
SESSION_TIMEOUT_SECONDS = 900.0
EVAL_TIMEOUT_SECONDS = 600.0
_INLINE_KEY_LIMIT = megabytes(DEFAULT_MAX_REQUEST_BYTES)  # a key in a JSON body


def _warning(session: pb.Session) -> dict[str, str]:
    return security_warning(session.security_bits < 128)


def session_json(session: pb.Session) -> dict[str, Any]:
    body = {"session_id": session.session_id, "status": session.status or "ready",
            "preset": session.preset, "n": session.n, "big_n": session.big_n,
            "is_blind": session.is_blind, "key_id": session.key_id,
            "security_bits": session.security_bits,
            "idle_timeout_seconds": session.idle_timeout_seconds}
    if session.failure:
        body["failure"] = session.failure
    return body


def _session_path(session_id: str) -> str:
    return f"/api/v1/tfhe/session/{session_id}"


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
    body = await read_body(request, value_error="INVALID_PARAMS")
    reply = await request.app[state.SERVICES].tfhe_eval.CreateSession(pb.CreateSessionRequest(
        account_id=caller.account_id, preset=body["preset"],
        max_keys=caller.limits.max_keys, max_key_bytes=caller.limits.max_key_bytes),
        timeout=SESSION_TIMEOUT_SECONDS)
    if reply.session.status == "pending":  # the key outlasted the sync wait: poll
        return web.json_response(session_json(reply.session), status=202, headers={
            LOCATION.name: _session_path(reply.session.session_id), **_warning(reply.session)})
    return web.json_response(session_json(reply.session), status=201,
                             headers=_warning(reply.session))


async def get_session(request: web.Request) -> web.Response:
    reply = await request.app[state.SERVICES].tfhe_eval.GetSession(pb.GetSessionRequest(
        account_id=request[state.CALLER].account_id,
        session_id=request.match_info["session_id"]), timeout=60)
    return web.json_response(session_json(reply.session), headers=_warning(reply.session))


async def create_eval_session(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    body = await read_body(request)
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
    body = await read_body(request)
    bits = [int(b) for b in ([body["bit"]] if "bit" in body else body["bits"])]
    reply = await request.app[state.SERVICES].tfhe_eval.Encrypt(pb.EncryptRequest(
        account_id=request[state.CALLER].account_id,
        session_id=request.match_info["session_id"], bits=bits,
        plaintext_modulus=body.get("plaintext_modulus", STANDARD_MODULUS)),
        timeout=EVAL_TIMEOUT_SECONDS)
    texts = [base64.b64encode(c).decode() for c in reply.ciphertexts]
    out = {"ciphertext_b64": texts[0]} if "bit" in body else {"ciphertexts_b64": texts}
    return web.json_response(out, headers=_warning(reply.session))


async def decrypt(request: web.Request) -> web.Response:
    body = await read_body(request)
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
    body = await read_body(request)
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
    body = await read_body(request)
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
    for gate in GATES:
        fcu = tfhe_fcu(gate.bootstraps)
        gates.append({"op": gate.op, "inputs": list(gate.inputs),
                      "bootstraps": gate.bootstraps, "cost_units": fcu,
                      "cost_usd": cost_usd(fcu), "cost_jpy": cost_jpy(fcu, rate),
                      "plaintext_modulus": gate.plaintext_modulus,
                      "presets": list(presets_for_gate(gate.op))})
    return web.json_response({
        "fcu_per_bootstrap": FCU_PER_BOOTSTRAP, "usd_per_fcu": USD_PER_FCU, "gates": gates,
        "batch_discount": {"from_gates": BATCH_DISCOUNT_FROM_GATES, "rate": BATCH_DISCOUNT,
                           "rounding": "the discounted FCU is rounded up to a whole unit"}})


_B64 = {"type": "string", "contentEncoding": "base64"}
_INPUT = {"type": "string", "description": "A ciphertext (base64); in a batch also \"$k\", "
          "the output of earlier gate k (0-based)."}
_GATE_FIELDS: dict[str, Any] = {
    "session_id": {"type": "string"},
    "op": {"type": "string", "enum": list(GATE_OPS)},
    "a": _INPUT | {"description": "First input; MUX: the value when sel is 1."},
    "b": _INPUT | {"description": "Second input; MUX: the value when sel is 0."},
    "sel": _INPUT | {"description": "MUX's selector."},
    "c": _INPUT | {"description": "Third input of the three-input gates."},
}
_SESSION = {
    "type": "object",
    "required": ["session_id", "status", "preset", "n", "big_n", "is_blind", "key_id",
                 "security_bits", "idle_timeout_seconds"],
    "properties": {
        "session_id": {"type": "string"},
        "status": {"enum": ["ready", "pending", "failed"],
                   "description": "pending: the server is still generating the key (poll "
                                  "GET /tfhe/session/{session_id}); the session answers 409 "
                                  "SESSION_NOT_READY until it is ready."},
        "failure": {"type": "string", "description": "Why the key's generation failed."},
        "preset": {"enum": list(PRESET_NAMES)},
        "n": {"type": "integer", "description": "LWE dimension (0 while pending)."},
        "big_n": {"type": "integer", "description": "Ring dimension of the bootstrapping key "
                                                    "(0 while pending)."},
        "is_blind": {"type": "boolean"}, "key_id": {"type": "string"},
        "security_bits": {"type": "integer"},
        "idle_timeout_seconds": {"type": "integer",
                                 "description": "The session ends after this long unused."},
    },
}
_COSTS = {"cost_units": {"type": "integer"}, "cost_usd": {"type": "number"},
          "cost_jpy": {"type": "number"}}
# JSON clients send true/false as often as 1/0; both mean the same bit.
_BIT = {"type": ["integer", "boolean"], "enum": [0, 1, False, True], "format": "int32",
        "minimum": 0, "maximum": 1, "description": "0 or 1; true and false are accepted too."}
register_schemas({
    "TfheSessionRequest": {"type": "object", "required": ["preset"],
                           "additionalProperties": False,
                           "properties": {"preset": {"type": "string",
                                                     "enum": list(PRESET_NAMES)}}},
    "TfheEvalSessionRequest": {
        "type": "object", "additionalProperties": False,
        "description": "Exactly one of eval_key_b64 and key_id.",
        "oneOf": exactly_one_of("eval_key_b64", "key_id"),
        "properties": {
            "eval_key_b64": _B64 | {"description": "ZIP of context.bin + bootstrap_key.bin, "
                                                   f"at most {_INLINE_KEY_LIMIT}."},
            "key_id": {"type": "string", "description": "A TFHE key from a chunked upload."},
            "session_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}},
    "TfheSession": _SESSION,
    "TfheEncryptRequest": {"type": "object", "additionalProperties": False,
                           "oneOf": exactly_one_of("bit", "bits"), "properties": {
        "bit": _BIT,
        "bits": {"type": "array", "minItems": 1, "maxItems": MAX_TFHE_BITS, "items": _BIT},
        "plaintext_modulus": integer(
            min(PLAINTEXT_MODULI), max(PLAINTEXT_MODULI), "uint32",
            enum=list(PLAINTEXT_MODULI), default=STANDARD_MODULUS,
            description=f"{THREE_INPUT_MODULUS} for the inputs of "
                           + ", ".join(g.op for g in GATES
                                       if g.plaintext_modulus == THREE_INPUT_MODULUS)
                           + " (three-input presets), else the default; GET /tfhe/pricing "
                             "lists each gate's.")}},
    "TfheEncryptResult": {"type": "object", "properties": {
        "ciphertext_b64": _B64, "ciphertexts_b64": {"type": "array", "items": _B64}}},
    "TfheDecryptRequest": {"type": "object", "additionalProperties": False,
                           "oneOf": exactly_one_of("ciphertext_b64", "ciphertexts_b64"),
                           "properties": {
        "ciphertext_b64": _B64,
        "ciphertexts_b64": {"type": "array", "minItems": 1, "maxItems": MAX_TFHE_BITS,
                            "items": _B64}}},
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
            "gates": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH_GATES,
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
                "required": ["op", "inputs", "bootstraps", "cost_units", "cost_usd",
                             "cost_jpy", "plaintext_modulus", "presets"],
                "properties": {
                    "op": {"type": "string"},
                    "inputs": {"type": "array", "items": {"type": "string"},
                               "description": "The gate's input fields, in order."},
                    "bootstraps": {"type": "integer"}, **_COSTS,
                    "plaintext_modulus": {
                        "type": "integer", "description": "Plaintext modulus of the "
                        "ciphertexts the gate takes and gives (encrypt's plaintext_modulus)."},
                    "presets": {"type": "array", "items": {"type": "string"},
                                "description": "The presets whose sessions evaluate it."}}}},
            "batch_discount": {"type": "object", "properties": {
                "from_gates": {"type": "integer"}, "rate": {"type": "number"},
                "rounding": {"type": "string"}}}}},
})

_WARN = (SECURITY_WARNING.name,)
_SESSION_PATH = "/tfhe/session/{session_id}"
ENDPOINTS = (
    Endpoint("POST", "/tfhe/session", create_session, "Open a server-mode TFHE session",
             "TFHE", {201: Reply("The session, ready.", "TfheSession", _WARN),
                      202: Reply("The session, pending while its key is generated; poll "
                                 "Location (GET /tfhe/session/{session_id}).", "TfheSession",
                                 (LOCATION.name, *_WARN))},
             min_role=TRIAL, request_schema="TfheSessionRequest",
             description="The server generates the key and keeps the secret key, sealed at "
                         "rest. Generation longer than a few seconds (the 128-bit presets) "
                         "answers 202 at once with a pending session."),
    Endpoint("GET", _SESSION_PATH, get_session, "Get a TFHE session", "TFHE",
             {200: Reply("The session and its status.", "TfheSession", _WARN)},
             min_role=TRIAL),
    Endpoint("POST", "/tfhe/eval-session", create_eval_session,
             "Open an FHE-blind TFHE session from a client's eval key", "TFHE",
             {201: Reply("The session.", "TfheSession", _WARN),
              **refusal(400, "INVALID_KEY", "VALIDATION_ERROR",
                        why="The bytes are not a TFHE evaluation key, or key_id names no "
                            "TFHE key")},
             min_role=TRIAL, request_schema="TfheEvalSessionRequest",
             description=f"eval_key_b64 (<= {_INLINE_KEY_LIMIT}) or key_id (chunked upload). "
                         "A session_id "
                         "already in use: 409 SESSION_EXISTS."),
    Endpoint("DELETE", _SESSION_PATH, delete_session, "End a TFHE session", "TFHE",
             {204: Reply("Ended, with the key it created.", None, _WARN)}, min_role=TRIAL),
    Endpoint("POST", _SESSION_PATH + "/encrypt", encrypt, "Encrypt bits (server mode)",
             "TFHE", {200: Reply("The ciphertexts.", "TfheEncryptResult", _WARN),
                      **refusal(400, "BLIND_SESSION", "INVALID_PARAMS", "VALIDATION_ERROR",
                                why="A blind session, or a plaintext modulus its preset lacks")},
             min_role=TRIAL, request_schema="TfheEncryptRequest",
             description="{bit} -> {ciphertext_b64}; {bits} -> {ciphertexts_b64}; "
                         "plaintext_modulus: that of the gates the bits go into. Blind "
                         "sessions: 400 BLIND_SESSION."),
    Endpoint("POST", _SESSION_PATH + "/decrypt", decrypt, "Decrypt bits (server mode)",
             "TFHE", {200: Reply("The bits.", "TfheDecryptResult", _WARN),
                      **refusal(400, "UNAUTHENTICATED_CIPHERTEXT", "INVALID_CIPHERTEXT",
                                "BLIND_SESSION",
                                why="A ciphertext this session did not issue (another "
                                    "session's, changed, or built elsewhere), an empty one, "
                                    "or a blind session")}, min_role=TRIAL,
             request_schema="TfheDecryptRequest",
             description="{ciphertext_b64} -> {bit}; {ciphertexts_b64} -> {bits}. Each "
                         "ciphertext is decrypted with the plaintext modulus it carries. "
                         "Only the session's own ciphertexts, as it returned them: else "
                         "400 UNAUTHENTICATED_CIPHERTEXT."),
    Endpoint("POST", "/tfhe/gate", evaluate_gate, "Evaluate one boolean gate", "TFHE",
             {200: Reply("The output ciphertext and its cost.", "TfheGateResult", _WARN),
              **refusal(400, "INVALID_CIPHERTEXT", "UNAUTHENTICATED_CIPHERTEXT",
                        "DEPENDENT_INPUTS", "INVALID_OPERATION", "BLIND_SESSION",
                        why="An input that is not a ciphertext of this session's key and the "
                        "gate's modulus (on a server-mode session: one the session did not "
                        "issue), inputs that are the same, or a gate the preset lacks")},
             min_role=TRIAL, request_schema="TfheGateRequest", operation=True,
             description="MUX = a when sel is 1, b when sel is 0. AND3, OR3, MAJORITY: "
                         "three-input presets only (400 INVALID_OPERATION elsewhere). Each "
                         "input must have the gate's plaintext modulus (GET /tfhe/pricing), "
                         "else 400 INVALID_CIPHERTEXT. Identical inputs: 400 "
                         "DEPENDENT_INPUTS. Server-mode sessions take only ciphertexts they "
                         "issued, unchanged (else 400 UNAUTHENTICATED_CIPHERTEXT); blind "
                         "sessions take the client's OpenFHE bytes."),
    Endpoint("POST", "/tfhe/batch", evaluate_batch, "Evaluate a batch of gates (a DAG)",
             "TFHE", {200: Reply("Every gate's output, in order.", "TfheBatchResult", _WARN),
                      **refusal(400, "INVALID_BATCH", "INVALID_CIPHERTEXT",
                                "UNAUTHENTICATED_CIPHERTEXT", "DEPENDENT_INPUTS",
                                "INVALID_OPERATION", why="A reference to a gate not before "
                                "this one, or an input as POST /tfhe/gate refuses it")},
             min_role=TRIAL, request_schema="TfheBatchRequest", operation=True,
             description=f"1-{MAX_BATCH_GATES} gates; inputs may be \"$k\" (earlier gate k, "
                         "whose output must have this gate's plaintext modulus, else 400 "
                         f"INVALID_BATCH). Independent gates run in parallel; {BATCH_DISCOUNT:.0%} "
                         f"off from {BATCH_DISCOUNT_FROM_GATES} gates."),
    Endpoint("GET", "/tfhe/pricing", get_pricing, "Prices of TFHE gates", "TFHE",
             {200: Reply("Per gate: its inputs, bootstraps, FCU, plaintext modulus and "
                         "presets; and the batch discount.",
                         "TfhePricing")}),
)
