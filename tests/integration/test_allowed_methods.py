"""Each concrete path belongs to one path of the OpenAPI document; a 405's Allow and a CORS
preflight list exactly that path's methods, never those of a sibling template
(/ciphertexts/encrypt is not a /ciphertexts/{ciphertext_id}; /compute/add is not an op_id)."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from wavis.devstack.stack import Stack

_METHODS = {"get", "put", "post", "delete", "patch"}


def _example(schema: dict[str, Any]) -> str:
    """A path segment the parameter's schema accepts."""
    if "enum" in schema:
        return str(schema["enum"][0])
    if schema.get("type") == "integer":
        return str(schema.get("minimum", 1))
    if "pattern" in schema:  # the patterns of ids: a prefix then id characters
        prefix = re.match(r"\^([a-z]+_)", schema["pattern"])
        candidates = [(prefix.group(1) if prefix else "") + body for body in ("x1Y2z3", "x1y2z3")]
        return next(c for c in candidates if re.search(schema["pattern"], c))
    return "some_id"


def _concrete(template: str, operations: dict[str, Any]) -> str:
    parameters = {p["name"]: p["schema"] for operation in operations.values()
                  if isinstance(operation, dict)
                  for p in operation.get("parameters", []) if p["in"] == "path"}
    return re.sub(r"{(\w+)}", lambda m: _example(parameters[m.group(1)]), template)


def _documented(operations: dict[str, Any]) -> set[str]:
    methods = {method.upper() for method in operations if method in _METHODS}
    return methods | ({"HEAD"} if "GET" in methods else set()) | {"OPTIONS"}


def _paths(doc: dict[str, Any]) -> list[tuple[str, str, set[str]]]:
    return [(template, _concrete(template, operations), _documented(operations))
            for template, operations in doc["paths"].items()]


async def test_every_path_allows_exactly_its_documented_methods(
        mesh: Stack, openapi_doc: dict[str, Any], session: aiohttp.ClientSession) -> None:
    wrong = []
    for template, path, methods in _paths(openapi_doc):
        async with session.options(mesh.gateway_url + path) as reply:
            assert reply.status == 405, (path, reply.status)
            allowed = set(reply.headers["Allow"].split(", "))
        async with session.options(mesh.gateway_url + path, headers={
                "Origin": "https://app.example", "Access-Control-Request-Method": "GET"}) as reply:
            assert reply.status == 204, (path, reply.status)
            preflight = set(reply.headers["Access-Control-Allow-Methods"].split(", "))
        if allowed != methods or preflight != methods:
            wrong.append(f"{template} as {path}: Allow {sorted(allowed)}, preflight "
                         f"{sorted(preflight)}, documented {sorted(methods)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", "/api/v1/ciphertexts/encrypt", "OPTIONS, POST"),
    ("DELETE", "/api/v1/webhooks/events", "GET, HEAD, OPTIONS"),
    ("GET", "/api/v1/compute/add", "OPTIONS, POST"),
    ("POST", "/api/v1/compute/op_x1Y2z3", "DELETE, GET, HEAD, OPTIONS"),
])
async def test_a_literal_path_is_not_an_id_of_its_sibling_template(
        mesh: Stack, session: aiohttp.ClientSession, method: str, path: str,
        allow: str) -> None:
    async with session.request(method, mesh.gateway_url + path) as reply:
        assert reply.status == 405
        assert reply.headers["Allow"] == allow
        assert (await reply.json())["error"]["code"] == "METHOD_NOT_ALLOWED"
