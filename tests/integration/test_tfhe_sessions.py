"""TFHE sessions over time and across replicas: idle expiry, a bounded key cache (least
recently used keys unloaded, reloaded on demand), and a second tfhe-eval replica serving a
session it never saw. One stack with a 3 s idle time and a 1 MiB key cache."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest

from support.accounts import create_account
from support.http import Api
from support.tfhe_client import ToyTfheClient
from wavis.core.grpc_client import open_channel
from wavis.devstack.children import Child, python_module
from wavis.devstack.stack import Stack
from wavis.generated.tfhe_eval.v1 import tfhe_eval_pb2 as pb
from wavis.generated.tfhe_eval.v1 import tfhe_eval_pb2_grpc

IDLE_SECONDS = 3


@pytest.fixture(scope="module")
def tfhe_stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(env={"WAVIS_TFHE_SESSION_IDLE_SECONDS": str(IDLE_SECONDS),
                           "WAVIS_TFHE_KEY_CACHE_BYTES": str(1024 * 1024),
                           "WAVIS_TFHE_WORKERS": "2"})


@pytest.fixture
async def stack_api(tfhe_stack: Stack, openapi_doc: dict[str, Any]) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, tfhe_stack.gateway_url, openapi_doc)


def _stub(port: int) -> tuple[Any, tfhe_eval_pb2_grpc.TfheEvalServiceStub]:
    channel = open_channel(f"127.0.0.1:{port}")
    return channel, tfhe_eval_pb2_grpc.TfheEvalServiceStub(channel)


async def _describe(port: int) -> pb.DescribeResponse:
    channel, stub = _stub(port)
    async with channel:
        return await stub.Describe(pb.DescribeRequest())


async def test_idle_sessions_expire_with_their_key(stack_api: Api, tfhe_stack: Stack) -> None:
    tenant = await create_account(tfhe_stack)
    reply = await stack_api.post("/api/v1/tfhe/session", headers=tenant.auth(),
                                 json={"preset": "toy"})
    assert reply.status == 201, reply.text
    session = reply.json
    assert session["idle_timeout_seconds"] == IDLE_SECONDS
    path = f"/api/v1/tfhe/session/{session['session_id']}/encrypt"
    for _ in range(3):  # use keeps it alive past the idle time
        await asyncio.sleep(IDLE_SECONDS / 2)
        assert (await stack_api.post(path, headers=tenant.auth(), json={"bit": 1})).status == 200
    await asyncio.sleep(IDLE_SECONDS + 1)
    expired = await stack_api.post(path, headers=tenant.auth(), json={"bit": 1})
    assert expired.status == 404 and expired.json["error"]["code"] == "SESSION_NOT_FOUND"
    key_path = f"/api/v1/keys/{session['key_id']}"
    for _ in range(40):  # a sweeper deletes the key the session generated
        if (await stack_api.get(key_path, headers=tenant.auth())).status == 404:
            break
        await asyncio.sleep(0.25)
    else:
        pytest.fail("the expired session's key was not deleted")


async def test_key_cache_unloads_least_recently_used_and_reloads(
        stack_api: Api, tfhe_stack: Stack) -> None:
    tenant = await create_account(tfhe_stack)
    clients = [ToyTfheClient(), ToyTfheClient()]
    sessions = []
    for client in clients:
        reply = await stack_api.post("/api/v1/tfhe/eval-session", headers=tenant.auth(),
                                     json={"eval_key_b64": client.archive_b64()})
        assert reply.status == 201, reply.text
        sessions.append(reply.json["session_id"])
    port = tfhe_stack.service_ports["tfhe_eval"]
    assert (await _describe(port)).loaded_keys == 1  # a toy key is ~20 MB > 1 MiB budget
    for _ in range(2):
        for client, sid in zip(clients, sessions, strict=True):
            reply = await stack_api.post("/api/v1/tfhe/gate", headers=tenant.auth(), json={
                "session_id": sid, "op": "XNOR", "a": client.encrypt(1),
                "b": client.encrypt(1)})
            assert reply.status == 200, reply.text
            assert client.decrypt(reply.json["result_b64"]) == 1
            described = await _describe(port)
            assert described.loaded_keys == 1 and described.active_sessions >= 1


@pytest.fixture
def second_replica(tfhe_stack: Stack, tmp_path: Any) -> Iterator[int]:
    """Another tfhe-eval process sharing the stack's Redis and keys service."""
    ready = tmp_path / "tfhe-2.json"
    env = tfhe_stack._gateway_env | {"WAVIS_GRPC_PORT": "0", "WAVIS_READY_FILE": str(ready)}
    child = Child("tfhe-eval-2", python_module("services.tfhe_eval"), env,
                  tmp_path / "tfhe-eval-2.log")
    try:
        yield tfhe_stack._wait_ready(child, ready)
    finally:
        child.terminate()
        child.process.wait(timeout=10)


async def test_another_replica_serves_the_session(stack_api: Api, tfhe_stack: Stack,
                                                  second_replica: int) -> None:
    tenant = await create_account(tfhe_stack)
    reply = await stack_api.post("/api/v1/tfhe/session", headers=tenant.auth(),
                                 json={"preset": "toy"})
    assert reply.status == 201, reply.text
    sid = reply.json["session_id"]
    cts = (await stack_api.post(f"/api/v1/tfhe/session/{sid}/encrypt", headers=tenant.auth(),
                                json={"bits": [1, 0]})).json["ciphertexts_b64"]
    channel, stub = _stub(second_replica)
    async with channel:
        other = (await stub.Describe(pb.DescribeRequest())).info.instance_id
        gate = await stub.EvaluateGate(pb.EvaluateGateRequest(
            account_id=tenant.account_id, session_id=sid, gate=pb.Gate(
                op="OR", a=pb.GateInput(ciphertext=base64.b64decode(cts[0])),
                b=pb.GateInput(ciphertext=base64.b64decode(cts[1])))), timeout=60)
        assert gate.session.replica == other  # the record now names the replica holding it
        bit = await stub.Decrypt(pb.DecryptRequest(account_id=tenant.account_id,
                                                   session_id=sid,
                                                   ciphertexts=[gate.result]), timeout=60)
        assert list(bit.bits) == [1]
    # And the first replica still serves it too.
    result = base64.b64encode(gate.result).decode()
    back = await stack_api.post(f"/api/v1/tfhe/session/{sid}/decrypt", headers=tenant.auth(),
                                json={"ciphertext_b64": result})
    assert back.json == {"bit": 1}
