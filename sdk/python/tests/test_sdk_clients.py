"""Client and AsyncClient over httpx's mock transport: the same surface, the same requests
for the same calls, pages followed, operations waited for, timeouts and cancels."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import wavis_sdk
from wavis_sdk import _async_client, _client, _operation_handles

KEY = "wvs_test_0123456789abcdefghijklmnopqrstuv"
Handler = Callable[[httpx.Request], httpx.Response]

PAIRS = [(getattr(_client, name), getattr(_async_client, "Async" + name))
         for name in ("Client", "Keys", "Ciphertexts", "Compute", "Operations", "Tfhe",
                      "Billing", "Webhooks", "ApiKeys", "Onboarding")]
PAIRS.append((_operation_handles.Operation, _operation_handles.AsyncOperation))


def _public(cls: type) -> dict[str, Any]:
    return {name: member for name, member in vars(cls).items()
            if not name.startswith("_") and callable(member)}


@pytest.mark.parametrize(("sync", "asynchronous"), PAIRS)
def test_the_async_client_has_the_same_surface(sync: type, asynchronous: type) -> None:
    ours, theirs = _public(sync), _public(asynchronous)
    assert set(ours) - {"close", "iterate"} == set(theirs) - {"close", "iterate"}
    for name, method in ours.items():
        if name in ("close", "iterate", "run"):
            continue
        assert inspect.signature(method).parameters.keys() == \
            inspect.signature(theirs[name]).parameters.keys(), name
        # not coroutines: iterators, clients, program builders (used with `async with`)
        if name in ("list", "events", "invoices", "with_options", "program") and \
                sync in (_client.Client, _client.Keys, _client.Billing, _client.Webhooks,
                         _client.ApiKeys):
            assert not inspect.iscoroutinefunction(theirs[name])
        else:
            assert inspect.iscoroutinefunction(theirs[name]), name
    sync_spaces = {n for n, v in vars(wavis_sdk.Client(KEY)).items() if not n.startswith("_")}
    assert sync_spaces == {n for n, v in vars(wavis_sdk.AsyncClient(KEY)).items()
                           if not n.startswith("_")}


class Script:
    """A fake server: answers in order, records every request."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.answers.pop(0)


