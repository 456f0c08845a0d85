"""The OpenAPI document is valid OpenAPI 3.1 and lists every endpoint of the table."""

from __future__ import annotations

import pytest
from aiohttp import web
from openapi_spec_validator import validate

from gateway.app import ENDPOINTS
from gateway.endpoints import Endpoint, Reply
from gateway.openapi import build_openapi
from wavis.core.errors import ERROR_CODES


def test_document_validates_as_openapi_31() -> None:
    doc = build_openapi(ENDPOINTS)
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_every_endpoint_is_documented_with_its_role() -> None:
    doc = build_openapi(ENDPOINTS)
    for endpoint in ENDPOINTS:
        operation = doc["paths"][endpoint.full_path][endpoint.method.lower()]
        assert operation["x-wavis-min-role"] == (endpoint.min_role or "public")
        assert operation["operationId"] == endpoint.operation_id
        assert "default" in operation["responses"]
    operation_ids = [endpoint.operation_id for endpoint in ENDPOINTS]
    assert len(operation_ids) == len(set(operation_ids))


def test_error_table_uses_only_contract_statuses() -> None:
    allowed = {400, 401, 402, 403, 404, 405, 409, 413, 422, 429, 500, 501, 502, 503}
    assert {entry.http_status for entry in ERROR_CODES.values()} <= allowed
    assert all(code.isupper() and " " not in code for code in ERROR_CODES)


def test_authenticated_operations_document_limits_and_idempotency() -> None:
    doc = build_openapi(ENDPOINTS)
    create = doc["paths"]["/api/v1/api-keys"]["post"]
    assert create["x-wavis-min-role"] == "account_admin"
    assert create["security"] == [{"bearerAuth": []}]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiKeyCreateRequest"}
    assert {"name": "Idempotency-Key", "in": "header"}.items() <= create["parameters"][0].items()
    assert "X-RateLimit-Burst-Remaining" in create["responses"]["201"]["headers"]
    listing = doc["paths"]["/api/v1/api-keys"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"limit", "cursor"}
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiKeyList"}
    public = doc["paths"]["/api/v1/onboarding/temp-key"]["post"]
    assert public["security"] == [] and public["x-wavis-min-role"] == "public"
    assert "X-RateLimit-Daily-Limit" not in public["responses"]["200"]["headers"]


async def _handler(request: web.Request) -> web.Response:
    return web.Response()


@pytest.mark.parametrize("endpoint", [
    Endpoint("POST", "/things", _handler, "t", "T", {200: Reply("ok")},
             request_schema="ApiKeyCreateRequst"),
    Endpoint("GET", "/things", _handler, "t", "T", {200: Reply("ok", "ApiKeyLst")}),
    Endpoint("GET", "/things", _handler, "t", "T", {200: Reply("ok", None, ("X-Request-ID",))}),
])
def test_a_reference_to_no_component_fails_the_build(endpoint: Endpoint) -> None:
    with pytest.raises(KeyError):
        build_openapi((endpoint,))
