"""Reading request bodies: size limit first, then JSON, each failure in the envelope."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
from aiohttp import web
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from wavis.core.errors import WavisError
from wavis.gateway.schemas import SCHEMAS

# A body that does not have the schema's shape is 422; one with the shape but a bad value
# (out of range, too long, not one of the choices) is 400.
_SHAPE_KEYWORDS = {"type", "required", "additionalProperties"}


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object: 413 when too large, 422 when not JSON or not an object."""
    raw = await request.read()  # aiohttp enforces client_max_size here (-> 413)
    try:
        value = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        raise WavisError("INVALID_JSON", "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise WavisError("SCHEMA_MISMATCH", "The request body must be a JSON object.")
    return value


@cache
def _validator(schema_name: str) -> jsonschema.Draft202012Validator:
    document = {"components": {"schemas": SCHEMAS}}
    registry: Registry[Any] = Registry().with_resource("urn:wavis",
                                                       DRAFT202012.create_resource(document))
    return jsonschema.Draft202012Validator(
        {"$ref": f"urn:wavis#/components/schemas/{schema_name}"}, registry=registry)


async def read_body(request: web.Request, schema_name: str,
                    value_error: str = "VALIDATION_ERROR") -> dict[str, Any]:
    """The body as a JSON object valid against the named schema, else 422 (shape) or 400
    (`value_error`, e.g. INVALID_PARAMS for FHE parameters out of range)."""
    body = await read_json_object(request)
    errors = list(_validator(schema_name).iter_errors(body))
    if not errors:
        return body
    shape = [e for e in errors if e.validator in _SHAPE_KEYWORDS]
    first = (shape or errors)[0]
    path = [str(part) for part in first.absolute_path]
    if first.validator == "required":  # name the missing field itself
        missing = [name for name in first.validator_value if name not in first.instance]
        path += missing[:1]
    field = ".".join(path) or None
    message = first.message if field is None else f"{field}: {first.message}"
    code = "SCHEMA_MISMATCH" if shape else value_error
    raise WavisError(code, message[:300], {"field": field} if field else {})
