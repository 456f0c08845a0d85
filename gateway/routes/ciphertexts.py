"""CKKS ciphertexts: upload, encrypt (server-mode keys), get, decrypt, delete."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from gateway import state
from gateway.body import read_body
from gateway.endpoints import Endpoint, Reply, refusal
from gateway.parameters import PARAMETERS
from gateway.response_headers import SECURITY_WARNING, security_warning
from gateway.schemas import integer, number, register_schemas
from wavis.core.errors import WavisError
from wavis.core.limits import (
    MAX_CIPHERTEXT_BYTES,
    MAX_CKKS_SLOTS,
    MAX_CKKS_VALUE,
    MAX_DECRYPTION_MARGIN_BITS,
    megabytes,
)
from wavis.core.roles import TRIAL
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2 as pb

_LIMIT = megabytes(MAX_CIPHERTEXT_BYTES)


def ciphertext_json(ciphertext: pb.Ciphertext, evicted: list[str] | None = None,
                    with_data: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ciphertext_id": ciphertext.ciphertext_id, "key_id": ciphertext.key_id,
        "level": ciphertext.level, "noise_budget_remaining": ciphertext.noise_budget_remaining,
        "size_bytes": ciphertext.size_bytes, "expires_at": ciphertext.expires_at,
    }
    if evicted is not None:
        body["evicted_ciphertext_ids"] = evicted
    if with_data:
        body["data"] = base64.b64encode(ciphertext.data).decode()
    return body


def _too_large() -> WavisError:
    return WavisError("PAYLOAD_TOO_LARGE", f"Ciphertexts are limited to {_LIMIT}.",
                      {"limit_bytes": MAX_CIPHERTEXT_BYTES})


def decode_ciphertext(text: str) -> bytes:
    # Refuse by size before decoding: base64 is 4/3 of the bytes.
    if len(text) > (MAX_CIPHERTEXT_BYTES * 4) // 3 + 4:
        raise _too_large()
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise WavisError("INVALID_CIPHERTEXT", "data is not valid base64.",
                         {"field": "data"}) from None
    if len(data) > MAX_CIPHERTEXT_BYTES:
        raise _too_large()
    return data


async def upload_ciphertext(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    body = await read_body(request)
    data = decode_ciphertext(body["data"])
    reply = await request.app[state.SERVICES].ckks_compute.UploadCiphertext(
        pb.UploadCiphertextRequest(account_id=caller.account_id, key_id=body["key_id"],
                                   data=data), timeout=60)
    return web.json_response(ciphertext_json(reply.ciphertext,
                                             list(reply.evicted_ciphertext_ids)), status=201,
                             headers=security_warning(reply.ciphertext.insecure_key))


async def encrypt_values(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    body = await read_body(request)
    reply = await request.app[state.SERVICES].ckks_compute.EncryptValues(
        pb.EncryptValuesRequest(account_id=caller.account_id, key_id=body["key_id"],
                                values=body["values"]), timeout=60)
    return web.json_response(ciphertext_json(reply.ciphertext,
                                             list(reply.evicted_ciphertext_ids)), status=201,
                             headers=security_warning(reply.ciphertext.insecure_key))


async def get_ciphertext(request: web.Request) -> web.Response:
    compact = request[PARAMETERS].get("compact", False)
    reply = await request.app[state.SERVICES].ckks_compute.GetCiphertext(pb.GetCiphertextRequest(
        account_id=request[state.CALLER].account_id,
        ciphertext_id=request.match_info["ciphertext_id"], include_data=True, compact=compact),
        timeout=60)
    body = ciphertext_json(reply.ciphertext, with_data=True)
    if compact:
        body["compact"] = True
    return web.json_response(body, headers=security_warning(reply.ciphertext.insecure_key))


async def delete_ciphertext(request: web.Request) -> web.Response:
    await request.app[state.SERVICES].ckks_compute.DeleteCiphertext(pb.DeleteCiphertextRequest(
        account_id=request[state.CALLER].account_id,
        ciphertext_id=request.match_info["ciphertext_id"]))
    return web.Response(status=204)


async def decrypt_ciphertext(request: web.Request) -> web.Response:
    # The body is optional: no body decrypts the default number of values.
    body = await read_body(request) if await request.read() else {}
    reply = await request.app[state.SERVICES].ckks_compute.DecryptCiphertext(
        pb.DecryptCiphertextRequest(account_id=request[state.CALLER].account_id,
                                    ciphertext_id=request.match_info["ciphertext_id"],
                                    count=body.get("count", 0),
                                    noise_margin_bits=body.get("noise_margin_bits")),
        timeout=60)
    return web.json_response({"values": list(reply.values),
                              "precision_bits": reply.precision_bits,
                              "noise_margin_bits": reply.noise_margin_bits,
                              "decryptions_remaining": reply.decryptions_remaining},
                             headers=security_warning(reply.insecure_key))


_CIPHERTEXT_PROPERTIES = {
    "ciphertext_id": {"type": "string"},
    "key_id": {"type": "string"},
    "level": {"type": "integer", "description": "Multiplicative levels consumed so far."},
    "noise_budget_remaining": {"type": "number", "minimum": 0, "maximum": 100,
                               "description": "Percent of the key's levels still available."},
    "size_bytes": {"type": "integer"},
    "expires_at": {"type": "string", "format": "date-time"},
    "evicted_ciphertext_ids": {"type": "array", "items": {"type": "string"},
                               "description": "Ciphertexts evicted (LRU) to make room."},
    "data": {"type": "string", "contentEncoding": "base64"},
    "compact": {"type": "boolean", "description": "data holds the ciphertext reduced to its "
                "last level (?compact=true); the other fields describe the stored one."},
}
register_schemas({
    "CiphertextUploadRequest": {
        "type": "object", "required": ["key_id", "data"], "additionalProperties": False,
        "properties": {"key_id": {"type": "string"},
                       "data": {"type": "string", "contentEncoding": "base64",
                                "description": f"Serialize(ciphertext, BINARY), <= {_LIMIT}."}},
    },
    "EncryptRequest": {
        "type": "object", "required": ["key_id", "values"], "additionalProperties": False,
        "properties": {"key_id": {"type": "string"},
                       "values": {"type": "array", "minItems": 1, "maxItems": MAX_CKKS_SLOTS,
                                  "items": number(-MAX_CKKS_VALUE, MAX_CKKS_VALUE),
                                  "description": "At most the key's slot_count."}},
    },
    "Ciphertext": {
        "type": "object",
        "required": ["ciphertext_id", "key_id", "level", "noise_budget_remaining",
                     "size_bytes", "expires_at"],
        "properties": _CIPHERTEXT_PROPERTIES,
    },
    "DecryptRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {"count": integer(
            1, MAX_CKKS_SLOTS,
            description= "How many leading slots to return (at most the key's slot_count). "
                           "Default: as many values as were encrypted, when known, else "
                        "every slot."),
            "noise_margin_bits": integer(
                0, MAX_DECRYPTION_MARGIN_BITS,
                description="Bits of error above a fresh encryption's this decryption "
                            "admits: each bit admits errors twice as large (results of more "
                            "operations) and doubles the noise added, so precision_bits drops "
                            "by one. Default: the deployment's WAVIS_CKKS_DECRYPTION_MARGIN_BITS "
                            "(the response states it).")},
    },
    "Decrypted": {
        "type": "object",
        "required": ["values", "precision_bits", "noise_margin_bits",
                     "decryptions_remaining"],
        "properties": {
            "values": {"type": "array", "items": {"type": "number"},
                       "description": "Each with noise added (docs/security.md)."},
            "precision_bits": {"type": "number", "description": "The published precision "
                               "of the key at this margin: each value within "
                               "2^-precision_bits of the exact result."},
            "noise_margin_bits": {"type": "integer", "minimum": 0,
                                  "maximum": MAX_DECRYPTION_MARGIN_BITS,
                                  "description": "The margin this decryption admitted."},
            "decryptions_remaining": {"type": "integer", "minimum": 0,
                                      "description": "Decryptions the key still allows."}},
    },
})

_WARN = (SECURITY_WARNING.name,)
_STORED = {201: Reply("Stored.", "Ciphertext", _WARN)}
_BLIND = refusal(400, "BLIND_KEY", "VALIDATION_ERROR",
                 why="A blind key (the server cannot encrypt or decrypt), or more values than "
                     "the key's slot_count")

ENDPOINTS = (
    Endpoint("POST", "/ciphertexts", upload_ciphertext, "Upload a CKKS ciphertext",
             "Ciphertexts",
             {**_STORED, **refusal(400, "INVALID_CIPHERTEXT",
                                   why="Bytes that are not a ciphertext under the key")},
             min_role=TRIAL, request_schema="CiphertextUploadRequest",
             description="Checked to deserialize under the key (else 400 INVALID_CIPHERTEXT); "
                         f"over {_LIMIT} -> 413."),
    Endpoint("POST", "/ciphertexts/encrypt", encrypt_values,
             "Encrypt values under a server-mode key", "Ciphertexts",
             {**_STORED, **_BLIND}, min_role=TRIAL,
             request_schema="EncryptRequest"),
    Endpoint("GET", "/ciphertexts/{ciphertext_id}", get_ciphertext, "Get a ciphertext",
             "Ciphertexts", {200: Reply("The ciphertext with its data.", "Ciphertext", _WARN)},
             min_role=TRIAL, query_parameters=(
                 {"name": "compact", "in": "query", "required": False,
                  "schema": {"type": "boolean", "default": False},
                  "description": "true: data is the ciphertext reduced to its last level "
                                 "(OpenFHE Compress; 1.57 MB -> 0.26 MB fresh at N=16384 "
                                 "depth 5). It decrypts to the same values but takes no "
                                 "further multiplication: for downloads. The stored "
                                 "ciphertext is unchanged."},)),
    Endpoint("DELETE", "/ciphertexts/{ciphertext_id}", delete_ciphertext,
             "Delete a ciphertext", "Ciphertexts", {204: Reply("Deleted.")}, min_role=TRIAL),
    Endpoint("POST", "/ciphertexts/{ciphertext_id}/decrypt", decrypt_ciphertext,
             "Decrypt under a server-mode key", "Ciphertexts",
             {200: Reply("The slots' values.", "Decrypted", _WARN),
              **refusal(400, "BLIND_KEY", "VALIDATION_ERROR", "UPLOADED_CIPHERTEXT",
                        "DECRYPTION_NOISE_TOO_HIGH", "INVALID_PARAMS",
                        why="A blind key, more values than the key's slot_count, a ciphertext "
                            "built from uploaded bytes, one whose error is too large for the "
                            "key's decryption noise to hide, or a key whose parameters leave "
                            "decryption no precision"),
              **refusal(403, "DECRYPTION_BUDGET_EXHAUSTED",
                        why="The key has used every decryption it allows")},
             min_role=TRIAL, request_schema="DecryptRequest",
             description="The body is optional. The values come back with noise added at "
                         "the key's published precision (precision_bits), and each "
                         "decryption takes one of the key's budget (docs/security.md)."),
)
