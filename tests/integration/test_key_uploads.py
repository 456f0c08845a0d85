"""Chunked upload of large keys: parts in any order and retried, checksum, expiry, limits."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import zipfile
from collections.abc import Callable

import aiohttp
import pytest

from support.accounts import Tenant, create_account
from support.fhe_client import make_ckks_client, toy_tfhe_archive
from support.http import Api
from wavis.devstack.stack import Stack

PART = 1024 * 1024  # the smallest part size a deployment may set


@pytest.fixture(scope="module")
def uploads_stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(env={"WAVIS_UPLOAD_PART_BYTES": str(PART),
                           "WAVIS_UPLOAD_TTL_SECONDS": "3"})


@pytest.fixture(scope="module")
def toy_archive() -> bytes:
    return toy_tfhe_archive()


async def _start(api: Api, who: Tenant, data: bytes, kind: str = "tfhe_eval_key",
                 scheme: str = "tfhe", sha256: str | None = None):
    return await api.post("/api/v1/keys/uploads", headers=who.auth(), json={
        "scheme": scheme, "kind": kind, "size_bytes": len(data),
        "sha256": sha256 or hashlib.sha256(data).hexdigest()})


async def _put(api: Api, who: Tenant, upload_id: str, number: int, data: bytes):
    return await api.request("PUT", f"/api/v1/keys/uploads/{upload_id}/parts/{number}",
                             data=data, headers=who.auth() | {
                                 "Content-Type": "application/octet-stream"})


def _parts(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.fixture
async def api_for(uploads_stack: Stack, openapi_doc: dict):
    async with aiohttp.ClientSession() as session:
        yield Api(session, uploads_stack.gateway_url, openapi_doc)


async def test_parts_in_any_order_with_a_retry(api_for: Api, uploads_stack: Stack,
                                               toy_archive: bytes) -> None:
    tenant = await create_account(uploads_stack)
    started = await _start(api_for, tenant, toy_archive)
    assert started.status == 201, started.text
    upload = started.json
    parts = _parts(toy_archive, upload["part_size"])
    assert upload["part_size"] == PART and upload["part_count"] == len(parts) > 10
    order = list(range(len(parts)))[::-1]  # last part first
    for index in order:
        reply = await _put(api_for, tenant, upload["upload_id"], index + 1, parts[index])
        assert reply.status == 204, reply.text
    retried = await _put(api_for, tenant, upload["upload_id"], 3, parts[2])
    assert retried.status == 204
    done = await api_for.post(f"/api/v1/keys/uploads/{upload['upload_id']}/complete",
                              headers=tenant.auth())
    assert done.status == 201, done.text
    key = done.json
    assert key["scheme"] == "tfhe" and key["mode"] == "blind" and key["preset"] == "toy"
    assert key["n"] > 0 and key["big_n"] > 0
    assert done.headers["X-Security-Warning"]
    again = await api_for.post(f"/api/v1/keys/uploads/{upload['upload_id']}/complete",
                               headers=tenant.auth())
    assert again.status == 404  # an upload completes once


async def test_wrong_part_size_missing_parts_and_bad_checksum(
        api_for: Api, uploads_stack: Stack, toy_archive: bytes) -> None:
    tenant = await create_account(uploads_stack)
    upload = (await _start(api_for, tenant, toy_archive,
                           sha256="0" * 64)).json
    parts = _parts(toy_archive, upload["part_size"])
    short = await _put(api_for, tenant, upload["upload_id"], 1, parts[0][:-1])
    assert short.status == 400 and short.json["error"]["details"]["expected_bytes"] == PART
    beyond = await _put(api_for, tenant, upload["upload_id"], len(parts) + 1, b"x")
    assert beyond.status == 400
    for number, part in enumerate(parts[:-1], start=1):
        assert (await _put(api_for, tenant, upload["upload_id"], number, part)).status == 204
    url = f"/api/v1/keys/uploads/{upload['upload_id']}/complete"
    missing = await api_for.post(url, headers=tenant.auth())
    assert missing.status == 400
    assert missing.json["error"]["details"]["missing_parts"] == [len(parts)]
    await _put(api_for, tenant, upload["upload_id"], len(parts), parts[-1])
    mismatch = await api_for.post(url, headers=tenant.auth())
    assert mismatch.status == 400
    assert mismatch.json["error"]["details"]["field"] == "sha256"


async def test_archive_that_is_not_a_key_is_invalid(api_for: Api, uploads_stack: Stack) -> None:
    tenant = await create_account(uploads_stack)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("context.bin", b"\x01" * 5000)
        archive.writestr("bootstrap_key.bin", b"\x02" * 5000)
    for data in (buffer.getvalue(), b"not a zip at all" * 100):
        upload = (await _start(api_for, tenant, data)).json
        assert (await _put(api_for, tenant, upload["upload_id"], 1, data)).status == 204
        done = await api_for.post(f"/api/v1/keys/uploads/{upload['upload_id']}/complete",
                                  headers=tenant.auth())
        assert done.status == 400 and done.json["error"]["code"] == "INVALID_KEY"


async def test_ckks_bundle_upload(api_for: Api, uploads_stack: Stack) -> None:
    import base64

    tenant = await create_account(uploads_stack)
    wire = make_ckks_client().wire()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in wire.items():
            archive.writestr(f"{name}.bin", base64.b64decode(data))
    data = buffer.getvalue()
    upload = (await _start(api_for, tenant, data, kind="ckks_key_bundle", scheme="ckks")).json
    for number, part in enumerate(_parts(data, upload["part_size"]), start=1):
        assert (await _put(api_for, tenant, upload["upload_id"], number, part)).status == 204
    done = await api_for.post(f"/api/v1/keys/uploads/{upload['upload_id']}/complete",
                              headers=tenant.auth())
    assert done.status == 201, done.text
    assert done.json["mode"] == "blind" and done.json["params"]["poly_degree"] == 2048


async def test_uploads_belong_to_their_account(api_for: Api, uploads_stack: Stack,
                                               toy_archive: bytes) -> None:
    alice, bob = await create_account(uploads_stack), await create_account(uploads_stack)
    upload = (await _start(api_for, alice, toy_archive)).json
    assert (await _put(api_for, bob, upload["upload_id"], 1, b"x")).status == 404
    done = await api_for.post(f"/api/v1/keys/uploads/{upload['upload_id']}/complete",
                              headers=bob.auth())
    assert done.status == 404


async def test_abandoned_uploads_expire_and_are_cleaned(api_for: Api, uploads_stack: Stack,
                                                        toy_archive: bytes) -> None:
    tenant = await create_account(uploads_stack)
    upload = (await _start(api_for, tenant, toy_archive)).json
    parts = _parts(toy_archive, upload["part_size"])
    assert (await _put(api_for, tenant, upload["upload_id"], 1, parts[0])).status == 204
    folder = uploads_stack.data_dir / "uploads" / upload["upload_id"]
    assert folder.is_dir()
    await asyncio.sleep(3.5)  # the test stack's uploads live 3 s
    late = await _put(api_for, tenant, upload["upload_id"], 2, parts[1])
    assert late.status == 404
    for _ in range(40):  # the sweep runs every 1.5 s here
        if not folder.exists():
            break
        await asyncio.sleep(0.1)
    assert not folder.exists()


async def test_bad_upload_requests(api_for: Api, uploads_stack: Stack) -> None:
    tenant = await create_account(uploads_stack)
    for body, status in (({"scheme": "tfhe", "kind": "zip", "size_bytes": 10,
                           "sha256": "0" * 64}, 400),
                         ({"scheme": "ckks", "kind": "tfhe_eval_key", "size_bytes": 10,
                           "sha256": "0" * 64}, 400),
                         ({"scheme": "tfhe", "kind": "tfhe_eval_key", "size_bytes": 10,
                           "sha256": "xyz"}, 400),
                         ({"scheme": "tfhe", "kind": "tfhe_eval_key", "size_bytes": 0,
                           "sha256": "0" * 64}, 400),
                         ({"scheme": "tfhe", "kind": "tfhe_eval_key"}, 422)):
        reply = await api_for.post("/api/v1/keys/uploads", headers=tenant.auth(), json=body)
        assert reply.status == status, (body, reply.text)


async def test_a_part_refused_before_it_is_read_gets_the_services_answer(
        api_for: Api, uploads_stack: Stack) -> None:
    """The keys service refuses an unknown upload on the header, while the gateway is still
    streaming the part's megabytes: the client gets that refusal (404), never a broken
    stream's 500."""
    tenant = await create_account(uploads_stack)
    body = os.urandom(8 * 1024 * 1024)
    for _ in range(3):
        reply = await _put(api_for, tenant, "upl_doesnotexist0000000", 1, body)
        assert reply.status == 404, reply.text
        assert reply.json["error"]["code"] == "NOT_FOUND"


