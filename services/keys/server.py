"""The KeysService servicer and the service's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc.aio
import redis.asyncio as aioredis

from services.keys.blobstore import LocalBlobStore
from services.keys.keyring import Keyring
from services.keys.settings import KeysSettings
from services.keys.store import DELETIONS_CHANNEL, KeyStore
from services.keys.uploads import UploadStore
from wavis.core.errors import WavisError
from wavis.core.events import EventPublisher
from wavis.core.grpc_server import ServiceContext
from wavis.core.redis_client import channel_messages, open_redis
from wavis.core.redis_pages import page_limit
from wavis.core.sealing import sealer_for
from wavis.fhe.ckks_params import CkksParams
from wavis.fhe.workers import FheWorkerPool
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc

log = logging.getLogger(__name__)


def key_message(record: dict[str, Any]) -> keys_pb2.Key:
    params = record.get("params") or {}
    return keys_pb2.Key(
        key_id=record["key_id"], account_id=record["account_id"], scheme=record["scheme"],
        mode=record["mode"], status=record["status"], failure=record.get("failure", ""),
        params=keys_pb2.CkksParams(**params) if params else None,
        slot_count=record["slot_count"], max_level=record["max_level"],
        rotations=record.get("rotations") or [], preset=record.get("preset", ""),
        n=record["n"], big_n=record["big_n"], size_bytes=record["size_bytes"],
        security_bits=record["security_bits"], created_at=record["created_at"],
        scaling_technique=record.get("scaling_technique", ""),
        components=sorted((record.get("components") or {}).keys()),
        bootstrappable=record.get("bootstrappable", False),
        level_budget=record.get("level_budget") or [],
        client_key_tag=record.get("client_key_tag", ""))


def _limits(limits: keys_pb2.KeyLimits) -> tuple[int, int]:
    return int(limits.max_keys), int(limits.max_key_bytes)


class KeysServicer(keys_pb2_grpc.KeysServiceServicer):
    def __init__(self, context: ServiceContext, keyring: Keyring,
                 pubsub_redis: aioredis.Redis) -> None:
        self.context = context
        self.keyring = keyring
        self.pubsub_redis = pubsub_redis

    async def Describe(self, request: keys_pb2.DescribeRequest,
                       grpc_context: grpc.aio.ServicerContext) -> keys_pb2.DescribeResponse:
        return keys_pb2.DescribeResponse(info=self.context.service_info(),
                                         pending_generations=len(self.keyring.background))

    async def GenerateKey(self, request: keys_pb2.GenerateKeyRequest,
                          grpc_context: grpc.aio.ServicerContext,
                          ) -> keys_pb2.GenerateKeyResponse:
        params = None
        if request.scheme == "ckks":
            p = request.params
            params = CkksParams(int(p.poly_degree), int(p.scale_bits), int(p.max_depth),
                                p.security_level or "128-bit", request.bootstrappable)
        record = await self.keyring.generate(
            request.account_id, request.scheme, params,
            [int(r) for r in request.rotations] if request.has_rotations else None,
            request.preset, _limits(request.limits))
        return keys_pb2.GenerateKeyResponse(key=key_message(record))

    async def UploadKey(self, request_iterator: AsyncIterator[keys_pb2.UploadKeyRequest],
                        grpc_context: grpc.aio.ServicerContext) -> keys_pb2.UploadKeyResponse:
        first = await anext_or_none(request_iterator)
        if first is None or not first.HasField("header"):
            raise WavisError("VALIDATION_ERROR", "UploadKey starts with a header.")
        header = first.header

        async def chunks() -> AsyncIterator[tuple[str, bytes]]:
            async for message in request_iterator:
                yield message.chunk.component, message.chunk.data

        async with answered_after_reading(request_iterator):
            record = await self.keyring.upload(header.account_id, header.scheme,
                                               dict(header.component_sizes), chunks(),
                                               _limits(header.limits))
        return keys_pb2.UploadKeyResponse(key=key_message(record))

    async def CreateUpload(self, request: keys_pb2.CreateUploadRequest,
                           grpc_context: grpc.aio.ServicerContext,
                           ) -> keys_pb2.CreateUploadResponse:
        max_keys, max_bytes = _limits(request.limits)
        # Refuse now what could never fit, rather than after gigabytes of parts.
        await self.keyring.store.reserve(request.account_id, max_keys, max_bytes, 0,
                                         int(request.size_bytes))
        await self.keyring.store.release(request.account_id, 0, int(request.size_bytes))
        record = await self.keyring.uploads.create(request.account_id, request.scheme,
                                                   request.kind, int(request.size_bytes),
                                                   request.sha256)
        return keys_pb2.CreateUploadResponse(upload=keys_pb2.Upload(
            upload_id=record["upload_id"], part_size=record["part_size"],
            part_count=record["part_count"], expires_at=record["expires_at"]))

    async def PutUploadPart(self, request_iterator: AsyncIterator[
                                keys_pb2.PutUploadPartRequest],
                            grpc_context: grpc.aio.ServicerContext,
                            ) -> keys_pb2.PutUploadPartResponse:
        first = await anext_or_none(request_iterator)
        if first is None or not first.HasField("header"):
            raise WavisError("VALIDATION_ERROR", "PutUploadPart starts with a header.")
        header = first.header

        async def data() -> AsyncIterator[bytes]:
            async for message in request_iterator:
                yield message.data

        async with answered_after_reading(request_iterator):
            record = await self.keyring.uploads.get(header.account_id, header.upload_id)
            size = await self.keyring.uploads.put_part(record, int(header.part_number), data())
        return keys_pb2.PutUploadPartResponse(size_bytes=size)

    async def CompleteUpload(self, request: keys_pb2.CompleteUploadRequest,
                             grpc_context: grpc.aio.ServicerContext,
                             ) -> keys_pb2.CompleteUploadResponse:
        record = await self.keyring.complete_upload(request.account_id, request.upload_id,
                                                    _limits(request.limits))
        return keys_pb2.CompleteUploadResponse(key=key_message(record))

    async def GetUpload(self, request: keys_pb2.GetUploadRequest,
                        grpc_context: grpc.aio.ServicerContext) -> keys_pb2.GetUploadResponse:
        record = await self.keyring.uploads.get(request.account_id, request.upload_id)
        parts = await self.keyring.uploads.parts(record)
        return keys_pb2.GetUploadResponse(
            upload=keys_pb2.Upload(upload_id=record["upload_id"], part_size=record["part_size"],
                                   part_count=record["part_count"],
                                   expires_at=record["expires_at"]),
            scheme=record["scheme"], kind=record["kind"], size_bytes=record["size_bytes"],
            sha256=record["sha256"],
            parts=[keys_pb2.UploadPart(part_number=p["part_number"], size_bytes=p["size_bytes"],
                                       sha256=bytes.fromhex(p["sha256"] or ""))
                   for p in parts])

    async def GetKey(self, request: keys_pb2.GetKeyRequest,
                     grpc_context: grpc.aio.ServicerContext) -> keys_pb2.GetKeyResponse:
        record = await self.keyring.store.get(request.account_id, request.key_id)
        return keys_pb2.GetKeyResponse(key=key_message(record))

    async def ListKeys(self, request: keys_pb2.ListKeysRequest,
                       grpc_context: grpc.aio.ServicerContext) -> keys_pb2.ListKeysResponse:
        records, has_more, cursor = await self.keyring.store.list(
            request.account_id, page_limit(request.limit), request.cursor)
        return keys_pb2.ListKeysResponse(keys=[key_message(r) for r in records],
                                         has_more=has_more, next_cursor=cursor)

    async def DeleteKey(self, request: keys_pb2.DeleteKeyRequest,
                        grpc_context: grpc.aio.ServicerContext) -> keys_pb2.DeleteKeyResponse:
        await self.keyring.delete(request.account_id, request.key_id)
        return keys_pb2.DeleteKeyResponse()

    async def FetchKeyMaterial(self, request: keys_pb2.FetchKeyMaterialRequest,
                               grpc_context: grpc.aio.ServicerContext,
                               ) -> AsyncIterator[keys_pb2.FetchKeyMaterialResponse]:
        record = await self.keyring.store.get(request.account_id or None, request.key_id)
        entry = (record.get("components") or {}).get(request.component) or {}
        total = int(entry.get("size", 0))
        chunks = self.keyring.material(record, request.component)
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            yield keys_pb2.FetchKeyMaterialResponse(data=chunk, total_size=total)

    async def WatchKeyDeletions(self, request: keys_pb2.WatchKeyDeletionsRequest,
                                grpc_context: grpc.aio.ServicerContext,
                                ) -> AsyncIterator[keys_pb2.WatchKeyDeletionsResponse]:
        async for message in channel_messages(self.pubsub_redis, DELETIONS_CHANNEL,
                                              self.context.stopping):
            if message is None:  # subscribed: nothing deleted from now on is missed
                yield keys_pb2.WatchKeyDeletionsResponse()
                continue
            event = json.loads(message)
            yield keys_pb2.WatchKeyDeletionsResponse(key_id=event["key_id"],
                                                     account_id=event["account_id"])


@asynccontextmanager
async def answered_after_reading(requests: AsyncIterator[Any]) -> AsyncIterator[None]:
    """Refuse a client stream only once the client has sent it all: a call answered while
    the client is still writing ends with the client's failed write ("Internal error from
    Core"), not with our answer. The gateway bounds what a stream may carry."""
    try:
        yield
    except WavisError:
        async for _ in requests:
            pass
        raise


