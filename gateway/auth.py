"""Who is calling: API-key parsing, a short-lived cache of successful lookups, and the
revocation watch that empties that cache the moment a key is revoked anywhere."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass

import grpc

from wavis.core.api_keys import key_prefix
from wavis.core.timefmt import parse_rfc3339
from wavis.generated.metering.v1 import accounts_pb2, accounts_pb2_grpc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the key, its account and the plan's limits."""

    account_id: str
    key_prefix: str
    role: str
    environment: str
    plan: str
    limits: accounts_pb2.PlanLimits
    expires_at: float | None  # epoch seconds, for keys that expire


def presented_key(authorization: str | None) -> str | None:
    """The key from `Authorization: Bearer <key>` or a bare `Authorization: <key>`."""
    if not authorization:
        return None
    value = authorization.strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    return value or None


def usable_prefix(api_key: str) -> str | None:
    """The prefix to count failures under, for anything shaped like one of our keys."""
    return key_prefix(api_key) if api_key.startswith("wvs_") and len(api_key) >= 16 else None


def caller_from(reply: accounts_pb2.AuthenticateResponse) -> Caller:
    expires = reply.key.expires_at
    return Caller(
        account_id=reply.account.account_id, key_prefix=reply.key.prefix, role=reply.key.role,
        environment=reply.key.environment, plan=reply.account.plan, limits=reply.limits,
        expires_at=parse_rfc3339(expires) if expires else None)


class AuthCache:
    """Successful lookups by key prefix, holding a digest of the whole key, for a few seconds;
    off while the revocation watch is down (docs/decisions/0030-auth-cache-follows-revocations.md).
    """

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self.enabled = False
        self._entries: dict[str, tuple[bytes, Caller, float]] = {}

    @staticmethod
    def _digest(api_key: str) -> bytes:
        return hashlib.sha256(api_key.encode()).digest()

    def get(self, api_key: str) -> Caller | None:
        entry = self._entries.get(key_prefix(api_key)) if self.enabled else None
        if entry is None:
            return None
        digest, caller, valid_until = entry
        if time.monotonic() >= valid_until or not hmac.compare_digest(digest,
                                                                       self._digest(api_key)):
            return None
        if caller.expires_at is not None and caller.expires_at <= time.time():
            return None
        return caller

    def put(self, api_key: str, caller: Caller) -> None:
        if self.enabled and self.ttl > 0:
            self._entries[caller.key_prefix] = (self._digest(api_key), caller,
                                                time.monotonic() + self.ttl)

    def drop(self, prefix: str) -> None:
        self._entries.pop(prefix, None)

    def clear(self) -> None:
        self._entries.clear()


async def watch_revocations(metering: accounts_pb2_grpc.AccountsServiceStub,
                            cache: AuthCache) -> None:
    """Follow the metering service's revocation stream for as long as the gateway runs."""
    backoff = 0.2
    while True:
        try:
            stream = metering.WatchRevocations(accounts_pb2.WatchRevocationsRequest())
            async for event in stream:
                if not event.prefix:  # (re)started: anything may have been missed
                    cache.clear()
                    cache.enabled = True
                    backoff = 0.2
                else:
                    cache.drop(event.prefix)
        except asyncio.CancelledError:
            raise
        except grpc.RpcError as exc:
            log.debug("revocation watch interrupted: %s", exc)
        cache.enabled = False
        cache.clear()
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, 5.0)
