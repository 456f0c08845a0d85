"""Billing: subscription (Stripe Checkout), invoices, budget caps, usage, balance, and the
Stripe webhook. The numbers and Stripe calls live in the metering service."""

from __future__ import annotations

from functools import partial
from typing import Any

from aiohttp import web

from gateway import state
from gateway.body import read_body
from gateway.endpoints import PAGE_PARAMETERS, Endpoint, Reply
from gateway.listing import paged_list
from gateway.parameters import PARAMETERS
from gateway.schemas import number, register_schemas
from wavis.core.emails import EMAIL_MAX_CHARS, EMAIL_PATTERN
from wavis.core.limits import MAX_BUDGET_CAP_USD
from wavis.core.plan_names import PLAN_NAMES, SELF_SERVE_PLANS
from wavis.core.pricing import USD_PER_FCU
from wavis.core.roles import ADMIN, READ
from wavis.generated.metering.v1 import billing_pb2, usage_pb2

LIST_NAME = "invoices"
_TS = {"type": "string", "format": "date-time", "examples": ["2026-11-01T00:00:00Z"]}
_NULL_TS = {"type": ["string", "null"], "format": "date-time"}
_NULL_STR = {"type": ["string", "null"]}
_USD = {"type": "number", "description": "US dollars."}
_PERIOD = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "examples": ["2026-11"]}
_SUBSCRIPTION = {
    "type": "object",
    "required": ["plan", "status", "billing_cycle", "email", "current_period_start",
                 "current_period_end", "stripe_customer_id", "stripe_subscription_id",
                 "cancelled_at", "pending_plan", "pending_plan_effective_at"],
    "properties": {
        "plan": {"enum": list(PLAN_NAMES)},
        "status": {"enum": ["active", "trial", "cancelled", "past_due", "unpaid"]},
        "billing_cycle": {"enum": ["monthly", "annual"]},
        "email": {"type": "string"},
        "current_period_start": _TS, "current_period_end": _TS,
        "stripe_customer_id": _NULL_STR, "stripe_subscription_id": _NULL_STR,
        "cancelled_at": _NULL_TS,
        "pending_plan": {**_NULL_STR, "description": "Plan of a Checkout session not "
                                                    "completed yet, or of a downgrade at the "
                                                    "end of the period."},
        "pending_plan_effective_at": {**_NULL_TS, "description": "When a downgrade applies "
                                                                "(the period's end)."},
    },
}
_LINE = {
    "type": "object", "required": ["kind", "description", "operation", "quantity", "fcu",
                                   "amount_usd"],
    "properties": {
        "kind": {"enum": ["plan", "usage", "included"],
                 "description": "included: usage the plan covers (a credit)."},
        "description": {"type": "string"}, "operation": _NULL_STR,
        "quantity": {"type": "integer"}, "fcu": {"type": "integer"},
        "amount_usd": {**_USD, "description": "To the cent; negative for credits."},
    },
}
_INVOICE = {
    "type": "object",
    "required": ["invoice_id", "period", "status", "currency", "plan", "lines", "total_fcu",
                 "usage_usd", "overage_fcu", "total_usd", "period_start", "period_end",
                 "finalized", "created_at", "paid_at", "stripe_invoice_id"],
    "properties": {
        "invoice_id": {"type": "string"}, "period": _PERIOD,
        "status": {"enum": ["paid", "open", "void", "uncollectible"]},
        "currency": {"const": "usd"}, "plan": {"type": "string"},
        "lines": {"type": "array", "items": {"$ref": "#/components/schemas/InvoiceLine"}},
        "total_fcu": {"type": "integer"},
        "usage_usd": {**_USD, "description": "Sum of the month's recorded operation costs."},
        "overage_fcu": {"type": "integer"},
        "total_usd": {**_USD, "description": "Plan fee + usage - included credit."},
        "period_start": _TS, "period_end": _TS,
        "finalized": {"type": "boolean", "description": "false while the month runs."},
        "created_at": _TS, "paid_at": _NULL_TS, "stripe_invoice_id": _NULL_STR,
    },
}

