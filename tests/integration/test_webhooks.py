"""Webhooks end to end: endpoints over HTTP, signed deliveries to a real loopback receiver,
retries with a stable event id, kill -9 mid-retry, the failure window, SSRF refusals."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest

from support.accounts import Tenant, create_account, create_key
from support.http import Api
from support.receiver import HANG, Receiver, running_receiver
from wavis.devstack.stack import Stack

HOOKS_ENV = {
    "WAVIS_WEBHOOK_ALLOW_PRIVATE": "true",
    "WAVIS_WEBHOOK_RETRY_SCHEDULE": ",".join(["0.3"] * 60),
    "WAVIS_WEBHOOK_TIMEOUT_SECONDS": "2",
    "WAVIS_WEBHOOK_DISABLE_AFTER_SECONDS": "2.5",
}


def verify(secret: str, headers: dict[str, str], raw_body: bytes, tolerance: int = 300) -> bool:
    # The README's stdlib snippet, verbatim.
    timestamp = headers["X-WAVIS-Timestamp"]
    signed = timestamp.encode() + b"." + raw_body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(expected, headers["X-WAVIS-Signature"])


@pytest.fixture(scope="module")
def hooks(make_stack: Callable[..., Stack]) -> Iterator[Stack]:
    """A stack of this module's own: private targets allowed, fast retries, short windows."""
    stack = make_stack(env=HOOKS_ENV)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def hooks_openapi(hooks: Stack) -> dict[str, Any]:
    with urllib.request.urlopen(f"{hooks.gateway_url}/api/v1/openapi.json", timeout=5) as reply:
        return json.loads(reply.read())


@pytest.fixture
async def hapi(hooks: Stack, hooks_openapi: dict[str, Any]) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, hooks.gateway_url, hooks_openapi)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


async def _create(api: Api, who: Tenant, url: str, **fields: Any) -> dict[str, Any]:
    reply = await api.post("/api/v1/webhooks", json={"url": url, **fields}, headers=who.auth())
    assert reply.status == 201, reply.text
    return reply.json


async def _deliveries(api: Api, who: Tenant) -> list[dict[str, Any]]:
    reply = await api.get("/api/v1/webhooks/events?limit=100", headers=who.auth())
    assert reply.status == 200, reply.text
    return reply.json["data"]


