"""The OpenAPI document is valid OpenAPI 3.1 and lists every endpoint of the table."""

from __future__ import annotations

from openapi_spec_validator import validate

from gateway.app import ENDPOINTS
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
