"""Server-mode TFHE sessions whose key outlasts the keys service's sync wait (the 128-bit
presets take seconds): 202 with a pending session at once, polled until ready."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from support.accounts import create_account
from support.http import Api
from wavis.devstack.stack import Stack


@pytest.fixture(scope="module")
def slow_keys(make_stack: Callable[..., Stack]) -> Stack:
    """Every key generation answers at once and goes on in the background."""
    return make_stack(env={"WAVIS_KEYGEN_SYNC_SECONDS": "0"})


@pytest.fixture
async def slow_api(slow_keys: Stack, openapi_doc: dict[str, Any]) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, slow_keys.gateway_url, openapi_doc)


async def test_a_slow_key_gives_a_pending_session_to_poll(slow_api: Api,
                                                         slow_keys: Stack) -> None:
    tenant, other = await create_account(slow_keys), await create_account(slow_keys)
    created = await slow_api.post("/api/v1/tfhe/session", headers=tenant.auth(),
                                  json={"preset": "toy"})
    assert created.status == 202, created.text
    session = created.json
    assert session["status"] == "pending" and session["n"] == 0
    location = created.headers["Location"]
    assert location == f"/api/v1/tfhe/session/{session['session_id']}"

    # Used before its key exists: refused, nothing run.
    early = await slow_api.post(location + "/encrypt", headers=tenant.auth(), json={"bit": 1})
    assert early.status == 409, early.text
    assert early.json["error"]["code"] == "SESSION_NOT_READY"
    assert early.json["error"]["details"] == {"session_id": session["session_id"],
                                              "status": "pending"}

    for _ in range(200):
        polled = await slow_api.get(location, headers=tenant.auth())
        assert polled.status == 200 and polled.json["status"] in ("pending", "ready")
        if polled.json["status"] == "ready":
            break
        await asyncio.sleep(0.05)
    assert polled.json["status"] == "ready" and polled.json["n"] > 0
    assert polled.json["key_id"] == session["key_id"]

    bits = await slow_api.post(location + "/encrypt", headers=tenant.auth(),
                               json={"bits": [1, 1]})
    assert bits.status == 200, bits.text
    a, b = bits.json["ciphertexts_b64"]
    nand = await slow_api.post("/api/v1/tfhe/gate", headers=tenant.auth(), json={
        "session_id": session["session_id"], "op": "NAND", "a": a, "b": b})
    assert nand.status == 200, nand.text
    out = await slow_api.post(location + "/decrypt", headers=tenant.auth(),
                              json={"ciphertext_b64": nand.json["result_b64"]})
    assert out.json["bit"] == 0

    assert (await slow_api.get(location, headers=other.auth())).status == 404
    assert (await slow_api.request("DELETE", location, headers=tenant.auth())).status == 204
    assert (await slow_api.get(location, headers=tenant.auth())).status == 404
    gone = await slow_api.get(f"/api/v1/keys/{session['key_id']}", headers=tenant.auth())
    assert gone.status == 404  # the key the session created went with it


async def test_a_fast_key_gives_a_ready_session_at_once(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    created = await api.post("/api/v1/tfhe/session", headers=tenant.auth(),
                              json={"preset": "toy"})
    assert created.status == 201 and created.json["status"] == "ready"
    assert "Location" not in created.headers
    fetched = await api.get(f"/api/v1/tfhe/session/{created.json['session_id']}",
                            headers=tenant.auth())
    assert fetched.status == 200 and fetched.json == created.json
