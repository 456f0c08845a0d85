"""The chunked upload through the SDK on a stack with 1 MiB parts: an upload interrupted
after some parts resumes (the server says what it misses, only that is sent) and completes."""

from __future__ import annotations

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

    puts: list[httpx.Request] = []
    seen: list[wavis_sdk.UploadProgress] = []
    hooks = {"request": [lambda r: puts.append(r) if r.method == "PUT" else None]}
    with httpx.Client(event_hooks=hooks) as http, \
            sdk_client(own_stack, tenant, state, http_client=http) as client:
        key = client.keys.upload(keys, progress=seen.append)
        uploading = [p for p in seen if p.phase == "uploading"]
        part_count = uploading[0].part_count
        assert part_count == -(-archive.stat().st_size // (1024 * 1024)) > INTERRUPT_AFTER
        assert uploading[0].resumed and uploading[0].parts_done == INTERRUPT_AFTER
        assert len(puts) == part_count - INTERRUPT_AFTER  # only what the server missed
        assert {int(r.url.path.rsplit("/", 1)[1]) for r in puts} == \
            set(range(INTERRUPT_AFTER + 1, part_count + 1))
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
