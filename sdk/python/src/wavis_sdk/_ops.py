"""Every API call as an operation (see _core): what to send, what to do with the answer.

Both clients wrap these one-to-one; the code that builds bodies, parses answers, polls,
pages and uploads is here only.
"""

from __future__ import annotations

import base64
import math
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from wavis_sdk._core import MAX_REQUEST_BYTES, Blocking, Config, FileSlice, Op, Request, Sleep
from wavis_sdk._core import call as _call
from wavis_sdk._errors import (
    NotFoundError,
    OperationFailedError,
    ValidationError,
    WaitTimeoutError,
)
from wavis_sdk._files import UploadJournal, forget, sha256_file, sha256_slice
from wavis_sdk._models import (
    BatchResult,
    Ciphertext,
    ComputeResult,
    Decrypted,
    GateResult,
    Key,
    OperationStatus,
    Page,
    ProgramResult,
    TfheSession,
    UploadProgress,
    WavisObject,
    wrap,
)

T = TypeVar("T")
ProgressCallback = Callable[[UploadProgress], None]

# Read timeouts of calls the server itself gives longer than a usual request (its own limit
# plus a margin, so the server's answer, even a timeout, arrives first).
KEYGEN_TIMEOUT = 90.0
KEY_CHECK_TIMEOUT = 330.0  # uploads are checked in a worker; a ~1 GB key takes a while
SESSION_TIMEOUT = 930.0
EVAL_TIMEOUT = 630.0
# Polling: first wait, growth per poll, longest wait.
POLL_FIRST, POLL_GROWTH, POLL_MAX = 0.1, 1.5, 2.0
CKKS_BUNDLE_KIND, TFHE_EVAL_KEY_KIND = "ckks_key_bundle", "tfhe_eval_key"
# Send, complete, and on a refusal send what the server's checksums say is wrong: how often.
_UPLOAD_ROUNDS = 3
# The JSON around base64 key parts, generously.
_JSON_OVERHEAD = 4096


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64_length(size: int) -> int:
    return 4 * math.ceil(size / 3)


def _id_of(value: Any, attribute: str, what: str) -> str:
    if isinstance(value, str):
        return value
    found = getattr(value, attribute, None)
    if isinstance(found, str) and found:
        return found
    if hasattr(value, attribute):  # local keys not uploaded yet
        raise ValidationError(f"This {what} has no {attribute} yet: upload it first "
                              "(client.keys.upload).", code="VALIDATION_ERROR")
    raise TypeError(f"expected a {what} id or an object with .{attribute}, "
                    f"got {type(value).__name__}")


def key_id_of(value: Any) -> str:
    return _id_of(value, "key_id", "key")


def ciphertext_id_of(value: Any) -> str:
    return _id_of(value, "ciphertext_id", "ciphertext")


def session_id_of(value: Any) -> str:
    return _id_of(value, "session_id", "session")


def op_id_of(value: Any) -> str:
    return _id_of(value, "op_id", "operation")


def _ciphertext_text(value: Any) -> str:
    """A TFHE ciphertext for JSON: bytes, base64 text, or a GateResult."""
    data = getattr(value, "result", value)
    if isinstance(data, bytes):
        return b64(data)
    if isinstance(data, str):
        return data
    raise TypeError(f"expected ciphertext bytes, got {type(value).__name__}")


class Poller:
    """Waits between polls, growing to POLL_MAX, never past the deadline."""

    def __init__(self, timeout: float | None) -> None:
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.wait = POLL_FIRST

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def next_wait(self) -> float:
        wait = self.wait
        self.wait = min(POLL_MAX, self.wait * POLL_GROWTH)
        if self.deadline is not None:
            wait = max(0.0, min(wait, self.deadline - time.monotonic()))
        return wait