def _json(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


KEY_JSON = {"key_id": "key_1", "scheme": "ckks", "mode": "server", "status": "ready",
            "size_bytes": 1, "security_bits": 128, "created_at": "2026-01-01T00:00:00Z"}


def _sync(script: Script, **options: Any) -> wavis_sdk.Client:
    return wavis_sdk.Client(KEY, "http://wavis", http_client=httpx.Client(
        transport=httpx.MockTransport(script)), **options)


def _async(script: Script, **options: Any) -> wavis_sdk.AsyncClient:
    return wavis_sdk.AsyncClient(KEY, "http://wavis", http_client=httpx.AsyncClient(
        transport=httpx.MockTransport(script)), **options)


def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []

    async def fake_async_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(_client.time, "sleep", slept.append)
    monkeypatch.setattr(_async_client.asyncio, "sleep", fake_async_sleep)
    return slept


def test_both_clients_send_the_same_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    slept = _no_sleep(monkeypatch)
    def answers() -> list[httpx.Response]:
        return [httpx.Response(429, headers={"Retry-After": "2"}),
                _json(200, {"values": [1.0], "precision_bits": 30.5})]

    one, two = Script(*answers()), Script(*answers())
    assert _sync(one).ciphertexts.decrypt("ct_1").values == [1.0]
    assert asyncio.run(_async(two).ciphertexts.decrypt("ct_1")).precision_bits == 30.5
    assert slept == [2.0, 2.0]
    for a, b in zip(one.requests, two.requests, strict=True):
        assert (a.method, str(a.url), a.content) == (b.method, str(b.url), b.content)
        assert a.headers["Idempotency-Key"]  # (each call has its own)
    assert one.requests[0].headers["Idempotency-Key"] == one.requests[1].headers[
        "Idempotency-Key"]


def test_lists_follow_the_cursors() -> None:
    def pages() -> list[httpx.Response]:
        return [_json(200, {"data": [{"prefix": "a"}, {"prefix": "b"}], "has_more": True,
                            "next_cursor": "c1"}),
                _json(200, {"data": [{"prefix": "c"}], "has_more": False, "next_cursor": None})]

    script = Script(*pages())
    assert [k.prefix for k in _sync(script).api_keys.list(limit=2)] == ["a", "b", "c"]
    assert [str(r.url) for r in script.requests] == [
        "http://wavis/api/v1/api-keys?limit=2", "http://wavis/api/v1/api-keys?limit=2&cursor=c1"]

    async def collect() -> list[str]:
        client = _async(Script(*pages()))
        return [k.prefix async for k in client.api_keys.list(limit=2)]

    assert asyncio.run(collect()) == ["a", "b", "c"]


RESULT = {"op_id": "op_1", "operation": "add", "status": "completed",
          "result_ciphertext_id": "ct_2", "level": 0, "noise_budget_remaining": 100,
          "cost_units": 1, "cost_usd": 2e-6, "cost_jpy": 3e-4, "compute_time_ms": 1.0}


def test_operations_wait_to_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    slept = _no_sleep(monkeypatch)
    script = Script(_json(202, {"op_id": "op_1", "status": "pending"}),
                    _json(200, {"op_id": "op_1", "status": "pending"}),
                    _json(200, {"op_id": "op_1", "status": "running"}),
                    _json(200, RESULT, **{"X-Noise-Budget-Warning": "false"}))
    client = _sync(script)
    operation = client.compute.submit("add", "key_1", ["ct_a", "ct_b"])
    result = operation.wait(timeout=10)
    assert result.result_ciphertext_id == "ct_2" and result.ciphertext_id == "ct_2"
    assert json.loads(script.requests[0].content)["async"] is True
    assert slept == [0.1, pytest.approx(0.15)]  # growing waits between polls

    failed = Script(_json(200, {"op_id": "op_1", "status": "failed", "error": {
        "code": "NOISE_BUDGET_EXHAUSTED", "message": "no levels left"}}))
    with pytest.raises(wavis_sdk.OperationFailedError) as error:
        _sync(failed).operations.wait("op_1")
    assert error.value.code == "NOISE_BUDGET_EXHAUSTED"


def test_a_wait_that_times_out_can_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(_client.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    monkeypatch.setattr("wavis_sdk._ops.time.monotonic", lambda: clock[0])
    pending = _json(200, {"op_id": "op_1", "status": "running"})
    script = Script(*[pending] * 40, _json(200, {"op_id": "op_1", "status": "cancelled"}))
    with pytest.raises(wavis_sdk.WaitTimeoutError) as late:
        _sync(script).operations.wait("op_1", timeout=5, cancel_on_timeout=True)
    assert isinstance(late.value, TimeoutError) and late.value.details["status"] == "running"
    assert script.requests[-1].method == "DELETE" and clock[0] == pytest.approx(5)


def test_pending_keys_are_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_sleep(monkeypatch)
    script = Script(_json(202, KEY_JSON | {"status": "pending"}, Location="/api/v1/keys/key_1"),
                    _json(200, KEY_JSON | {"status": "pending"}), _json(200, KEY_JSON))
    key = _sync(script).keys.generate_tfhe("fast_128")
    assert key.status == "ready" and len(script.requests) == 3
    failed = Script(_json(200, KEY_JSON | {"status": "failed", "failure": "out of memory"}))
    with pytest.raises(wavis_sdk.OperationFailedError, match="out of memory"):
        _sync(failed).keys.wait("key_1")


def test_with_options_shares_the_pool_and_changes_one_thing() -> None:
    script = Script(_json(201, {"api_key": "wvs_live_x"}), _json(201, {"api_key": "y"}))
    client = _sync(script)
    mine = client.with_options(idempotency_key="order-42", max_retries=0)
    mine.api_keys.create("viewer")
    client.api_keys.create("viewer")
    assert mine._http is client._http and mine.config.retry.max_retries == 0
    assert script.requests[0].headers["Idempotency-Key"] == "order-42"
    assert script.requests[1].headers["Idempotency-Key"].startswith("wavis-sdk-")


def test_local_work_failures_reach_the_operation(tmp_path: Any) -> None:
    # A Blocking step that raises is thrown into the operation (its cleanup runs), then out.
    with pytest.raises(FileNotFoundError):
        _sync(Script()).keys.upload_file(str(tmp_path / "missing.zip"), scheme="tfhe",
                                         kind="tfhe_eval_key")
