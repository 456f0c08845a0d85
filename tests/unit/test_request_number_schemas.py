"""Every number a request can carry (body fields at any depth, array items, query and path
parameters) has a declared type and range that the protobuf field behind it can hold, and the
gateway's body validator refuses fractions and values out of that range (a whole number
written 29.0 is the integer 29, as JSON has it, and reaches protobuf as an int)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.app import ENDPOINTS
from gateway.body import body_validator, whole_numbers_as_ints
from gateway.openapi import build_openapi
from gateway.schemas import NUMBER_FORMATS

DOC = build_openapi(ENDPOINTS)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = DOC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _numbers(schema: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(place, schema) of every integer or number schema below `schema`."""
    schema = _resolve(schema)
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if {"integer", "number"} & set(types):
        yield where, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _numbers(sub, f"{where}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _numbers(schema["items"], f"{where}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _numbers(schema["additionalProperties"], f"{where}.*")
    for keyword in ("oneOf", "anyOf", "allOf"):
        for index, sub in enumerate(schema.get(keyword, [])):
            yield from _numbers(sub, f"{where}/{keyword}{index}")
    for keyword in ("if", "then", "else", "not"):
        if keyword in schema:
            yield from _numbers(schema[keyword], f"{where}/{keyword}")


def _request_numbers() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path, operations in DOC["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                found += _numbers(parameter["schema"],
                                  f"{label} {parameter['in']} {parameter['name']}")
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                found += _numbers(body["schema"], f"{label} body")
    return found


REQUEST_NUMBERS = _request_numbers()


def test_requests_carry_numbers() -> None:
    places = [place for place, _ in REQUEST_NUMBERS]
    for expected in ("POST /api/v1/keys/uploads body.size_bytes",
                     "POST /api/v1/keys/generate body.params.max_depth",
                     "POST /api/v1/keys/generate body.rotations[]",
                     "POST /api/v1/compute body.rotation_steps",
                     "POST /api/v1/compute body.matrix[][]",
                     "GET /api/v1/keys query limit"):
        assert expected in places


@pytest.mark.parametrize(("place", "schema"), REQUEST_NUMBERS,
                         ids=[place for place, _ in REQUEST_NUMBERS])
def test_every_request_number_has_a_format_and_a_range_it_fits(place: str,
                                                             schema: dict[str, Any]) -> None:
    assert schema.get("format") in NUMBER_FORMATS, f"{place}: no protobuf-sized format"
    low, high = NUMBER_FORMATS[schema["format"]]
    minimum = schema.get("minimum", schema.get("exclusiveMinimum"))
    maximum = schema.get("maximum", schema.get("exclusiveMaximum"))
    assert minimum is not None and maximum is not None, f"{place}: unbounded"
    assert low <= minimum <= maximum <= high, f"{place}: range beyond {schema['format']}"
    assert math.isfinite(minimum) and math.isfinite(maximum)
    if "integer" in schema["type"]:
        assert schema["format"] != "double"


@pytest.mark.parametrize(("place", "schema"), REQUEST_NUMBERS,
                         ids=[place for place, _ in REQUEST_NUMBERS])
def test_the_body_validator_refuses_what_the_range_refuses(place: str,
                                                           schema: dict[str, Any]) -> None:
    validator = body_validator(schema)
    maximum = schema.get("maximum", schema.get("exclusiveMaximum"))
    minimum = schema.get("minimum", schema.get("exclusiveMinimum"))
    assert not validator.is_valid(maximum + 1 if "integer" in schema["type"] else maximum * 2
                                  + 1)
    assert not validator.is_valid(minimum - 1 if "integer" in schema["type"] else
                                  minimum - abs(minimum) - 1)
    if "integer" in schema["type"]:
        in_range = next(iter(schema.get("enum", [minimum])))
        assert validator.is_valid(in_range)
        # JSON's 29.0 is the integer 29: accepted, and handed on as an int.
        assert validator.is_valid(float(in_range))
        assert type(whole_numbers_as_ints({"n": [float(in_range)]})["n"][0]) is int
        assert not validator.is_valid(0.5 if minimum <= 0 <= maximum else in_range + 0.5)
        assert not validator.is_valid(2 ** 64)
        assert not validator.is_valid(-(2 ** 64))