class Ops:
    """The operations of every namespace, over one configuration."""

    def __init__(self, config: Config) -> None:
        self.config = config

    # -- plumbing -------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None,
                params: Mapping[str, Any] | None = None, *, auth: bool = True,
                timeout: float | None = None) -> Op[Any]:
        response = yield from _call(self.config, Request(method, path, json=body, params=params,
                                                         auth=auth, timeout=timeout))
        return response

    def obj(self, method: str, path: str, body: Any = None,
            params: Mapping[str, Any] | None = None, *, auth: bool = True) -> Op[WavisObject]:
        response = yield from self.request(method, path, body, params, auth=auth)
        result = wrap(response.json())
        return result if isinstance(result, WavisObject) else WavisObject()

    def page(self, path: str, parse: Callable[[Mapping[str, Any]], T], limit: int,
             cursor: str | None, params: Mapping[str, Any] | None = None) -> Op[Page[T]]:
        query = {"limit": limit, **(params or {})}
        if cursor:
            query["cursor"] = cursor
        response = yield from self.request("GET", path, params=query)
        body = response.json()
        return Page([parse(item) for item in body["data"]], bool(body["has_more"]),
                    body.get("next_cursor"))

    # -- keys -----------------------------------------------------------------------------

    def generate_ckks_key(self, poly_degree: int, scale_bits: int, max_depth: int,
                          security_level: str, rotations: Sequence[int] | None,
                          bootstrappable: bool, wait: bool, timeout: float | None) -> Op[Key]:
        body: dict[str, Any] = {"scheme": "ckks", "params": {
            "poly_degree": poly_degree, "scale_bits": scale_bits, "max_depth": max_depth,
            "security_level": security_level}}
        if rotations is not None:
            body["rotations"] = list(rotations)
        if bootstrappable:
            body["bootstrappable"] = True
        return (yield from self._generate(body, wait, timeout))

    def generate_tfhe_key(self, preset: str, wait: bool, timeout: float | None) -> Op[Key]:
        return (yield from self._generate({"scheme": "tfhe", "preset": preset}, wait, timeout))

    def _generate(self, body: dict[str, Any], wait: bool, timeout: float | None) -> Op[Key]:
        response = yield from self.request("POST", "/keys/generate", body,
                                           timeout=KEYGEN_TIMEOUT)
        key = Key.parse(response.json(), response)
        if wait and key.status == "pending":
            key = yield from self.wait_for_key(key.key_id, timeout)
        return key

    def get_key(self, key_id: str) -> Op[Key]:
        response = yield from self.request("GET", f"/keys/{key_id}")
        return Key.parse(response.json(), response)

    def wait_for_key(self, key_id: str, timeout: float | None) -> Op[Key]:
        """Poll a pending key (202 from generate) until it is ready or failed."""
        poller = Poller(timeout)
        while True:
            key = yield from self.get_key(key_id)
            if key.status == "ready":
                return key
            if key.status == "failed":
                raise OperationFailedError(f"Key generation failed: {key.failure}",
                                           code="KEY_GENERATION_FAILED",
                                           details={"key_id": key_id})
            if poller.expired():
                raise WaitTimeoutError(f"Key {key_id} is still {key.status} after "
                                       f"{timeout} s.", code="WAIT_TIMEOUT",
                                       details={"key_id": key_id})
            yield Sleep(poller.next_wait())

    def delete_key(self, key_id: str) -> Op[None]:
        yield from self.request("DELETE", f"/keys/{key_id}")

    def upload_ckks_key(self, keys: Any, progress: ProgressCallback | None) -> Op[Key]:
        """Context, public and evaluation keys of local CkksKeys; chunked above the
        gateway's body limit."""
        parts: dict[str, bytes] = yield Blocking(keys.wire_parts)
        if sum(b64_length(len(p)) for p in parts.values()) + _JSON_OVERHEAD <= \
                MAX_REQUEST_BYTES:
            body = {"scheme": "ckks", **{name: b64(data) for name, data in parts.items()}}
            del parts
            response = yield from self.request("POST", "/keys/upload", body,
                                               timeout=KEY_CHECK_TIMEOUT)
            key = Key.parse(response.json(), response)
        else:
            del parts
            folder = tempfile.mkdtemp(prefix="wavis-ckks-bundle-")
            bundle = os.path.join(folder, "bundle.zip")
            try:
                yield Blocking(lambda: keys.write_bundle(bundle))
                key = yield from self.upload_file(bundle, "ckks", CKKS_BUNDLE_KIND, progress,
                                                  resume=False)
            finally:
                forget(Path(bundle))
                os.rmdir(folder)
        keys.remember_key_id(key.key_id)
        return key

    def upload_tfhe_key(self, keys: Any, progress: ProgressCallback | None) -> Op[Key]:
        """The eval-key archive of local TfheKeys, always by the chunked upload (the
        resumable path; an inline session needs no upload at all)."""
        archive: Path = yield Blocking(keys.eval_key_archive)
        key = yield from self.upload_file(str(archive), "tfhe", TFHE_EVAL_KEY_KIND, progress)
        keys.remember_key_id(key.key_id)
        return key

    def upload_file(self, path: str | os.PathLike[str], scheme: str, kind: str,
                    progress: ProgressCallback | None = None, resume: bool = True) -> Op[Key]:
        """A key archive from disk by the chunked upload: parts streamed from the file,
        its sha256 checked by the server at completion. With `resume`, an interrupted run
        (any exception, Ctrl-C, a lost connection) is recorded in a journal, and the next
        call for the same file asks the server which parts it holds (GET
        /keys/uploads/{id}, with each part's sha256), compares them with the file and sends
        only the parts missing or different (decision 0055)."""
        path = os.fspath(path)
        size = os.path.getsize(path)
        report = progress or (lambda _: None)
        hashed = [0]

        def on_bytes(count: int) -> None:
            hashed[0] += count
            report(UploadProgress("hashing", hashed[0], size, 0, 0))

        sha256: str = yield Blocking(lambda: sha256_file(path, on_bytes))
        journal_path = UploadJournal.path(self.config.upload_state_dir(), self.config.base_url,
                                          self.config.api_key, kind, sha256, size)
        journal = UploadJournal.read(journal_path) if resume else None
        pending: set[int] | None = None
        if journal is not None:
            status = yield from self._upload_status(journal.upload_id)
            if status is None:  # the upload expired or is unknown: start again
                forget(journal_path)
                journal = None
            else:
                pending = yield from self._parts_to_send(path, journal, status, report)
        if journal is None:
            response = yield from self.request("POST", "/keys/uploads", {
                "scheme": scheme, "kind": kind, "size_bytes": size, "sha256": sha256})
            created = response.json()
            journal = UploadJournal(created["upload_id"], sha256, size, created["part_size"],
                                    created["part_count"], created["expires_at"])
            if resume:
                journal.write(journal_path)
        part_size, count, upload_id = journal.part_size, journal.part_count, journal.upload_id
        every_part = set(range(1, count + 1))
        resumed = pending is not None
        if pending is None:
            pending = every_part
        for _round in range(_UPLOAD_ROUNDS):
            done = every_part - pending
            sent_bytes = sum(journal.part_length(n) for n in done)
            report(UploadProgress("uploading", sent_bytes, size, len(done), count, upload_id,
                                  resumed))
            for number in sorted(pending):
                yield from self.request_file("PUT", f"/keys/uploads/{upload_id}/parts/{number}",
                                             FileSlice(path, (number - 1) * part_size,
                                                       journal.part_length(number)))
                done.add(number)
                sent_bytes += journal.part_length(number)
                report(UploadProgress("uploading", sent_bytes, size, len(done), count,
                                      upload_id, resumed))
            report(UploadProgress("completing", size, size, count, count, upload_id, resumed))
            key = yield from self._complete(upload_id)
            if key is not None:
                forget(journal_path)
                return key
            # Completion found parts missing or bytes that do not match the file's sha256:
            # the server's per-part checksums say which parts to send again.
            status = yield from self._upload_status(upload_id)
            if status is None:
                raise NotFoundError(f"Upload {upload_id} expired before it completed.",
                                    code="NOT_FOUND", details={"upload_id": upload_id})
            pending = yield from self._parts_to_send(path, journal, status, report)
            if not pending:
                break
        raise ValidationError(
            f"Upload {upload_id} cannot complete: the server's parts match this file, but "
            f"not the sha256 it had when the upload began (did {path} change?)"
            if not pending else
            f"The server still misses or mistrusts parts {sorted(pending)[:10]} of upload "
            f"{upload_id} after {_UPLOAD_ROUNDS} rounds.",
            code="VALIDATION_ERROR", details={"upload_id": upload_id, "field": "sha256"})

    def _upload_status(self, upload_id: str) -> Op[dict[str, Any] | None]:
        """GET /keys/uploads/{id}: the upload and its stored parts; None once it is gone."""
        try:
            response = yield from self.request("GET", f"/keys/uploads/{upload_id}")
        except NotFoundError:
            return None
        body: dict[str, Any] = response.json()
        return body

    def _parts_to_send(self, path: str, journal: UploadJournal, status: Mapping[str, Any],
                       report: ProgressCallback) -> Op[set[int]]:
        """The part numbers the server lacks, or holds with another size or sha256 than
        this file's bytes (each held part is hashed here to compare)."""
        held = {int(p["part_number"]): p for p in status.get("parts") or []
                if p.get("sha256") and int(p["size_bytes"]) == journal.part_length(
                    int(p["part_number"]))}
        total = sum(journal.part_length(n) for n in held)
        checked = [0]

        def on_bytes(count: int) -> None:
            checked[0] += count
            report(UploadProgress("verifying", checked[0], total, 0, journal.part_count,
                                  journal.upload_id, True))

        def matching() -> set[int]:
            return {n for n, part in held.items()
                    if sha256_slice(path, (n - 1) * journal.part_size, journal.part_length(n),
                                    on_bytes) == part["sha256"]}

        same: set[int] = yield Blocking(matching)
        return set(range(1, journal.part_count + 1)) - same

    def _complete(self, upload_id: str) -> Op[Key | None]:
        """The key; or None when the server misses parts or the bytes do not match."""
        try:
            response = yield from self.request("POST", f"/keys/uploads/{upload_id}/complete",
                                               timeout=KEY_CHECK_TIMEOUT)
        except ValidationError as error:
            if error.details.get("missing_parts") or error.details.get("field") == "sha256":
                return None
            raise
        return Key.parse(response.json(), response)

    def request_file(self, method: str, path: str, file: FileSlice) -> Op[Any]:
        response = yield from _call(self.config, Request(method, path, file=file,
                                                         timeout=KEY_CHECK_TIMEOUT))
        return response

    # -- ciphertexts --------------------------------------------------------------------------

    def upload_ciphertext(self, data: Any, key: Any) -> Op[Ciphertext]:
        raw = data if isinstance(data, bytes) else getattr(data, "data", None)
        if not isinstance(raw, bytes):
            raise TypeError("expected ciphertext bytes or a LocalCiphertext")
        key_id = key_id_of(key if key is not None else data)
        response = yield from self.request("POST", "/ciphertexts",
                                           {"key_id": key_id, "data": b64(raw)},
                                           timeout=KEYGEN_TIMEOUT)
        return Ciphertext.parse(response.json(), response)

    def encrypt_values(self, key: Any, values: Sequence[float]) -> Op[Ciphertext]:
        response = yield from self.request("POST", "/ciphertexts/encrypt", {
            "key_id": key_id_of(key), "values": [float(v) for v in values]},
            timeout=KEYGEN_TIMEOUT)
        return Ciphertext.parse(response.json(), response)

    def get_ciphertext(self, ciphertext: Any, compact: bool = False) -> Op[Ciphertext]:
        response = yield from self.request("GET", f"/ciphertexts/{ciphertext_id_of(ciphertext)}",
                                           params={"compact": "true"} if compact else None)
        return Ciphertext.parse(response.json(), response)

    def decrypt_ciphertext(self, ciphertext: Any, count: int | None,
                           noise_margin_bits: int | None = None) -> Op[Decrypted]:
        fields = {"count": count, "noise_margin_bits": noise_margin_bits}
        response = yield from self.request(
            "POST", f"/ciphertexts/{ciphertext_id_of(ciphertext)}/decrypt",
            {name: value for name, value in fields.items() if value is not None} or None,
            timeout=KEYGEN_TIMEOUT)
        body = response.json()
        return Decrypted([float(v) for v in body["values"]], float(body["precision_bits"]),
                         int(body.get("decryptions_remaining", 0)),
                         int(body.get("noise_margin_bits", 0)))

    def delete_ciphertext(self, ciphertext: Any) -> Op[None]:
        yield from self.request("DELETE", f"/ciphertexts/{ciphertext_id_of(ciphertext)}")

    # -- compute ------------------------------------------------------------------------------

    @staticmethod
    def compute_body(key: Any, ciphertexts: Sequence[Any], fields: Mapping[str, Any],
                     ) -> dict[str, Any]:
        body: dict[str, Any] = {"key_id": key_id_of(key),
                                "ciphertext_ids": [ciphertext_id_of(c) for c in ciphertexts]}
        for name, value in fields.items():
            if value is None:
                continue
            if name in ("plain_operand", "polynomial_coeffs"):
                value = [float(v) for v in value]
            elif name == "matrix":
                value = [[float(v) for v in row] for row in value]
            body[name] = value
        return body

    def compute(self, operation: str, key: Any, ciphertexts: Sequence[Any],
                fields: Mapping[str, Any]) -> Op[ComputeResult]:
        body = self.compute_body(key, ciphertexts, fields)
        response = yield from self.request("POST", f"/compute/{operation}", body,
                                           timeout=EVAL_TIMEOUT)
        return ComputeResult.parse(response.json(), response)

    def submit(self, operation: str, key: Any, ciphertexts: Sequence[Any],
               fields: Mapping[str, Any]) -> Op[OperationStatus]:
        body = self.compute_body(key, ciphertexts, fields) | {"async": True}
        response = yield from self.request("POST", f"/compute/{operation}", body,
                                           timeout=EVAL_TIMEOUT)
        answer = response.json()
        return OperationStatus(answer["op_id"], answer["status"], operation)

    def get_operation(self, op_id: str) -> Op[OperationStatus]:
        response = yield from self.request("GET", f"/compute/{op_id}")
        return OperationStatus.parse(response.json(), response)

    def cancel_operation(self, op_id: str) -> Op[OperationStatus]:
        response = yield from self.request("DELETE", f"/compute/{op_id}")
        return OperationStatus.parse(response.json(), response)

    def wait_operation(self, op_id: str, timeout: float | None,
                       cancel_on_timeout: bool) -> Op[ComputeResult]:
        """Poll until completed (the result), failed or cancelled (OperationFailedError),
        or the timeout (WaitTimeoutError; the operation is cancelled first if asked)."""
        status = yield from self._wait(op_id, timeout, cancel_on_timeout)
        if status.result is None:
            raise ValidationError(f"Operation {op_id} is a program: wait for it with "
                                  "wait_program.", code="VALIDATION_ERROR",
                                  details={"op_id": op_id})
        return status.result

    def wait_program(self, op_id: str, timeout: float | None,
                     cancel_on_timeout: bool) -> Op[ProgramResult]:
        """wait_operation for a program."""
        status = yield from self._wait(op_id, timeout, cancel_on_timeout)
        if status.program is None:
            raise ValidationError(f"Operation {op_id} is not a program: wait for it with "
                                  "wait.", code="VALIDATION_ERROR", details={"op_id": op_id})
        return status.program

    def _wait(self, op_id: str, timeout: float | None,
              cancel_on_timeout: bool) -> Op[OperationStatus]:
        """The completed status (see wait_operation)."""
        poller = Poller(timeout)
        while True:
            status = yield from self.get_operation(op_id)
            if status.status == "completed":
                return status
            if status.status in ("failed", "cancelled"):
                error = status.error or {}
                raise OperationFailedError(
                    str(error.get("message") or f"Operation {op_id} was {status.status}."),
                    code=str(error.get("code") or status.status.upper()),
                    details={"op_id": op_id, "status": status.status})
            if poller.expired():
                if cancel_on_timeout:
                    yield from self.cancel_operation(op_id)
                raise WaitTimeoutError(f"Operation {op_id} is still {status.status} after "
                                       f"{timeout} s.", code="WAIT_TIMEOUT",
                                       details={"op_id": op_id, "status": status.status})
            yield Sleep(poller.next_wait())

    # -- programs -----------------------------------------------------------------------------

    @staticmethod
    def program_body(key: Any, inputs: Mapping[str, Any], steps: Sequence[Mapping[str, Any]],
                     outputs: Sequence[str] | None, return_ciphertext: bool,
                     compact: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "key_id": key_id_of(key),
            "inputs": {name: ciphertext_id_of(c) for name, c in inputs.items()},
            "steps": [dict(step) for step in steps]}
        if outputs is not None:
            body["outputs"] = list(outputs)
        if return_ciphertext:
            body["return_ciphertext"] = True
        if compact:
            body["compact"] = True
        return body

    def program(self, body: dict[str, Any]) -> Op[ProgramResult]:
        """A program, waited for when the server queues it (one with a bootstrap)."""
        response = yield from self.request("POST", "/compute/program", body,
                                           timeout=EVAL_TIMEOUT)
        answer = response.json()
        if response.status == 202:
            return (yield from self.wait_program(answer["op_id"], None, False))
        return ProgramResult.parse(answer, response)

    def run_program(self, program: Any) -> Op[ProgramResult]:
        """A wavis_sdk.program.Program: the key's slot count is fetched first when a step
        broadcasts a number to every slot and the program was given a key id only."""
        if program.needs_slot_count:
            key = yield from self.get_key(program.key_id)
            program.slot_count = key.slot_count
        return (yield from self.program(program.body()))

    def submit_program(self, body: dict[str, Any]) -> Op[OperationStatus]:
        response = yield from self.request("POST", "/compute/program", body | {"async": True},
                                           timeout=EVAL_TIMEOUT)
        answer = response.json()
        return OperationStatus(answer["op_id"], answer["status"], "program")

    # -- TFHE -----------------------------------------------------------------------------------

    def create_session(self, preset: str, timeout: float | None) -> Op[TfheSession]:
        """A server-mode session, waited for while its key is generated (202, pending)."""
        response = yield from self.request("POST", "/tfhe/session", {"preset": preset},
                                           timeout=SESSION_TIMEOUT)
        session = TfheSession.parse(response.json(), response)
        poller = Poller(timeout)
        while session.status == "pending":
            if poller.expired():
                raise WaitTimeoutError(f"Session {session.session_id} is still pending after "
                                       f"{timeout} s.", code="WAIT_TIMEOUT",
                                       details={"session_id": session.session_id})
            yield Sleep(poller.next_wait())
            session = yield from self.get_session(session.session_id)
        if session.status == "failed":
            raise OperationFailedError(f"The session's key generation failed: "
                                       f"{session.raw.get('failure')}",
                                       code="KEY_GENERATION_FAILED",
                                       details={"session_id": session.session_id})
        return session

    def get_session(self, session_id: str) -> Op[TfheSession]:
        response = yield from self.request("GET", f"/tfhe/session/{session_id}")
        return TfheSession.parse(response.json(), response)

    def create_eval_session(self, source: Any, session_id: str | None,
                            progress: ProgressCallback | None) -> Op[TfheSession]:
        """From a key id (or anything uploaded, with .key_id), or from local TfheKeys: sent
        inline when the archive fits in one request, else by the chunked upload."""
        body: dict[str, Any] = {}
        if isinstance(source, str) or getattr(source, "key_id", None):
            body["key_id"] = key_id_of(source)
        else:
            archive: Path = yield Blocking(source.eval_key_archive)
            if b64_length(archive.stat().st_size) + _JSON_OVERHEAD <= MAX_REQUEST_BYTES:
                body["eval_key_b64"] = yield Blocking(lambda: b64(archive.read_bytes()))
            else:
                key = yield from self.upload_tfhe_key(source, progress)
                body["key_id"] = key.key_id
        if session_id is not None:
            body["session_id"] = session_id
        response = yield from self.request("POST", "/tfhe/eval-session", body,
                                           timeout=SESSION_TIMEOUT)
        return TfheSession.parse(response.json(), response)

    def delete_session(self, session: Any) -> Op[None]:
        yield from self.request("DELETE", f"/tfhe/session/{session_id_of(session)}")

    def tfhe_encrypt(self, session: Any, bits: Sequence[int],
                     plaintext_modulus: int | None = None) -> Op[list[bytes]]:
        body: dict[str, Any] = {"bits": [int(b) for b in bits]}
        if plaintext_modulus is not None:
            body["plaintext_modulus"] = plaintext_modulus
        response = yield from self.request(
            "POST", f"/tfhe/session/{session_id_of(session)}/encrypt", body,
            timeout=EVAL_TIMEOUT)
        return [base64.b64decode(t) for t in response.json()["ciphertexts_b64"]]

    def tfhe_decrypt(self, session: Any, ciphertexts: Sequence[Any]) -> Op[list[int]]:
        response = yield from self.request(
            "POST", f"/tfhe/session/{session_id_of(session)}/decrypt",
            {"ciphertexts_b64": [_ciphertext_text(c) for c in ciphertexts]},
            timeout=EVAL_TIMEOUT)
        return [int(b) for b in response.json()["bits"]]

    def gate(self, session: Any, op: str, a: Any, b: Any, sel: Any,
             c: Any = None) -> Op[GateResult]:
        body = {"session_id": session_id_of(session), "op": op.upper(), "a": _ciphertext_text(a)}
        for name, value in (("b", b), ("sel", sel), ("c", c)):
            if value is not None:
                body[name] = _ciphertext_text(value)
        response = yield from self.request("POST", "/tfhe/gate", body, timeout=EVAL_TIMEOUT)
        return GateResult.parse(response.json())

    def batch(self, session: Any, circuit: Any) -> Op[BatchResult]:
        gates = list(getattr(circuit, "gates", circuit))
        if not gates:
            raise ValidationError("A batch needs at least one gate.", code="INVALID_BATCH")
        response = yield from self.request("POST", "/tfhe/batch", {
            "session_id": session_id_of(session), "gates": gates}, timeout=EVAL_TIMEOUT)
        return BatchResult.parse(response.json())
