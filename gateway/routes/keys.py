"""FHE keys: generate (server mode), upload (FHE-blind), chunked upload, list, get, delete."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from gateway import state
from gateway.auth import Caller
from gateway.body import read_body
from gateway.endpoints import PAGE_PARAMETERS, Endpoint, Reply, refusal
from gateway.listing import paged_list
from gateway.parameters import PARAMETERS
from gateway.response_headers import LOCATION, SECURITY_WARNING, security_warning
from gateway.schemas import integer, register_schemas
from wavis.core.errors import WavisError
from wavis.core.limits import (
    DEFAULT_MAX_REQUEST_BYTES,
    MAX_UPLOAD_PART_BYTES,
    MAX_UPLOAD_PARTS,
    megabytes,
)
from wavis.core.roles import READ, TRIAL, WRITE
from wavis.generated.keys.v1 import keys_pb2

LIST_NAME = "keys"
CHUNK_BYTES = 1024 * 1024
SLOW_CALL_SECONDS = 300.0  # checking a ~1 GB bootstrapping key takes a while
BLIND_GUARANTEE = ("The server holds no secret key for this key: it cannot decrypt anything "
                   "encrypted under it. Encrypt and decrypt on your side.")


def limits_of(caller: Caller) -> keys_pb2.KeyLimits:
    return keys_pb2.KeyLimits(max_keys=caller.limits.max_keys,
                              max_key_bytes=caller.limits.max_key_bytes)


def key_json(key: keys_pb2.Key) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key_id": key.key_id, "scheme": key.scheme, "mode": key.mode, "status": key.status,
        "size_bytes": key.size_bytes, "security_bits": key.security_bits,
        "created_at": key.created_at,
    }
    if key.scheme == "ckks":
        body |= {
            "params": {"poly_degree": key.params.poly_degree, "scale_bits": key.params.scale_bits,
                       "max_depth": key.params.max_depth,
                       "security_level": key.params.security_level} if key.status == "ready"
            else None,
            "slot_count": key.slot_count, "max_level": key.max_level,
            "rotations": list(key.rotations), "scaling_technique": key.scaling_technique or None,
            "bootstrappable": key.bootstrappable,
        }
    else:
        body |= {"preset": key.preset or None, "n": key.n, "big_n": key.big_n}
    if key.mode == "blind":
        body["blind_guarantee"] = BLIND_GUARANTEE
    if key.status == "failed":
        body["failure"] = key.failure
    return body


def _key_response(key: keys_pb2.Key, status: int, extra: dict[str, Any] | None = None,
                  ) -> web.Response:
    """The key object; a key still being generated answers a creating request with 202."""
    headers = security_warning(key.status == "ready" and key.security_bits < 128)
    if key.status == "pending" and status == 201:
        status = 202
        headers[LOCATION.name] = f"/api/v1/keys/{key.key_id}"
    return web.json_response(key_json(key) | (extra or {}), status=status, headers=headers)


async def generate_key(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    body = await read_body(request, value_error="INVALID_PARAMS")
    scheme = body["scheme"]
    params = body.get("params", {})
    services = request.app[state.SERVICES]
    reply = await services.keys.GenerateKey(keys_pb2.GenerateKeyRequest(
        account_id=caller.account_id, scheme=scheme,
        params=keys_pb2.CkksParams(
            poly_degree=params.get("poly_degree", 0), scale_bits=params.get("scale_bits", 0),
            max_depth=params.get("max_depth", 0),
            security_level=params.get("security_level", "128-bit")),
        rotations=body.get("rotations", []), has_rotations="rotations" in body,
        preset=body.get("preset", ""),
        bootstrappable=body.get("bootstrappable", False),
        limits=limits_of(caller)), timeout=60)
    extra = {}
    if reply.key.status == "ready" and request.app[state.SETTINGS].allow_sk_in_response:
        secret = b"".join([chunk.data async for chunk in services.keys.FetchKeyMaterial(
            keys_pb2.FetchKeyMaterialRequest(account_id=caller.account_id,
                                             key_id=reply.key.key_id, component="secret_key"),
            timeout=60)])
        extra["secret_key"] = base64.b64encode(secret).decode()
    return _key_response(reply.key, 201, extra)


def _decode(body: dict[str, Any], field: str) -> bytes:
    try:
        return base64.b64decode(body[field], validate=True)
    except (binascii.Error, ValueError):
        raise WavisError("INVALID_KEY", f"{field} is not valid base64.",
                         {"field": field}) from None


async def upload_key(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    body = await read_body(request)
    scheme = body["scheme"]
    # The schema requires each scheme's components (KeyUploadRequest).
    names = ["eval_key"] if scheme == "tfhe" else [
        n for n in ("crypto_context", "public_key", "eval_mult_key", "eval_rotation_keys")
        if n in body]
    blobs = {name: _decode(body, name) for name in names}
    del body

    async def messages() -> AsyncIterator[keys_pb2.UploadKeyRequest]:
        yield keys_pb2.UploadKeyRequest(header=keys_pb2.UploadKeyHeader(
            account_id=caller.account_id, scheme=scheme,
            component_sizes={n: len(b) for n, b in blobs.items()}, limits=limits_of(caller)))
        for name, data in blobs.items():
            for start in range(0, len(data), CHUNK_BYTES):
                yield keys_pb2.UploadKeyRequest(chunk=keys_pb2.UploadKeyChunk(
                    component=name, data=data[start:start + CHUNK_BYTES]))

    reply = await request.app[state.SERVICES].keys.UploadKey(messages(),
                                                             timeout=SLOW_CALL_SECONDS)
    return _key_response(reply.key, 201)


async def list_keys(request: web.Request) -> web.Response:
    return await paged_list(request, LIST_NAME, request.app[state.SERVICES].keys.ListKeys,
                            keys_pb2.ListKeysRequest, "keys", key_json)


async def get_key(request: web.Request) -> web.Response:
    reply = await request.app[state.SERVICES].keys.GetKey(keys_pb2.GetKeyRequest(
        account_id=request[state.CALLER].account_id, key_id=request.match_info["key_id"]))
    return _key_response(reply.key, 200)


async def delete_key(request: web.Request) -> web.Response:
    await request.app[state.SERVICES].keys.DeleteKey(keys_pb2.DeleteKeyRequest(
        account_id=request[state.CALLER].account_id, key_id=request.match_info["key_id"]))
    return web.Response(status=204)


async def create_upload(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    body = await read_body(request)
    reply = await request.app[state.SERVICES].keys.CreateUpload(keys_pb2.CreateUploadRequest(
        account_id=caller.account_id, scheme=body["scheme"], kind=body["kind"],
        size_bytes=body["size_bytes"], sha256=body["sha256"], limits=limits_of(caller)))
    upload = reply.upload
    return web.json_response({"upload_id": upload.upload_id, "part_size": upload.part_size,
                              "part_count": upload.part_count,
                              "expires_at": upload.expires_at}, status=201)


async def put_upload_part(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    number = request[PARAMETERS]["n"]

    async def messages() -> AsyncIterator[keys_pb2.PutUploadPartRequest]:
        yield keys_pb2.PutUploadPartRequest(header=keys_pb2.PutUploadPartHeader(
            account_id=caller.account_id, upload_id=request.match_info["upload_id"],
            part_number=number))
        received = 0
        async for chunk in request.content.iter_chunked(CHUNK_BYTES):
            received += len(chunk)
            if received > MAX_UPLOAD_PART_BYTES:  # streamed bodies have no Content-Length check
                raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD_PART_BYTES,
                                                    actual_size=received)
            yield keys_pb2.PutUploadPartRequest(data=chunk)

    await request.app[state.SERVICES].keys.PutUploadPart(messages(), timeout=SLOW_CALL_SECONDS)
    return web.Response(status=204)


async def get_upload(request: web.Request) -> web.Response:
    reply = await request.app[state.SERVICES].keys.GetUpload(keys_pb2.GetUploadRequest(
        account_id=request[state.CALLER].account_id,
        upload_id=request.match_info["upload_id"]))
    upload = reply.upload
    parts = [{"part_number": part.part_number, "size_bytes": part.size_bytes,
              "sha256": part.sha256.hex() or None} for part in reply.parts]
    received = sum(part["size_bytes"] for part in parts)
    return web.json_response({
        "upload_id": upload.upload_id, "scheme": reply.scheme, "kind": reply.kind,
        "size_bytes": reply.size_bytes, "sha256": reply.sha256,
        "part_size": upload.part_size, "part_count": upload.part_count,
        "expires_at": upload.expires_at,
        "status": "ready_to_complete" if len(parts) == upload.part_count else "uploading",
        "parts_received": len(parts), "bytes_received": received, "parts": parts})


async def complete_upload(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    reply = await request.app[state.SERVICES].keys.CompleteUpload(
        keys_pb2.CompleteUploadRequest(account_id=caller.account_id,
                                       upload_id=request.match_info["upload_id"],
                                       limits=limits_of(caller)), timeout=SLOW_CALL_SECONDS)
    return _key_response(reply.key, 201)


_WARN = (SECURITY_WARNING.name,)

_SHA256_HEX = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
register_schemas({
    "KeyUploadStatus": {
        "type": "object",
        "required": ["upload_id", "scheme", "kind", "size_bytes", "sha256", "part_size",
                     "part_count", "expires_at", "status", "parts_received", "bytes_received",
                     "parts"],
        "properties": {
            "upload_id": {"type": "string"}, "scheme": {"enum": ["tfhe", "ckks"]},
            "kind": {"enum": ["tfhe_eval_key", "ckks_key_bundle"]},
            "size_bytes": {"type": "integer"}, "sha256": _SHA256_HEX,
            "part_size": {"type": "integer"}, "part_count": {"type": "integer"},
            "expires_at": {"type": "string", "format": "date-time"},
            "status": {"enum": ["uploading", "ready_to_complete"],
                       "description": "ready_to_complete: every part is stored."},
            "parts_received": {"type": "integer"}, "bytes_received": {"type": "integer"},
            "parts": {"type": "array", "description": "Stored parts, by part number.",
                      "items": {
                          "type": "object", "required": ["part_number", "size_bytes", "sha256"],
                          "properties": {
                              "part_number": {"type": "integer", "minimum": 1},
                              "size_bytes": {"type": "integer"},
                              "sha256": {**_SHA256_HEX, "type": ["string", "null"],
                                         "description": "Of the part's bytes; null when the "
                                                        "service stopped before recording it "
                                                        "(send the part again)."}}}},
        },
    },
})

ENDPOINTS = (
    Endpoint("POST", "/keys/generate", generate_key, "Generate a server-mode FHE key", "Keys",
             {201: Reply("The key.", "Key", _WARN),
              202: Reply("Generation continues; poll GET /keys/{key_id}.", "Key",
                         (LOCATION.name,)),
              **refusal(400, "INVALID_PARAMS", "INSUFFICIENT_SECURITY",
                        why="Parameters OpenFHE cannot build at the security level asked, or "
                            "rotations beyond the key's slots")},
             min_role=TRIAL, request_schema="KeyGenerateRequest",
             description="CKKS or TFHE. The server keeps the secret key, sealed at rest."),
    Endpoint("POST", "/keys/upload", upload_key, "Upload a client's key (FHE-blind)",
             "Keys", {201: Reply("The key, mode blind.", "Key", _WARN),
                      **refusal(400, "INVALID_KEY", why="The bytes are not such a key")},
             min_role=TRIAL, request_schema="KeyUploadRequest",
             description=f"Up to {megabytes(DEFAULT_MAX_REQUEST_BYTES)}; larger keys use "
                         "POST /keys/uploads. CKKS: the context "
                         "and keys; TFHE: eval_key, the ZIP of a chunked tfhe_eval_key upload "
                         "(a toy key is ~20 MB)."),
    Endpoint("GET", "/keys", list_keys, "List FHE keys", "Keys",
             {200: Reply("One page of keys, newest first.", "KeyList")}, min_role=READ,
             query_parameters=PAGE_PARAMETERS),
    Endpoint("GET", "/keys/{key_id}", get_key, "Get an FHE key", "Keys",
             {200: Reply("The key.", "Key", _WARN)}, min_role=READ),
    Endpoint("DELETE", "/keys/{key_id}", delete_key, "Delete an FHE key", "Keys",
             {204: Reply("Deleted, with its material, ciphertexts and sessions.")},
             min_role=WRITE),
    Endpoint("POST", "/keys/uploads", create_upload, "Start a chunked key upload", "Keys",
             {201: Reply("The upload.", "KeyUpload"),
              **refusal(400, "VALIDATION_ERROR",
                        why="size_bytes above this deployment's largest key upload "
                            "(WAVIS_MAX_UPLOAD_BYTES, 4 GiB by default)")},
             min_role=TRIAL,
             request_schema="KeyUploadCreateRequest"),
    Endpoint("PUT", "/keys/uploads/{upload_id}/parts/{n}", put_upload_part,
             f"Upload one part (application/octet-stream, <= {megabytes(MAX_UPLOAD_PART_BYTES)})",
             "Keys",
             {204: Reply("Stored; retrying a part replaces it."),
              **refusal(400, "VALIDATION_ERROR", why="A part number beyond the upload's "
                                                     "part_count, or a part of the wrong size")},
             min_role=TRIAL,
             path_parameters={"n": integer(1, MAX_UPLOAD_PARTS, description="1 to the "
                                                                          "upload's part_count.")},
             extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string",
                                                         "format": "binary"}}}}}),
    Endpoint("GET", "/keys/uploads/{upload_id}", get_upload,
             "Status of a chunked upload: the parts received", "Keys",
             {200: Reply("The upload and every part stored so far, with its sha256.",
                         "KeyUploadStatus")}, min_role=TRIAL,
             description="To resume an interrupted upload: compare each part's sha256 with "
                         "your file's bytes, send the parts missing or different, then "
                         "complete. 404 once completed or expired."),
    Endpoint("POST", "/keys/uploads/{upload_id}/complete", complete_upload,
             "Finish a chunked upload", "Keys",
             {201: Reply("The key (checksum and parameters verified).", "Key"),
              **refusal(400, "VALIDATION_ERROR", "INVALID_KEY",
                        why="Parts missing, a checksum that differs, or bytes that are not "
                            "such a key")},
             min_role=TRIAL),
)
