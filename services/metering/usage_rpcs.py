"""UsageService: a trial's operations, FCU reserved and recorded once, and the sums of what
an account used (docs/decisions/0070-metering-api-in-three-services.md)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import TypeAlias

import grpc.aio

from services.metering.billing_rpcs import Billing
from services.metering.ledger import Recorded, month_of
from services.metering.modes import scope_of
from services.metering.store import AccountStore
from wavis.core.errors import WavisError, status_of
from wavis.core.failures import public_error
from wavis.core.grpc_server import ServiceContext
from wavis.core.request_context import current_request_id, new_request_id
from wavis.generated.metering.v1 import usage_pb2, usage_pb2_grpc

_Ctx: TypeAlias = grpc.aio.ServicerContext
log = logging.getLogger(__name__)


class UsageServicer(usage_pb2_grpc.UsageServiceServicer):
    def __init__(self, context: ServiceContext, store: AccountStore, billing: Billing) -> None:
        self.context = context
        self.store = store
        self.billing = billing

    async def ReserveOperations(self, request: usage_pb2.ReserveOperationsRequest,
                                grpc_context: _Ctx,
                                ) -> usage_pb2.ReserveOperationsResponse:
        remaining = await self.store.reserve_operations(request.account_id, request.count)
        return usage_pb2.ReserveOperationsResponse(remaining=remaining)

    async def ReleaseOperations(self, request: usage_pb2.ReleaseOperationsRequest,
                                grpc_context: _Ctx,
                                ) -> usage_pb2.ReleaseOperationsResponse:
        await self.store.release_operations(request.account_id, request.count)
        return usage_pb2.ReleaseOperationsResponse()

    async def ReserveUsage(self, request: usage_pb2.ReserveUsageRequest,
                           grpc_context: _Ctx) -> usage_pb2.ReserveUsageResponse:
        return await self._reserve_usage(request)

    async def ReserveUsageStream(
        self, requests: AsyncIterator[usage_pb2.ReserveUsageStreamRequest],
        grpc_context: _Ctx,
    ) -> AsyncIterator[usage_pb2.ReserveUsageStreamResponse]:
        """Each request is handled in a task of its own; answers go out as they are ready.
        Ends, after answering every request it took, when the caller ends it or the server
        stops."""
        answers: asyncio.Queue[usage_pb2.ReserveUsageStreamResponse | None] = \
            asyncio.Queue()
        pending: set[asyncio.Task[None]] = set()

        async def answer(message: usage_pb2.ReserveUsageStreamRequest) -> None:
            token = current_request_id.set(message.request_id or new_request_id())
            reply = usage_pb2.ReserveUsageStreamResponse(sequence=message.sequence)
            try:
                reply.reserved.CopyFrom(await self._reserve_usage(message.reservation))
            except Exception as exc:
                error = public_error(exc)
                if error is None:
                    log.exception("reservation %s failed", message.reservation.op_id)
                    error = WavisError("INTERNAL_ERROR")
                reply.error.CopyFrom(status_of(error))
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

    async def _reserve_usage(self, request: usage_pb2.ReserveUsageRequest,
                             ) -> usage_pb2.ReserveUsageResponse:
        try:
            reserved = await self.billing.ledger.reserve(
                request.account_id, request.op_id, request.operation, request.fcu,
                record=request.record, environment=request.environment)
        except WavisError as exc:
            if exc.code in ("QUOTA_EXHAUSTED", "BUDGET_CAP_REACHED"):
                await self._limit_reached(request.account_id,
                                          scope_of(request.account_id, request.environment),
                                          exc)
            raise
        if reserved.recorded is not None:
            await self._alert(reserved.recorded.scope, reserved.recorded)
        return usage_pb2.ReserveUsageResponse(
            cost_units=reserved.fcu, cost_usd=reserved.cost_usd, cost_jpy=reserved.cost_jpy,
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

    async def CommitUsage(self, request: usage_pb2.CommitUsageRequest,
                          grpc_context: _Ctx) -> usage_pb2.CommitUsageResponse:
        recorded = await self.billing.ledger.commit(request.account_id, request.op_id)
        if recorded is not None:
            await self._alert(recorded.scope or request.account_id, recorded)
        return usage_pb2.CommitUsageResponse(recorded=recorded is not None)

    async def _alert(self, scope: str, recorded: Recorded) -> None:
        """usage_alert / budget_alert for the thresholds this record crossed (once each, per
        mode: a test-mode scope has alerts of its own)."""
        if recorded.plan or recorded.cap_nano:
            plan = self.store.plans.get(recorded.plan)
            await self.billing.alerts.after_commit(scope, recorded, plan)

    async def ReleaseUsage(self, request: usage_pb2.ReleaseUsageRequest,
                           grpc_context: _Ctx) -> usage_pb2.ReleaseUsageResponse:
        released = await self.billing.ledger.release(request.account_id, request.op_id)
        return usage_pb2.ReleaseUsageResponse(released=released)

    async def GetUsage(self, request: usage_pb2.GetUsageRequest,
                       grpc_context: _Ctx) -> usage_pb2.GetUsageResponse:
        await self.store.get_account(request.account_id)
        return await self.billing.reports.usage(
            scope_of(request.account_id, request.environment), request.period)

    async def GetBalance(self, request: usage_pb2.GetBalanceRequest,
                         grpc_context: _Ctx) -> usage_pb2.GetBalanceResponse:
        # The live plan's allowance bounds test-mode work too (modes.py): it is the one shown.
        account = await self.store.get_account(request.account_id)
        return await self.billing.reports.balance(
            scope_of(request.account_id, request.environment),
            self.store.plan(account["plan"]))
