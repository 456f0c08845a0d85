"""Webhook endpoints of the caller's account: create, list, get, update, delete, rotate the
secret, send a test event, and the delivery history. Delivery itself is the webhooks
service's work; `WebhookEvent` documents what endpoints receive."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import state
from gateway.body import read_body
from gateway.endpoints import PAGE_PARAMETERS, Endpoint, Reply, refusal
from gateway.listing import paged_list
from gateway.schemas import register_schemas
from wavis.core.event_schemas import EVENT_SCHEMAS, EVENT_TYPES, event_schema
from wavis.core.roles import READ, WRITE
from wavis.core.webhook_signing import (
    EVENT_ID_HEADER,
    MIN_SECRET_CHARS,
    SIGNATURE_HEADER,
    SIGNATURE_PREFIX,
    TIMESTAMP_HEADER,
)
from wavis.generated.webhooks.v1 import webhooks_pb2

LIST_NAME = "webhooks"
HISTORY_NAME = "webhook_events"
SIGNATURE_INFO = {
    "algorithm": "HMAC-SHA256",
    "header": SIGNATURE_HEADER,
    "format": f"{SIGNATURE_PREFIX}<hex digest>",
    "signed_payload": f"<{TIMESTAMP_HEADER}>.<raw request body>",
    "timestamp_header": TIMESTAMP_HEADER,
    "event_id_header": EVENT_ID_HEADER,
}


def webhook_json(endpoint: webhooks_pb2.Endpoint) -> dict[str, Any]:
    return {"webhook_id": endpoint.webhook_id, "url": endpoint.url,
            "events": list(endpoint.events), "enabled": endpoint.enabled,
            "disabled_reason": endpoint.disabled_reason or None,
            "failing_since": endpoint.failing_since or None,
            "created_at": endpoint.created_at, "updated_at": endpoint.updated_at}


def _with_secret(endpoint: webhooks_pb2.Endpoint, secret: str) -> dict[str, Any]:
    return webhook_json(endpoint) | {"secret": secret, "signature_info": SIGNATURE_INFO}


def delivery_json(delivery: webhooks_pb2.Delivery) -> dict[str, Any]:
    return {"delivery_id": delivery.delivery_id, "event_id": delivery.event_id,
            "type": delivery.type, "webhook_id": delivery.webhook_id,
            "status": delivery.status, "attempts": delivery.attempts,
            "last_status_code": delivery.last_status_code or None,
            "last_error": delivery.last_error or None, "created_at": delivery.created_at,
            "last_attempt_at": delivery.last_attempt_at or None,
            "next_attempt_at": delivery.next_attempt_at or None,
            "delivered_at": delivery.delivered_at or None}


async def create_webhook(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    body = await read_body(request)
    reply = await request.app[state.SERVICES].webhooks.CreateEndpoint(
        webhooks_pb2.CreateEndpointRequest(account_id=caller.account_id, url=body["url"],
                                           events=body.get("events", []),
                                           secret=body.get("secret", "")))
    return web.json_response(_with_secret(reply.endpoint, reply.secret), status=201)


async def list_webhooks(request: web.Request) -> web.Response:
    return await paged_list(request, LIST_NAME, request.app[state.SERVICES].webhooks.ListEndpoints,
                            webhooks_pb2.ListEndpointsRequest, "endpoints", webhook_json)


async def get_webhook(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    reply = await request.app[state.SERVICES].webhooks.GetEndpoint(
        webhooks_pb2.GetEndpointRequest(account_id=caller.account_id,
                                        webhook_id=request.match_info["webhook_id"]))
    return web.json_response(webhook_json(reply.endpoint))


async def update_webhook(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    body = await read_body(request)
    message = webhooks_pb2.UpdateEndpointRequest(
        account_id=caller.account_id, webhook_id=request.match_info["webhook_id"],
        update_events="events" in body, events=body.get("events", []))
    if "url" in body:
        message.url = body["url"]
    if "enabled" in body:
        message.enabled = body["enabled"]
    reply = await request.app[state.SERVICES].webhooks.UpdateEndpoint(message)
    return web.json_response(webhook_json(reply.endpoint))


async def delete_webhook(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    await request.app[state.SERVICES].webhooks.DeleteEndpoint(
        webhooks_pb2.DeleteEndpointRequest(account_id=caller.account_id,
                                           webhook_id=request.match_info["webhook_id"]))
    return web.Response(status=204)


async def regenerate_webhook_secret(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    reply = await request.app[state.SERVICES].webhooks.RegenerateSecret(
        webhooks_pb2.RegenerateSecretRequest(account_id=caller.account_id,
                                             webhook_id=request.match_info["webhook_id"]))
    return web.json_response(_with_secret(reply.endpoint, reply.secret))


async def send_test_webhook(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    reply = await request.app[state.SERVICES].webhooks.SendTestEvent(
        webhooks_pb2.SendTestEventRequest(account_id=caller.account_id))
    return web.json_response({"event_id": reply.event_id, "type": "test",
                              "webhook_ids": list(reply.webhook_ids)}, status=202)


async def list_webhook_events(request: web.Request) -> web.Response:
    return await paged_list(request, HISTORY_NAME,
                            request.app[state.SERVICES].webhooks.ListDeliveries,
                            webhooks_pb2.ListDeliveriesRequest, "deliveries", delivery_json)


# Schemas ------------------------------------------------------------------------------------

_TIMESTAMP = {"type": "string", "format": "date-time", "examples": ["2026-11-23T00:00:00Z"]}
_NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
_URL = {"type": "string", "minLength": 1, "maxLength": 2048,
        "description": "https, resolving to public addresses only (re-checked at every "
                       "delivery). http to loopback/private addresses only where the "
                       "deployment sets WAVIS_WEBHOOK_ALLOW_PRIVATE (development)."}
_EVENTS = {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)},
           "maxItems": len(EVENT_TYPES),
           "description": "Event types to receive; empty or absent = all. `test` events go "
                          "to every enabled endpoint."}
EVENT_TABLE = "\n".join(
    f"| `{name}` | {', '.join(f'`{field}`' for field in schema.properties)} | {schema.when} |"
    for name, schema in EVENT_SCHEMAS.items())
DELIVERY_DESCRIPTION = (
    "Each event is POSTed to every subscribed endpoint as `WebhookEvent` JSON with headers "
    f"`{EVENT_ID_HEADER}` (the same on every retry), `{TIMESTAMP_HEADER}` (Unix seconds) and "
    f"`{SIGNATURE_HEADER}: {SIGNATURE_PREFIX}<hex HMAC-SHA256(secret, "
    "\"<timestamp>.<raw body>\")>`. "
    "A 2xx answer within 10 s is delivered; anything else (redirects are not followed) is "
    "retried with exponential backoff and full jitter for up to 24 h, across restarts. An "
    "endpoint failing for 3 days is disabled (`enabled: false`, `disabled_reason`).\n\n"
    "| type | data fields | when |\n|---|---|---|\n" + EVENT_TABLE)


_WEBHOOK_PROPERTIES: dict[str, Any] = {
    "webhook_id": {"type": "string", "pattern": "^wh_"},
    "url": {"type": "string"},
    "events": {"type": "array", "items": {"type": "string"},
               "description": "Empty: every event type."},
    "enabled": {"type": "boolean"},
    "disabled_reason": {"type": ["string", "null"],
                        "description": "Why WAVIS disabled the endpoint (deliveries failed "
                                       "for 3 days); null otherwise."},
    "failing_since": {**_NULLABLE_TIMESTAMP,
                      "description": "First failed attempt since the last success."},
    "created_at": _TIMESTAMP,
    "updated_at": _TIMESTAMP,
}
_WEBHOOK_REQUIRED = list(_WEBHOOK_PROPERTIES)
_SECRET_PROPERTIES: dict[str, Any] = {
    "secret": {"type": "string", "minLength": MIN_SECRET_CHARS,
               "description": "The signing secret, shown only here; stored encrypted."},
    "signature_info": {"type": "object",
                       "required": ["algorithm", "header", "format", "signed_payload"],
                       "properties": {name: {"type": "string"} for name in SIGNATURE_INFO}},
}

register_schemas({
    "WebhookCreateRequest": {
        "type": "object", "required": ["url"], "additionalProperties": False,
        "properties": {
            "url": _URL, "events": _EVENTS,
            "secret": {"type": "string", "minLength": MIN_SECRET_CHARS, "maxLength": 256,
                       "description": "Your own signing secret; absent: WAVIS makes one."},
        },
    },
    "WebhookUpdateRequest": {
        "type": "object", "additionalProperties": False, "minProperties": 1,
        "properties": {"url": _URL, "events": _EVENTS,
                       "enabled": {"type": "boolean",
                                   "description": "true also clears a disabled_reason."}},
    },
    "Webhook": {"type": "object", "required": _WEBHOOK_REQUIRED,
                "properties": _WEBHOOK_PROPERTIES},
    "WebhookWithSecret": {"type": "object",
                          "required": [*_WEBHOOK_REQUIRED, "secret", "signature_info"],
                          "properties": _WEBHOOK_PROPERTIES | _SECRET_PROPERTIES},
    "WebhookList": {
        "type": "object", "required": ["data", "has_more", "next_cursor"],
        "properties": {"data": {"type": "array",
                                "items": {"$ref": "#/components/schemas/Webhook"}},
                       "has_more": {"type": "boolean"},
                       "next_cursor": {"type": ["string", "null"]}},
    },
    "WebhookTestSent": {
        "type": "object", "required": ["event_id", "type", "webhook_ids"],
        "properties": {"event_id": {"type": "string", "pattern": "^evt_"},
                       "type": {"const": "test"},
                       "webhook_ids": {"type": "array", "items": {"type": "string"},
                                       "description": "Every enabled endpoint."}},
    },
    "WebhookDelivery": {
        "type": "object",
        "required": ["delivery_id", "event_id", "type", "webhook_id", "status", "attempts",
                     "last_status_code", "last_error", "created_at", "last_attempt_at",
                     "next_attempt_at", "delivered_at"],
        "properties": {
            "delivery_id": {"type": "string", "pattern": "^dlv_"},
            "event_id": {"type": "string", "pattern": "^evt_"},
            "type": {"type": "string", "enum": list(EVENT_TYPES)},
            "webhook_id": {"type": "string"},
            "status": {"enum": ["pending", "delivered", "failed"],
                       "description": "pending: queued or waiting for a retry; failed: "
                                      "given up."},
            "attempts": {"type": "integer", "minimum": 0},
            "last_status_code": {"type": ["integer", "null"],
                                 "description": "HTTP status of the last answer."},
            "last_error": {"type": ["string", "null"]},
            "created_at": _TIMESTAMP,
            "last_attempt_at": _NULLABLE_TIMESTAMP,
            "next_attempt_at": _NULLABLE_TIMESTAMP,
            "delivered_at": _NULLABLE_TIMESTAMP,
        },
    },
    "WebhookDeliveryList": {
        "type": "object", "required": ["data", "has_more", "next_cursor"],
        "properties": {"data": {"type": "array",
                                "items": {"$ref": "#/components/schemas/WebhookDelivery"}},
                       "has_more": {"type": "boolean"},
                       "next_cursor": {"type": ["string", "null"]}},
    },
    "WebhookEvent": {
        "description": "The body POSTed to an endpoint.\n\n" + DELIVERY_DESCRIPTION,
        "oneOf": [event_schema(name) for name in EVENT_TYPES],
    },
})

_TAG = "Webhooks"
_BAD_URL = refusal(400, "INVALID_WEBHOOK_URL", why="A URL whose host does not resolve to "
                   "public addresses only")
ENDPOINTS = (
    Endpoint("POST", "/webhooks", create_webhook, "Register a webhook endpoint", _TAG,
             {201: Reply("The endpoint with its signing secret, shown only here.",
                         "WebhookWithSecret"), **_BAD_URL},
             min_role=WRITE, request_schema="WebhookCreateRequest",
             description="URL rules: https, <= 2048 characters, public addresses only "
                         f"(400 INVALID_WEBHOOK_URL). secret: >= {MIN_SECRET_CHARS} characters, "
                         "else generated.\n\n" + DELIVERY_DESCRIPTION),
    Endpoint("GET", "/webhooks", list_webhooks, "List webhook endpoints", _TAG,
             {200: Reply("One page of endpoints, newest first.", "WebhookList")},
             min_role=READ, query_parameters=PAGE_PARAMETERS),
    Endpoint("GET", "/webhooks/events", list_webhook_events, "Delivery history", _TAG,
             {200: Reply("One page of deliveries (event x endpoint), newest first.",
                         "WebhookDeliveryList")},
             min_role=READ, query_parameters=PAGE_PARAMETERS),
    Endpoint("POST", "/webhooks/test", send_test_webhook, "Send a test event", _TAG,
             {202: Reply("Queued for every enabled endpoint.", "WebhookTestSent")},
             min_role=WRITE, description="A `test` event to all the account's enabled "
                                         "endpoints; follow it in GET /webhooks/events."),
    Endpoint("GET", "/webhooks/{webhook_id}", get_webhook, "Get a webhook endpoint", _TAG,
             {200: Reply("The endpoint (never its secret).", "Webhook")}, min_role=READ),
    Endpoint("PATCH", "/webhooks/{webhook_id}", update_webhook, "Update a webhook endpoint",
             _TAG, {200: Reply("The endpoint.", "Webhook"), **_BAD_URL}, min_role=WRITE,
             request_schema="WebhookUpdateRequest"),
    Endpoint("DELETE", "/webhooks/{webhook_id}", delete_webhook, "Delete a webhook endpoint",
             _TAG, {204: Reply("Deleted; its queued deliveries are dropped.")},
             min_role=WRITE),
    Endpoint("PATCH", "/webhooks/{webhook_id}/regenerate-secret", regenerate_webhook_secret,
             "Replace the signing secret", _TAG,
             {200: Reply("The endpoint with its new secret, shown only here; the old one "
                         "stops signing at once.", "WebhookWithSecret")}, min_role=WRITE),
)
