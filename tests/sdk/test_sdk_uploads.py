"""The chunked upload through the SDK on a stack with 1 MiB parts: an upload interrupted
after some parts resumes (the server's upload status says which parts it holds, with their
checksums; only the missing or different ones are sent) and completes."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import wavis_sdk
from sdk_support import new_tenant, sdk_client
from wavis_sdk.tfhe import TfheKeys

from wavis.devstack.stack import Stack

INTERRUPT_AFTER = 5


class Interrupted(Exception):
    pass


def test_an_interrupted_upload_resumes_where_it_stopped(own_stack: Stack,
                                                        tmp_path: Path) -> None:
    tenant = new_tenant(own_stack)
    keys = TfheKeys.generate("toy", tmp_path / "keys")
    archive = keys.eval_key_archive()
    state = tmp_path / "state"

    def stop_after_some_parts(progress: wavis_sdk.UploadProgress) -> None:
        if progress.phase == "uploading" and progress.parts_done == INTERRUPT_AFTER:
            raise Interrupted  # as Ctrl-C or a lost network would, between two parts

    with sdk_client(own_stack, tenant, state) as client, pytest.raises(Interrupted):
        client.keys.upload(keys, progress=stop_after_some_parts)
    assert len(list((state / "uploads").iterdir())) == 1  # the journal of the upload

    # Part 2 on the server replaced by other bytes of the same size (as a buggy client or a
    # second writer would): the resume must notice it from the server's checksums.
    (journal_file,) = (state / "uploads").iterdir()
    upload_id = json.loads(journal_file.read_text())["upload_id"]
    with httpx.Client() as raw:
        replaced = raw.put(f"{own_stack.gateway_url}/api/v1/keys/uploads/{upload_id}/parts/2",
                           content=b"\0" * (1024 * 1024), headers={
                               "Authorization": f"Bearer {tenant.api_key}",
                               "X-Forwarded-For": tenant.client_ip})
        assert replaced.status_code == 204, replaced.text

    sent: list[httpx.Request] = []
    seen: list[wavis_sdk.UploadProgress] = []
    hooks = {"request": [sent.append]}
    with httpx.Client(event_hooks=hooks) as http, \
            sdk_client(own_stack, tenant, state, http_client=http) as client:
        key = client.keys.upload(keys, progress=seen.append)
        uploading = [p for p in seen if p.phase == "uploading"]
        part_count = uploading[0].part_count
        assert part_count == -(-archive.stat().st_size // (1024 * 1024)) > INTERRUPT_AFTER
        # The server held parts 1-5; part 2's checksum differs from the file's: 4 are kept.
        assert uploading[0].resumed and uploading[0].parts_done == INTERRUPT_AFTER - 1
        assert [p.phase for p in seen].count("verifying") >= 1
        assert (sent[0].method, sent[0].url.path) == \
            ("GET", f"/api/v1/keys/uploads/{upload_id}")  # it asked first
        puts = [r for r in sent if r.method == "PUT"]
        assert [int(r.url.path.rsplit("/", 1)[1]) for r in puts] == \
            [2, *range(INTERRUPT_AFTER + 1, part_count + 1)]
        assert [r.method for r in sent].count("POST") == 1  # completed at the first try
        assert uploading[-1].bytes_done == archive.stat().st_size
        assert key.preset == "toy" and key.mode == "blind"
        session = client.tfhe.create_eval_session(keys)
        assert session.key_id == key.key_id
        result = client.tfhe.gate(session, "AND", keys.encrypt(1), keys.encrypt(1))
        assert keys.decrypt(result) == 1
    assert not list((state / "uploads").iterdir())  # done: the journal is gone

    # The same file again is a new upload, not a replay of the finished one.
    with sdk_client(own_stack, tenant, state) as client:
        again = client.keys.upload_file(str(archive), scheme="tfhe", kind="tfhe_eval_key",
                                        resume=False)
        assert again.key_id != key.key_id


def test_a_ckks_key_above_the_body_limit_goes_in_parts(own_stack: Stack, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # A 20 MB key against a limit lowered to 4 MB here: the same path a 166 MB key takes.
    from wavis_sdk import _ops
    from wavis_sdk.ckks import CkksKeys

    monkeypatch.setattr(_ops, "MAX_REQUEST_BYTES", 4 * 1024 * 1024)
    tenant = new_tenant(own_stack)
    keys = CkksKeys.generate(4096, 40, 2, "testing")
    seen: list[wavis_sdk.UploadProgress] = []
    with sdk_client(own_stack, tenant, tmp_path) as client:
        key = client.keys.upload(keys, progress=seen.append)
        assert seen and seen[-1].part_count > 1  # it did go by the chunked upload
        assert key.params is not None and key.params["poly_degree"] == 4096
        assert key.rotations == tuple(keys.rotations)
        x = client.ciphertexts.upload(keys.encrypt([0.5, 0.25]))
        doubled = client.compute.add(key, x, x, return_ciphertext=True)
        assert [round(v, 3) for v in keys.decrypt(doubled, length=2)] == [1.0, 0.5]


async def test_the_async_client_streams_parts_too(own_stack: Stack, tmp_path: Path) -> None:
    from support.accounts import create_account

    tenant = await create_account(own_stack)
    keys = TfheKeys.generate("toy", tmp_path / "keys")
    seen: list[wavis_sdk.UploadProgress] = []
    async with wavis_sdk.AsyncClient(tenant.api_key, own_stack.gateway_url,
                                     state_dir=str(tmp_path / "state")) as client:
        key = await client.keys.upload(keys, progress=seen.append)
        session = await client.tfhe.create_eval_session(keys)
        result = await client.tfhe.gate(session, "OR", keys.encrypt(0), keys.encrypt(1))
    assert session.key_id == key.key_id and keys.decrypt(result) == 1
    assert seen[-1].part_count > 10 and not seen[-1].resumed
