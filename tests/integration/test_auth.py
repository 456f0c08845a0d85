"""Authentication and roles through the real gateway and metering service."""

from __future__ import annotations

import asyncio
import calendar
import time

import pytest

from support.accounts import create_account, create_key, fresh_ip
from support.http import Api
from wavis.devstack.stack import Stack

MALFORMED = ["", "Bearer", "Bearer ", "wvs_live_short", "Basic dXNlcjpwYXNz",
             "Bearer wvs_prod_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
             "Bearer wvs_live_" + "!" * 32]


async def test_no_key_is_401_envelope(api: Api) -> None:
    reply = await api.get("/api/v1/api-keys", headers={"X-Forwarded-For": fresh_ip()})
    assert reply.status == 401
    assert reply.json["error"]["code"] == "UNAUTHORIZED"
    assert "Bearer" in reply.json["error"]["message"]
    assert "X-RateLimit-Daily-Limit" not in reply.headers  # not an authenticated response


@pytest.mark.parametrize("authorization", MALFORMED)
async def test_malformed_key_is_401(api: Api, authorization: str) -> None:
    reply = await api.get("/api/v1/api-keys", headers={
        "Authorization": authorization, "X-Forwarded-For": fresh_ip()})
    assert reply.status == 401
    assert reply.json["error"]["code"] == "UNAUTHORIZED"


async def test_unknown_key_and_wrong_secret_are_401(api: Api, mesh: Stack) -> None:
    account = await create_account(mesh)
    # Same prefix as a real key, different secret part: must not pass.
    forged = account.api_key[:16] + "A" * (len(account.api_key) - 16)
    for key in ("wvs_live_" + "Z" * 32, forged):
        reply = await api.get("/api/v1/api-keys", headers=account.auth(key, fresh_ip()))
        assert reply.status == 401, key
        assert reply.json["error"]["message"] == "Invalid API key."


async def test_bearer_and_bare_key_both_work(api: Api, mesh: Stack) -> None:
    account = await create_account(mesh)
    for authorization in (f"Bearer {account.api_key}", f"bearer {account.api_key}",
                          account.api_key):
        reply = await api.get("/api/v1/api-keys", headers={"Authorization": authorization})
        assert reply.status == 200, authorization
        assert reply.json["data"][0]["prefix"] == account.api_key[:16]


async def test_roles_gate_each_endpoint(api: Api, mesh: Stack) -> None:
    account = await create_account(mesh)
    viewer = await create_key(mesh, account, "viewer")
    developer = await create_key(mesh, account, "developer")
    body = {"role": "viewer", "environment": "test"}
    assert (await api.get("/api/v1/api-keys", headers=account.auth(viewer))).status == 200
    for key in (viewer, developer):
        reply = await api.post("/api/v1/api-keys", json=body, headers=account.auth(key))
        assert reply.status == 403
        assert reply.json["error"]["code"] == "FORBIDDEN"
        assert "account_admin" in reply.json["error"]["message"]
        denied = await api.request("DELETE", f"/api/v1/api-keys/{viewer[:16]}",
                                   headers=account.auth(key))
        assert denied.status == 403
    created = await api.post("/api/v1/api-keys", json=body, headers=account.auth())
    assert created.status == 201
    assert created.json["api_key"].startswith("wvs_test_")
    assert created.json["role"] == "viewer"


async def test_other_accounts_keys_answer_404(api: Api, mesh: Stack) -> None:
    alice, bob = await create_account(mesh), await create_account(mesh)
    reply = await api.request("DELETE", f"/api/v1/api-keys/{bob.api_key[:16]}",
                              headers=alice.auth())
    assert reply.status == 404
    assert reply.json["error"]["code"] == "NOT_FOUND"
    assert (await api.get("/api/v1/api-keys", headers=bob.auth())).status == 200
    listed = await api.get("/api/v1/api-keys", headers=alice.auth())
    assert [k["prefix"] for k in listed.json["data"]] == [alice.api_key[:16]]


async def test_revoked_key_is_401_at_once(api: Api, mesh: Stack) -> None:
    account = await create_account(mesh)
    doomed = await create_key(mesh, account, "developer")
    assert (await api.get("/api/v1/api-keys", headers=account.auth(doomed))).status == 200
    revoked = await api.request("DELETE", f"/api/v1/api-keys/{doomed[:16]}",
                                headers=account.auth())
    assert revoked.status == 204 and revoked.text == ""
    reply = await api.get("/api/v1/api-keys", headers=account.auth(doomed, fresh_ip()))
    assert reply.status == 401
    assert reply.json["error"]["message"] == "This API key has been revoked."
    listed = await api.get("/api/v1/api-keys", headers=account.auth())
    assert doomed[:16] not in [k["prefix"] for k in listed.json["data"]]
    again = await api.request("DELETE", f"/api/v1/api-keys/{doomed[:16]}",
                              headers=account.auth())
    assert again.status == 404


async def test_rotation_keeps_the_old_key_for_the_grace_period(api: Api, mesh: Stack) -> None:
    account = await create_account(mesh)
    reply = await api.post("/api/v1/keys/apikey/rotate", headers=account.auth())
    assert reply.status == 200
    body = reply.json
    assert body["old_key_prefix"] == account.api_key[:16]
    assert body["environment"] == "live"
    assert body["new_api_key"] != account.api_key
    grace_end = calendar.timegm(time.strptime(body["grace_period_ends_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(grace_end - (time.time() + 86400)) < 120
    for key in (account.api_key, body["new_api_key"]):
        listed = await api.get("/api/v1/api-keys", headers=account.auth(key))
        assert listed.status == 200
    keys = {k["prefix"]: k for k in listed.json["data"]}
    assert keys[account.api_key[:16]]["expires_at"] == body["grace_period_ends_at"]
    assert keys[body["new_api_key"][:16]]["role"] == "account_admin"


async def test_trial_key_cannot_use_viewer_endpoints(api: Api) -> None:
    ip = fresh_ip()
    trial = (await api.post("/api/v1/onboarding/temp-key",
                            headers={"X-Forwarded-For": ip})).json["api_key"]
    reply = await api.get("/api/v1/api-keys", headers={"Authorization": f"Bearer {trial}"})
    assert reply.status == 403


async def test_revocation_reaches_a_second_gateway_within_a_second(
        api: Api, mesh: Stack) -> None:
    second = mesh.start_extra_gateway()
    account = await create_account(mesh)
    victim = await create_key(mesh, account, "viewer")
    url = f"http://127.0.0.1:{second.port}/api/v1/api-keys"
    session = api.session
    # Both gateways have the key in their caches.
    for base in (api.base_url + "/api/v1/api-keys", url):
        async with session.get(base, headers=account.auth(victim)) as response:
            assert response.status == 200
    revoked = await api.request("DELETE", f"/api/v1/api-keys/{victim[:16]}",
                                headers=account.auth())
    assert revoked.status == 204
    started = time.monotonic()
    while True:
        async with session.get(url, headers=account.auth(victim, fresh_ip())) as response:
            if response.status == 401:
                break
        assert time.monotonic() - started < 1.0, "the second gateway still accepts the key"
        await asyncio.sleep(0.02)
