"""The program builder without a server: what arithmetic on handles records, the request it
sends (numbers broadcast to the key's slot count, fetched when only a key id was given), the
result mapped back to the handles, and mistakes refused before anything is sent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import wavis_sdk
from wavis_sdk.program import MAX_PROGRAM_STEPS, Program

KEY = "wvs_test_0123456789abcdefghijklmnopqrstuv"
KEY_JSON = {"key_id": "key_1", "scheme": "ckks", "mode": "server", "status": "ready",
            "size_bytes": 1, "security_bits": 128, "created_at": "2026-01-01T00:00:00Z",
            "slot_count": 4}


def _output(ref: str, ct: str) -> dict[str, Any]:
    return {"ref": ref, "result_ciphertext_id": ct, "level": 1,
            "noise_budget_remaining": 50.0}


RESULT = {"op_id": "op_1", "operation": "program", "status": "completed",
          "outputs": [_output("$1", "ct_y"), _output("$4", "ct_z")], "steps_evaluated": 5,
          "compute_time_ms": 3.5, "cost_units": 12, "cost_usd": 2.4e-5, "cost_jpy": 3.6e-3,
          "discount_applied": False, "evicted_ciphertext_ids": []}


class Script:
    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.answers.pop(0)


def _build(p: Program) -> tuple[Any, Any, Any]:
    x, w = p.input("ct_x"), p.input("ct_w")
    y = x * w + 1
    turned = y.rotate(1)
    z = turned - y
    p.output(y, z)
    return y, z, turned


def test_arithmetic_records_steps_and_the_result_maps_back() -> None:
    script = Script(httpx.Response(200, json=KEY_JSON),
                    httpx.Response(200, json=RESULT, headers={"X-Noise-Budget-Warning": "true"}))
    client = wavis_sdk.Client(KEY, "http://wavis", http_client=httpx.Client(
        transport=httpx.MockTransport(script)))
    with client.program("key_1") as p:
        y, z, turned = _build(p)
    fetched, sent = script.requests
    assert (fetched.method, fetched.url.path) == ("GET", "/api/v1/keys/key_1")
    assert (sent.method, sent.url.path) == ("POST", "/api/v1/compute/program")
    assert json.loads(sent.content) == {
        "key_id": "key_1", "inputs": {"in0": "ct_x", "in1": "ct_w"},
        "steps": [{"op": "multiply", "args": ["in0", "in1"], "scale_stable": True},
                  {"op": "add-plain", "args": ["$0"], "plain_operand": [1.0] * 4},
                  {"op": "rotate", "args": ["$1"], "rotation_steps": 1},
                  {"op": "negate", "args": ["$1"]},
                  {"op": "add", "args": ["$2", "$3"], "scale_stable": True}],
        "outputs": ["$1", "$4"]}
    assert p.result is not None and p.result.cost_units == 12
    assert p.result.noise_budget_warning and p.result["$4"].ciphertext_id == "ct_z"
    assert y.ciphertext_id == "ct_y" and z.ciphertext_id == "ct_z" and y.output.level == 1
    with pytest.raises(wavis_sdk.ValidationError, match="not an output"):
        _ = turned.ciphertext_id


def test_both_clients_send_the_same_program() -> None:
    def answers() -> list[httpx.Response]:
        return [httpx.Response(200, json=RESULT)]

    one, two = Script(*answers()), Script(*answers())
    key = wavis_sdk.Key.parse(KEY_JSON)  # its slot count is known: nothing fetched
    sync = wavis_sdk.Client(KEY, "http://wavis", http_client=httpx.Client(
        transport=httpx.MockTransport(one)))
    with sync.program(key) as p:
        _build(p)

    async def run() -> None:
        client = wavis_sdk.AsyncClient(KEY, "http://wavis", http_client=httpx.AsyncClient(
            transport=httpx.MockTransport(two)))
        async with client.program(key) as q:
            _build(q)
        assert q.result is not None and q.result.steps_evaluated == 5

    asyncio.run(run())
    assert len(one.requests) == len(two.requests) == 1
    assert one.requests[0].content == two.requests[0].content


def test_mistakes_are_refused_before_anything_is_sent() -> None:
    p = Program("key_1")
    q = Program("key_1")
    x = p.input("ct_x")
    with pytest.raises(wavis_sdk.ValidationError) as foreign:
        q.add(x, q.input("ct_y"))
    assert foreign.value.code == "INVALID_PROGRAM"
    with pytest.raises(wavis_sdk.ValidationError):
        p.output(x)  # an input, not a step
    for _ in range(MAX_PROGRAM_STEPS):
        p.negate(x)
    with pytest.raises(wavis_sdk.ValidationError) as full:
        p.negate(x)
    assert full.value.details == {"step": MAX_PROGRAM_STEPS}
    with pytest.raises(wavis_sdk.ValidationError, match="key_id"):
        Program(object())
    with pytest.raises(TypeError):
        Program("key_1").run()  # built alone: no client to send it
    with pytest.raises(wavis_sdk.ValidationError, match="not run"):
        _ = Program("key_1").negate("ct_x").ciphertext_id