register_schemas({
    "SubscribeRequest": {
        "type": "object", "required": ["plan", "email"], "additionalProperties": False,
        "properties": {
            "plan": {"type": "string",
                     "enum": list(SELF_SERVE_PLANS),
                     "description": "Enterprise plans are set up by an operator."},
            "email": {"type": "string", "maxLength": EMAIL_MAX_CHARS,
                      "pattern": f"^{EMAIL_PATTERN}$"},
            "billing_cycle": {"type": "string", "enum": ["monthly", "annual"],
                              "default": "monthly", "description": "annual: 17% off."},
        },
    },
    "Subscription": _SUBSCRIPTION,
    "CheckoutSession": {
        "type": "object", "required": ["checkout_url", "checkout_session_id", "plan",
                                       "subscription"],
        "properties": {
            "checkout_url": {"type": "string", "description": "Send the customer here."},
            "checkout_session_id": {"type": "string"}, "plan": {"type": "string"},
            "subscription": {"$ref": "#/components/schemas/Subscription"},
        },
    },
    "SubscribeResult": {"oneOf": [{"$ref": "#/components/schemas/Subscription"},
                                  {"$ref": "#/components/schemas/CheckoutSession"}]},
    "InvoiceLine": _LINE,
    "Invoice": _INVOICE,
    "InvoiceList": {
        "type": "object", "required": ["data", "has_more", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"}},
            "has_more": {"type": "boolean"}, "next_cursor": _NULL_STR,
        },
    },
    "BudgetRequest": {
        "type": "object", "required": ["monthly_cap_usd", "mode"], "additionalProperties": False,
        "properties": {
            "monthly_cap_usd": number(
                USD_PER_FCU, MAX_BUDGET_CAP_USD,
                description="At least the price of one FCU."),
            "mode": {"type": "string", "enum": ["hard", "soft"],
                     "description": "hard: operations past the cap -> 402; soft: alerts only."},
        },
    },
    "Budget": {
        "type": "object", "required": ["monthly_cap_usd", "mode", "spent_usd", "remaining_usd",
                                       "period", "updated_at"],
        "properties": {
            "monthly_cap_usd": {"type": ["number", "null"]},
            "mode": {"enum": ["hard", "soft", None]},
            "spent_usd": {**_USD, "description": "Cost of this month's recorded operations."},
            "remaining_usd": {"type": ["number", "null"]},
            "period": _PERIOD, "updated_at": _NULL_TS,
        },
    },
    "Usage": {
        "type": "object", "required": ["period", "total_fcu", "total_cost_usd",
                                       "total_cost_jpy", "by_operation", "by_day"],
        "properties": {
            "period": _PERIOD, "total_fcu": {"type": "integer"}, "total_cost_usd": _USD,
            "total_cost_jpy": {"type": "number"},
            "by_operation": {"type": "object", "additionalProperties": {
                "type": "object", "required": ["count", "fcu", "cost_usd"],
                "properties": {"count": {"type": "integer"}, "fcu": {"type": "integer"},
                               "cost_usd": _USD}}},
            "by_day": {"type": "array", "items": {
                "type": "object", "required": ["date", "fcu", "cost_usd"],
                "properties": {"date": {"type": "string", "format": "date"},
                               "fcu": {"type": "integer"}, "cost_usd": _USD}}},
        },
    },
    "Balance": {
        "type": "object",
        "required": ["plan", "unlimited", "fcu_included", "fcu_used", "fcu_reserved",
                     "fcu_remaining", "cost_usd", "billing_period_start", "next_reset",
                     "days_until_reset", "forecast"],
        "properties": {
            "plan": {"type": "string"}, "unlimited": {"type": "boolean"},
            "fcu_included": {"type": ["integer", "null"]}, "fcu_used": {"type": "integer"},
            "fcu_reserved": {"type": "integer"}, "fcu_remaining": {"type": ["integer", "null"]},
            "cost_usd": _USD, "billing_period_start": _TS, "next_reset": _TS,
            "days_until_reset": {"type": "integer"},
            "forecast": {
                "type": "object",
                "required": ["daily_avg_fcu", "days_remaining_at_current_rate",
                             "projected_reset_balance", "will_exhaust_before_reset"],
                "properties": {
                    "daily_avg_fcu": {"type": "number"},
                    "days_remaining_at_current_rate": {"type": ["integer", "null"]},
                    "projected_reset_balance": {"type": ["integer", "null"]},
                    "will_exhaust_before_reset": {"type": "boolean"},
                },
            },
        },
    },
    "StripeWebhookResult": {
        "type": "object", "required": ["received", "event_id", "type", "duplicate"],
        "properties": {"received": {"const": True}, "event_id": {"type": "string"},
                       "type": {"type": "string"}, "duplicate": {"type": "boolean"}},
    },
})


def _or_none(value: str) -> str | None:
    return value or None


def subscription_json(sub: billing_pb2.Subscription) -> dict[str, Any]:
    return {"plan": sub.plan, "status": sub.status, "billing_cycle": sub.billing_cycle,
            "email": sub.email, "current_period_start": sub.current_period_start,
            "current_period_end": sub.current_period_end,
            "stripe_customer_id": _or_none(sub.stripe_customer_id),
            "stripe_subscription_id": _or_none(sub.stripe_subscription_id),
            "cancelled_at": _or_none(sub.cancelled_at),
            "pending_plan": _or_none(sub.pending_plan),
            "pending_plan_effective_at": _or_none(sub.pending_plan_effective_at)}


