"""Query and path parameters checked against the schemas their endpoint declares (the ones the
OpenAPI document states) before the handler runs; the handler reads the checked values.

Query parameters are all checked; path parameters whose schema is an integer too (the router
only matches text). A refusal is 400 in the envelope naming the parameter, with the code the
parameter declares in `x-wavis-error-code` (INVALID_CURSOR for cursors), else
VALIDATION_ERROR (docs/decisions/0075-request-numbers-typed-and-bounded.md).
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.access import endpoint_of
from gateway.body import body_validator
from gateway.endpoints import PARAMETER_ERROR_CODE, Endpoint
from wavis.core.errors import WavisError

PARAMETERS = web.RequestKey("parameters", dict)
_WHOLE = re.compile(r"-?[0-9]{1,20}")  # ASCII digits only: int() also reads "٣" and " 3 "


_VALIDATORS: dict[int, Any] = {}  # id of a declared schema -> its validator


def _validator(schema: dict[str, Any]) -> Any:
    validator = _VALIDATORS.get(id(schema))
    if validator is None:
        validator = _VALIDATORS[id(schema)] = body_validator(schema)
    return validator


def _checked(name: str, raw: str, parameter: dict[str, Any]) -> Any:
    schema = parameter["schema"]
    code = parameter.get(PARAMETER_ERROR_CODE, "VALIDATION_ERROR")
    value: Any = raw
    if schema.get("type") == "integer":
        if not _WHOLE.fullmatch(raw):
            raise WavisError(code, f"{name} must be a whole number.", {"parameter": name})
        value = int(raw)
    elif schema.get("type") == "boolean":  # a query says true or false (OpenAPI's form style)
        if raw not in ("true", "false"):
            raise WavisError(code, f"{name} must be true or false.", {"parameter": name})
        value = raw == "true"
    error = jsonschema.exceptions.best_match(_validator(schema).iter_errors(value))
    if error is not None:
        raise WavisError(code, f"{name}: {error.message}"[:300], {"parameter": name})
    return value


def checked_parameters(request: web.Request, endpoint: Endpoint) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for parameter in endpoint.parameters():
        name = parameter["name"]
        if parameter["in"] == "query":
            raw = request.query.get(name)
        elif parameter["in"] == "path" and parameter["schema"].get("type") == "integer":
            raw = request.match_info.get(name)
        else:
            continue
        if raw is not None:
            values[name] = _checked(name, raw, parameter)
    return values


@web.middleware
async def parameters_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    endpoint = endpoint_of(request)
    if endpoint is not None:
        request[PARAMETERS] = checked_parameters(request, endpoint)
    return await handler(request)
