"""The MeteringService RPCs of FCU accounting and billing (mixed into the servicer)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TypeAlias

import grpc.aio

from services.metering.alerts import Alerts
from services.metering.invoices import Invoices
from services.metering.ledger import Ledger, Recorded, month_of
from services.metering.modes import scope_of
from services.metering.reports import Reports
from services.metering.store import AccountStore
from services.metering.stripe_client import StripeBilling
from services.metering.subscriptions import Subscriptions
from wavis.core.errors import WavisError, status_of
from wavis.core.grpc_server import ServiceContext
from wavis.core.redis_pages import page_limit
from wavis.core.request_context import current_request_id, new_request_id
from wavis.generated.metering.v1 import metering_pb2

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


class BillingRpcs:
    context: ServiceContext
    store: AccountStore
    billing: Billing

    async def ReserveUsage(self, request: metering_pb2.ReserveUsageRequest,
                           grpc_context: _Ctx) -> metering_pb2.ReserveUsageResponse:
        return await self._reserve_usage(request)

    async def ReserveUsageStream(
        self, requests: AsyncIterator[metering_pb2.ReserveUsageStreamRequest],
        grpc_context: _Ctx,
    ) -> AsyncIterator[metering_pb2.ReserveUsageStreamResponse]:
        """Each request is handled in a task of its own; answers go out as they are ready.
        Ends, after answering every request it took, when the caller ends it or the server
        stops."""
        answers: asyncio.Queue[metering_pb2.ReserveUsageStreamResponse | None] = \
            asyncio.Queue()
        pending: set[asyncio.Task[None]] = set()

        async def answer(message: metering_pb2.ReserveUsageStreamRequest) -> None:
            token = current_request_id.set(message.request_id or new_request_id())
            reply = metering_pb2.ReserveUsageStreamResponse(sequence=message.sequence)
            try:
                reply.reserved.CopyFrom(await self._reserve_usage(message.reservation))
            except WavisError as exc:
                reply.error.CopyFrom(status_of(exc))
            except Exception:
                log.exception("reservation %s failed", message.reservation.op_id)
                reply.error.CopyFrom(status_of(WavisError("INTERNAL_ERROR")))
            finally:
                current_request_id.reset(token)
            await answers.put(reply)

        async def take() -> None:
            try:
                async for message in requests:
                    task = asyncio.ensure_future(answer(message))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
            finally:
                if pending:
                    await asyncio.wait(set(pending))
                await answers.put(None)

        taking = asyncio.ensure_future(take())
        # The server stopping: take no more requests, answer those taken, end the stream.
        stopping = asyncio.ensure_future(self.context.stopping.wait())
        stopping.add_done_callback(lambda _: taking.cancel())
        try:
            while (reply := await answers.get()) is not None:
                yield reply
        finally:
            stopping.cancel()
            taking.cancel()

    async def _reserve_usage(self, request: metering_pb2.ReserveUsageRequest,
                             ) -> metering_pb2.ReserveUsageResponse:
        try:
            reserved = await self.billing.ledger.reserve(
                request.account_id, request.op_id, request.operation, request.fcu,
                request.operation_already_counted, record=request.record,
                environment=request.environment)
        except WavisError as exc:
            if exc.code in ("QUOTA_EXHAUSTED", "BUDGET_CAP_REACHED"):
                await self._limit_reached(request.account_id,
                                          scope_of(request.account_id, request.environment),
                                          exc)
            raise
        if reserved.recorded is not None:
            await self._alert(reserved.recorded.scope, reserved.recorded)
        return metering_pb2.ReserveUsageResponse(
            cost_units=reserved.fcu, cost_usd=reserved.cost_usd, cost_jpy=reserved.cost_jpy,
            operations_remaining=reserved.operations_remaining,
            recorded=reserved.recorded is not None, headroom_fcu=reserved.headroom_fcu)

    async def _limit_reached(self, account_id: str, scope: str, refusal: WavisError) -> None:
        """limit_reached with the month's numbers (of the key's mode), for a refusal the
        ledger answered."""
        account = await self.store.get_account(account_id)
        plan = self.store.plans.get(account["plan"])
        ledger = self.billing.ledger
        month = await ledger.month_usage(scope, month_of(time.time()))
        cap_nano, mode = await ledger.budget(scope)
        await self.billing.alerts.limit_reached(
            scope, refusal.code, refusal.details, used_fcu=int(month.get("fcu", 0)),
            included_fcu=0 if plan is None or plan.overage_allowed else plan.monthly_fcu,
            spent_nano=int(month.get("nano", 0)),
            hard_cap_nano=cap_nano if mode == "hard" else 0)

    async def CommitUsage(self, request: metering_pb2.CommitUsageRequest,
                          grpc_context: _Ctx) -> metering_pb2.CommitUsageResponse:
        recorded = await self.billing.ledger.commit(request.account_id, request.op_id)
        if recorded is not None:
            await self._alert(recorded.scope or request.account_id, recorded)
        return metering_pb2.CommitUsageResponse(recorded=recorded is not None)

    async def _alert(self, scope: str, recorded: Recorded) -> None:
        """usage_alert / budget_alert for the thresholds this record crossed (once each, per
        mode: a test-mode scope has alerts of its own)."""
        if recorded.plan or recorded.cap_nano:
            plan = self.store.plans.get(recorded.plan)
            await self.billing.alerts.after_commit(scope, recorded, plan)

    async def ReleaseUsage(self, request: metering_pb2.ReleaseUsageRequest,
                           grpc_context: _Ctx) -> metering_pb2.ReleaseUsageResponse:
        released = await self.billing.ledger.release(request.account_id, request.op_id)
        return metering_pb2.ReleaseUsageResponse(released=released)

    async def GetUsage(self, request: metering_pb2.GetUsageRequest,
                       grpc_context: _Ctx) -> metering_pb2.GetUsageResponse:
        await self.store.get_account(request.account_id)
        return await self.billing.reports.usage(
            scope_of(request.account_id, request.environment), request.period)

    async def GetBalance(self, request: metering_pb2.GetBalanceRequest,
                         grpc_context: _Ctx) -> metering_pb2.GetBalanceResponse:
        # The live plan's allowance bounds test-mode work too (modes.py): it is the one shown.
        account = await self.store.get_account(request.account_id)
        return await self.billing.reports.balance(
            scope_of(request.account_id, request.environment),
            self.store.plan(account["plan"]))

    async def SetBudget(self, request: metering_pb2.SetBudgetRequest,
                        grpc_context: _Ctx) -> metering_pb2.SetBudgetResponse:
        await self.store.get_account(request.account_id)
        budget = await self.billing.reports.set_budget(
            scope_of(request.account_id, request.environment), request.monthly_cap_usd,
            request.mode)
        return metering_pb2.SetBudgetResponse(budget=budget)

    async def GetBudget(self, request: metering_pb2.GetBudgetRequest,
                        grpc_context: _Ctx) -> metering_pb2.GetBudgetResponse:
        await self.store.get_account(request.account_id)
        return metering_pb2.GetBudgetResponse(budget=await self.billing.reports.budget(
            scope_of(request.account_id, request.environment)))

    async def Subscribe(self, request: metering_pb2.SubscribeRequest,
                        grpc_context: _Ctx) -> metering_pb2.SubscribeResponse:
        return await self.billing.subscriptions.subscribe(request)

    async def GetSubscription(self, request: metering_pb2.GetSubscriptionRequest,
                              grpc_context: _Ctx) -> metering_pb2.GetSubscriptionResponse:
        return metering_pb2.GetSubscriptionResponse(
            subscription=await self.billing.subscriptions.get(request.account_id,
                                                              request.environment))

    async def CancelSubscription(self, request: metering_pb2.CancelSubscriptionRequest,
                                 grpc_context: _Ctx) -> metering_pb2.CancelSubscriptionResponse:
        return metering_pb2.CancelSubscriptionResponse(
            subscription=await self.billing.subscriptions.cancel(request.account_id,
                                                                 request.environment))

    async def ListInvoices(self, request: metering_pb2.ListInvoicesRequest,
                           grpc_context: _Ctx) -> metering_pb2.ListInvoicesResponse:
        account, plan, cycle = await self.billing.subscriptions.terms(request.account_id,
                                                                     request.environment)
        invoices, has_more, cursor = await self.billing.invoices.list(
            account, plan, cycle, page_limit(request.limit), request.cursor)
        return metering_pb2.ListInvoicesResponse(invoices=invoices, has_more=has_more,
                                                 next_cursor=cursor)

    async def GetInvoice(self, request: metering_pb2.GetInvoiceRequest,
                         grpc_context: _Ctx) -> metering_pb2.GetInvoiceResponse:
        account, plan, cycle = await self.billing.subscriptions.terms(request.account_id,
                                                                     request.environment)
        invoice = await self.billing.invoices.get(account["account_id"], request.invoice_id,
                                                  plan, cycle)
        return metering_pb2.GetInvoiceResponse(invoice=invoice)

    async def HandleStripeWebhook(self, request: metering_pb2.HandleStripeWebhookRequest,
                                  grpc_context: _Ctx,
                                  ) -> metering_pb2.HandleStripeWebhookResponse:
        return await self.billing.subscriptions.handle_webhook(request.payload,
                                                               request.signature)

    async def CheckStripe(self, request: metering_pb2.CheckStripeRequest,
                          grpc_context: _Ctx) -> metering_pb2.CheckStripeResponse:
        stripe = self.billing.stripe
        if not stripe.configured:
            return metering_pb2.CheckStripeResponse(configured=False, reachable=False,
                                                    error="not configured")
        error = await stripe.ping()
        return metering_pb2.CheckStripeResponse(configured=True, reachable=not error,
                                                error=error)