def invoice_json(invoice: billing_pb2.Invoice) -> dict[str, Any]:
    return {
        "invoice_id": invoice.invoice_id, "period": invoice.period, "status": invoice.status,
        "currency": invoice.currency, "plan": invoice.plan,
        "lines": [{"kind": line.kind, "description": line.description,
                   "operation": _or_none(line.operation), "quantity": line.quantity,
                   "fcu": line.fcu, "amount_usd": line.amount_usd} for line in invoice.lines],
        "total_fcu": invoice.total_fcu, "usage_usd": invoice.usage_usd,
        "overage_fcu": invoice.overage_fcu, "total_usd": invoice.total_usd,
        "period_start": invoice.period_start, "period_end": invoice.period_end,
        "finalized": invoice.finalized, "created_at": invoice.created_at,
        "paid_at": _or_none(invoice.paid_at),
        "stripe_invoice_id": _or_none(invoice.stripe_invoice_id)}


def budget_json(budget: billing_pb2.Budget) -> dict[str, Any]:
    cap = budget.monthly_cap_usd or None
    return {"monthly_cap_usd": cap, "mode": budget.mode or None, "spent_usd": budget.spent_usd,
            "remaining_usd": round(max(0.0, cap - budget.spent_usd), 8) if cap else None,
            "period": budget.period, "updated_at": _or_none(budget.updated_at)}


