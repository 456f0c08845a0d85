"""Reading request bodies: size limit first, then JSON, each failure in the envelope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import jsonschema
from aiohttp import web
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from gateway.schemas import SCHEMAS
from wavis.core.errors import WavisError

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


_NUMBER = {"type": "number"}


def _number_depth(schema: Any) -> int:
    """1 for an array of numbers, 2 for an array of arrays of numbers, else 0."""
    if not isinstance(schema, dict) or schema.get("type") != "array":
        return 0
    items = schema.get("items")
    if items == _NUMBER:
        return 1
    return 2 if _number_depth(items) == 1 else 0


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)  # not bool, which is an int subclass


NumberArrays = list[tuple[tuple[str, ...], int]]  # (path, "*" for each item; depth)


def _lighten(schema: Any, path: tuple[str, ...]) -> tuple[Any, NumberArrays]:
    """The schema without the `items` of its number arrays (at any depth of properties and
    arrays of objects), and where those arrays are."""
    if not isinstance(schema, dict):
        return schema, []
    light, found = dict(schema), []
    properties = schema.get("properties")
    if isinstance(properties, dict):
        lightened = {}
        for name, sub in properties.items():
            depth = _number_depth(sub)
            if depth:
                lightened[name] = {k: v for k, v in sub.items() if k != "items"}
                found.append(((*path, name), depth))
            else:
                lightened[name], inner = _lighten(sub, (*path, name))
                found += inner
        light["properties"] = lightened
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict) and "properties" in items:
        light["items"], inner = _lighten(items, (*path, "*"))
        found += inner
    return light, found


@cache
def _compiled(schema_name: str) -> tuple[jsonschema.Draft202012Validator, NumberArrays]:
    """The validator, and the number arrays it leaves to `_check_numbers`: jsonschema checks
    list items one by one (33 ms for a 4096-slot plain_operand)."""
    light, numeric = _lighten(SCHEMAS[schema_name], ())
    document = {"components": {"schemas": SCHEMAS | {"__light__": light}}}
    registry: Registry[Any] = Registry().with_resource("urn:wavis",
                                                       DRAFT202012.create_resource(document))
    validator = jsonschema.Draft202012Validator(
        {"$ref": "urn:wavis#/components/schemas/__light__"}, registry=registry)
    return validator, numeric


def _located(value: Any, path: tuple[str, ...], where: tuple[str, ...] = (),
             ) -> Iterator[tuple[str, Any]]:
    """(field name, value) of every place `path` reaches in the body."""
    if not path:
        yield ".".join(where), value
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for index, item in enumerate(value if isinstance(value, list) else []):
            yield from _located(item, rest, (*where, str(index)))
    elif isinstance(value, dict) and head in value:
        yield from _located(value[head], rest, (*where, head))


def _check_numbers(body: dict[str, Any], numeric: NumberArrays) -> None:
    for path, depth in numeric:
        for name, value in _located(body, path):
            if not isinstance(value, list):
                continue  # not a list: the schema check reports it
            rows = value if depth == 2 else [value]
            if depth == 2 and not all(isinstance(row, list) for row in rows):
                raise WavisError("SCHEMA_MISMATCH", f"{name}: must be a list of lists of "
                                 "numbers.", {"field": name})
            if not all(_is_number(v) for row in rows for v in row):
                raise WavisError("SCHEMA_MISMATCH", f"{name}: every item must be a number.",
                                 {"field": name})


def _validator(schema_name: str) -> jsonschema.Draft202012Validator:
    return _compiled(schema_name)[0]


async def read_body(request: web.Request, schema_name: str,
                    value_error: str = "VALIDATION_ERROR") -> dict[str, Any]:
    """The body as a JSON object valid against the named schema, else 422 (shape) or 400
    (`value_error`, e.g. INVALID_PARAMS for FHE parameters out of range)."""
    body = await read_json_object(request)
    validator, numeric = _compiled(schema_name)
    errors = list(validator.iter_errors(body))
    if not errors:
        _check_numbers(body, numeric)
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
