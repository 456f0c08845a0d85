"""TFHE session records in Redis, shared by every replica, ending when idle.

    wavis:tfhe:session:{account}:{session}  JSON record, expires after the idle time; every
                                            use renews it
    wavis:tfhe:idle                         sorted set "{account}:{session}" -> idle deadline
    wavis:tfhe:owned                        hash "{account}:{session}" -> key id the session
                                            created (server mode, eval_key upload): deleted
                                            with the session

Session ids live in the account's namespace, so a client-chosen id reveals nothing about
other accounts and another account's id is simply not found. The record names the replica
that loaded the key last; any replica serves the session (it loads the key on demand).
Ended sessions' keys are deleted by whichever replica's sweeper claims the idle entry first.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import redis.asyncio as aioredis

from wavis.core.errors import WavisError

PREFIX = "wavis:tfhe"
IDLE = f"{PREFIX}:idle"
OWNED = f"{PREFIX}:owned"
CLIENT_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _record_key(account_id: str, session_id: str) -> str:
    return f"{PREFIX}:session:{account_id}:{session_id}"


def _member(account_id: str, session_id: str) -> str:
    return f"{account_id}:{session_id}"


def not_found(session_id: str) -> WavisError:
    return WavisError("SESSION_NOT_FOUND", f"No TFHE session {session_id} (it may have "
                      "expired after being idle).", {"session_id": session_id})


class SessionStore:
    def __init__(self, redis: aioredis.Redis, idle_seconds: int) -> None:
        self.redis = redis
        self.idle_seconds = idle_seconds

    async def exists(self, account_id: str, session_id: str) -> bool:
        return bool(await self.redis.exists(_record_key(account_id, session_id)))

    async def create(self, record: dict[str, Any]) -> None:
        """Store a new session; SESSION_EXISTS when its id is taken."""
        account_id, session_id = record["account_id"], record["session_id"]
        created = await self.redis.set(_record_key(account_id, session_id), json.dumps(record),
                                       ex=self.idle_seconds, nx=True)
        if not created:
            raise WavisError("SESSION_EXISTS", f"The session_id {session_id} is already in "
                             "use.", {"session_id": session_id})
        member = _member(account_id, session_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            if record.get("owns_key"):
                pipe.hset(OWNED, member, record["key_id"])
            pipe.zadd(IDLE, {member: time.time() + self.idle_seconds})
            await pipe.execute()

    async def get(self, account_id: str, session_id: str) -> dict[str, Any]:
        """The session's record, its idle time renewed; SESSION_NOT_FOUND when none."""
        key = _record_key(account_id, session_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.expire(key, self.idle_seconds)
            pipe.zadd(IDLE, {_member(account_id, session_id): time.time() + self.idle_seconds},
                      xx=True)
            raw, _, _ = await pipe.execute()
        if raw is None:
            raise not_found(session_id)
        return dict(json.loads(raw))

    async def set_replica(self, record: dict[str, Any], replica: str) -> None:
        record["replica"] = replica
        await self.update(record)

    async def update(self, record: dict[str, Any]) -> None:
        """Write a changed record of a session that still exists."""
        await self.redis.set(_record_key(record["account_id"], record["session_id"]),
                             json.dumps(record), ex=self.idle_seconds, xx=True)

    async def delete(self, account_id: str, session_id: str) -> tuple[dict[str, Any], str]:
        """Remove the session: (its record, the id of a key it owned or "")."""
        key, member = _record_key(account_id, session_id), _member(account_id, session_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(key)
            pipe.delete(key)
            pipe.zrem(IDLE, member)
            pipe.hget(OWNED, member)
            pipe.hdel(OWNED, member)
            raw, _, _, owned, _ = await pipe.execute()
        if raw is None:
            raise not_found(session_id)
        return dict(json.loads(raw)), _text(owned)

    async def claim_expired(self) -> list[tuple[str, str]]:
        """Sessions that ended idle, each claimed by one replica: [(account_id, owned key)]."""
        now = time.time()
        claimed = []
        for raw in await self.redis.zrangebyscore(IDLE, "-inf", now, start=0, num=100):
            member = _text(raw)
            if not await self.redis.zrem(IDLE, member):
                continue  # another replica claimed it
            account_id, _, session_id = member.partition(":")
            ttl = await self.redis.ttl(_record_key(account_id, session_id))
            if ttl > 0:  # used meanwhile: still alive, put it back
                await self.redis.zadd(IDLE, {member: now + ttl})
                continue
            owned = _text(await self.redis.hget(OWNED, member))
            await self.redis.hdel(OWNED, member)
            if owned:
                claimed.append((account_id, owned))
        return claimed


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)
