"""Cursor pagination of list endpoints (GET /api-keys)."""

from __future__ import annotations

import base64

import pytest

from support.accounts import Tenant, create_account, create_key
from support.http import Api
from wavis.devstack.stack import Stack


@pytest.fixture
async def account_with_keys(mesh: Stack) -> tuple[Tenant, list[str]]:
    account = await create_account(mesh)
    made = [account.api_key[:16]]
    for _ in range(24):
        made.append((await create_key(mesh, account, "viewer"))[:16])
    return account, made[::-1]  # newest first


async def test_pages_newest_first_and_stable_under_inserts(
        api: Api, mesh: Stack, account_with_keys: tuple[Tenant, list[str]]) -> None:
    account, newest_first = account_with_keys
    first = await api.get("/api/v1/api-keys?limit=10", headers=account.auth())
    assert first.status == 200
    assert [k["prefix"] for k in first.json["data"]] == newest_first[:10]
    assert first.json["has_more"] is True
    # A key created between pages shows on no later page and shifts nothing.
    newcomer = (await create_key(mesh, account, "developer"))[:16]
    seen = [k["prefix"] for k in first.json["data"]]
    cursor = first.json["next_cursor"]
    while cursor:
        page = await api.get(f"/api/v1/api-keys?limit=10&cursor={cursor}",
                             headers=account.auth())
        assert page.status == 200
        seen += [k["prefix"] for k in page.json["data"]]
        cursor = page.json["next_cursor"]
        assert page.json["has_more"] is bool(cursor)
    assert seen == newest_first
    assert newcomer not in seen
    latest = await api.get("/api/v1/api-keys?limit=1", headers=account.auth())
    assert latest.json["data"][0]["prefix"] == newcomer


async def test_default_limit_is_20(api: Api, account_with_keys: tuple[Tenant, list[str]],
                                   ) -> None:
    account, _ = account_with_keys
    reply = await api.get("/api/v1/api-keys", headers=account.auth())
    assert len(reply.json["data"]) == 20 and reply.json["has_more"] is True


async def test_last_page_has_no_cursor(api: Api, mesh: Stack) -> None:
    account = await create_account(mesh)
    reply = await api.get("/api/v1/api-keys?limit=100", headers=account.auth())
    assert reply.json == {"data": reply.json["data"], "has_more": False, "next_cursor": None}


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "2.5"])
async def test_bad_limit_is_400(api: Api, mesh: Stack, limit: str) -> None:
    account = await create_account(mesh)
    reply = await api.get(f"/api/v1/api-keys?limit={limit}", headers=account.auth())
    assert reply.status == 400
    assert reply.json["error"]["code"] == "VALIDATION_ERROR"
    assert reply.json["error"]["details"] == {"parameter": "limit"}


async def test_tampered_or_foreign_cursors_are_400(
        api: Api, mesh: Stack, account_with_keys: tuple[Tenant, list[str]]) -> None:
    account, _ = account_with_keys
    cursor = (await api.get("/api/v1/api-keys?limit=5", headers=account.auth())
              ).json["next_cursor"]
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-3] ^= 0x01  # flip one bit of the position
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    other = await create_account(mesh)
    for bad, who in ((tampered, account), ("not-a-cursor!", account), ("", account),
                     (cursor[:-2], account), (cursor, other)):
        if not bad:
            continue
        reply = await api.get(f"/api/v1/api-keys?cursor={bad}", headers=who.auth())
        assert reply.status == 400, bad
        assert reply.json["error"]["code"] == "INVALID_CURSOR"
