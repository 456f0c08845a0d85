"""Server-mode TFHE sessions decrypt and evaluate only the ciphertexts they issued, unchanged
(docs/security.md, docs/decisions/0090-server-mode-tfhe-ciphertexts-are-authenticated.md): a
hand-built LWE ciphertext, an altered one and another session's are refused before the secret
key or a worker sees them, and cost nothing; what the session issues (encryptions, gate and
batch outputs) works as before. Blind sessions take the client's own OpenFHE bytes as before.
Toy keys only."""

from __future__ import annotations

import base64

from support.accounts import Tenant, create_account
from support.http import Api, Reply
from support.tfhe_client import ToyTfheClient, toy_lwe_ciphertext
from wavis.devstack.stack import Stack

REFUSED = "UNAUTHENTICATED_CIPHERTEXT"
Q = 512  # the toy presets' LWE modulus: a bit m is m * Q/4 plus a small error


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _altered(text: str) -> str:
    """The ciphertext with Q/4 added to its b (the 64-bit word 16 bytes from the end):
    what flips the bit it decrypts to."""
    data = bytearray(base64.b64decode(text))
    data[-16] ^= 0x80
    return _b64(bytes(data))


async def _session(api: Api, tenant: Tenant) -> dict:
    reply = await api.post("/api/v1/tfhe/session", headers=tenant.auth(),
                           json={"preset": "toy"})
    assert reply.status == 201, reply.text
    return dict(reply.json)


async def _encrypt(api: Api, tenant: Tenant, sid: str, bits: list[int]) -> list[str]:
    reply = await api.post(f"/api/v1/tfhe/session/{sid}/encrypt", headers=tenant.auth(),
                           json={"bits": bits})
    assert reply.status == 200, reply.text
    return list(reply.json["ciphertexts_b64"])


async def _decrypt(api: Api, tenant: Tenant, sid: str, texts: list[str]) -> Reply:
    return await api.post(f"/api/v1/tfhe/session/{sid}/decrypt", headers=tenant.auth(),
                          json={"ciphertexts_b64": texts})


async def _gate(api: Api, tenant: Tenant, sid: str, op: str, **inputs: str) -> Reply:
    return await api.post("/api/v1/tfhe/gate", headers=tenant.auth(),
                          json={"session_id": sid, "op": op, **inputs})


async def _batch(api: Api, tenant: Tenant, sid: str, gates: list[dict]) -> Reply:
    return await api.post("/api/v1/tfhe/batch", headers=tenant.auth(),
                          json={"session_id": sid, "gates": gates})


async def _fcu_used(api: Api, tenant: Tenant) -> int:
    usage = await api.get("/api/v1/billing/usage", headers=tenant.auth())
    assert usage.status == 200, usage.text
    return int(usage.json["total_fcu"])


def _refused(reply: Reply, **details: object) -> None:
    assert reply.status == 400, reply.text
    assert reply.json["error"]["code"] == REFUSED, reply.text
    assert details.items() <= reply.json["error"]["details"].items(), reply.text


