"""The OpenAPI 3.1 document, built from the endpoint table and the schema components."""

from __future__ import annotations

from typing import Any

import wavis
from gateway.endpoints import PARAMETER_ERROR_CODE, Endpoint
from gateway.idempotency import IDEMPOTENCY_KEY_PARAMETER
from gateway.response_headers import (
    ALLOW,
    COMPONENTS,
    RATE_LIMITS,
    REQUEST_ID,
    RETRY_AFTER,
    SERVER_TIMING,
    ResponseHeader,
)
from gateway.schemas import SCHEMAS
from wavis.core.errors import ERROR_CODES

# In a documented error response: the codes it answers for requests the schemas accept.
ERROR_CODES_KEY = "x-wavis-error-codes"


def _ref(kind: str, name: str) -> dict[str, str]:
    known = {"schemas": SCHEMAS, "headers": COMPONENTS}.get(kind)
    if known is not None and name not in known:  # a misspelled name fails the build
        raise KeyError(f"no {kind} component named {name!r}")
    return {"$ref": f"#/components/{kind}/{name}"}


def _header_refs(*headers: ResponseHeader) -> dict[str, dict[str, str]]:
    return {header.name: _ref("headers", header.name) for header in headers}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    # Every authenticated response carries the rate-limit headers.
    common_headers = tuple(header.name for header in (
        REQUEST_ID, SERVER_TIMING, *(RATE_LIMITS if endpoint.min_role else ())))
    for status, reply in sorted(endpoint.replies.items()):
        response: dict[str, Any] = {
            "description": reply.description,
            "headers": {name: _ref("headers", name)
                        for name in (*common_headers, *reply.headers)},
        }
        if reply.schema is not None:
            response["content"] = {"application/json": {"schema": _ref("schemas", reply.schema)}}
        if reply.codes:
            for code in reply.codes:  # a misspelled code, or one of another status, fails
                if ERROR_CODES[code].http_status != status:
                    raise ValueError(f"{code} is not a {status}")
            response[ERROR_CODES_KEY] = list(reply.codes)
        responses[str(status)] = response
    responses.setdefault("405", _ref("responses", "MethodNotAllowed"))
    responses.setdefault("429", _ref("responses", "TooManyRequests"))
    responses["default"] = _ref("responses", "Error")
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "responses": responses,
        # The least role that may call it; "public" needs no API key.
        "x-wavis-min-role": endpoint.min_role or "public",
        "security": [{"bearerAuth": []}] if endpoint.min_role else [],
    }
    if endpoint.operation:
        operation["x-wavis-counts-as-operation"] = True
    if endpoint.description:
        operation["description"] = endpoint.description
    parameters = endpoint.parameters()
    for parameter in parameters:  # a parameter's own refusal (a cursor not signed here)
        refused_with = parameter.get(PARAMETER_ERROR_CODE)
        if refused_with is None:
            continue
        refused_status = str(ERROR_CODES[refused_with].http_status)
        refusal = responses.setdefault(refused_status, {
            "description": f"{parameter['name']} was not given out here.",
            "headers": {name: _ref("headers", name) for name in common_headers},
            "content": {"application/json": {"schema": _ref("schemas", "Error")}}})
        if refused_with not in refusal.setdefault(ERROR_CODES_KEY, []):
            refusal[ERROR_CODES_KEY].append(refused_with)
    if endpoint.min_role and endpoint.method in ("POST", "PATCH"):
        parameters.append(IDEMPOTENCY_KEY_PARAMETER)
    if parameters:
        operation["parameters"] = parameters
    if endpoint.request_schema is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref("schemas", endpoint.request_schema)}},
        }
    operation.update(endpoint.extra)
    return operation


def build_openapi(endpoints: tuple[Endpoint, ...]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.full_path, {})[endpoint.method.lower()] = _operation(endpoint)
    error_content = {"application/json": {"schema": _ref("schemas", "Error")}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "WAVIS API",
            "version": wavis.__version__,
            "description": "Fully Homomorphic Encryption as a service: TFHE boolean gates and "
                           "CKKS arithmetic on encrypted data, on OpenFHE.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "headers": COMPONENTS,
            "responses": {
                "Error": {"description": "An error, in the envelope every non-2xx except 429 "
                                         "uses.",
                          "headers": _header_refs(REQUEST_ID),
                          "content": error_content},
                "MethodNotAllowed": {"description": "Wrong method; Allow lists the right ones.",
                                     "headers": _header_refs(ALLOW, REQUEST_ID),
                                     "content": error_content},
                "TooManyRequests": {"description": "Rate limited; empty body.",
                                    "headers": _header_refs(RETRY_AFTER)},
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "wvs_<env>_<key>; the bare key is accepted too."},
            },
        },
    }
