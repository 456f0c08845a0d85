"""The gateway's HTTP contract over real HTTP against the real mesh."""

from __future__ import annotations

import re

import aiohttp
import pytest

from support.http import Api
from wavis.devstack.stack import Stack

REQUEST_ID = re.compile(r"^req_[0-9a-f]{24}$")
SERVICE_NAMES = ["keys", "tfhe-eval", "ckks-compute", "metering", "webhooks", "inference"]


async def test_health_reports_every_dependency_up(api: Api) -> None:
    reply = await api.get("/api/v1/health")
    assert reply.status == 200
    body = reply.json
    assert body["status"] == "healthy"
    assert body["version"] == "0.1.0"
    assert body["fhe_engine"].startswith("OpenFHE 1.6")
    assert body["active_sessions"] == 0 and body["active_jobs"] == 0
    assert body["ciphertext_cache_warning"] is False
    names = [dependency["name"] for dependency in body["dependencies"]]
    assert names == ["redis", *SERVICE_NAMES]
    for dependency in body["dependencies"]:
        assert dependency["status"] == "up", dependency
        assert dependency["error"] is None
        assert 0 <= dependency["latency_ms"] < 2000


async def test_head_health_has_headers_and_no_body(api: Api) -> None:
    reply = await api.request("HEAD", "/api/v1/health")
    assert reply.status == 200
    assert reply.text == ""
    assert REQUEST_ID.match(reply.headers["X-Request-Id"])


async def test_live_and_ready(api: Api) -> None:
    live = await api.get("/api/v1/health/live")
    assert live.status == 200 and live.json["status"] == "live"
    ready = await api.get("/api/v1/health/ready")
    assert ready.status == 200 and ready.json == {"status": "ready"}


async def test_request_id_generated_when_absent(api: Api) -> None:
    reply = await api.get("/api/v1/health/live")
    assert REQUEST_ID.match(reply.headers["X-Request-Id"])
    again = await api.get("/api/v1/health/live")
    assert again.headers["X-Request-Id"] != reply.headers["X-Request-Id"]


async def test_safe_client_request_id_is_kept_on_success_and_error(api: Api) -> None:
    ok = await api.get("/api/v1/health/live", headers={"X-Request-Id": "client-42.a:b_c"})
    assert ok.headers["X-Request-Id"] == "client-42.a:b_c"
    error = await api.get("/api/v1/no-such-thing", headers={"X-Request-Id": "trace-me"})
    assert error.headers["X-Request-Id"] == "trace-me"
    assert error.json["error"]["request_id"] == "trace-me"


@pytest.mark.parametrize("unsafe", ["x" * 129, "has space", "semi;colon", "<script>"])
async def test_unsafe_client_request_id_is_replaced(api: Api, unsafe: str) -> None:
    reply = await api.get("/api/v1/health/live", headers={"X-Request-Id": unsafe})
    assert REQUEST_ID.match(reply.headers["X-Request-Id"])


async def test_unknown_path_is_404_envelope(api: Api) -> None:
    reply = await api.get("/api/v1/definitely/not/here")
    assert reply.status == 404
    error = reply.json["error"]
    assert error["code"] == "NOT_FOUND"
    assert error["request_id"] == reply.headers["X-Request-Id"]
    assert error["details"] == {}
    assert reply.headers["Content-Type"].startswith("application/json")


async def test_wrong_method_is_405_with_allow(api: Api) -> None:
    reply = await api.request("DELETE", "/api/v1/health")
    assert reply.status == 405
    assert reply.json["error"]["code"] == "METHOD_NOT_ALLOWED"
    allowed = {method.strip() for method in reply.headers["Allow"].split(",")}
    assert {"GET", "HEAD"} <= allowed and "DELETE" not in allowed


async def test_decrypt_is_501_by_design(api: Api) -> None:
    reply = await api.post("/api/v1/decrypt", json={"ciphertext_id": "ct_1"})
    assert reply.status == 501
    assert reply.json["error"]["code"] == "NOT_IMPLEMENTED_BY_DESIGN"
    assert "client" in reply.json["error"]["message"]


async def test_declared_oversize_body_is_413_before_reading(api: Api) -> None:
    # 40 MB + 1 byte declared: refused from the header alone.
    body = b"x" * (40 * 1024 * 1024 + 1)
    reply = await api.post("/api/v1/decrypt", data=body,
                           headers={"Content-Type": "application/json"})
    assert reply.status == 413
    error = reply.json["error"]
    assert error["code"] == "PAYLOAD_TOO_LARGE"
    assert error["details"]["limit_bytes"] == 40 * 1024 * 1024
    assert "/keys/uploads" in error["message"]


async def test_cors_preflight(api: Api) -> None:
    reply = await api.request("OPTIONS", "/api/v1/decrypt", headers={
        "Origin": "https://app.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, idempotency-key",
    })
    assert reply.status == 204
    assert reply.text == ""
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in reply.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip() for h in reply.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed == {"Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"}
    assert REQUEST_ID.match(reply.headers["X-Request-Id"])


async def test_cors_headers_on_ordinary_and_error_responses(api: Api) -> None:
    for path in ("/api/v1/health/live", "/api/v1/missing"):
        reply = await api.get(path, headers={"Origin": "https://app.example.com"})
        assert reply.headers["Access-Control-Allow-Origin"] == "*"
        assert "X-Request-Id" in reply.headers["Access-Control-Expose-Headers"]


async def test_preflight_on_unknown_path_is_404(api: Api) -> None:
    reply = await api.request("OPTIONS", "/api/v1/nowhere",
                              headers={"Access-Control-Request-Method": "GET"})
    assert reply.status == 404


async def test_openapi_document_is_served(mesh: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{mesh.gateway_url}/api/v1/openapi.json") as response:
            assert response.status == 200
            doc = await response.json()
    assert doc["openapi"] == "3.1.0"
    assert "/api/v1/health" in doc["paths"]
    assert doc["paths"]["/api/v1/decrypt"]["post"]["x-wavis-min-role"] == "public"
