"""Numbers in request bodies and query strings: a fraction where an integer goes, a value out
of its range, NaN or Infinity is refused in the envelope naming the field, never a 500; a
whole number written 29.0 is the integer 29."""

from __future__ import annotations

import pytest

from support.accounts import create_account
from support.http import Api
from wavis.devstack.stack import Stack

_SHA = "0" * 64
_CKKS = {"poly_degree": 1024, "scale_bits": 30, "max_depth": 2, "security_level": "testing"}


@pytest.mark.parametrize(("path", "body", "field"), [
    # Found by fuzzing: each answered 500 (the protobuf conversion refused the value).
    ("/keys/uploads", {"scheme": "tfhe", "kind": "tfhe_eval_key",
                       "size_bytes": 213200860199.0, "sha256": _SHA}, "size_bytes"),
    ("/keys/generate", {"scheme": "ckks", "params": _CKKS | {"max_depth": 31.0}},
     "params.max_depth"),
    ("/keys/generate", {"scheme": "ckks", "params": _CKKS | {"max_depth": 2.5}},
     "params.max_depth"),
    ("/compute/rotate", {"key_id": "key_x", "ciphertext_ids": ["ct_x"],
                         "rotation_steps": 2 ** 63}, "rotation_steps"),
    ("/compute", {"operation": "rotate", "key_id": "key_x", "ciphertext_ids": ["ct_x"],
                  "rotation_steps": -(2 ** 64)}, "rotation_steps"),
    ("/keys/uploads", {"scheme": "tfhe", "kind": "tfhe_eval_key", "size_bytes": 2 ** 70,
                       "sha256": _SHA}, "size_bytes"),
    ("/keys/generate", {"scheme": "ckks", "params": _CKKS, "rotations": [1, 2 ** 40]},
     "rotations.1"),
    ("/ciphertexts/ct_x/decrypt", {"count": 2 ** 63}, "count"),
    ("/compute/rotate", {"key_id": "key_x", "ciphertext_ids": ["ct_x"],
                         "rotation_steps": 3.5}, "rotation_steps"),
    ("/tfhe/session/sess_x/encrypt", {"bits": [1, 0.5]}, "bits.1"),
])
async def test_out_of_range_or_fractional_numbers_are_refused(
        api: Api, mesh: Stack, path: str, body: dict[str, object], field: str) -> None:
    tenant = await create_account(mesh)
    reply = await api.post("/api/v1" + path, json=body, headers=tenant.auth())
    assert reply.status in (400, 422), reply.text
    assert reply.json["error"]["details"]["field"] == field, reply.text
    assert field in reply.json["error"]["message"]


async def test_whole_numbers_written_as_floats_are_integers(api: Api, mesh: Stack) -> None:
    """Found by fuzzing as 500s: max_depth 29.0 (protobuf refused the float)."""
    tenant = await create_account(mesh)
    reply = await api.post("/api/v1/keys/generate", headers=tenant.auth(), json={
        "scheme": "ckks", "params": _CKKS | {"max_depth": 2.0, "scale_bits": 30.0},
        "rotations": [1.0]})
    assert reply.status in (201, 202), reply.text
    assert reply.json["max_level"] == 2 or reply.json["status"] == "pending"
    upload = await api.post("/api/v1/keys/uploads", headers=tenant.auth(), json={
        "scheme": "tfhe", "kind": "tfhe_eval_key", "size_bytes": 127.0, "sha256": _SHA})
    assert upload.status == 201, upload.text


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_numbers_are_not_json(api: Api, mesh: Stack, number: str) -> None:
    tenant = await create_account(mesh)
    text = '{"key_id": "key_x", "values": [1.0, ' + number + ']}'
    reply = await api.post("/api/v1/ciphertexts/encrypt", data=text, headers=tenant.auth() | {
        "Content-Type": "application/json"})
    assert reply.status == 422, reply.text
    assert reply.json["error"]["code"] == "INVALID_JSON"


async def test_huge_ckks_values_are_refused_naming_the_field(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    reply = await api.post("/api/v1/ciphertexts/encrypt", headers=tenant.auth(), json={
        "key_id": "key_x", "values": [1.0, 1e300]})
    assert reply.status == 400, reply.text
    assert reply.json["error"]["details"]["field"] == "values.1"


@pytest.mark.parametrize("query", ["limit=20.0", "limit=1e1", f"limit={2 ** 64}", "limit="])
async def test_query_numbers_are_whole_and_in_range(api: Api, mesh: Stack, query: str) -> None:
    tenant = await create_account(mesh)
    reply = await api.get(f"/api/v1/keys?{query}", headers=tenant.auth())
    assert reply.status == 400, reply.text
    assert reply.json["error"]["details"]["parameter"] == "limit"


@pytest.mark.parametrize("period", ["", "2026-13", "2026-1", "0000-01", "2026-00"])
async def test_usage_period_must_be_a_month(api: Api, mesh: Stack, period: str) -> None:
    tenant = await create_account(mesh)
    reply = await api.get(f"/api/v1/billing/usage?period={period}", headers=tenant.auth())
    assert reply.status == 400, reply.text
    assert reply.json["error"]["details"]["parameter"] == "period"


@pytest.mark.parametrize("number", ["0", "1.0", "٣", "+1", f"{2 ** 64}"])
async def test_part_numbers_are_whole_and_in_range(api: Api, mesh: Stack, number: str) -> None:
    tenant = await create_account(mesh)
    reply = await api.request("PUT", f"/api/v1/keys/uploads/upl_x/parts/{number}", data=b"x",
                              headers=tenant.auth() | {"Content-Type": "application/octet-stream"})
    assert reply.status == 400, reply.text
    assert reply.json["error"]["details"]["parameter"] == "n"
