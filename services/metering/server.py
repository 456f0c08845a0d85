"""The metering service: AccountsService here, UsageService and BillingService beside it
(usage_rpcs.py, billing_rpcs.py), and the service's lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc.aio
import redis.asyncio as aioredis

from services.metering.alerts import Alerts
from services.metering.billing_rpcs import Billing, BillingServicer
from services.metering.collection import Collector
from services.metering.invoices import Invoices
from services.metering.ledger import Ledger
from services.metering.plans import build_plans
from services.metering.reports import Reports
from services.metering.settings import MeteringSettings
from services.metering.store import REVOCATIONS_CHANNEL, AccountStore, Minted
from services.metering.stripe_client import StripeBilling
from services.metering.subscriptions import Subscriptions
from services.metering.usage_rpcs import UsageServicer
from wavis.core.event_schemas import event_data
from wavis.core.events import EventPublisher
from wavis.core.grpc_server import ServiceContext
from wavis.core.redis_client import channel_messages, open_redis
from wavis.core.redis_pages import page_limit
from wavis.core.secrets import require_secret
from wavis.generated.metering.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    billing_pb2_grpc,
    usage_pb2_grpc,
)

log = logging.getLogger(__name__)


def account_message(account: dict[str, str]) -> accounts_pb2.Account:
    return accounts_pb2.Account(
        account_id=account["account_id"], email=account.get("email", ""),
        plan=account["plan"], created_at=account["created_at"],
        expires_at=account.get("expires_at", ""))


def key_message(record: dict[str, str]) -> accounts_pb2.ApiKey:
    return accounts_pb2.ApiKey(
        prefix=record["prefix"], account_id=record["account_id"], name=record["name"],
        role=record["role"], environment=record["environment"],
        created_at=record["created_at"], last_used_at=record["last_used_at"],
        expires_at=record["expires_at"])


class AccountsServicer(accounts_pb2_grpc.AccountsServiceServicer):
    """AccountsService: accounts, plans and API keys
    (docs/decisions/0070-metering-api-in-three-services.md)."""

    def __init__(self, context: ServiceContext, store: AccountStore,
                 pubsub_redis: aioredis.Redis, billing: Billing) -> None:
        self.context = context
        self.store = store
        self.pubsub_redis = pubsub_redis
        self.billing = billing

    async def Describe(self, request: accounts_pb2.DescribeRequest,
                       grpc_context: grpc.aio.ServicerContext,
                       ) -> accounts_pb2.DescribeResponse:
        return accounts_pb2.DescribeResponse(info=self.context.service_info())

    async def CreateAccount(self, request: accounts_pb2.CreateAccountRequest,
                            grpc_context: grpc.aio.ServicerContext,
                            ) -> accounts_pb2.CreateAccountResponse:
        account, minted = await self.store.create_account(request.email, request.plan,
                                                          request.environment)
        return accounts_pb2.CreateAccountResponse(
            account=account_message(account), api_key=minted.api_key,
            key=key_message(minted.record))

    async def CreateTrialAccount(self, request: accounts_pb2.CreateTrialAccountRequest,
                                 grpc_context: grpc.aio.ServicerContext,
                                 ) -> accounts_pb2.CreateTrialAccountResponse:
        account, minted = await self.store.create_trial(request.client_ip)
        return accounts_pb2.CreateTrialAccountResponse(
            account=account_message(account), api_key=minted.api_key,
            key=key_message(minted.record),
            operations_limit=int(account["operations_limit"]))

    async def ListAccounts(self, request: accounts_pb2.ListAccountsRequest,
                           grpc_context: grpc.aio.ServicerContext,
                           ) -> accounts_pb2.ListAccountsResponse:
        accounts, has_more, cursor = await self.store.list_accounts(
            page_limit(request.limit), request.cursor)
        return accounts_pb2.ListAccountsResponse(
            accounts=[account_message(a) for a in accounts], has_more=has_more,
            next_cursor=cursor)

    async def SetPlan(self, request: accounts_pb2.SetPlanRequest,
                      grpc_context: grpc.aio.ServicerContext) -> accounts_pb2.SetPlanResponse:
        account = await self.store.set_plan(request.account_id, request.plan)
        return accounts_pb2.SetPlanResponse(account=account_message(account))

    async def CreateApiKey(self, request: accounts_pb2.CreateApiKeyRequest,
                           grpc_context: grpc.aio.ServicerContext,
                           ) -> accounts_pb2.CreateApiKeyResponse:
        minted: Minted = await self.store.create_key(request.account_id, request.name,
                                                     request.role, request.environment)
        return accounts_pb2.CreateApiKeyResponse(api_key=minted.api_key,
                                                 key=key_message(minted.record))

    async def ListApiKeys(self, request: accounts_pb2.ListApiKeysRequest,
                          grpc_context: grpc.aio.ServicerContext,
                          ) -> accounts_pb2.ListApiKeysResponse:
        records, has_more, cursor = await self.store.list_keys(
            request.account_id, page_limit(request.limit), request.cursor)
        return accounts_pb2.ListApiKeysResponse(
            keys=[key_message(r) for r in records], has_more=has_more, next_cursor=cursor)

    async def RevokeApiKey(self, request: accounts_pb2.RevokeApiKeyRequest,
                           grpc_context: grpc.aio.ServicerContext,
                           ) -> accounts_pb2.RevokeApiKeyResponse:
        await self.store.revoke_key(request.account_id or None, request.prefix)
        return accounts_pb2.RevokeApiKeyResponse()

    async def RevokeTrialKey(self, request: accounts_pb2.RevokeTrialKeyRequest,
                             grpc_context: grpc.aio.ServicerContext,
                             ) -> accounts_pb2.RevokeTrialKeyResponse:
        await self.store.revoke_trial_key(request.key_prefix, request.api_key)
        return accounts_pb2.RevokeTrialKeyResponse()

    async def RotateApiKey(self, request: accounts_pb2.RotateApiKeyRequest,
                           grpc_context: grpc.aio.ServicerContext,
                           ) -> accounts_pb2.RotateApiKeyResponse:
        minted, grace_end = await self.store.rotate_key(request.account_id, request.prefix)
        await self.billing.alerts.emit(request.account_id, "key_rotated", event_data(
            "key_rotated", old_key_prefix=request.prefix,
            new_key_prefix=minted.record["prefix"], grace_period_ends_at=grace_end))
        return accounts_pb2.RotateApiKeyResponse(
            api_key=minted.api_key, key=key_message(minted.record),
            old_key_prefix=request.prefix, grace_period_ends_at=grace_end)

    async def Authenticate(self, request: accounts_pb2.AuthenticateRequest,
                           grpc_context: grpc.aio.ServicerContext,
                           ) -> accounts_pb2.AuthenticateResponse:
        account, record, plan = await self.store.authenticate(request.api_key)
        return accounts_pb2.AuthenticateResponse(
            account=account_message(account), key=key_message(record), limits=plan.to_proto())

    async def GetPlanLimits(self, request: accounts_pb2.GetPlanLimitsRequest,
                            grpc_context: grpc.aio.ServicerContext,
                            ) -> accounts_pb2.GetPlanLimitsResponse:
        return accounts_pb2.GetPlanLimitsResponse(
            limits=self.store.plan(request.plan).to_proto())

    async def WatchRevocations(self, request: accounts_pb2.WatchRevocationsRequest,
                               grpc_context: grpc.aio.ServicerContext,
                               ) -> AsyncIterator[accounts_pb2.WatchRevocationsResponse]:
        async for prefix in channel_messages(self.pubsub_redis, REVOCATIONS_CHANNEL,
                                             self.context.stopping):
            # The first (empty) one marks the start: nothing revoked after it is missed.
            yield accounts_pb2.WatchRevocationsResponse(prefix=prefix or "")


@asynccontextmanager
async def lifespan(context: ServiceContext) -> AsyncIterator[None]:
    settings = context.settings
    assert isinstance(settings, MeteringSettings)
    pepper = require_secret(settings.api_key_pepper, "WAVIS_API_KEY_PEPPER", "api_key_pepper",
                            production=settings.is_production, data_dir=settings.data_dir)
    redis = open_redis(settings, decode_responses=True,
                       tracer_provider=context.tracer_provider)
    # Subscriptions wait for messages indefinitely: no read timeout on their connection.
    pubsub_redis = open_redis(settings, decode_responses=True, read_timeout=None)
    store = AccountStore(
        redis, build_plans(settings.plan_overrides or {}), pepper,
        trial_seconds=settings.trial_seconds, trial_operations=settings.trial_operations,
        rotation_grace_seconds=settings.rotation_grace_seconds)
    publisher = EventPublisher(settings.webhooks_target)
    alerts = Alerts(redis, publisher)
    ledger = Ledger(redis, store.plans, settings.jpy_per_usd)
    stripe = StripeBilling(settings.stripe_api_key, settings.stripe_api_base,
                           settings.stripe_webhook_secret, settings.billing_success_url,
                           settings.billing_cancel_url)
    invoices = Invoices(redis, ledger, alerts, store.plans)
    billing = Billing(ledger=ledger, alerts=alerts, reports=Reports(redis, ledger),
                      invoices=invoices, stripe=stripe,
                      subscriptions=Subscriptions(redis, store, stripe, invoices, alerts))
    collector = Collector(redis, invoices, stripe, billing.subscriptions,
                          settings.billing_close_interval_seconds)
    # Three APIs, one process (docs/decisions/0070-metering-api-in-three-services.md).
    accounts_pb2_grpc.add_AccountsServiceServicer_to_server(
        AccountsServicer(context, store, pubsub_redis, billing), context.server)
    usage_pb2_grpc.add_UsageServiceServicer_to_server(
        UsageServicer(context, store, billing), context.server)
    billing_pb2_grpc.add_BillingServiceServicer_to_server(
        BillingServicer(store, billing), context.server)
    closing = asyncio.create_task(collector.run())
    try:
        yield
    finally:
        closing.cancel()
        await alerts.close()
        await publisher.close()
        await stripe.close()
        await redis.aclose()
        await pubsub_redis.aclose()
