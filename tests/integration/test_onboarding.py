"""Trial keys: issue, revoke, per-IP limit, expiry and the 10-operation allowance."""

from __future__ import annotations

import asyncio
import calendar
import time
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp import web

from gateway.endpoints import Endpoint, Reply
from support.accounts import create_account, fresh_ip
from support.edge_app import edge_app
from support.http import Api
from wavis.core.errors import WavisError
from wavis.core.roles import TRIAL
from wavis.devstack.stack import Stack


async def _temp_key(api: Api, ip: str | None = None) -> dict:
    reply = await api.post("/api/v1/onboarding/temp-key",
                           headers={"X-Forwarded-For": ip or fresh_ip()})
    assert reply.status == 200, reply.text
    return reply.json


async def test_temp_key_is_a_30_minute_10_operation_trial(api: Api) -> None:
    body = await _temp_key(api)
    assert body["api_key"].startswith("wvs_trial_") and len(body["api_key"]) >= 42
    assert body["ops_limit"] == 10
    assert body["key_prefix"] == body["api_key"][:16]
    expires = calendar.timegm(time.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(expires - (time.time() + 1800)) < 60
    assert body["key_prefix"] in body["message"]


async def test_five_per_ip_per_minute(api: Api) -> None:
    ip = fresh_ip()
    statuses = [(await api.post("/api/v1/onboarding/temp-key",
                                headers={"X-Forwarded-For": ip})) for _ in range(6)]
    assert [r.status for r in statuses] == [200] * 5 + [429]
    assert statuses[-1].text == "" and 1 <= int(statuses[-1].headers["Retry-After"]) <= 60
    assert (await api.post("/api/v1/onboarding/temp-key",
                           headers={"X-Forwarded-For": fresh_ip()})).status == 200


async def test_revoke_needs_the_key_itself(api: Api, mesh: Stack) -> None:
    """The 16-character prefix shows in listings and logs: it alone revokes nothing; the key
    itself, as the bearer, revokes it."""
    body = await _temp_key(api)
    key, prefix = body["api_key"], body["key_prefix"]
    bare = await api.request("DELETE", f"/api/v1/onboarding/temp-key/{prefix}",
                             headers={"X-Forwarded-For": fresh_ip()})
    assert bare.status == 401 and bare.json["error"]["code"] == "UNAUTHORIZED"
    other = (await _temp_key(api))["api_key"]
    someone_else = await api.request("DELETE", f"/api/v1/onboarding/temp-key/{prefix}", headers={
        "Authorization": f"Bearer {other}", "X-Forwarded-For": fresh_ip()})
    assert someone_else.status == 404
    still = await api.post("/api/v1/keys/apikey/rotate", headers={
        "Authorization": f"Bearer {key}", "X-Forwarded-For": fresh_ip()})
    assert still.status == 403  # authenticates (trial keys cannot rotate): not revoked
    reply = await api.request("DELETE", f"/api/v1/onboarding/temp-key/{prefix}", headers={
        "Authorization": f"Bearer {key}", "X-Forwarded-For": fresh_ip()})
    assert reply.status == 204
    rotate = await api.post("/api/v1/keys/apikey/rotate", headers={
        "Authorization": f"Bearer {key}", "X-Forwarded-For": fresh_ip()})
    assert rotate.status == 401


async def test_revoke_refuses_short_and_non_trial_prefixes(api: Api, mesh: Stack) -> None:
    body = await _temp_key(api)
    auth = {"Authorization": f"Bearer {body['api_key']}", "X-Forwarded-For": fresh_ip()}
    short = await api.request("DELETE", "/api/v1/onboarding/temp-key/wvs_trial_abc",
                              headers=auth)
    assert short.status == 400
    account = await create_account(mesh)
    live = await api.request("DELETE", f"/api/v1/onboarding/temp-key/{account.api_key[:16]}",
                             headers=account.auth())
    assert live.status == 404  # a live key is never revoked through the public endpoint
    assert (await api.get("/api/v1/api-keys", headers=account.auth())).status == 200


@pytest.fixture(scope="module")
def quick_trials(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(env={"WAVIS_TRIAL_SECONDS": "2"})


def _operation_endpoint() -> Endpoint:
    async def operate(request: web.Request) -> web.Response:
        if request.query.get("fail"):
            raise WavisError("VALIDATION_ERROR", "rejected before running")
        return web.json_response({"done": True})

    return Endpoint("POST", "/_test/operate", operate, "test", "Test", {200: Reply("ok")},
                    min_role=TRIAL, operation=True)


async def test_trial_expires(quick_trials: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{quick_trials.gateway_url}/api/v1/onboarding/temp-key",
                                headers={"X-Forwarded-For": fresh_ip()}) as response:
            key = (await response.json())["api_key"]
        async with edge_app(quick_trials, _operation_endpoint()) as base:
            url = base + "/api/v1/_test/operate"
            headers = {"Authorization": f"Bearer {key}", "X-Forwarded-For": fresh_ip()}
            async with session.post(url, headers=headers) as response:
                assert response.status == 200
            await asyncio.sleep(2.2)
            async with session.post(url, headers=headers) as response:
                assert response.status == 401
                assert (await response.json())["error"]["message"] == "This API key has expired."


async def test_eleventh_operation_is_402_and_failures_are_free(mesh: Stack, api: Api) -> None:
    key = (await _temp_key(api))["api_key"]
    headers = {"Authorization": f"Bearer {key}", "X-Forwarded-For": fresh_ip()}
    async with edge_app(mesh, _operation_endpoint()) as base, \
            aiohttp.ClientSession() as session:
        url = base + "/api/v1/_test/operate"
        for _ in range(3):  # rejected operations cost nothing
            async with session.post(url + "?fail=1", headers=headers) as response:
                assert response.status == 400
        results = []
        for _ in range(11):
            async with session.post(url, headers=headers) as response:
                results.append((response.status, await response.json()))
    assert [status for status, _ in results] == [200] * 10 + [402]
    assert results[-1][1]["error"]["code"] == "QUOTA_EXHAUSTED"


async def test_an_idempotent_replay_costs_no_operation(mesh: Stack, api: Api) -> None:
    key = (await _temp_key(api))["api_key"]
    headers = {"Authorization": f"Bearer {key}", "X-Forwarded-For": fresh_ip()}
    async with edge_app(mesh, _operation_endpoint()) as base, \
            aiohttp.ClientSession() as session:
        url = base + "/api/v1/_test/operate"
        for attempt in range(4):  # the first runs; the others replay its answer
            async with session.post(url, headers=headers | {"Idempotency-Key": "once"}) as r:
                assert r.status == 200
                assert (r.headers.get("Idempotent-Replayed") == "true") == (attempt > 0)
        statuses = []
        for _ in range(10):
            async with session.post(url, headers=headers) as response:
                statuses.append(response.status)
    assert statuses == [200] * 9 + [402]


async def test_concurrent_operations_never_exceed_the_allowance(mesh: Stack, api: Api) -> None:
    key = (await _temp_key(api))["api_key"]
    async with edge_app(mesh, _operation_endpoint()) as base, \
            aiohttp.ClientSession() as session:
        async def one() -> int:
            async with session.post(base + "/api/v1/_test/operate", headers={
                    "Authorization": f"Bearer {key}", "X-Forwarded-For": fresh_ip()}) as r:
                return r.status

        statuses = await asyncio.gather(*(one() for _ in range(25)))
    assert sorted(statuses) == [200] * 10 + [402] * 15
