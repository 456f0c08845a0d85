"""Check a live response against the OpenAPI document the gateway serves."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

_DOC_URI = "urn:wavis:openapi"


def _path_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"{\w+}", "[^/]+", template) + "$")


def response_schema(doc: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    """The JSON Schema the document gives for this response (the error envelope for
    methods or paths it does not list)."""
    error_ref = {"$ref": f"{_DOC_URI}#/components/schemas/Error"}
    # Literal paths win over templated ones (/keys/uploads before /keys/{key_id}); among
    # templates of the same shape, the one that has the method.
    matching = sorted((t for t in doc["paths"] if _path_regex(t).match(path)),
                      key=lambda t: t.count("{"))
    operation = next((doc["paths"][t][method.lower()] for t in matching
                      if method.lower() in doc["paths"][t]), None)
    if operation is None:
        return error_ref
    response = operation["responses"].get(str(status)) or operation["responses"]["default"]
    while "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[-1]
        response = doc["components"]["responses"][name]
    content = response.get("content")
    if content is None:
        return {"const": None}  # no body documented
    ref = content["application/json"]["schema"]["$ref"]
    return {"$ref": _DOC_URI + ref}


def assert_matches_openapi(doc: dict[str, Any], method: str, path: str, status: int,
                           body: Any) -> None:
    schema = response_schema(doc, method, path, status)
    registry: Registry[Any] = Registry().with_resource(_DOC_URI, DRAFT202012.create_resource(doc))
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method} {path} -> {status} does not match the OpenAPI document: " + \
        "; ".join(f"{list(e.path)}: {e.message}" for e in errors)


def assert_matches_schema(doc: dict[str, Any], schema_name: str, body: Any) -> None:
    """`body` against the document's components/schemas/<schema_name>."""
    registry: Registry[Any] = Registry().with_resource(_DOC_URI, DRAFT202012.create_resource(doc))
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"{_DOC_URI}#/components/schemas/{schema_name}"}, registry=registry)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{body} does not match {schema_name}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5])
