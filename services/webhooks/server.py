"""The WebhooksService servicer and the service's lifespan (fan-out and delivery workers)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc.aio

from services.webhooks.delivery import DeliveryWorker, FanOut, Sender, matches
from services.webhooks.queue import EventQueue
from services.webhooks.settings import WebhooksSettings
from services.webhooks.ssrf import SsrfRefused, invalid, vet_url
from services.webhooks.store import EndpointStore
from wavis.core import webhook_signing as signing
from wavis.core.errors import WavisError
from wavis.core.event_schemas import EVENT_TYPES, data_errors, event_data
from wavis.core.grpc_server import ServiceContext
from wavis.core.ids import new_id
from wavis.core.redis_client import open_redis
from wavis.core.redis_pages import page_limit
from wavis.core.sealing import sealer_for
from wavis.core.timefmt import rfc3339
from wavis.generated.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc

log = logging.getLogger(__name__)
MAX_DATA_BYTES = 64 * 1024


def endpoint_message(record: dict[str, Any]) -> webhooks_pb2.Endpoint:
    since = record.get("failing_since")
    return webhooks_pb2.Endpoint(
        webhook_id=record["webhook_id"], account_id=record["account_id"], url=record["url"],
        events=record["events"], enabled=record["enabled"],
        disabled_reason=record.get("disabled_reason", ""), created_at=record["created_at"],
        updated_at=record.get("updated_at", ""), failing_since=rfc3339(since) if since else "")


def delivery_message(record: dict[str, str]) -> webhooks_pb2.Delivery:
    return webhooks_pb2.Delivery(
        delivery_id=record["delivery_id"], event_id=record["event_id"], type=record["type"],
        webhook_id=record["webhook_id"], status=record["status"],
        attempts=int(record.get("attempts") or 0),
        last_status_code=int(record.get("last_status_code") or 0),
        last_error=record.get("last_error", ""), created_at=record.get("created_at", ""),
        last_attempt_at=record.get("last_attempt_at", ""),
        next_attempt_at=record.get("next_attempt_at", ""),
        delivered_at=record.get("delivered_at", ""))


def _events(requested: list[str]) -> list[str]:
    unknown = [name for name in requested if name not in EVENT_TYPES]
    if unknown:
        raise WavisError("VALIDATION_ERROR", f"Unknown event type {unknown[0]!r}; one of "
                         f"{', '.join(EVENT_TYPES)}.", {"field": "events"})
    return list(dict.fromkeys(requested))


class WebhooksServicer(webhooks_pb2_grpc.WebhooksServiceServicer):
    def __init__(self, context: ServiceContext, settings: WebhooksSettings,
                 store: EndpointStore, queue: EventQueue, worker: DeliveryWorker) -> None:
        self.context = context
        self.settings = settings
        self.store = store
        self.queue = queue
        self.worker = worker

    async def _vet(self, url: str) -> str:
        try:
            await vet_url(url, self.settings.allow_private)
        except SsrfRefused as exc:
            raise invalid(str(exc)) from None
        return url

    async def Describe(self, request: webhooks_pb2.DescribeRequest,
                       grpc_context: grpc.aio.ServicerContext,
                       ) -> webhooks_pb2.DescribeResponse:
        return webhooks_pb2.DescribeResponse(info=self.context.service_info(),
                                             deliveries_in_flight=len(self.worker.in_flight),
                                             deliveries_queued=await self.queue.queued())

    async def Publish(self, request: webhooks_pb2.PublishRequest,
                      grpc_context: grpc.aio.ServicerContext) -> webhooks_pb2.PublishResponse:
        if not request.account_id:
            raise WavisError("VALIDATION_ERROR", "account_id is required.")
        if request.type not in EVENT_TYPES:
            raise WavisError("VALIDATION_ERROR", f"Unknown event type {request.type!r}.")
        event_id = request.event_id or new_id("evt")
        if not event_id.startswith("evt_") or len(event_id) > 64:
            raise WavisError("VALIDATION_ERROR", "event_id must look like evt_... (<= 64).")
        try:
            data = json.loads(request.data_json or "{}")
        except ValueError:
            data = None
        if not isinstance(data, dict) or len(request.data_json) > MAX_DATA_BYTES:
            raise WavisError("VALIDATION_ERROR", "data_json must be a JSON object of at most "
                             "64 KiB.")
        errors = data_errors(request.type, data)
        if errors:  # endpoints receive only what the event's schema says
            raise WavisError("VALIDATION_ERROR", f"data_json is not a {request.type} payload: "
                             f"{'; '.join(errors)[:500]}")
        await self.queue.publish(request.account_id, request.type,
                                 json.dumps(data, separators=(",", ":")), event_id)
        return webhooks_pb2.PublishResponse(event_id=event_id)

    async def CreateEndpoint(self, request: webhooks_pb2.CreateEndpointRequest,
                             grpc_context: grpc.aio.ServicerContext,
                             ) -> webhooks_pb2.CreateEndpointResponse:
        url = await self._vet(request.url)
        secret = request.secret or signing.new_secret()
        if len(secret) < signing.MIN_SECRET_CHARS:
            raise WavisError("VALIDATION_ERROR", f"secret must be at least "
                             f"{signing.MIN_SECRET_CHARS} characters.", {"field": "secret"})
        record = await self.store.create(request.account_id, url,
                                         _events(list(request.events)), secret)
        return webhooks_pb2.CreateEndpointResponse(endpoint=endpoint_message(record),
                                                   secret=secret)

    async def ListEndpoints(self, request: webhooks_pb2.ListEndpointsRequest,
                            grpc_context: grpc.aio.ServicerContext,
                            ) -> webhooks_pb2.ListEndpointsResponse:
        records, has_more, cursor = await self.store.page(request.account_id,
                                                          page_limit(request.limit), request.cursor)
        return webhooks_pb2.ListEndpointsResponse(
            endpoints=[endpoint_message(r) for r in records], has_more=has_more,
            next_cursor=cursor)

    async def GetEndpoint(self, request: webhooks_pb2.GetEndpointRequest,
                          grpc_context: grpc.aio.ServicerContext,
                          ) -> webhooks_pb2.GetEndpointResponse:
        record = await self.store.get(request.account_id, request.webhook_id)
        return webhooks_pb2.GetEndpointResponse(endpoint=endpoint_message(record))

    async def UpdateEndpoint(self, request: webhooks_pb2.UpdateEndpointRequest,
                             grpc_context: grpc.aio.ServicerContext,
                             ) -> webhooks_pb2.UpdateEndpointResponse:
        record = await self.store.get(request.account_id, request.webhook_id)
        fields: dict[str, str] = {}
        if request.HasField("url"):
            fields["url"] = await self._vet(request.url)
        if request.update_events:
            fields["events"] = json.dumps(_events(list(request.events)))
        if request.HasField("enabled"):
            fields["enabled"] = "1" if request.enabled else "0"
            if request.enabled:  # a fresh start: no failure record, no reason
                fields |= {"disabled_reason": "", "failing_since": ""}
        record = await self.store.update(record, fields)
        return webhooks_pb2.UpdateEndpointResponse(endpoint=endpoint_message(record))

    async def DeleteEndpoint(self, request: webhooks_pb2.DeleteEndpointRequest,
                             grpc_context: grpc.aio.ServicerContext,
                             ) -> webhooks_pb2.DeleteEndpointResponse:
        record = await self.store.get(request.account_id, request.webhook_id)
        await self.store.delete(record)
        return webhooks_pb2.DeleteEndpointResponse()

    async def RegenerateSecret(self, request: webhooks_pb2.RegenerateSecretRequest,
                               grpc_context: grpc.aio.ServicerContext,
                               ) -> webhooks_pb2.RegenerateSecretResponse:
        record = await self.store.get(request.account_id, request.webhook_id)
        secret = signing.new_secret()
        record = await self.store.set_secret(record, secret)
        return webhooks_pb2.RegenerateSecretResponse(endpoint=endpoint_message(record),
                                                     secret=secret)

    async def SendTestEvent(self, request: webhooks_pb2.SendTestEventRequest,
                            grpc_context: grpc.aio.ServicerContext,
                            ) -> webhooks_pb2.SendTestEventResponse:
        endpoints = await self.store.all_for(request.account_id)
        event_id = new_id("evt")
        await self.queue.publish(request.account_id, "test", json.dumps(event_data(
            "test", message="A test event from WAVIS: your endpoint receives and can verify "
                            "signed events.")), event_id)
        return webhooks_pb2.SendTestEventResponse(
            event_id=event_id, webhook_ids=[e["webhook_id"] for e in endpoints
                                            if matches(e, "test")])

    async def ListDeliveries(self, request: webhooks_pb2.ListDeliveriesRequest,
                             grpc_context: grpc.aio.ServicerContext,
                             ) -> webhooks_pb2.ListDeliveriesResponse:
        records, has_more, cursor = await self.queue.history(
            request.account_id, page_limit(request.limit), request.cursor)
        return webhooks_pb2.ListDeliveriesResponse(
            deliveries=[delivery_message(r) for r in records], has_more=has_more,
            next_cursor=cursor)


@asynccontextmanager
async def lifespan(context: ServiceContext) -> AsyncIterator[None]:
    settings = context.settings
    assert isinstance(settings, WebhooksSettings)
    sealer = sealer_for(settings.key_encryption_key, settings)
    if settings.allow_private:
        log.warning("WAVIS_WEBHOOK_ALLOW_PRIVATE is on: webhook URLs may point at loopback "
                    "and private addresses (development only)")
    redis = open_redis(settings, decode_responses=True,
                       tracer_provider=context.tracer_provider)
    # The fan-out's blocking stream reads need a timeout longer than the block.
    reader = open_redis(settings, decode_responses=True,
                        read_timeout=settings.redis_timeout_seconds + 5)
    store = EndpointStore(redis, sealer, settings.max_endpoints)
    queue = EventQueue(redis, settings.history_seconds)
    sender = Sender(settings.allow_private, settings.timeout_seconds, settings.concurrency)
    worker = DeliveryWorker(settings, store, queue, sender)
    fanout = FanOut(store, queue, reader, context.instance_id, worker.wake)
    webhooks_pb2_grpc.add_WebhooksServiceServicer_to_server(
        WebhooksServicer(context, settings, store, queue, worker), context.server)
    tasks = [asyncio.create_task(fanout.run(context.stopping)),
             asyncio.create_task(worker.run(context.stopping))]
    try:
        yield
    finally:
        context.stopping.set()
        _, pending = await asyncio.wait(tasks, timeout=2)
        for task in pending:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await worker.drain(min(2.0, settings.timeout_seconds))
        await sender.close()
        await reader.aclose()
        await redis.aclose()
