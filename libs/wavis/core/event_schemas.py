"""The account events and the one schema of each one's `data` (docs/billing.md lists them;
docs/decisions/0065-event-payloads-defined-once.md).

Publishers build payloads with `event_data(type, **fields)`, which refuses anything the
schema does not allow; the webhooks service checks every published payload again; the
gateway's OpenAPI document shows these schemas as `WebhookEvent`. A field is added here and
nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema

_STR: dict[str, Any] = {"type": "string"}
_NUM: dict[str, Any] = {"type": "number"}
_INT: dict[str, Any] = {"type": "integer"}
_USD: dict[str, Any] = {"type": "number", "description": "US dollars."}
_TIMESTAMP: dict[str, Any] = {"type": "string", "format": "date-time",
                              "examples": ["2026-11-23T00:00:00Z"]}
_PERIOD: dict[str, Any] = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$",
                           "examples": ["2026-11"], "description": "Billing month, UTC."}


@dataclass(frozen=True)
class EventSchema:
    """The `data` of one event type: every property is required, no other is sent."""

    properties: dict[str, Any]
    when: str


_INVOICE = {
    "invoice_id": _STR, "period": _PERIOD,
    "status": {"enum": ["paid", "open", "void", "uncollectible"]},
    "total_usd": {**_USD, "description": "The invoice's total, to the cent."},
    "currency": {"const": "usd"},
    "stripe_invoice_id": {"type": ["string", "null"]},
}

EVENT_SCHEMAS: dict[str, EventSchema] = {
    "compute_complete": EventSchema(
        {"op_id": _STR, "operation": _STR, "key_id": _STR,
         "result_ciphertext_id": {**_STR, "description": "The result (a program's first "
                                                         "output)."},
         "result_ciphertext_ids": {"type": "array", "items": _STR,
                                   "description": "Every result: a program's outputs in "
                                                  "order; one for a single operation."},
         "cost_units": {**_INT, "description": "FCU charged."}, "cost_usd": _USD},
        "An asynchronous CKKS operation or program finished."),
    "compute_failed": EventSchema(
        {"op_id": _STR, "operation": _STR, "key_id": _STR,
         "error": {"type": "object", "required": ["code", "message"],
                   "additionalProperties": False,
                   "properties": {"code": _STR, "message": _STR}}},
        "An asynchronous CKKS operation failed (WORKER_LOST: its replica stopped); it is "
        "not billed."),
    "usage_alert": EventSchema(
        {"period": _PERIOD, "threshold_pct": {"enum": [50, 80, 100]}, "used_fcu": _INT,
         "included_fcu": _INT, "plan": _STR},
        "Monthly FCU use crossed 50, 80 or 100 % of the plan's allowance."),
    "limit_reached": EventSchema(
        {"period": _PERIOD,
         "limit": {"enum": ["monthly_fcu", "budget_cap", "operations"],
                   "description": "Which limit refused an operation."},
         "used_fcu": {**_INT, "description": "FCU used this month."},
         "included_fcu": {**_INT, "description": "The plan's monthly FCU; 0: unlimited."},
         "cap_usd": {"type": ["number", "null"], "description": "The hard budget cap, if any."},
         "spent_usd": {**_USD, "description": "Spent this month."}},
        "A limit refused an operation (once per limit and month)."),
    "budget_alert": EventSchema(
        {"period": _PERIOD, "threshold_pct": {"enum": [80, 100]},
         "mode": {"enum": ["hard", "soft"]}, "cap_usd": _USD, "spent_usd": _USD},
        "Spending reached 80 or 100 % of the account's budget cap."),
    "key_created": EventSchema(
        {"key_id": _STR, "scheme": {"enum": ["ckks", "tfhe"]},
         "mode": {"enum": ["server", "blind"]}},
        "An FHE key became ready (generated or uploaded)."),
    "key_deleted": EventSchema({"key_id": _STR}, "An FHE key was deleted."),
    "key_rotated": EventSchema(
        {"old_key_prefix": _STR, "new_key_prefix": _STR, "grace_period_ends_at": _TIMESTAMP},
        "An API key was rotated; the old one works until the grace period ends."),
    "invoice_created": EventSchema(_INVOICE, "A month's invoice became final."),
    "invoice_paid": EventSchema(_INVOICE, "Stripe collected an invoice."),
    "invoice_failed": EventSchema(_INVOICE, "Stripe could not collect an invoice."),
    "test": EventSchema({"message": _STR}, "Sent by POST /webhooks/test."),
}

EVENT_TYPES = tuple(EVENT_SCHEMAS)


def data_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of one event type's `data`."""
    schema = EVENT_SCHEMAS[event_type]
    return {"type": "object", "required": list(schema.properties),
            "additionalProperties": False, "properties": schema.properties}


def event_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of the whole body POSTed to an endpoint for one event type."""
    return {"type": "object", "description": EVENT_SCHEMAS[event_type].when,
            "required": ["id", "type", "created_at", "data"],
            "properties": {"id": {"type": "string", "pattern": "^evt_"},
                           "type": {"const": event_type}, "created_at": _TIMESTAMP,
                           "data": data_schema(event_type)}}


@cache
def _validator(event_type: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(data_schema(event_type))


def data_errors(event_type: str, data: Any) -> list[str]:
    """Why `data` is not a valid payload of `event_type` (empty: it is)."""
    if event_type not in EVENT_SCHEMAS:
        return [f"unknown event type {event_type!r}"]
    return [f"{'/'.join(map(str, error.path)) or 'data'}: {error.message}"
            for error in _validator(event_type).iter_errors(data)]


def event_data(event_type: str, **fields: Any) -> dict[str, Any]:
    """A payload of `event_type`; ValueError when the fields are not what its schema says."""
    errors = data_errors(event_type, fields)
    if errors:
        raise ValueError(f"{event_type} payload: {'; '.join(errors)}")
    return fields
