"""Scale-out: two replicas of ckks-compute and of tfhe-eval behind one gateway.

The gateway's channels round-robin over a target naming both replicas
(`ipv4:127.0.0.1:p1,127.0.0.1:p2`, as the headless Services' DNS gives them in Kubernetes).
Which replica served a call is read from each replica's own Prometheus counters
(WAVIS_METRICS_PORT). Shown here: work spreads over both, state made through one replica is
used through the other (ciphertexts and TFHE sessions live in Redis), and SIGKILLing a
ckks-compute replica under load loses no acknowledged request: clients see 200s or the
retryable 502 UPSTREAM_UNAVAILABLE, every 200's result stays readable, and the survivor serves
everything after.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from support.accounts import Tenant, create_account, fresh_ip
from wavis.core.redis_server import free_port
from wavis.devstack.stack import ServiceReplica, Stack, replicas_target

# A 55-bit scale: server-mode decryption's noise leaves about 10 bits (docs/security.md).
PARAMS = {"poly_degree": 2048, "scale_bits": 55, "max_depth": 2, "security_level": "testing"}
COMPUTE = "/wavis.ckks_compute.v1.CkksComputeService/Compute\""
ENCRYPT = "/wavis.ckks_compute.v1.CkksComputeService/EncryptValues\""
TFHE = "/wavis.tfhe_eval.v1.TfheEvalService/"
RETRYABLE = {502: "UPSTREAM_UNAVAILABLE", 503: "SERVICE_UNAVAILABLE"}


@dataclass
class Replicas:
    stack: Stack
    url: str  # the gateway in front of the replicas
    ckks: list[ServiceReplica]
    tfhe: list[ServiceReplica]
    metrics: dict[int, int]  # replica gRPC port -> its /metrics port


@pytest.fixture(scope="module")
def replicas(make_stack: Callable[..., Stack]) -> Replicas:
    stack = make_stack()
    metrics: dict[int, int] = {}
    started: dict[str, list[ServiceReplica]] = {"ckks_compute": [], "tfhe_eval": []}
    for key, group in started.items():
        for _ in range(2):
            port = free_port()
            replica = stack.start_service_replica(key, env={"WAVIS_METRICS_PORT": str(port)})
            metrics[replica.port] = port
            group.append(replica)
    gateway = stack.start_extra_gateway(targets={
        key: replicas_target([r.port for r in group]) for key, group in started.items()})
    return Replicas(stack, f"http://127.0.0.1:{gateway.port}", started["ckks_compute"],
                    started["tfhe_eval"], metrics)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


async def handled(http: aiohttp.ClientSession, replicas: Replicas, replica: ServiceReplica,
                  method: str) -> int:
    """How many calls of `method` (a full name or a prefix) this replica has finished OK."""
    url = f"http://127.0.0.1:{replicas.metrics[replica.port]}/metrics"
    async with http.get(url) as reply:
        text = await reply.text()
    total = 0.0
    for line in text.splitlines():
        match = re.match(r'wavis_grpc_server_handled_total\{(.*)\} (\S+)$', line)
        if match and f'grpc_method="{method}' in match[1] and 'grpc_code="OK"' in match[1]:
            total += float(match[2])
    return int(total)


async def counts(http: aiohttp.ClientSession, replicas: Replicas, group: list[ServiceReplica],
                 method: str) -> list[int]:
    return [await handled(http, replicas, replica, method) for replica in group]


def served_by(before: list[int], after: list[int]) -> int:
    """Index of the one replica whose counter moved."""
    moved = [i for i, (b, a) in enumerate(zip(before, after, strict=True)) if a > b]
    assert len(moved) == 1, (before, after)
    return moved[0]


async def ckks_tenant(http: aiohttp.ClientSession, replicas: Replicas,
                      ) -> tuple[Tenant, dict[str, str], str]:
    tenant = await create_account(replicas.stack, plan="scale")
    headers = tenant.auth(ip=fresh_ip())
    async with http.post(f"{replicas.url}/api/v1/keys/generate", headers=headers,
                         json={"scheme": "ckks", "params": PARAMS}) as reply:
        assert reply.status == 201, await reply.text()
        key_id = (await reply.json())["key_id"]
    return tenant, headers, key_id


async def encrypt(http: aiohttp.ClientSession, url: str, headers: dict[str, str], key_id: str,
                  values: list[float]) -> str:
    async with http.post(f"{url}/api/v1/ciphertexts/encrypt", headers=headers,
                         json={"key_id": key_id, "values": values}) as reply:
        assert reply.status == 201, await reply.text()
        return str((await reply.json())["ciphertext_id"])


async def add(http: aiohttp.ClientSession, url: str, headers: dict[str, str], key_id: str,
              ids: list[str]) -> tuple[int, Any]:
    async with http.post(f"{url}/api/v1/compute/add", headers=headers,
                         json={"key_id": key_id, "ciphertext_ids": ids}) as reply:
        return reply.status, await reply.json()


async def decrypt(http: aiohttp.ClientSession, url: str, headers: dict[str, str],
                  ciphertext_id: str) -> dict[str, Any]:
    async with http.post(f"{url}/api/v1/ciphertexts/{ciphertext_id}/decrypt",
                         headers=headers) as reply:
        assert reply.status == 200, await reply.text()
        return dict(await reply.json())


async def test_ckks_work_spreads_and_ciphertexts_cross_replicas(
        http: aiohttp.ClientSession, replicas: Replicas) -> None:
    url, group = replicas.url, replicas.ckks
    _, headers, key_id = await ckks_tenant(http, replicas)
    start = await counts(http, replicas, group, COMPUTE)

    before = await counts(http, replicas, group, ENCRYPT)
    x = await encrypt(http, url, headers, key_id, [1.0, 2.0, 3.0])
    encrypted_on = served_by(before, await counts(http, replicas, group, ENCRYPT))
    y = await encrypt(http, url, headers, key_id, [0.5, 0.25, -1.0])

    # Compute with x until a call lands on the replica that did not encrypt it.
    crossed = None
    for _ in range(6):
        before = await counts(http, replicas, group, COMPUTE)
        status, body = await add(http, url, headers, key_id, [x, y])
        assert status == 200, body
        if served_by(before, await counts(http, replicas, group, COMPUTE)) != encrypted_on:
            crossed = body["result_ciphertext_id"]
            break
    assert crossed is not None, "round robin never used the other replica"
    # ...and its result, stored by that replica, is decrypted through whichever comes next.
    answer = await decrypt(http, url, headers, crossed)
    error = max(abs(a - b) for a, b in zip(answer["values"][:3], [1.5, 2.25, 2.0], strict=True))
    assert error < 2 ** -answer["precision_bits"], answer
    # The key's decryption budget is one count in Redis, whichever replica decrypts.
    left = [answer["decryptions_remaining"]]
    for _ in range(4):
        left.append((await decrypt(http, url, headers, crossed))["decryptions_remaining"])
    assert left == list(range(left[0], left[0] - 5, -1)), left

    for _ in range(6):
        status, body = await add(http, url, headers, key_id, [x, y])
        assert status == 200, body
    spread = [a - b for a, b in zip(await counts(http, replicas, group, COMPUTE), start,
                                    strict=True)]
    assert all(n >= 2 for n in spread), spread


async def test_tfhe_sessions_spread_and_cross_replicas(http: aiohttp.ClientSession,
                                                       replicas: Replicas) -> None:
    url, group = replicas.url, replicas.tfhe
    tenant = await create_account(replicas.stack, plan="scale")
    headers = tenant.auth(ip=fresh_ip())
    start = await counts(http, replicas, group, TFHE)
    before = await counts(http, replicas, group, TFHE + "CreateSession")
    async with http.post(f"{url}/api/v1/tfhe/session", headers=headers,
                         json={"preset": "toy"}) as reply:
        assert reply.status == 201, await reply.text()
        sid = (await reply.json())["session_id"]
    created_on = served_by(before, await counts(http, replicas, group, TFHE + "CreateSession"))
    async with http.post(f"{url}/api/v1/tfhe/session/{sid}/encrypt", headers=headers,
                         json={"bits": [1, 0]}) as reply:
        assert reply.status == 200, await reply.text()
        a, b = (await reply.json())["ciphertexts_b64"]

    crossed = None
    for _ in range(6):
        before = await counts(http, replicas, group, TFHE + "EvaluateGate")
        async with http.post(f"{url}/api/v1/tfhe/gate", headers=headers,
                             json={"session_id": sid, "op": "OR", "a": a, "b": b}) as reply:
            assert reply.status == 200, await reply.text()
            result = (await reply.json())["result_b64"]
        after = await counts(http, replicas, group, TFHE + "EvaluateGate")
        if served_by(before, after) != created_on:
            crossed = result
            break
    assert crossed is not None, "round robin never used the other replica"
    async with http.post(f"{url}/api/v1/tfhe/session/{sid}/decrypt", headers=headers,
                         json={"ciphertext_b64": crossed}) as reply:
        assert reply.status == 200, await reply.text()
        assert await reply.json() == {"bit": 1}
    spread = [a - b for a, b in zip(await counts(http, replicas, group, TFHE), start,
                                    strict=True)]
    assert all(n >= 1 for n in spread), spread


async def test_killing_a_ckks_replica_under_load_loses_no_acknowledged_request(
        http: aiohttp.ClientSession, replicas: Replicas) -> None:
    url = replicas.url
    _, headers, key_id = await ckks_tenant(http, replicas)
    x = await encrypt(http, url, headers, key_id, [1.0, 2.0])
    y = await encrypt(http, url, headers, key_id, [3.0, 4.0])
    outcomes: list[tuple[int, Any]] = []
    stop_at = time.monotonic() + 4.0

    async def client() -> None:
        while time.monotonic() < stop_at:
            outcomes.append(await add(http, url, headers, key_id, [x, y]))

    clients = [asyncio.create_task(client()) for _ in range(6)]
    await asyncio.sleep(1.5)
    victim = replicas.ckks[0]
    ok_before_kill = sum(status == 200 for status, _ in outcomes)
    victim.child.kill()  # SIGKILL: no drain, in-flight calls are cut
    await asyncio.gather(*clients)
    assert victim.child.process.wait(5) == -9
    assert ok_before_kill > 0

    failures = [(status, body) for status, body in outcomes if status != 200]
    for status, body in failures:
        assert RETRYABLE.get(status) == body["error"]["code"], (status, body)
    acknowledged = [body["result_ciphertext_id"] for status, body in outcomes if status == 200]
    assert len(acknowledged) > ok_before_kill, "nothing succeeded after the kill"
    for ciphertext_id in acknowledged:
        async with http.get(f"{url}/api/v1/ciphertexts/{ciphertext_id}",
                            headers=headers) as reply:
            assert reply.status == 200, (ciphertext_id, await reply.text())

    # The survivor serves everything from now on.
    for _ in range(6):
        status, body = await add(http, url, headers, key_id, [x, y])
        assert status == 200, body
