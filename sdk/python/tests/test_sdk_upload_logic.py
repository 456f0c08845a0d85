"""The chunked upload's decisions without a server: the operation's requests answered by a
scripted server that keeps parts and their checksums as the real one does."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import wavis_sdk
from wavis_sdk._core import Attempt, Blocking, Config, Response
from wavis_sdk._ops import Ops

PART = 1000
KEY = {"key_id": "key_1", "scheme": "tfhe", "mode": "blind", "status": "ready",
       "size_bytes": 2500, "security_bits": 0, "created_at": "2026-01-01T00:00:00Z"}


class ScriptedServer:
    """POST /keys/uploads, PUT parts, GET the status, POST complete; `corrupt` replaces a
    received part's bytes, as a part damaged on the way would be."""

    def __init__(self) -> None:
        self.parts: dict[int, bytes] = {}
        self.sha256 = ""
        self.size = 0
        self.requests: list[tuple[str, str]] = []
        self.corrupt_once: set[int] = set()

    def answer(self, method: str, path: str, body: bytes) -> Response:
        self.requests.append((method, path))
        if method == "POST" and path.endswith("/keys/uploads"):
            request = json.loads(body)
            self.sha256, self.size = request["sha256"], request["size_bytes"]
            return _json(201, {"upload_id": "upl_1", "part_size": PART,
                               "part_count": -(-self.size // PART),
                               "expires_at": "2999-01-01T00:00:00Z"})
        if method == "PUT":
            number = int(path.rsplit("/", 1)[1])
            self.parts[number] = b"x" * len(body) if number in self.corrupt_once else body
            self.corrupt_once.discard(number)
            return Response(204, {}, b"")
        if method == "GET":
            return _json(200, {"upload_id": "upl_1", "parts": [
                {"part_number": n, "size_bytes": len(data),
                 "sha256": hashlib.sha256(data).hexdigest()}
                for n, data in sorted(self.parts.items())]})
        count = -(-self.size // PART)
        missing = [n for n in range(1, count + 1) if n not in self.parts]
        if missing:
            return _refused({"missing_parts": missing})
        joined = b"".join(self.parts[n] for n in range(1, count + 1))
        if hashlib.sha256(joined).hexdigest() != self.sha256:
            return _refused({"field": "sha256"})
        return _json(201, KEY)


def _json(status: int, body: Any) -> Response:
    return Response(status, {"content-type": "application/json"}, json.dumps(body).encode())


def _refused(details: dict[str, Any]) -> Response:
    return _json(400, {"error": {"code": "VALIDATION_ERROR", "message": "no",
                                 "request_id": "req_2", "details": details}})


def run(op: Any, server: ScriptedServer) -> Any:
    value: Any = None
    try:
        while True:
            effect = op.send(value)
            value = None
            if isinstance(effect, Attempt):
                request = effect.request
                body = b"".join(request.file.chunks()) if request.file else \
                    request.body or b""
                value = server.answer(request.method, request.url.split("/api/v1")[1], body)
            elif isinstance(effect, Blocking):
                value = effect.work()
    except StopIteration as stop:
        return stop.value


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "key.zip"
    path.write_bytes(os.urandom(2500))  # three parts: 1000, 1000, 500
    return path


def _ops(tmp_path: Path) -> Ops:
    return Ops(Config(api_key="wvs_test_x", base_url="http://h", state_dir=str(tmp_path / "s")))


def test_a_part_damaged_on_the_way_is_found_by_its_checksum_and_sent_again(
        archive: Path, tmp_path: Path) -> None:
    server = ScriptedServer()
    server.corrupt_once = {2}
    key = run(_ops(tmp_path).upload_file(archive, "tfhe", "tfhe_eval_key"), server)
    assert key.key_id == "key_1"
    assert [(m, p.rsplit("/", 1)[-1]) for m, p in server.requests] == [
        ("POST", "uploads"), ("PUT", "1"), ("PUT", "2"), ("PUT", "3"), ("POST", "complete"),
        ("GET", "upl_1"), ("PUT", "2"), ("POST", "complete")]
    assert not list((tmp_path / "s" / "uploads").iterdir())  # done: no journal left


def test_a_resume_sends_only_what_the_server_lacks(archive: Path, tmp_path: Path) -> None:
    server = ScriptedServer()
    progress: list[wavis_sdk.UploadProgress] = []

    def stop_after_one_part(update: wavis_sdk.UploadProgress) -> None:
        if update.phase == "uploading" and update.parts_done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(_ops(tmp_path).upload_file(archive, "tfhe", "tfhe_eval_key", stop_after_one_part),
            server)
    server.requests.clear()
    key = run(_ops(tmp_path).upload_file(archive, "tfhe", "tfhe_eval_key", progress.append),
              server)
    assert key.key_id == "key_1"
    assert [(m, p.rsplit("/", 1)[-1]) for m, p in server.requests] == [
        ("GET", "upl_1"), ("PUT", "2"), ("PUT", "3"), ("POST", "complete")]
    assert [p.bytes_done for p in progress if p.phase == "verifying"] == [1000]
    first = next(p for p in progress if p.phase == "uploading")
    assert first.resumed and first.parts_done == 1 and first.bytes_done == 1000


def test_a_resume_of_an_expired_upload_starts_again(archive: Path, tmp_path: Path) -> None:
    server = ScriptedServer()
    with pytest.raises(KeyboardInterrupt):
        run(_ops(tmp_path).upload_file(archive, "tfhe", "tfhe_eval_key",
                                       lambda u: _stop_uploading(u)), server)
    server_calls: list[tuple[str, str]] = []

    class Forgetful(ScriptedServer):  # a server that no longer knows upl_1
        def answer(self, method: str, path: str, body: bytes) -> Response:
            server_calls.append((method, path))
            if method == "GET":
                return _json(404, {"error": {"code": "NOT_FOUND", "message": "gone",
                                             "request_id": "r", "details": {}}})
            return super().answer(method, path, body)

    key = run(_ops(tmp_path).upload_file(archive, "tfhe", "tfhe_eval_key"), Forgetful())
    assert key.key_id == "key_1"
    assert [m for m, _ in server_calls] == ["GET", "POST", "PUT", "PUT", "PUT", "POST"]


def test_a_file_changed_during_the_upload_is_reported(archive: Path, tmp_path: Path) -> None:
    server = ScriptedServer()
    server.sha256 = "0" * 64
    original = server.answer

    def answer(method: str, path: str, body: bytes) -> Response:
        reply = original(method, path, body)
        if method == "POST" and path.endswith("/keys/uploads"):
            server.sha256 = "0" * 64  # as if the file's bytes were not those hashed
        return reply

    server.answer = answer  # type: ignore[method-assign]
    with pytest.raises(wavis_sdk.ValidationError, match=r"did .* change"):
        run(_ops(tmp_path).upload_file(archive, "tfhe", "tfhe_eval_key"), server)


def _stop_uploading(update: wavis_sdk.UploadProgress) -> None:
    if update.phase == "uploading" and update.parts_done == 2:
        raise KeyboardInterrupt