async def test_hand_built_ciphertexts_do_not_query_the_secret_key(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh, plan="payg")
    session = await _session(api, tenant)
    sid, n = session["session_id"], session["n"]
    # a = (Q/4)·e_i, b = 0 has phase -(Q/4)·s_i: its decryption is -s_i mod 4, so n such
    # queries would hand out the whole secret key.
    queries = [_b64(toy_lwe_ciphertext([Q // 4 if j == i else 0 for j in range(n)], 0))
               for i in range(n)]
    _refused(await _decrypt(api, tenant, sid, queries), index=0)
    # (0, Q/4) is a noiseless encryption of 1 under any key.
    trivial_one = _b64(toy_lwe_ciphertext([0] * n, Q // 4))
    _refused(await _decrypt(api, tenant, sid, [trivial_one]), index=0)
    # A gate's output is a function of its inputs' phases, and the session would vouch for it:
    # a gate on a hand-built input is refused the same way, before it is charged.
    (mine,) = await _encrypt(api, tenant, sid, [1])
    _refused(await _gate(api, tenant, sid, "NOT", a=queries[0]), input="a")
    _refused(await _gate(api, tenant, sid, "AND", a=mine, b=queries[1]), input="b")
    # A ciphertext of a key of the same parameters, made by the caller.
    _refused(await _gate(api, tenant, sid, "OR", a=ToyTfheClient().encrypt(1), b=mine),
             input="a")
    assert await _fcu_used(api, tenant) == 0
    assert (await _decrypt(api, tenant, sid, [mine])).json == {"bits": [1]}


async def test_altered_ciphertexts_are_refused(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh, plan="payg")
    sid = (await _session(api, tenant))["session_id"]
    one, zero = await _encrypt(api, tenant, sid, [1, 0])
    _refused(await _decrypt(api, tenant, sid, [one, _altered(zero)]), index=1)
    single = await api.post(f"/api/v1/tfhe/session/{sid}/decrypt", headers=tenant.auth(),
                            json={"ciphertext_b64": _altered(one)})
    _refused(single, index=0)
    _refused(await _gate(api, tenant, sid, "NAND", a=_altered(one), b=zero), input="a")
    _refused(await _batch(api, tenant, sid, [{"op": "AND", "a": one, "b": zero},
                                             {"op": "OR", "a": "$0", "b": _altered(zero)}]),
             gate=1, input="b")
    # Every byte counts, the first ones too.
    for position in (0, 5, len(base64.b64decode(one)) // 2):
        data = bytearray(base64.b64decode(one))
        data[position] ^= 0x01
        _refused(await _decrypt(api, tenant, sid, [_b64(bytes(data))]), index=0)
    assert await _fcu_used(api, tenant) == 0
    assert (await _decrypt(api, tenant, sid, [one, zero])).json == {"bits": [1, 0]}


async def test_a_ciphertext_works_only_in_the_session_that_issued_it(api: Api,
                                                                     mesh: Stack) -> None:
    tenant = await create_account(mesh, plan="payg")
    first, second = (await _session(api, tenant))["session_id"], \
        (await _session(api, tenant))["session_id"]
    (mine,) = await _encrypt(api, tenant, first, [1])
    (theirs,) = await _encrypt(api, tenant, second, [0])
    _refused(await _decrypt(api, tenant, second, [mine]), index=0)
    _refused(await _gate(api, tenant, second, "XOR", a=theirs, b=mine), input="b")
    gate = await _gate(api, tenant, first, "NOT", a=mine)
    assert gate.status == 200, gate.text
    _refused(await _decrypt(api, tenant, second, [gate.json["result_b64"]]), index=0)
    assert (await _decrypt(api, tenant, first, [gate.json["result_b64"]])).json == \
        {"bits": [0]}
    # Another account's session of the same preset refuses it too (its own 404 aside).
    other = await create_account(mesh, plan="payg")
    elsewhere = (await _session(api, other))["session_id"]
    _refused(await _decrypt(api, other, elsewhere, [mine]), index=0)


async def test_batches_chain_their_outputs_and_issue_them(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh, plan="payg")
    sid = (await _session(api, tenant))["session_id"]
    a, b = await _encrypt(api, tenant, sid, [1, 0])
    # "$k" inputs are the session's own outputs inside the batch: nothing to check.
    reply = await _batch(api, tenant, sid, [{"op": "XOR", "a": a, "b": b},
                                            {"op": "AND", "a": a, "b": b},
                                            {"op": "NOT", "a": "$0"},
                                            {"op": "OR", "a": "$1", "b": "$2"}])
    assert reply.status == 200, reply.text
    results = reply.json["results_b64"]
    assert (await _decrypt(api, tenant, sid, results)).json == {"bits": [1, 0, 0, 0]}
    # Every output is the session's own: it goes into the next request as it came.
    again = await _gate(api, tenant, sid, "NAND", a=results[0], b=results[3])
    assert again.status == 200, again.text
    assert (await _decrypt(api, tenant, sid, [again.json["result_b64"]])).json == {"bits": [1]}
    used = await _fcu_used(api, tenant)
    chosen = _b64(toy_lwe_ciphertext([0] * 64, Q // 4))
    _refused(await _batch(api, tenant, sid, [{"op": "XOR", "a": a, "b": b},
                                             {"op": "AND", "a": "$0", "b": chosen}]),
             gate=1, input="b")
    assert await _fcu_used(api, tenant) == used


async def test_blind_sessions_take_the_clients_own_bytes(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh, plan="payg")
    client = ToyTfheClient()
    made = await api.post("/api/v1/tfhe/eval-session", headers=tenant.auth(),
                          json={"eval_key_b64": client.archive_b64()})
    assert made.status == 201, made.text
    sid = made.json["session_id"]
    # The server holds no secret key here, so any ciphertext of the key's parameters goes,
    # hand-built ones too, and the answer is OpenFHE's bytes, which the client reads.
    trivial_one = _b64(toy_lwe_ciphertext([0] * made.json["n"], Q // 4))
    gate = await _gate(api, tenant, sid, "AND", a=trivial_one, b=client.encrypt(1))
    assert gate.status == 200, gate.text
    assert client.decrypt(gate.json["result_b64"]) == 1
    batch = await _batch(api, tenant, sid, [{"op": "NOT", "a": client.encrypt(1)},
                                            {"op": "OR", "a": "$0", "b": trivial_one}])
    assert batch.status == 200, batch.text
    assert [client.decrypt(r) for r in batch.json["results_b64"]] == [0, 1]