async def test_upload_status_names_the_parts_received_with_their_checksums(
        api_for: Api, uploads_stack: Stack, toy_archive: bytes) -> None:
    tenant, other = await create_account(uploads_stack), await create_account(uploads_stack)
    upload = (await _start(api_for, tenant, toy_archive)).json
    parts = _parts(toy_archive, upload["part_size"])
    url = f"/api/v1/keys/uploads/{upload['upload_id']}"
    fresh = await api_for.get(url, headers=tenant.auth())
    assert fresh.status == 200, fresh.text
    assert fresh.json == {
        "upload_id": upload["upload_id"], "scheme": "tfhe", "kind": "tfhe_eval_key",
        "size_bytes": len(toy_archive), "sha256": hashlib.sha256(toy_archive).hexdigest(),
        "part_size": PART, "part_count": len(parts), "expires_at": upload["expires_at"],
        "status": "uploading", "parts_received": 0, "bytes_received": 0, "parts": []}

    for number in (3, 1):
        assert (await _put(api_for, tenant, upload["upload_id"], number,
                           parts[number - 1])).status == 204
    assert (await _put(api_for, tenant, upload["upload_id"], 2, b"\0" * PART)).status == 204
    status = (await api_for.get(url, headers=tenant.auth())).json
    assert status["status"] == "uploading"
    assert status["parts_received"] == 3 and status["bytes_received"] == 3 * PART
    assert status["parts"] == [
        {"part_number": 1, "size_bytes": PART, "sha256": hashlib.sha256(parts[0]).hexdigest()},
        {"part_number": 2, "size_bytes": PART, "sha256": hashlib.sha256(b"\0" * PART).hexdigest()},
        {"part_number": 3, "size_bytes": PART, "sha256": hashlib.sha256(parts[2]).hexdigest()}]

    # A retried part replaces the wrong one, and its checksum with it.
    assert (await _put(api_for, tenant, upload["upload_id"], 2, parts[1])).status == 204
    for number in range(4, len(parts) + 1):
        assert (await _put(api_for, tenant, upload["upload_id"], number,
                           parts[number - 1])).status == 204
    status = (await api_for.get(url, headers=tenant.auth())).json
    assert status["status"] == "ready_to_complete"
    assert status["bytes_received"] == len(toy_archive)
    assert [p["sha256"] for p in status["parts"]] == \
        [hashlib.sha256(p).hexdigest() for p in parts]

    for who, path in ((other, url), (tenant, "/api/v1/keys/uploads/upl_doesnotexist0000000")):
        missing = await api_for.get(path, headers=who.auth())
        assert missing.status == 404 and missing.json["error"]["code"] == "NOT_FOUND"
    assert (await api_for.post(url + "/complete", headers=tenant.auth())).status == 201
    assert (await api_for.get(url, headers=tenant.auth())).status == 404  # completed: gone
    assert not await uploads_stack_redis_keys(uploads_stack, upload["upload_id"])


async def uploads_stack_redis_keys(stack: Stack, upload_id: str) -> list[str]:
    import redis.asyncio as aioredis

    assert stack.redis is not None
    client = aioredis.from_url(stack.redis.url, decode_responses=True)
    try:
        return [key async for key in client.scan_iter(f"wavis:keys:upload:{upload_id}*")]
    finally:
        await client.aclose()


async def test_upload_status_needs_an_api_key(api_for: Api) -> None:
    reply = await api_for.get("/api/v1/keys/uploads/upl_doesnotexist0000000")
    assert reply.status == 401
