"""BillingService: budgets, subscriptions, invoices and Stripe's webhook
(docs/decisions/0070-metering-api-in-three-services.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TypeAlias

import grpc.aio

from services.metering.alerts import Alerts
from services.metering.invoices import Invoices
from services.metering.ledger import Ledger
from services.metering.modes import scope_of
from services.metering.reports import Reports
from services.metering.store import AccountStore
from services.metering.stripe_client import StripeBilling
from services.metering.subscriptions import Subscriptions
from wavis.core.redis_pages import page_limit
from wavis.generated.metering.v1 import billing_pb2, billing_pb2_grpc

_Ctx: TypeAlias = grpc.aio.ServicerContext
log = logging.getLogger(__name__)


@dataclass
class Billing:
    ledger: Ledger
    alerts: Alerts
    reports: Reports
    invoices: Invoices
    stripe: StripeBilling
    subscriptions: Subscriptions


class BillingServicer(billing_pb2_grpc.BillingServiceServicer):
    def __init__(self, store: AccountStore, billing: Billing) -> None:
        self.store = store
        self.billing = billing

    async def SetBudget(self, request: billing_pb2.SetBudgetRequest,
                        grpc_context: _Ctx) -> billing_pb2.SetBudgetResponse:
        await self.store.get_account(request.account_id)
        budget = await self.billing.reports.set_budget(
            scope_of(request.account_id, request.environment), request.monthly_cap_usd,
            request.mode)
        return billing_pb2.SetBudgetResponse(budget=budget)

    async def GetBudget(self, request: billing_pb2.GetBudgetRequest,
                        grpc_context: _Ctx) -> billing_pb2.GetBudgetResponse:
        await self.store.get_account(request.account_id)
        return billing_pb2.GetBudgetResponse(budget=await self.billing.reports.budget(
            scope_of(request.account_id, request.environment)))

    async def Subscribe(self, request: billing_pb2.SubscribeRequest,
                        grpc_context: _Ctx) -> billing_pb2.SubscribeResponse:
        return await self.billing.subscriptions.subscribe(request)

    async def GetSubscription(self, request: billing_pb2.GetSubscriptionRequest,
                              grpc_context: _Ctx) -> billing_pb2.GetSubscriptionResponse:
        return billing_pb2.GetSubscriptionResponse(
            subscription=await self.billing.subscriptions.get(request.account_id,
                                                              request.environment))

    async def CancelSubscription(self, request: billing_pb2.CancelSubscriptionRequest,
                                 grpc_context: _Ctx) -> billing_pb2.CancelSubscriptionResponse:
        return billing_pb2.CancelSubscriptionResponse(
            subscription=await self.billing.subscriptions.cancel(request.account_id,
                                                                 request.environment))

    async def ListInvoices(self, request: billing_pb2.ListInvoicesRequest,
                           grpc_context: _Ctx) -> billing_pb2.ListInvoicesResponse:
        account, plan, cycle = await self.billing.subscriptions.terms(request.account_id,
                                                                     request.environment)
        invoices, has_more, cursor = await self.billing.invoices.list(
            account, plan, cycle, page_limit(request.limit), request.cursor)
        return billing_pb2.ListInvoicesResponse(invoices=invoices, has_more=has_more,
                                                 next_cursor=cursor)

    async def GetInvoice(self, request: billing_pb2.GetInvoiceRequest,
                         grpc_context: _Ctx) -> billing_pb2.GetInvoiceResponse:
        account, plan, cycle = await self.billing.subscriptions.terms(request.account_id,
                                                                     request.environment)
        invoice = await self.billing.invoices.get(account["account_id"], request.invoice_id,
                                                  plan, cycle)
        return billing_pb2.GetInvoiceResponse(invoice=invoice)

    async def HandleStripeWebhook(self, request: billing_pb2.HandleStripeWebhookRequest,
                                  grpc_context: _Ctx,
                                  ) -> billing_pb2.HandleStripeWebhookResponse:
        return await self.billing.subscriptions.handle_webhook(request.payload,
                                                               request.signature)

    async def CheckStripe(self, request: billing_pb2.CheckStripeRequest,
                          grpc_context: _Ctx) -> billing_pb2.CheckStripeResponse:
        stripe = self.billing.stripe
        if not stripe.configured:
            return billing_pb2.CheckStripeResponse(configured=False, reachable=False,
                                                    error="not configured")
        error = await stripe.ping()
        return billing_pb2.CheckStripeResponse(configured=True, reachable=not error,
                                                error=error)
