"""Account events: services publish them to the webhooks service, which owns their durable
queue and delivery. Their payloads are defined in wavis.core.event_schemas."""

from __future__ import annotations

import json
import logging
from typing import Any

import grpc

from wavis.core.event_schemas import EVENT_TYPES, data_errors
from wavis.core.grpc_client import open_channel
from wavis.core.ids import new_id
from wavis.generated.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc

log = logging.getLogger(__name__)

__all__ = ["EVENT_TYPES", "EventPublisher"]


class EventPublisher:
    """A client of WebhooksService.Publish for the services that are event sources."""

    def __init__(self, webhooks_target: str) -> None:
        self._channel = open_channel(webhooks_target)
        self._stub = webhooks_pb2_grpc.WebhooksServiceStub(self._channel)

    async def publish(self, account_id: str, event_type: str, data: dict[str, Any],
                      event_id: str | None = None) -> str:
        """Queue the event; returns its id. Raises grpc.RpcError if it could not be queued,
        ValueError if `data` is not what the event type's schema says."""
        errors = data_errors(event_type, data)
        if errors:
            raise ValueError(f"{event_type} payload: {'; '.join(errors)}")
        reply = await self._stub.Publish(webhooks_pb2.PublishRequest(
            account_id=account_id, type=event_type, data_json=json.dumps(data),
            event_id=event_id or new_id("evt")))
        return str(reply.event_id)

    async def publish_or_log(self, account_id: str, event_type: str, data: dict[str, Any],
                             event_id: str | None = None) -> str | None:
        """For sources whose own work must not fail because the webhooks service is down."""
        try:
            return await self.publish(account_id, event_type, data, event_id)
        except grpc.RpcError as exc:
            log.warning("could not publish %s for %s: %s", event_type, account_id, exc)
            return None

    async def close(self) -> None:
        await self._channel.close()
