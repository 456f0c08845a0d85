"""Idempotency-Key, through real HTTP: replays, reuse, concurrency, 5xx not stored."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import aiohttp
from aiohttp import web

from gateway.endpoints import Endpoint, Reply
from support.accounts import create_account
from support.edge_app import edge_app
from support.http import Api
from wavis.core.roles import TRIAL
from wavis.devstack.stack import Stack

BODY = {"role": "viewer", "environment": "test", "name": "ci"}


async def _count_keys(api: Api, headers: dict[str, str]) -> int:
    return len((await api.get("/api/v1/api-keys?limit=100", headers=headers)).json["data"])


async def test_replay_returns_the_stored_outcome_without_running_again(
        api: Api, mesh: Stack) -> None:
    account = await create_account(mesh)
    headers = account.auth() | {"Idempotency-Key": str(uuid.uuid4())}
    first = await api.post("/api/v1/api-keys", json=BODY, headers=headers)
    second = await api.post("/api/v1/api-keys", json=BODY, headers=headers)
    assert first.status == second.status == 201
    assert second.text == first.text  # the same key, shown again to the retrying client
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert second.headers["Content-Type"].startswith("application/json")
    assert await _count_keys(api, account.auth()) == 2  # the admin key and one new key


async def test_replay_repeats_the_headers_that_describe_the_result(api: Api, mesh: Stack,
                                                                   ) -> None:
    account = await create_account(mesh)
    key = await api.post("/api/v1/keys/generate", headers=account.auth(), json={
        "scheme": "ckks", "params": {"poly_degree": 2048, "scale_bits": 40, "max_depth": 2,
                                     "security_level": "testing"}})
    assert key.status == 201, key.text
    encrypted = await api.post("/api/v1/ciphertexts/encrypt", headers=account.auth(),
                               json={"key_id": key.json["key_id"], "values": [1.5, -2.0]})
    assert encrypted.status == 201, encrypted.text
    body = {"key_id": key.json["key_id"], "ciphertext_ids": [encrypted.json["ciphertext_id"]] * 2}
    described = ("X-Noise-Budget-Remaining", "X-Noise-Budget-Warning", "X-Noise-Budget-Recovery",
                 "X-Security-Warning")
    for path, status, kept in (("/api/v1/compute/multiply", 200, described),
                               ("/api/v1/compute/negate", 202, ("Location",))):
        headers = account.auth() | {"Idempotency-Key": str(uuid.uuid4())}
        fields = body if status == 200 else {**body, "ciphertext_ids": body["ciphertext_ids"][:1],
                                             "async": True}
        first = await api.post(path, json=fields, headers=headers)
        second = await api.post(path, json=fields, headers=headers)
        assert first.status == second.status == status, first.text
        assert second.headers["Idempotent-Replayed"] == "true" and second.text == first.text
        assert {name: second.headers.get(name) for name in kept} == {
            name: first.headers[name] for name in kept}
        # A browser may read every X- header of the answer, and Server-Timing.
        exposed = {name.strip().lower() for name in
                   first.headers["Access-Control-Expose-Headers"].split(",")}
        assert {name.lower() for name in first.headers if name.lower().startswith("x-")} | {
            "server-timing"} <= exposed


async def test_same_key_different_request_is_409(api: Api, mesh: Stack) -> None:
    account = await create_account(mesh)
    headers = account.auth() | {"Idempotency-Key": "order-7"}
    assert (await api.post("/api/v1/api-keys", json=BODY, headers=headers)).status == 201
    changed = await api.post("/api/v1/api-keys", json=BODY | {"name": "other"},
                             headers=headers)
    assert changed.status == 409
    assert changed.json["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    # Keys are per account: another account may use the same Idempotency-Key.
    other = await create_account(mesh)
    reply = await api.post("/api/v1/api-keys", json=BODY,
                           headers=other.auth() | {"Idempotency-Key": "order-7"})
    assert reply.status == 201 and "Idempotent-Replayed" not in reply.headers


async def test_4xx_outcomes_are_replayed_too(api: Api, mesh: Stack) -> None:
    account = await create_account(mesh)
    headers = account.auth() | {"Idempotency-Key": str(uuid.uuid4())}
    bad = {"role": "emperor", "environment": "test"}
    first = await api.post("/api/v1/api-keys", json=bad, headers=headers)
    second = await api.post("/api/v1/api-keys", json=bad, headers=headers)
    assert first.status == second.status == 400
    assert second.text == first.text and second.headers["Idempotent-Replayed"] == "true"


async def test_key_length_is_checked(api: Api, mesh: Stack) -> None:
    account = await create_account(mesh)
    for key, status in (("k" * 257, 400), ("k" * 256, 201)):
        reply = await api.post("/api/v1/api-keys", json=BODY,
                               headers=account.auth() | {"Idempotency-Key": key})
        assert reply.status == status, key
    reply = await api.post("/api/v1/api-keys", json=BODY,
                           headers=account.auth() | {"Idempotency-Key": ""})
    assert reply.status == 400
    assert reply.json["error"]["details"] == {"header": "Idempotency-Key"}


async def test_concurrent_duplicates_run_once(mesh: Stack) -> None:
    runs = itertools.count(1)
    gate = asyncio.Event()

    async def slow_create(request: web.Request) -> web.Response:
        run = next(runs)
        await gate.wait()  # held until every duplicate has arrived
        return web.json_response({"run": run}, status=201)

    endpoint = Endpoint("POST", "/_test/slow", slow_create, "test", "Test",
                        {201: Reply("made")}, min_role=TRIAL)
    account = await create_account(mesh)
    headers = account.auth() | {"Idempotency-Key": "same-for-all"}
    async with edge_app(mesh, endpoint) as base, aiohttp.ClientSession() as session:
        async def post() -> tuple[int, str, dict[str, str]]:
            async with session.post(base + "/api/v1/_test/slow", json={"x": 1},
                                    headers=headers) as response:
                return response.status, await response.text(), dict(response.headers)

        first = asyncio.ensure_future(post())
        await asyncio.sleep(0.2)  # the first request holds the key
        duplicates = await asyncio.gather(*(post() for _ in range(8)))
        gate.set()
        status, text, _ = await first
        replay = await post()
    assert status == 201 and text == '{"run": 1}'
    assert [d[0] for d in duplicates] == [409] * 8
    assert all('"IDEMPOTENCY_IN_PROGRESS"' in d[1] for d in duplicates)
    assert replay[0] == 201 and replay[1] == text
    assert replay[2]["Idempotent-Replayed"] == "true"
    assert next(runs) == 2  # the handler ran exactly once


async def test_5xx_outcomes_are_not_stored(mesh: Stack) -> None:
    runs = itertools.count(1)

    async def flaky(request: web.Request) -> web.Response:
        if next(runs) == 1:
            raise RuntimeError("transient")
        return web.json_response({"ok": True}, status=201)

    endpoint = Endpoint("POST", "/_test/flaky", flaky, "test", "Test", {201: Reply("made")},
                        min_role=TRIAL)
    account = await create_account(mesh)
    headers = account.auth() | {"Idempotency-Key": "retry-me"}
    async with edge_app(mesh, endpoint) as base, aiohttp.ClientSession() as session:
        statuses = []
        for _ in range(3):
            async with session.post(base + "/api/v1/_test/flaky", headers=headers) as response:
                statuses.append((response.status, response.headers.get("Idempotent-Replayed")))
    assert statuses == [(500, None), (201, None), (201, "true")]
