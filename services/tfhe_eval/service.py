"""What tfhe-eval does: open sessions on keys of the keys service, and evaluate with them.

Server mode: the keys service generates the key. FHE-blind: a client's eval key archive goes
through the keys service's chunked upload, or names a key already uploaded. Either way the
session record (Redis) names a key, so any replica serves it, fetching the key on demand
(docs/decisions/0018-tfhe-sessions-served-by-any-replica.md). A server-mode session decrypts
and evaluates only the ciphertexts it issued, tagged (services.tfhe_eval.ciphertext_tags).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import grpc

from services.tfhe_eval import evaluator
from services.tfhe_eval.ciphertext_tags import CiphertextTags
from services.tfhe_eval.keycache import CachedKey, KeyCache, KeyGone
from services.tfhe_eval.sessions import CLIENT_SESSION_ID, SessionStore, not_found
from wavis.core.errors import WavisError, error_from_rpc
from wavis.core.ids import new_id
from wavis.core.limits import DEFAULT_MAX_REQUEST_BYTES, MAX_TFHE_BITS, megabytes
from wavis.core.tfhe_catalog import (
    PRESET_NAMES,
    STANDARD_MODULUS,
    moduli_for_preset,
    security_bits,
)
from wavis.fhe.binfhe_io import BinFheFormatError
from wavis.fhe.tfhe_gates import decrypt_bits, encrypt_bits, load_key, trim
from wavis.fhe.workers import FheWorkerPool, WorkerCrashed
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc

log = logging.getLogger(__name__)

READY, PENDING = "ready", "pending"  # session (and key) states

MAX_EVAL_KEY_BYTES = DEFAULT_MAX_REQUEST_BYTES  # what the gateway's body limit lets through
UPLOAD_CHUNK_BYTES = 1024 * 1024
SLOW_CALL_SECONDS = 600.0


class TfheService:
    def __init__(self, keys: keys_pb2_grpc.KeysServiceStub, sessions: SessionStore,
                 cache: KeyCache, pool: FheWorkerPool, workers: int, replica: str,
                 keygen_timeout: float, tags: CiphertextTags) -> None:
        self.keys = keys
        self.sessions = sessions
        self.cache = cache
        self.pool = pool
        self.workers = workers
        self.replica = replica
        self.keygen_timeout = keygen_timeout
        self.tags = tags
        self.recent: dict[str, float] = {}  # "{account}:{session}" -> last use here

    def active_sessions(self) -> int:
        horizon = time.monotonic() - self.sessions.idle_seconds
        for name in [n for n, used in self.recent.items() if used < horizon]:
            del self.recent[name]
        return len(self.recent)

    # Opening and ending sessions ------------------------------------------------------

    async def create_session(self, account_id: str, preset: str,
                             limits: keys_pb2.KeyLimits) -> dict[str, Any]:
        if preset not in PRESET_NAMES:
            raise WavisError("INVALID_PARAMS", f"preset must be one of "
                             f"{', '.join(PRESET_NAMES)}.", {"field": "preset"})
        reply = await self.keys.GenerateKey(keys_pb2.GenerateKeyRequest(
            account_id=account_id, scheme="tfhe", preset=preset, limits=limits),
            timeout=self.keygen_timeout)
        if reply.key.status == READY:
            return await self._open(account_id, reply.key, new_id("sess"), owns_key=True,
                                    blind=False)
        # Generation outlasted the keys service's sync wait (secure presets take seconds):
        # the session exists at once, "pending" until its key is ready; any replica
        # completes it when the session is next read (session()).
        record = self._record(account_id, reply.key, new_id("sess"), owns_key=True,
                              blind=False, preset=preset) | {"status": PENDING}
        try:
            await self.sessions.create(record)
        except BaseException:
            await self._delete_key(account_id, reply.key.key_id)
            raise
        return record

    def _record(self, account_id: str, key: keys_pb2.Key, session_id: str, *,
                owns_key: bool, blind: bool, preset: str = "") -> dict[str, Any]:
        """A session's record; `preset` for a key still pending (which does not name it)."""
        preset = preset or key.preset
        return {"session_id": session_id, "account_id": account_id, "key_id": key.key_id,
                "preset": preset, "n": int(key.n), "big_n": int(key.big_n),
                "is_blind": blind, "owns_key": owns_key,
                "security_bits": security_bits(preset), "status": READY,
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "replica": self.replica}

    async def create_eval_session(self, request: Any) -> dict[str, Any]:
        account_id, session_id = request.account_id, request.session_id
        if session_id:
            if not CLIENT_SESSION_ID.match(session_id):
                raise WavisError("VALIDATION_ERROR", "session_id must match "
                                 "^[A-Za-z0-9_-]{1,64}$.", {"field": "session_id"})
            if await self.sessions.exists(account_id, session_id):
                raise WavisError("SESSION_EXISTS", f"The session_id {session_id} is already "
                                 "in use.", {"session_id": session_id})
        if bool(request.eval_key) == bool(request.key_id):
            raise WavisError("VALIDATION_ERROR", "Give exactly one of eval_key_b64 and key_id.",
                             {"field": "eval_key_b64"})
        limits = keys_pb2.KeyLimits(max_keys=request.max_keys,
                                    max_key_bytes=request.max_key_bytes)
        if request.key_id:
            key = (await self.keys.GetKey(keys_pb2.GetKeyRequest(
                account_id=account_id, key_id=request.key_id))).key
            if key.scheme != "tfhe" or key.status != "ready":
                raise WavisError("INVALID_KEY", f"Key {key.key_id} is not a ready TFHE key.",
                                 {"field": "key_id"})
            owns = False
        else:
            key = await self._upload(account_id, bytes(request.eval_key), limits)
            owns = True
        return await self._open(account_id, key, session_id or new_id("sess"),
                                owns_key=owns, blind=True)

    async def _upload(self, account_id: str, data: bytes,
                      limits: keys_pb2.KeyLimits) -> keys_pb2.Key:
        if len(data) > MAX_EVAL_KEY_BYTES:
            raise WavisError("PAYLOAD_TOO_LARGE", "eval_key_b64 holds more than "
                             f"{megabytes(MAX_EVAL_KEY_BYTES)}; use the chunked upload "
                             "(POST /keys/uploads) and key_id.")
        upload = (await self.keys.CreateUpload(keys_pb2.CreateUploadRequest(
            account_id=account_id, scheme="tfhe", kind="tfhe_eval_key", size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(), limits=limits))).upload
        for number in range(1, int(upload.part_count) + 1):
            part = data[(number - 1) * upload.part_size:number * upload.part_size]

            async def messages(part: bytes = part, number: int = number,
                               ) -> AsyncIterator[keys_pb2.PutUploadPartRequest]:
                yield keys_pb2.PutUploadPartRequest(header=keys_pb2.PutUploadPartHeader(
                    account_id=account_id, upload_id=upload.upload_id, part_number=number))
                for start in range(0, len(part), UPLOAD_CHUNK_BYTES):
                    yield keys_pb2.PutUploadPartRequest(
                        data=part[start:start + UPLOAD_CHUNK_BYTES])

            await self.keys.PutUploadPart(messages(), timeout=SLOW_CALL_SECONDS)
        return (await self.keys.CompleteUpload(keys_pb2.CompleteUploadRequest(
            account_id=account_id, upload_id=upload.upload_id, limits=limits),
            timeout=SLOW_CALL_SECONDS)).key

    async def _open(self, account_id: str, key: keys_pb2.Key, session_id: str, *,
                    owns_key: bool, blind: bool) -> dict[str, Any]:
        record = self._record(account_id, key, session_id, owns_key=owns_key, blind=blind)
        try:
            entry = await self.cache.get(account_id, key.key_id, secret=not blind)
            await self.preload(entry)
            await self.sessions.create(record)
        except BaseException:
            if owns_key:
                self.cache.forget(key.key_id)
                await self._delete_key(account_id, key.key_id)
            raise
        self.recent[f"{account_id}:{session_id}"] = time.monotonic()
        return record

    async def preload(self, entry: CachedKey) -> None:
        """Load the key into every worker now, so the first gates do not wait for it."""
        keep = self.cache.keep()
        try:
            await asyncio.gather(*(self.pool.run(load_key, entry.ref, keep)
                                   for _ in range(self.workers)))
        except (WorkerCrashed, BinFheFormatError) as exc:
            raise WavisError("INVALID_KEY", "The key could not be loaded.") from exc

    async def trim_workers(self) -> None:
        keep = self.cache.keep()
        await asyncio.gather(*(self.pool.run(trim, keep) for _ in range(self.workers)),
                             return_exceptions=True)

    async def delete_session(self, account_id: str, session_id: str) -> dict[str, Any]:
        record, owned = await self.sessions.delete(account_id, session_id)
        self.recent.pop(f"{account_id}:{session_id}", None)
        if owned:
            self.cache.forget(owned)
            await self._delete_key(account_id, owned)
            await self.trim_workers()
        return record

    async def _delete_key(self, account_id: str, key_id: str) -> None:
        try:
            await self.keys.DeleteKey(keys_pb2.DeleteKeyRequest(account_id=account_id,
                                                                key_id=key_id))
        except grpc.RpcError as exc:
            error = error_from_rpc(exc)
            if error.code not in ("KEY_NOT_FOUND", "NOT_FOUND"):
                log.error("could not delete TFHE key %s: %s", key_id, error.message)

    async def sweep(self) -> int:
        """Delete the keys of sessions that ended idle (claimed by this replica)."""
        claimed = await self.sessions.claim_expired()
        for account_id, key_id in claimed:
            self.cache.forget(key_id)
            await self._delete_key(account_id, key_id)
        if claimed:
            await self.trim_workers()
        return len(claimed)

    # Using sessions -----------------------------------------------------------------------

    async def session(self, account_id: str, session_id: str, *,
                      usable: bool = True) -> dict[str, Any]:
        """The session's record, its idle time renewed. A pending one is completed first if
        its key is ready; unless it is, `usable` refuses it (SESSION_NOT_READY)."""
        record = await self.sessions.get(account_id, session_id)
        if record.get("status", READY) == PENDING:
            record = await self._complete(record)
        status = record.get("status", READY)
        if usable and status != READY:
            why = (f"its key's generation failed ({record['failure']}); delete it"
                   if status == "failed" else "its key is still being generated; poll "
                   f"GET /api/v1/tfhe/session/{session_id}")
            raise WavisError("SESSION_NOT_READY", f"The session {session_id} is {status}: "
                             f"{why}.", {"session_id": session_id, "status": status})
        self.recent[f"{account_id}:{session_id}"] = time.monotonic()
        return record

    async def _complete(self, record: dict[str, Any]) -> dict[str, Any]:
        """A pending session with its key's outcome, if generation has ended."""
        key = (await self.keys.GetKey(keys_pb2.GetKeyRequest(
            account_id=record["account_id"], key_id=record["key_id"]))).key
        if key.status == PENDING:
            return record
        if key.status == READY:
            record = record | {"status": READY, "n": int(key.n), "big_n": int(key.big_n)}
        else:
            record = record | {"status": "failed", "failure": key.failure or "unknown"}
        await self.sessions.update(record)
        return record

    async def _key(self, record: dict[str, Any], secret: bool = False) -> CachedKey:
        held = self.cache.holds(record["key_id"])
        try:
            entry = await self.cache.get(record["account_id"], record["key_id"], secret=secret)
        except KeyGone:  # the key was deleted: so is every session on it
            await self.sessions.delete(record["account_id"], record["session_id"])
            raise not_found(record["session_id"]) from None
        if not held and record.get("replica") != self.replica:
            await self.sessions.set_replica(record, self.replica)
        return entry

    async def _in_worker(self, record: dict[str, Any], fn: Any, *args: Any,
                         secret: bool = False) -> Any:
        for attempt in range(2):
            entry = await self._key(record, secret)
            ref = entry.with_secret() if secret else entry.ref
            try:
                return await self.pool.run(fn, ref, self.cache.keep(), *args)
            except BinFheFormatError:  # unloaded meanwhile: fetch it again, once
                if attempt:
                    raise WavisError("INTERNAL_ERROR", "The session's key could not be "
                                     "loaded.") from None
            except WorkerCrashed:
                raise WavisError("INVALID_CIPHERTEXT", "A ciphertext could not be read (it "
                                 "made the reader fail).") from None
        raise AssertionError("unreachable")

    async def encrypt(self, account_id: str, session_id: str, bits: list[int],
                      plaintext_modulus: int = 0) -> tuple[list[bytes], dict[str, Any]]:
        """Bits as ciphertexts of plaintext_modulus (0: the standard one), which must be one
        the session's gates take (docs/decisions/0045-three-input-tfhe-presets.md)."""
        record = await self._server_mode(account_id, session_id)
        if not 1 <= len(bits) <= MAX_TFHE_BITS or any(bit not in (0, 1) for bit in bits):
            raise WavisError("VALIDATION_ERROR", f"1 to {MAX_TFHE_BITS} bits, each 0 or 1.",
                             {"field": "bits"})
        modulus = plaintext_modulus or STANDARD_MODULUS
        allowed = moduli_for_preset(record["preset"])
        if modulus not in allowed:
            raise WavisError("VALIDATION_ERROR", f"The {record['preset']} preset encrypts with "
                             "plaintext modulus " + " or ".join(map(str, allowed))
                             + f", not {modulus}.", {"field": "plaintext_modulus"})
        bodies = await self._in_worker(record, encrypt_bits, bits, modulus, secret=True)
        tags = self.tags.session(record)
        return [tags.issue(body) for body in bodies], record

    async def decrypt(self, account_id: str, session_id: str, ciphertexts: list[bytes],
                      ) -> tuple[list[int], dict[str, Any]]:
        record = await self._server_mode(account_id, session_id)
        if not 1 <= len(ciphertexts) <= MAX_TFHE_BITS:
            raise WavisError("VALIDATION_ERROR", f"1 to {MAX_TFHE_BITS} ciphertexts.",
                             {"field": "ciphertexts_b64"})
        if any(len(c) > evaluator.MAX_CIPHERTEXT_BYTES for c in ciphertexts):
            raise WavisError("PAYLOAD_TOO_LARGE", evaluator.CIPHERTEXT_TOO_LARGE)
        for index, data in enumerate(ciphertexts):
            if not data:
                raise WavisError("INVALID_CIPHERTEXT", "A ciphertext is empty.",
                                 {"index": index})
        # Only the session's own ciphertexts reach the secret key (docs/security.md).
        tags = self.tags.session(record)
        bodies = [tags.open(data, {"index": i}) for i, data in enumerate(ciphertexts)]
        return await self._in_worker(record, decrypt_bits, bodies, secret=True), record

    async def _server_mode(self, account_id: str, session_id: str) -> dict[str, Any]:
        record = await self.session(account_id, session_id)
        if record["is_blind"]:
            raise WavisError("BLIND_SESSION", "This session is FHE-blind: the server holds no "
                             "secret key; encrypt and decrypt on your side.",
                             {"session_id": session_id})
        return record

    async def prepare(self, account_id: str, session_id: str, gates: list[Any], *,
                      batch: bool) -> tuple[dict[str, Any], list[evaluator.ParsedGate]]:
        """The session and the checked gates: every refusal happens here, before any work."""
        record = await self.session(account_id, session_id)
        opening = None if record["is_blind"] else self.tags.session(record).open
        return record, evaluator.parse_gates(gates, record["preset"], batch=batch,
                                             open_ciphertext=opening)

    async def evaluate(self, record: dict[str, Any], parsed: list[evaluator.ParsedGate],
                       ) -> evaluator.BatchOutcome:
        for attempt in range(2):
            entry = await self._key(record)
            run = evaluator.share_runner(self.pool, entry.ref, self.cache.keep())
            try:
                outcome = await evaluator.evaluate(parsed, run, self.workers)
                if record["is_blind"]:
                    return outcome
                tags = self.tags.session(record)
                return dataclasses.replace(outcome, outputs=[tags.issue(output)
                                                             for output in outcome.outputs])
            except BinFheFormatError:  # unloaded meanwhile: fetch it again, once
                if attempt:
                    raise WavisError("INTERNAL_ERROR", "The session's key could not be "
                                     "loaded.") from None
        raise AssertionError("unreachable")