async def subscribe(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    body = await read_body(request)
    reply = await request.app[state.SERVICES].billing.Subscribe(billing_pb2.SubscribeRequest(
        account_id=caller.account_id, plan=body["plan"], email=body["email"],
        billing_cycle=body.get("billing_cycle", "monthly"), environment=caller.environment))
    subscription = subscription_json(reply.subscription)
    if reply.checkout_url:
        return web.json_response({"checkout_url": reply.checkout_url,
                                  "checkout_session_id": reply.checkout_session_id,
                                  "plan": body["plan"], "subscription": subscription})
    return web.json_response(subscription)


async def get_subscription(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    reply = await request.app[state.SERVICES].billing.GetSubscription(
        billing_pb2.GetSubscriptionRequest(account_id=caller.account_id,
                                            environment=caller.environment))
    return web.json_response(subscription_json(reply.subscription))


async def cancel_subscription(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    reply = await request.app[state.SERVICES].billing.CancelSubscription(
        billing_pb2.CancelSubscriptionRequest(account_id=caller.account_id,
                                               environment=caller.environment))
    return web.json_response(subscription_json(reply.subscription))


async def list_invoices(request: web.Request) -> web.Response:
    # Each key's mode has invoices of its own.
    in_mode = partial(billing_pb2.ListInvoicesRequest,
                      environment=request[state.CALLER].environment)
    return await paged_list(request, LIST_NAME, request.app[state.SERVICES].billing.ListInvoices,
                            in_mode, "invoices", invoice_json)


async def get_invoice(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    reply = await request.app[state.SERVICES].billing.GetInvoice(billing_pb2.GetInvoiceRequest(
        account_id=caller.account_id, invoice_id=request.match_info["invoice_id"],
        environment=caller.environment))
    return web.json_response(invoice_json(reply.invoice))


async def set_budget(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    body = await read_body(request)
    reply = await request.app[state.SERVICES].billing.SetBudget(billing_pb2.SetBudgetRequest(
        account_id=caller.account_id, monthly_cap_usd=float(body["monthly_cap_usd"]),
        mode=body["mode"], environment=caller.environment))
    return web.json_response(budget_json(reply.budget))


async def get_budget(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    reply = await request.app[state.SERVICES].billing.GetBudget(
        billing_pb2.GetBudgetRequest(account_id=caller.account_id,
                                      environment=caller.environment))
    return web.json_response(budget_json(reply.budget))


async def get_usage(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    reply = await request.app[state.SERVICES].usage.GetUsage(usage_pb2.GetUsageRequest(
        account_id=caller.account_id, period=request[PARAMETERS].get("period", ""),
        environment=caller.environment))
    return web.json_response({
        "period": reply.period, "total_fcu": reply.total_fcu,
        "total_cost_usd": reply.total_cost_usd, "total_cost_jpy": reply.total_cost_jpy,
        "by_operation": {row.operation: {"count": row.count, "fcu": row.fcu,
                                         "cost_usd": row.cost_usd}
                         for row in reply.by_operation},
        "by_day": [{"date": day.date, "fcu": day.fcu, "cost_usd": day.cost_usd}
                   for day in reply.by_day]})


async def get_balance(request: web.Request) -> web.Response:
    caller = request[state.CALLER]
    b = await request.app[state.SERVICES].usage.GetBalance(
        usage_pb2.GetBalanceRequest(account_id=caller.account_id,
                                       environment=caller.environment))
    limited = not b.unlimited
    return web.json_response({
        "plan": b.plan, "unlimited": b.unlimited,
        "fcu_included": b.fcu_included if limited else None, "fcu_used": b.fcu_used,
        "fcu_reserved": b.fcu_reserved, "fcu_remaining": b.fcu_remaining if limited else None,
        "cost_usd": b.cost_usd, "billing_period_start": b.billing_period_start,
        "next_reset": b.next_reset, "days_until_reset": b.days_until_reset,
        "forecast": {
            "daily_avg_fcu": b.daily_avg_fcu,
            "days_remaining_at_current_rate": (b.days_remaining_at_current_rate
                                               if b.days_remaining_at_current_rate >= 0
                                               else None),
            "projected_reset_balance": b.projected_reset_balance if limited else None,
            "will_exhaust_before_reset": b.will_exhaust_before_reset}})


async def stripe_webhook(request: web.Request) -> web.Response:
    payload = await request.read()
    reply = await request.app[state.SERVICES].billing.HandleStripeWebhook(
        billing_pb2.HandleStripeWebhookRequest(
            payload=payload, signature=request.headers.get("Stripe-Signature", "")))
    return web.json_response({"received": True, "event_id": reply.event_id, "type": reply.type,
                              "duplicate": reply.duplicate})


_TAG = "Billing"
_502 = Reply("Stripe is not configured or did not answer.", "Error")
ENDPOINTS = (
    Endpoint("POST", "/billing/subscribe", subscribe, "Subscribe to a plan", _TAG,
             {200: Reply("The subscription (free plans, test keys), or a Stripe Checkout "
                         "session to complete.", "SubscribeResult"), 502: _502},
             min_role=ADMIN, request_schema="SubscribeRequest",
             description="Paid plans with a live key go through Stripe Checkout; the plan "
                         "applies when Stripe reports the session completed. With a Stripe "
                         "subscription already, that one subscription changes: an upgrade "
                         "at once (prorated), a downgrade at the end of the period "
                         "(pending_plan). wvs_test_ keys change a simulated test-mode "
                         "subscription only, never through Stripe."),
    Endpoint("GET", "/billing/subscription", get_subscription, "The account's subscription",
             _TAG, {200: Reply("The subscription.", "Subscription")}, min_role=READ),
    Endpoint("DELETE", "/billing/subscription", cancel_subscription, "Cancel the subscription",
             _TAG, {200: Reply("Cancelled; the account is on the free plan.", "Subscription"),
                    502: _502}, min_role=ADMIN),
    Endpoint("GET", "/billing/invoices", list_invoices, "List invoices", _TAG,
             {200: Reply("One page of monthly invoices, newest first.", "InvoiceList")},
             min_role=READ, query_parameters=PAGE_PARAMETERS),
    Endpoint("GET", "/billing/invoices/{invoice_id}", get_invoice, "Get an invoice", _TAG,
             {200: Reply("The invoice.", "Invoice")}, min_role=READ),
    Endpoint("POST", "/billing/budget", set_budget, "Set the monthly budget cap", _TAG,
             {200: Reply("The budget.", "Budget")}, min_role=ADMIN,
             request_schema="BudgetRequest",
             description="hard: operations that would pass the cap answer 402 "
                         "BUDGET_CAP_REACHED; soft: budget_alert only (80% and 100%)."),
    Endpoint("GET", "/billing/budget", get_budget, "The monthly budget cap", _TAG,
             {200: Reply("The budget and this month's spend.", "Budget")}, min_role=READ),
    Endpoint("GET", "/billing/usage", get_usage, "FCU usage of a month", _TAG,
             {200: Reply("Totals, per operation and per day.", "Usage")}, min_role=READ,
             query_parameters=({"name": "period", "in": "query", "required": False,
                                "schema": {"type": "string",
                                           "pattern": "^[2-9][0-9]{3}-(0[1-9]|1[0-2])$"},
                                "description": "YYYY-MM (UTC), from 2000-01; default: this "
                                               "month."},)),
    Endpoint("GET", "/billing/balance", get_balance, "Allowance, usage and forecast", _TAG,
             {200: Reply("The month's balance with a forecast to the reset.", "Balance")},
             min_role=READ),
    Endpoint("POST", "/billing/stripe_webhook", stripe_webhook, "Stripe webhook receiver", _TAG,
             {200: Reply("Applied (or already applied: duplicate).", "StripeWebhookResult"),
              400: Reply("Bad or stale Stripe-Signature.", "Error", codes=("INVALID_SIGNATURE",)),
              502: _502},
             description="Verified with the Stripe-Signature header; each event id is applied "
                         "once."),
)