async def anext_or_none(iterator: AsyncIterator[Any]) -> Any:
    async for item in iterator:
        return item
    return None


async def _sweep_uploads(uploads: UploadStore, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            removed = await uploads.sweep()
            if removed:
                log.info("removed %d expired uploads", len(removed))
        except Exception:
            log.exception("upload sweep failed")


@asynccontextmanager
async def lifespan(context: ServiceContext) -> AsyncIterator[None]:
    settings = context.settings
    assert isinstance(settings, KeysSettings)
    sealer = sealer_for(settings.key_encryption_key, settings)
    redis = open_redis(settings, decode_responses=True,
                       tracer_provider=context.tracer_provider)
    # Subscriptions wait for messages indefinitely: no read timeout on their connection.
    pubsub_redis = open_redis(settings, decode_responses=True, read_timeout=None)
    blobs = LocalBlobStore(settings.data_dir / "blobs")
    uploads = UploadStore(redis, settings.data_dir / "uploads",
                          part_bytes=settings.upload_part_bytes,
                          ttl_seconds=settings.upload_ttl_seconds,
                          max_bytes=settings.max_upload_bytes)
    pool = FheWorkerPool(settings.fhe_workers, settings.omp_num_threads,
                         memory_limit_bytes=settings.worker_memory_bytes)
    events = EventPublisher(settings.webhooks_target)
    keyring = Keyring(KeyStore(redis), blobs, uploads, sealer, pool,
                      settings.keygen_sync_seconds, events)
    keys_pb2_grpc.add_KeysServiceServicer_to_server(
        KeysServicer(context, keyring, pubsub_redis), context.server)
    sweeper = asyncio.create_task(_sweep_uploads(
        uploads, min(600.0, max(1.0, settings.upload_ttl_seconds / 2))))
    try:
        yield
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        for task in list(keyring.background):
            task.cancel()
        pool.close()
        await events.close()
        await redis.aclose()
        await pubsub_redis.aclose()
