"""Reading request bodies: size limit first, then JSON, each failure in the envelope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
from aiohttp import web
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from gateway.access import endpoint_of
from gateway.schemas import SCHEMAS
from wavis.core.errors import WavisError

# A body that does not have the schema's shape is 422; one with the shape but a bad value
# (out of range, too long, not one of the choices) is 400.
_SHAPE_KEYWORDS = {"type", "required", "additionalProperties"}


# The validator of every request body: JSON Schema's "integer" admits 29.0, as JSON does;
# read_body turns such values into ints before a handler hands them to protobuf, whose
# integer fields refuse floats (docs/decisions/0075-request-numbers-typed-and-bounded.md).
BodyValidator = jsonschema.Draft202012Validator


def whole_numbers_as_ints(value: Any) -> Any:
    """`value` with every float that is a whole number (29.0, 1e2) as an int."""
    if type(value) is float and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [whole_numbers_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {name: whole_numbers_as_ints(item) for name, item in value.items()}
    return value


def exactly_one_of(*names: str) -> list[dict[str, Any]]:
    """A `oneOf` saying a body has exactly one of these fields (read_body words its refusal)."""
    return [{"required": [name]} for name in names]


def body_validator(schema: dict[str, Any]) -> Any:
    """A validator of `schema` as the gateway checks bodies (its $refs name components)."""
    refs = {"$ref": "urn:wavis#/components/schemas/__checked__"}
    document = {"components": {"schemas": SCHEMAS | {"__checked__": schema}}}
    registry: Registry[Any] = Registry().with_resource("urn:wavis",
                                                       DRAFT202012.create_resource(document))
    return BodyValidator(refs, registry=registry)


def _reject_constant(name: str) -> None:
    """NaN and Infinity are not JSON (Python's parser accepts them by default)."""
    raise ValueError(f"{name} is not JSON")


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object: 413 when too large, 422 when not JSON or not an object."""
    raw = await request.read()  # aiohttp enforces client_max_size here (-> 413)
    try:
        value = json.loads(raw, parse_constant=_reject_constant) if raw else None
    except (ValueError, UnicodeDecodeError):
        raise WavisError("INVALID_JSON", "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise WavisError("SCHEMA_MISMATCH", "The request body must be a JSON object.")
    return value


_PLAIN_NUMBER_KEYS = {"type", "format", "minimum", "maximum", "description"}


@dataclass(frozen=True)
class _NumberArray:
    """Where an array (of arrays) of bounded numbers is: its path through the body's objects
    ("*" for each item of an array of objects), at any depth."""

    path: tuple[str, ...]
    depth: int  # 1: [numbers]; 2: [[numbers]]
    minimum: float
    maximum: float


def _number_bounds(schema: Any) -> tuple[int, float, float] | None:
    """(depth, minimum, maximum) of an array (of arrays) of plain bounded numbers."""
    if not isinstance(schema, dict) or schema.get("type") != "array":
        return None
    items = schema.get("items")
    if isinstance(items, dict) and items.get("type") == "number" \
            and set(items) <= _PLAIN_NUMBER_KEYS and "minimum" in items and "maximum" in items:
        return 1, items["minimum"], items["maximum"]
    inner = _number_bounds(items)
    return (2, inner[1], inner[2]) if inner and inner[0] == 1 else None


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)  # not bool, which is an int subclass


def _lighten(schema: Any, path: tuple[str, ...]) -> tuple[Any, list[_NumberArray]]:
    """The schema without the `items` of its number arrays (at any depth of properties and
    arrays of objects), and where those arrays are."""
    if not isinstance(schema, dict):
        return schema, []
    light, found = dict(schema), []
    properties = schema.get("properties")
    if isinstance(properties, dict):
        lightened = {}
        for name, sub in properties.items():
            bounds = _number_bounds(sub)
            if bounds:
                lightened[name] = {k: v for k, v in sub.items() if k != "items"}
                found.append(_NumberArray((*path, name), *bounds))
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
def _compiled(schema_name: str) -> tuple[Any, tuple[_NumberArray, ...]]:
    """The validator, and the number arrays it leaves to `_check_numbers`: jsonschema checks
    list items one by one (33 ms for a 4096-slot plain_operand)."""
    light, numeric = _lighten(SCHEMAS[schema_name], ())
    return body_validator(light), tuple(numeric)


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


def _check_numbers(body: dict[str, Any], numeric: tuple[_NumberArray, ...]) -> None:
    for array in numeric:
        for name, value in _located(body, array.path):
            if not isinstance(value, list):
                continue  # not a list: the schema check reports it
            rows = value if array.depth == 2 else [value]
            if array.depth == 2 and not all(isinstance(row, list) for row in rows):
                raise WavisError("SCHEMA_MISMATCH", f"{name}: must be a list of lists of "
                                 "numbers.", {"field": name})
            for row_index, row in enumerate(rows):
                for index, item in enumerate(row):
                    if _is_number(item) and array.minimum <= item <= array.maximum:
                        continue
                    field = ".".join(str(part) for part in (
                        name, *((row_index,) if array.depth == 2 else ()), index))
                    if not _is_number(item):
                        raise WavisError("SCHEMA_MISMATCH", f"{field}: must be a number.",
                                         {"field": field})
                    raise WavisError("VALIDATION_ERROR", f"{field}: must be from "
                                     f"{array.minimum:g} to {array.maximum:g}.",
                                     {"field": field})


def _whole_numbers_as_ints_but(value: Any, skip: frozenset[tuple[str, ...]],
                               path: tuple[str, ...] = ()) -> Any:
    """whole_numbers_as_ints of `value` except at the number arrays' paths (possibly 16k
    values each, bound for double fields)."""
    if path in skip:
        return value
    if isinstance(value, dict):
        return {name: _whole_numbers_as_ints_but(item, skip, (*path, name))
                for name, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_ints_but(item, skip, (*path, "*")) for item in value]
    return whole_numbers_as_ints(value)


async def read_body(request: web.Request, *,
                    value_error: str = "VALIDATION_ERROR") -> dict[str, Any]:
    """The body as a JSON object valid against the schema its endpoint declares
    (`Endpoint.request_schema`), else 422 (shape) or 400 (`value_error`, e.g. INVALID_PARAMS
    for FHE parameters out of range). The handler does not name the schema again
    (docs/decisions/0052-endpoint-names-its-request-schema.md)."""
    endpoint = endpoint_of(request)
    if endpoint is None or endpoint.request_schema is None:
        raise RuntimeError(f"{request.method} {request.path}: its endpoint declares no "
                           "request_schema to read the body with")
    schema_name = endpoint.request_schema
    body = await read_json_object(request)
    validator, numeric = _compiled(schema_name)
    errors = list(validator.iter_errors(body))
    if not errors:
        _check_numbers(body, numeric)
        return dict(_whole_numbers_as_ints_but(body, frozenset(a.path for a in numeric)))
    shape = [e for e in errors if e.validator in _SHAPE_KEYWORDS]
    first = (shape or errors)[0]
    path = [str(part) for part in first.absolute_path]
    message = None
    if first.validator == "required":  # name the missing field itself
        missing = [name for name in first.validator_value if name not in first.instance]
        path += missing[:1]
    elif first.validator == "oneOf" and all(list(branch) == ["required"]
                                            for branch in first.validator_value):
        names = [branch["required"][0] for branch in first.validator_value]
        path += names[:1]
        message = f"Give exactly one of {' and '.join(names)}."
    field = ".".join(path) or None
    if message is None:
        message = first.message if field is None else f"{field}: {first.message}"
    code = "SCHEMA_MISMATCH" if shape else value_error
    raise WavisError(code, message[:300], {"field": field} if field else {})