async def _wait_delivery(api: Api, who: Tenant, status: str, timeout: float = 20.0,
                         ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = [d for d in await _deliveries(api, who) if d["status"] == status]
        if found:
            return found[0]
        assert time.monotonic() < deadline, await _deliveries(api, who)
        await asyncio.sleep(0.2)


async def _restart_webhooks(api: Api, stack: Stack, who: Tenant) -> None:
    """Start the (killed) service again, and wait until the gateway's channel to it has
    reconnected (until then it answers 502, which clients retry)."""
    stack.restart_service("webhooks")
    deadline = time.monotonic() + 15
    while (await api.get("/api/v1/webhooks", headers=who.auth())).status != 200:
        assert time.monotonic() < deadline, "the gateway never reached the restarted service"
        await asyncio.sleep(0.2)


async def test_endpoint_management(hapi: Api, hooks: Stack, receiver: Receiver) -> None:
    owner = await create_account(hooks)
    made = await _create(hapi, owner, receiver.endpoint(), events=["key_created"])
    assert made["webhook_id"].startswith("wh_") and made["enabled"] is True
    assert made["events"] == ["key_created"] and made["disabled_reason"] is None
    assert made["secret"].startswith("whsec_") and len(made["secret"]) >= 32
    assert made["signature_info"]["header"] == "X-WAVIS-Signature"
    given = await _create(hapi, owner, receiver.endpoint("two"), secret="s" * 40)
    assert given["secret"] == "s" * 40 and given["events"] == []
    path = f"/api/v1/webhooks/{made['webhook_id']}"

    got = await hapi.get(path, headers=owner.auth())
    assert got.status == 200 and "secret" not in got.json and got.json["url"] == made["url"]
    first = await hapi.get("/api/v1/webhooks?limit=1", headers=owner.auth())
    assert [w["webhook_id"] for w in first.json["data"]] == [given["webhook_id"]]
    assert first.json["has_more"] is True
    second = await hapi.get(f"/api/v1/webhooks?limit=1&cursor={first.json['next_cursor']}",
                            headers=owner.auth())
    assert [w["webhook_id"] for w in second.json["data"]] == [made["webhook_id"]]
    assert second.json["has_more"] is False

    patched = await hapi.request("PATCH", path, json={"events": [], "enabled": False},
                                 headers=owner.auth())
    assert patched.status == 200, patched.text
    assert patched.json["events"] == [] and patched.json["enabled"] is False
    rotated = await hapi.request("PATCH", path + "/regenerate-secret", headers=owner.auth())
    assert rotated.status == 200 and rotated.json["secret"] != made["secret"]

    # Tenancy and roles.
    stranger = await create_account(hooks)
    assert (await hapi.get(path, headers=stranger.auth())).status == 404
    viewer = await create_key(hooks, owner, "viewer")
    assert (await hapi.get(path, headers=owner.auth(viewer))).status == 200
    denied = await hapi.post("/api/v1/webhooks", json={"url": receiver.endpoint()},
                             headers=owner.auth(viewer))
    assert denied.status == 403

    # Validation.
    for body, status, code in [
        ({"url": "https://8.8.8.8/" + "a" * 2048}, 400, "VALIDATION_ERROR"),
        ({"url": "http://8.8.8.8/hook"}, 400, "INVALID_WEBHOOK_URL"),
        ({"url": "ftp://127.0.0.1/hook"}, 400, "INVALID_WEBHOOK_URL"),
        ({"url": "https://user:pw@127.0.0.1/hook"}, 400, "INVALID_WEBHOOK_URL"),
        ({"url": receiver.endpoint(), "secret": "short"}, 400, "VALIDATION_ERROR"),
        ({"url": receiver.endpoint(), "events": ["nope"]}, 400, "VALIDATION_ERROR"),
        ({"events": []}, 422, "SCHEMA_MISMATCH"),
    ]:
        reply = await hapi.post("/api/v1/webhooks", json=body, headers=owner.auth())
        assert (reply.status, reply.json["error"]["code"]) == (status, code), (body, reply.text)

    assert (await hapi.request("DELETE", path, headers=owner.auth())).status == 204
    assert (await hapi.get(path, headers=owner.auth())).json["error"]["code"] == \
        "WEBHOOK_NOT_FOUND"


async def test_signed_delivery_retried_with_the_same_event_id(
        hapi: Api, hooks: Stack, receiver: Receiver) -> None:
    tenant = await create_account(hooks)
    receiver.script[:] = [500, 500]  # then 200
    hook = await _create(hapi, tenant, receiver.endpoint())
    sent = await hapi.post("/api/v1/webhooks/test", headers=tenant.auth())
    assert sent.status == 202, sent.text
    assert sent.json["webhook_ids"] == [hook["webhook_id"]]

    requests = await receiver.wait_for(3)
    delivered = await _wait_delivery(hapi, tenant, "delivered")
    assert len(receiver.requests) == 3
    ids = {r.headers["X-WAVIS-Event-Id"] for r in requests}
    assert ids == {sent.json["event_id"]}
    assert len({r.body for r in requests}) == 1  # the same bytes on every attempt
    for request in requests:
        assert request.headers["Content-Type"] == "application/json"
        assert verify(hook["secret"], request.headers, request.body)
        assert not verify("x" * 40, request.headers, request.body)
    event = json.loads(requests[0].body)
    assert event["id"] == sent.json["event_id"] and event["type"] == "test"
    assert set(event) == {"id", "type", "created_at", "data"} and event["data"]["message"]
    assert delivered["attempts"] == 3 and delivered["last_status_code"] == 200
    assert delivered["webhook_id"] == hook["webhook_id"]
    assert delivered["event_id"] == sent.json["event_id"]
    got = await hapi.get(f"/api/v1/webhooks/{hook['webhook_id']}", headers=tenant.auth())
    assert got.json["enabled"] is True and got.json["failing_since"] is None


async def test_key_events_reach_subscribed_endpoints(
        hapi: Api, hooks: Stack, receiver: Receiver) -> None:
    tenant = await create_account(hooks)
    everything = await _create(hapi, tenant, receiver.endpoint("all"))
    await _create(hapi, tenant, receiver.endpoint("deletions"), events=["key_deleted"])
    made = await hapi.post("/api/v1/keys/generate", headers=tenant.auth(), json={
        "scheme": "ckks", "params": {"poly_degree": 2048, "scale_bits": 30, "max_depth": 1,
                                     "security_level": "testing"}})
    assert made.status == 201, made.text
    key_id = made.json["key_id"]
    assert (await hapi.request("DELETE", f"/api/v1/keys/{key_id}",
                               headers=tenant.auth())).status == 204
    to_all = await receiver.wait_for(2, path="/all")
    to_deletions = await receiver.wait_for(1, path="/deletions")
    events = {json.loads(r.body)["type"]: json.loads(r.body) for r in to_all}
    assert events["key_created"]["data"] == {"key_id": key_id, "scheme": "ckks",
                                             "mode": "server"}
    assert events["key_deleted"]["data"] == {"key_id": key_id}
    assert [json.loads(r.body)["type"] for r in to_deletions] == ["key_deleted"]
    assert all(verify(everything["secret"], r.headers, r.body) for r in to_all)


async def test_kill_9_mid_retry_then_restart_delivers(
        hapi: Api, hooks: Stack, receiver: Receiver) -> None:
    tenant = await create_account(hooks)
    receiver.script[:] = [500, HANG]  # the second attempt is in flight when the service dies
    await _create(hapi, tenant, receiver.endpoint())
    sent = await hapi.post("/api/v1/webhooks/test", headers=tenant.auth())
    await receiver.wait_for(2)
    hooks.services["webhooks"].kill()  # SIGKILL: no clean-up of any kind
    hooks.services["webhooks"].process.wait()
    await _restart_webhooks(hapi, hooks, tenant)

    requests = await receiver.wait_for(3, timeout=30)
    assert {r.headers["X-WAVIS-Event-Id"] for r in requests} == {sent.json["event_id"]}
    delivered = await _wait_delivery(hapi, tenant, "delivered")
    assert delivered["attempts"] == 3 and delivered["last_status_code"] == 200


async def test_publish_is_durable_while_the_service_is_down(
        hapi: Api, hooks: Stack, receiver: Receiver) -> None:
    """An acknowledged publish survives kill -9 before the fan-out ran."""
    from wavis.core.events import EventPublisher

    tenant = await create_account(hooks)
    await _create(hapi, tenant, receiver.endpoint())
    publisher = EventPublisher(f"127.0.0.1:{hooks.service_ports['webhooks']}")
    try:
        hooks.services["webhooks"].process.send_signal(19)  # SIGSTOP: the fan-out cannot run
        stopped = asyncio.create_task(publisher.publish(tenant.account_id, "test", {
            "message": "durable"}))
        await asyncio.sleep(0.5)
        assert not stopped.done()  # the service is frozen; now let it take the call
        hooks.services["webhooks"].process.send_signal(18)  # SIGCONT
        event_id = await stopped
    finally:
        await publisher.close()
    hooks.services["webhooks"].kill()  # at once: the queue is in Redis, not in the process
    hooks.services["webhooks"].process.wait()
    await _restart_webhooks(hapi, hooks, tenant)
    requests = await receiver.wait_for(1)
    assert requests[0].headers["X-WAVIS-Event-Id"] == event_id


async def test_endpoint_failing_for_the_window_is_disabled(
        hapi: Api, hooks: Stack, receiver: Receiver) -> None:
    tenant = await create_account(hooks)
    receiver.default = 500
    hook = await _create(hapi, tenant, receiver.endpoint())
    await hapi.post("/api/v1/webhooks/test", headers=tenant.auth())
    path = f"/api/v1/webhooks/{hook['webhook_id']}"
    deadline = time.monotonic() + 20
    while (got := (await hapi.get(path, headers=tenant.auth())).json)["enabled"]:
        assert time.monotonic() < deadline, got
        await asyncio.sleep(0.2)
    assert "HTTP 500" in got["disabled_reason"] and got["failing_since"]
    failed = await _wait_delivery(hapi, tenant, "failed")
    assert failed["last_status_code"] in (500, None) and failed["attempts"] >= 2
    count = len(receiver.requests)
    sent = await hapi.post("/api/v1/webhooks/test", headers=tenant.auth())
    assert sent.json["webhook_ids"] == []  # disabled endpoints get nothing
    await asyncio.sleep(1)
    assert len(receiver.requests) == count

    receiver.default = 200
    enabled = await hapi.request("PATCH", path, json={"enabled": True}, headers=tenant.auth())
    assert enabled.json["enabled"] is True and enabled.json["disabled_reason"] is None
    assert enabled.json["failing_since"] is None
    await hapi.post("/api/v1/webhooks/test", headers=tenant.auth())
    await receiver.wait_for(count + 1)


@pytest.mark.parametrize("url", [
    "https://10.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://localhost:8443/hook",  # a name resolving to 127.0.0.1
    "https://127.0.0.1/hook",
    "https://[::1]/hook",
    "https://printer.local/hook",
    "https://api.corp.internal/hook",
    "http://127.0.0.1:9/hook",
])
async def test_ssrf_refused_without_the_dev_flag(api: Api, mesh: Stack, url: str) -> None:
    tenant = await create_account(mesh)
    reply = await api.post("/api/v1/webhooks", json={"url": url}, headers=tenant.auth())
    assert reply.status == 400, reply.text
    assert reply.json["error"]["code"] == "INVALID_WEBHOOK_URL"
    assert reply.json["error"]["details"] == {"field": "url"}


@pytest.mark.parametrize("url", [
    "https://169.254.169.254/latest/meta-data/",
    "http://169.254.169.254/latest/meta-data/",
    "https://[::ffff:169.254.169.254]/",
    "https://[fe80::1]/",
    "https://224.0.0.1/",
    "https://240.0.0.1/",
    "https://0.0.0.0/",
])
async def test_link_local_multicast_reserved_refused_even_with_the_dev_flag(
        hapi: Api, hooks: Stack, url: str) -> None:
    tenant = await create_account(hooks)
    reply = await hapi.post("/api/v1/webhooks", json={"url": url}, headers=tenant.auth())
    assert reply.status == 400, reply.text
    assert reply.json["error"]["code"] == "INVALID_WEBHOOK_URL"
