"""The sans-IO core without any server: retry decisions, idempotency keys, error parsing,
driven by hand (an operation is a generator: we answer its effects ourselves)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import wavis_sdk
from wavis_sdk._core import (
    Attempt,
    Config,
    Request,
    Response,
    RetryPolicy,
    Sleep,
    TransportFailure,
    call,
    prepare,
    retry_wait,
)
from wavis_sdk._errors import error_from_response

CONFIG = Config(api_key="wvs_test_0123456789abcdefghijklmnopqrstuv", base_url="http://h")


def answer(status: int, body: Any = None, **headers: str) -> Response:
    content = b"" if body is None else json.dumps(body).encode()
    return Response(status, {k.lower().replace("_", "-"): v for k, v in headers.items()},
                    content)


def envelope(code: str, message: str = "m", **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": "req_42",
                      "details": details}}


def drive(op: Any, outcomes: list[Response | TransportFailure]) -> tuple[Any, list[Any]]:
    """Run an operation, answering its attempts from `outcomes`; (result, effects seen)."""
    effects: list[Any] = []
    value: Any = None
    try:
        while True:
            effect = op.send(value)
            effects.append(effect)
            value = outcomes.pop(0) if isinstance(effect, Attempt) else None
    except StopIteration as stop:
        return stop.value, effects


def test_prepare_sets_auth_agent_and_one_idempotency_key_per_call() -> None:
    first = prepare(CONFIG, Request("POST", "/keys/upload", json={"a": 1}))
    second = prepare(CONFIG, Request("POST", "/keys/upload", json={"a": 1}))
    assert first.headers["Authorization"] == f"Bearer {CONFIG.api_key}"
    assert first.headers["User-Agent"] == f"wavis-sdk/{wavis_sdk.__version__}"
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]
    assert first.body == b'{"a":1}' and first.replay_safe
    assert first.url == "http://h/api/v1/keys/upload"
    assert not prepare(CONFIG.replace(idempotency_keys=False),
                       Request("POST", "/x")).replay_safe
    assert prepare(CONFIG.replace(idempotency_key="mine"),
                   Request("PATCH", "/x")).headers["Idempotency-Key"] == "mine"
    get = prepare(CONFIG, Request("GET", "/keys", params={"limit": 5, "cursor": "a/b="}))
    assert "Idempotency-Key" not in get.headers and get.replay_safe
    assert get.url == "http://h/api/v1/keys?limit=5&cursor=a%2Fb%3D"
    with pytest.raises(wavis_sdk.WavisError, match="WAVIS_API_KEY"):
        prepare(CONFIG.replace(api_key=None), Request("GET", "/keys"))
    assert "Authorization" not in prepare(CONFIG.replace(api_key=None),
                                          Request("GET", "/health", auth=False)).headers


def test_base_url_and_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAVIS_API_KEY", "wvs_live_x")
    monkeypatch.setenv("WAVIS_BASE_URL", "https://api.example.com/api/v1/")
    config = Config.from_env()
    assert (config.api_key, config.base_url) == ("wvs_live_x", "https://api.example.com")
    monkeypatch.delenv("WAVIS_BASE_URL")
    assert Config.from_env(api_key="k").base_url == wavis_sdk.DEFAULT_BASE_URL
    assert Config.from_env(base_url="http://other:1").base_url == "http://other:1"


POLICY = RetryPolicy(max_retries=3, base_backoff=0.5, max_backoff=8.0, max_retry_after=60)
POST = prepare(CONFIG, Request("POST", "/compute/add", json={}))
BARE_POST = prepare(CONFIG.replace(idempotency_keys=False), Request("POST", "/compute/add"))
GET = prepare(CONFIG, Request("GET", "/keys"))
half = lambda: 0.0  # noqa: E731  (jitter at its low end: half the ceiling)


@pytest.mark.parametrize(("prepared", "outcome", "attempt", "wait"), [
    (POST, answer(429, retry_after="7"), 0, 7.0),            # Retry-After honoured
    (BARE_POST, answer(429, retry_after="2"), 0, 2.0),       # refused: safe even without key
    (POST, answer(429, retry_after="61"), 0, None),          # too long: raise at once
    (POST, answer(429), 1, 0.5),                             # no header: backoff
    (POST, answer(503, envelope("MAINTENANCE"), retry_after="3"), 0, 3.0),
    (POST, answer(502, envelope("UPSTREAM_UNAVAILABLE")), 2, 1.0),
    (BARE_POST, answer(502, envelope("UPSTREAM_UNAVAILABLE")), 0, None),
    (GET, answer(502), 0, 0.25),
    (POST, answer(409, envelope("IDEMPOTENCY_IN_PROGRESS")), 0, 0.25),
    (POST, answer(409, envelope("IDEMPOTENCY_KEY_REUSED")), 0, None),
    (POST, answer(400, envelope("INVALID_PARAMS")), 0, None),
    (POST, answer(500, envelope("INTERNAL_ERROR")), 0, None),
    (POST, answer(429, retry_after="1"), 3, None),           # retries used up
    (BARE_POST, TransportFailure(OSError("reset"), sent=True), 0, None),  # may have run
    (BARE_POST, TransportFailure(OSError("refused"), sent=False), 0, 0.25),  # never arrived
    (POST, TransportFailure(OSError("reset"), sent=True), 0, 0.25),
    (POST, TransportFailure(OSError("x"), sent=True), 5, None),
    (GET, TransportFailure(TimeoutError(), sent=True, timed_out=True), 4, None),
    (GET, TransportFailure(TimeoutError(), sent=True, timed_out=True), 2, 1.0),
])
def test_retry_decisions(prepared: Any, outcome: Any, attempt: int, wait: float | None) -> None:
    policy = POLICY if attempt < 4 else RetryPolicy(max_retries=4)
    assert retry_wait(policy, prepared, outcome, attempt, rng=half) == wait


def test_backoff_grows_with_jitter_and_a_ceiling() -> None:
    assert [POLICY.backoff(n, rng=lambda: 1.0) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]
    assert [POLICY.backoff(n, rng=lambda: 0.0) for n in range(3)] == [0.25, 0.5, 1]


def test_a_call_retries_with_the_same_bytes_and_key() -> None:
    op = call(CONFIG, Request("POST", "/compute/multiply", json={"key_id": "k"}))
    result, effects = drive(op, [answer(429, retry_after="1"),
                                 TransportFailure(OSError("reset"), sent=True),
                                 answer(200, {"ok": True})])
    attempts = [e.request for e in effects if isinstance(e, Attempt)]
    assert len(attempts) == 3 and len({id(a) for a in attempts}) == 1  # one prepared request
    sleeps = [e.seconds for e in effects if isinstance(e, Sleep)]
    assert sleeps[0] == 1.0 and 0.5 <= sleeps[1] <= 1.0  # Retry-After, then jittered backoff
    assert result.json() == {"ok": True}


def test_a_call_raises_the_final_answer_typed() -> None:
    op = call(CONFIG, Request("GET", "/keys/key_x"))
    with pytest.raises(wavis_sdk.NotFoundError) as missing:
        drive(op, [answer(404, envelope("KEY_NOT_FOUND", "No key key_x.", key_id="key_x"),
                          x_request_id="req_42")])
    error = missing.value
    assert (error.code, error.message, error.http_status) == ("KEY_NOT_FOUND", "No key key_x.",
                                                              404)
    assert error.details == {"key_id": "key_x"} and "req_42" in str(error)
    op = call(CONFIG, Request("GET", "/keys"))
    with pytest.raises(wavis_sdk.RateLimitError) as limited:
        drive(op, [answer(429, retry_after="3600")])
    assert limited.value.retry_after == 3600 and limited.value.code == "RATE_LIMITED"
    op = call(CONFIG.replace(retry=RetryPolicy(max_retries=1)), Request("GET", "/keys"))
    with pytest.raises(wavis_sdk.APITimeoutError) as timed_out:
        drive(op, [TransportFailure(TimeoutError("slow"), sent=True, timed_out=True)] * 2)
    assert timed_out.value.code == "TIMEOUT" and "2 attempt(s)" in timed_out.value.message
    assert isinstance(timed_out.value, wavis_sdk.UpstreamError)


def test_error_bodies_of_every_shape() -> None:
    empty = error_from_response(429, {"Retry-After": "5", "X-Request-Id": "req_9"}, b"")
    assert isinstance(empty, wavis_sdk.RateLimitError) and empty.retry_after == 5
    assert empty.request_id == "req_9" and "retry after 5 s" in empty.message
    text = error_from_response(502, {}, b"<html>Bad gateway</html>")
    assert isinstance(text, wavis_sdk.UpstreamError) and text.code == "UPSTREAM_UNAVAILABLE"
    assert "Bad gateway" in text.message and "request_id" not in str(text)
    odd = error_from_response(418, {}, b'{"error": "teapot"}')
    assert type(odd) is wavis_sdk.WavisError and odd.code == "HTTP_418"
    local = wavis_sdk.ValidationError("bad", code="INVALID_PARAMS")
    assert str(local) == "INVALID_PARAMS: bad" and local.http_status is None
