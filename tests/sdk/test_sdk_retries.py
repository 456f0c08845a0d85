"""What the SDK does without being asked, against the real gateway: it waits out a 429's
Retry-After and succeeds, and a POST whose answer was lost is retried with the same
Idempotency-Key, so it runs and is billed once."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import wavis_sdk
from sdk_support import DroppingProxy, gateway_with, sdk_client
from wavis_sdk.ckks import CkksKeys

from support.accounts import Tenant, create_account
from wavis.devstack.stack import Stack

LOCKOUT_SECONDS = 2


class Recorder:
    """httpx event hooks: every request sent and every answer received."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response] = []

    def hooks(self) -> dict[str, list]:
        return {"request": [self.requests.append], "response": [self.responses.append]}

    def async_hooks(self) -> dict[str, list]:
        async def on_request(request: httpx.Request) -> None:
            self.requests.append(request)

        async def on_response(response: httpx.Response) -> None:
            self.responses.append(response)

        return {"request": [on_request], "response": [on_response]}


async def test_a_429_is_waited_out_and_the_retry_succeeds(mesh: Stack, tmp_path: Path) -> None:
    tenant = await create_account(mesh)
    async with gateway_with(mesh, auth_lockout_seconds=LOCKOUT_SECONDS) as url:
        # Ten failed authentications under the key's public prefix lock that prefix: the
        # real gateway then answers 429 with Retry-After even to the valid key.
        async with httpx.AsyncClient() as raw:
            wrong = tenant.api_key[:16] + secrets.token_urlsafe(24)[:32]
            for _ in range(10):
                refused = await raw.get(f"{url}/api/v1/api-keys", headers={
                    "Authorization": f"Bearer {wrong}", "X-Forwarded-For": "198.51.100.77"})
                assert refused.status_code == 401
        recorder = Recorder()
        async with httpx.AsyncClient(event_hooks=recorder.async_hooks()) as http, \
                wavis_sdk.AsyncClient(tenant.api_key, url, http_client=http,
                                      default_headers={"X-Forwarded-For": tenant.client_ip},
                                      state_dir=str(tmp_path)) as client:
            started = time.monotonic()
            created = await client.api_keys.create("viewer", name="after-lockout")
            waited = time.monotonic() - started
            assert created.api_key.startswith("wvs_live_") and created.role == "viewer"
            statuses = [r.status_code for r in recorder.responses]
            assert statuses == [429, 201]
            assert recorder.responses[0].headers["Retry-After"] in ("1", "2")
            assert waited >= float(recorder.responses[0].headers["Retry-After"]) - 0.05
            keys = [r.headers["Idempotency-Key"] for r in recorder.requests]
            assert len(keys) == 2 and keys[0] == keys[1]  # one key for the logical call
            assert recorder.requests[0].headers["User-Agent"] == \
                f"wavis-sdk/{wavis_sdk.__version__}"
            names = [k.name async for k in client.api_keys.list(limit=100)]
            assert names.count("after-lockout") == 1


@pytest.fixture
def blind_setup(mesh: Stack, tmp_path: Path) -> tuple[Tenant, CkksKeys, str, list[str]]:
    """A fresh account with a blind key and two ciphertexts, set up without the proxy."""
    from sdk_support import new_tenant

    tenant = new_tenant(mesh)
    keys = CkksKeys.generate(2048, 40, 1, "testing", rotations=[])
    with sdk_client(mesh, tenant, tmp_path / "setup") as direct:
        key = direct.keys.upload(keys)
        ids = [direct.ciphertexts.upload(keys.encrypt(v)).ciphertext_id
               for v in ([1.5, -2.0], [2.0, 3.0])]
    return tenant, keys, key.key_id, ids


def _usage(mesh: Stack, tenant: Tenant, tmp_path: Path) -> dict:
    with sdk_client(mesh, tenant, tmp_path / "usage") as direct:
        return dict(direct.billing.usage().by_operation)


def test_a_post_retried_after_a_dropped_connection_runs_and_bills_once(
        mesh: Stack, blind_setup, tmp_path: Path) -> None:
    tenant, keys, key_id, ids = blind_setup
    recorder = Recorder()
    with DroppingProxy(mesh.gateway_url, drop=1) as proxy, \
            httpx.Client(event_hooks=recorder.hooks()) as http, \
            sdk_client(proxy.url, tenant, tmp_path, http_client=http) as client:
        product = client.compute.multiply(key_id, *ids, return_ciphertext=True)
        assert proxy.dropped == 1 and proxy.connections == 2
    assert np.allclose(keys.decrypt(product, length=2), [3.0, -6.0], atol=1e-3)
    sent = [r.headers["Idempotency-Key"] for r in recorder.requests]
    assert len(sent) == 2 and sent[0] == sent[1]
    assert [r.headers.get("Idempotent-Replayed") for r in recorder.responses] == ["true"]
    usage = _usage(mesh, tenant, tmp_path)
    assert usage["multiply"]["count"] == 1 and usage["multiply"]["fcu"] == 5


def test_without_idempotency_keys_a_post_is_not_repeated(mesh: Stack, blind_setup,
                                                         tmp_path: Path) -> None:
    tenant, _, key_id, ids = blind_setup
    with DroppingProxy(mesh.gateway_url, drop=1) as proxy, \
            sdk_client(proxy.url, tenant, tmp_path, idempotency_keys=False) as client:
        with pytest.raises(wavis_sdk.APIConnectionError) as broken:
            client.compute.multiply(key_id, *ids)
        assert broken.value.code == "CONNECTION_ERROR" and proxy.connections == 1
        # GETs are idempotent: retried all the same (the proxy drops only its first).
        proxy.drop = 2
        assert client.keys.get(key_id).key_id == key_id
        assert proxy.connections == 3
    assert _usage(mesh, tenant, tmp_path)["multiply"]["count"] == 1  # it ran, once
