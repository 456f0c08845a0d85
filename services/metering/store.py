"""Accounts and API keys in Redis (namespace wavis:metering:), with the rules that guard them."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, cast

import redis.asyncio as aioredis

from services.metering.keyspace import NS
from services.metering.named_scripts import Script
from services.metering.plans import Plan
from services.metering.terms import DEFAULT_CYCLE, note_terms, terms_before, terms_key
from wavis.core.api_keys import (
    NAME_MAX_CHARS,
    PREFIX_LENGTH,
    hash_matches,
    is_well_formed,
    key_hash,
    key_prefix,
    mint_key,
)
from wavis.core.emails import is_email
from wavis.core.errors import WavisError
from wavis.core.ids import new_id
from wavis.core.redis_pages import index_member, newest_first
from wavis.core.roles import MINTED_ENVIRONMENTS, MINTED_ROLES
from wavis.core.timefmt import parse_rfc3339, rfc3339

REVOCATIONS_CHANNEL = f"{NS}:revocations"
ACCOUNTS_INDEX = f"{NS}:accounts"
_LAST_USED_RESOLUTION = 60  # seconds: last_used_at is written at most once a minute
_TRIAL_RECORD_AFTERLIFE = 7 * 24 * 3600  # expired trial records linger for investigations

# Reserve `count` operations against the account's limit, atomically: the one place a
# trial's operations are counted (the gateway calls it for endpoints that are operations).
# outcome: counted (remaining) | unlimited | refused.
_RESERVE_OPERATIONS = Script(("account", "used"), """
local limit = tonumber(redis.call('HGET', account, 'operations_limit') or '0')
if limit == 0 then return {'outcome', 'unlimited'} end
local now_used = redis.call('INCRBY', used, arg.count)
if now_used > limit then
  redis.call('DECRBY', used, arg.count)
  return {'outcome', 'refused'}
end
return {'outcome', 'counted', 'remaining', limit - now_used}
""")


def _account_key(account_id: str) -> str:
    return f"{NS}:account:{account_id}"


def _operations_key(account_id: str) -> str:
    return f"{NS}:account:{account_id}:operations_used"


def _keys_index(account_id: str) -> str:
    return f"{NS}:account:{account_id}:keys"


def _key_record(prefix: str) -> str:
    return f"{NS}:key:{prefix}"


@dataclass
class Minted:
    api_key: str
    record: dict[str, str]


class AccountStore:
    def __init__(self, redis: aioredis.Redis, plans: dict[str, Plan], pepper: str, *,
                 trial_seconds: int, trial_operations: int, rotation_grace_seconds: int) -> None:
        self.redis = redis
        self.plans = plans
        self.pepper = pepper
        self.trial_seconds = trial_seconds
        self.trial_operations = trial_operations
        self.rotation_grace_seconds = rotation_grace_seconds
        self._reserve = _RESERVE_OPERATIONS.bind(redis)

    async def _hash(self, key: str) -> dict[str, str]:
        # The client decodes responses: every field is text.
        return cast(dict[str, str], await self.redis.hgetall(key))

    async def _hashes(self, keys: list[str]) -> list[dict[str, str]]:
        """Several records in one round trip, skipping any that vanished meanwhile."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            return [cast(dict[str, str], record) for record in await pipe.execute() if record]

    # Accounts -------------------------------------------------------------------------

    def plan(self, name: str) -> Plan:
        plan = self.plans.get(name)
        if plan is None:
            raise WavisError("VALIDATION_ERROR", f"Unknown plan {name!r}; plans: "
                             f"{', '.join(p for p in self.plans if p != 'trial')}.")
        return plan

    async def create_account(self, email: str, plan: str, environment: str) -> tuple[
            dict[str, str], Minted]:
        if not is_email(email):
            raise WavisError("VALIDATION_ERROR", "email must be an email address.")
        if plan == "trial":
            raise WavisError("VALIDATION_ERROR", "Trial accounts come from the temp-key "
                             "endpoint, not from create-account.")
        self.plan(plan)
        account = await self._insert_account({"email": email, "plan": plan})
        minted = await self.create_key(account["account_id"], "", "account_admin",
                                       environment or "live")
        return account, minted

    async def create_trial(self, client_ip: str) -> tuple[dict[str, str], Minted]:
        expires = time.time() + self.trial_seconds
        account = await self._insert_account({
            "email": "", "plan": "trial", "expires_at": rfc3339(expires),
            "operations_limit": str(self.trial_operations), "client_ip": client_ip,
        }, expire_at=int(expires) + _TRIAL_RECORD_AFTERLIFE)
        minted = await self._mint(account["account_id"], name="trial", role="trial",
                                  environment="trial", expires_at=expires)
        return account, minted

    async def _insert_account(self, fields: dict[str, str],
                              expire_at: int | None = None) -> dict[str, str]:
        now = time.time()
        account = {"account_id": new_id("acct"), "created_at": rfc3339(now), **fields}
        key = _account_key(account["account_id"])
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=cast(Any, account))
            note_terms(pipe, account["account_id"], account["plan"], DEFAULT_CYCLE, now)
            if expire_at is not None:
                pipe.expireat(key, expire_at)
                pipe.expireat(terms_key(account["account_id"]), expire_at)
            else:  # trial accounts stay out of the operators' list
                pipe.zadd(ACCOUNTS_INDEX, {index_member(int(now * 1000), account["account_id"]): 0})
            await pipe.execute()
        return account

    async def get_account(self, account_id: str) -> dict[str, str]:
        account = await self._hash(_account_key(account_id)) if account_id else {}
        if not account:
            raise WavisError("NOT_FOUND", f"No account {account_id!r}.")
        return account

    async def list_accounts(self, limit: int, cursor: str) -> tuple[list[dict[str, str]], bool,
                                                                    str]:
        page = await newest_first(self.redis, ACCOUNTS_INDEX, limit, cursor)
        accounts = await self._hashes([_account_key(account_id) for account_id in page.ids])
        return accounts, page.has_more, page.next_cursor

    async def set_plan(self, account_id: str, plan: str,
                       billing_cycle: str | None = None) -> dict[str, str]:
        """Change the plan (and the billing cycle, if given; else it stays), noting the
        change for the invoices of the months to come."""
        account = await self.get_account(account_id)
        if account["plan"] == "trial" or plan == "trial":
            raise WavisError("VALIDATION_ERROR", "Trial accounts cannot change plan.")
        self.plan(plan)
        now = time.time()
        if billing_cycle is None:
            noted = await terms_before(self.redis, account_id, now + 1)
            billing_cycle = noted[1] if noted else DEFAULT_CYCLE
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_account_key(account_id), "plan", plan)
            note_terms(pipe, account_id, plan, billing_cycle, now)
            await pipe.execute()
        return account | {"plan": plan}

    # Keys -----------------------------------------------------------------------------

    async def create_key(self, account_id: str, name: str, role: str,
                         environment: str) -> Minted:
        if role not in MINTED_ROLES:
            raise WavisError("VALIDATION_ERROR",
                             f"role must be one of {', '.join(MINTED_ROLES)}.")
        if environment not in MINTED_ENVIRONMENTS:
            raise WavisError("VALIDATION_ERROR",
                             f"environment must be {' or '.join(MINTED_ENVIRONMENTS)}.")
        if len(name) > NAME_MAX_CHARS:
            raise WavisError("VALIDATION_ERROR",
                             f"name is limited to {NAME_MAX_CHARS} characters.")
        account = await self.get_account(account_id)
        if account["plan"] == "trial":
            raise WavisError("FORBIDDEN", "Trial accounts cannot mint keys.")
        return await self._mint(account_id, name=name, role=role, environment=environment)

    async def _mint(self, account_id: str, *, name: str, role: str, environment: str,
                    expires_at: float | None = None) -> Minted:
        now = time.time()
        while True:
            api_key = mint_key(environment)
            prefix = key_prefix(api_key)
            record = {
                "prefix": prefix, "account_id": account_id, "name": name, "role": role,
                "environment": environment, "created_at": rfc3339(now), "last_used_at": "",
                "expires_at": rfc3339(expires_at) if expires_at else "",
                "hash": key_hash(self.pepper, api_key),
                "index_member": index_member(int(now * 1000), prefix),
            }
            # The prefix is the key's id: claim it atomically, mint again on the rare clash.
            if await self.redis.hsetnx(_key_record(prefix), "prefix", prefix):
                break
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_key_record(prefix), mapping=cast(Any, record))
            if expires_at is not None and role == "trial":
                pipe.expireat(_key_record(prefix), int(expires_at) + _TRIAL_RECORD_AFTERLIFE)
            pipe.zadd(_keys_index(account_id), {record["index_member"]: 0})
            await pipe.execute()
        return Minted(api_key, record)

    async def _usable_key(self, prefix: str, account_id: str | None) -> dict[str, str]:
        record = await self._hash(_key_record(prefix))
        if (not record or record.get("revoked_at") or _expired(record)
                or (account_id and record["account_id"] != account_id)):
            raise WavisError("NOT_FOUND", f"No API key with prefix {prefix!r}.")
        return record

    async def list_keys(self, account_id: str, limit: int, cursor: str) -> tuple[
            list[dict[str, str]], bool, str]:
        page = await newest_first(self.redis, _keys_index(account_id), limit, cursor)
        records = await self._hashes([_key_record(prefix) for prefix in page.ids])
        return records, page.has_more, page.next_cursor

    async def revoke_key(self, account_id: str | None, prefix: str) -> None:
        record = await self._usable_key(prefix, account_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_key_record(prefix), "revoked_at", rfc3339(time.time()))
            pipe.zrem(_keys_index(record["account_id"]), record["index_member"])
            pipe.publish(REVOCATIONS_CHANNEL, prefix)
            await pipe.execute()

    async def revoke_trial_key(self, given: str, api_key: str) -> None:
        """Revoke the trial key `api_key` (its holder presents it) named by `given`, at
        least its first PREFIX_LENGTH characters: the prefix alone, seen in listings and logs,
        is not enough."""
        if len(given) < PREFIX_LENGTH:
            raise WavisError("VALIDATION_ERROR", "key_prefix needs at least the key's first "
                             f"{PREFIX_LENGTH} characters.")
        not_found = WavisError("NOT_FOUND", "No trial key with that prefix.")
        if not is_well_formed(api_key) or not api_key.startswith(given):
            raise not_found
        record = await self._hash(_key_record(key_prefix(api_key)))
        if (not record or record.get("role") != "trial"
                or not hash_matches(self.pepper, api_key, record["hash"])):
            raise not_found
        await self.revoke_key(None, record["prefix"])

    async def rotate_key(self, account_id: str, prefix: str) -> tuple[Minted, str]:
        old = await self._usable_key(prefix, account_id)
        if old["role"] == "trial":
            raise WavisError("FORBIDDEN", "Trial keys cannot be rotated.")
        minted = await self._mint(account_id, name=old["name"], role=old["role"],
                                  environment=old["environment"])
        grace_end = time.time() + self.rotation_grace_seconds
        if old["expires_at"]:
            grace_end = min(grace_end, parse_rfc3339(old["expires_at"]))
        await self.redis.hset(_key_record(prefix), "expires_at", rfc3339(grace_end))
        return minted, rfc3339(grace_end)

    async def authenticate(self, api_key: str) -> tuple[dict[str, str], dict[str, str], Plan]:
        invalid = WavisError("UNAUTHORIZED", "Invalid API key.")
        if not is_well_formed(api_key):
            raise invalid
        record = await self._hash(_key_record(key_prefix(api_key)))
        if not record or not record.get("hash") or not hash_matches(
                self.pepper, api_key, record["hash"]):
            raise invalid
        # The caller proved it holds the key: it may learn why the key no longer works.
        if record.get("revoked_at"):
            raise WavisError("UNAUTHORIZED", "This API key has been revoked.")
        if _expired(record):
            raise WavisError("UNAUTHORIZED", "This API key has expired.")
        account = await self.get_account(record["account_id"])
        now = time.time()
        if not record["last_used_at"] or \
                now - parse_rfc3339(record["last_used_at"]) > _LAST_USED_RESOLUTION:
            record["last_used_at"] = rfc3339(now)
            await self.redis.hset(_key_record(record["prefix"]), "last_used_at",
                                  record["last_used_at"])
        plan = self.plan(account["plan"])
        if account.get("operations_limit"):
            plan = replace(plan, operations_limit=int(account["operations_limit"]))
        return account, record, plan

    # Operations ---------------------------------------------------------------------------

    async def reserve_operations(self, account_id: str, count: int) -> int:
        if count < 1:
            raise WavisError("VALIDATION_ERROR", "count must be at least 1.")
        await self.get_account(account_id)
        answer = await self._reserve({"account": _account_key(account_id),
                                      "used": _operations_key(account_id)}, count=count)
        if answer["outcome"] == "refused":
            raise WavisError("QUOTA_EXHAUSTED",
                             "This trial's operations are used up; sign up for a plan.")
        return int(answer.get("remaining", -1))

    async def release_operations(self, account_id: str, count: int) -> None:
        if count < 1:
            raise WavisError("VALIDATION_ERROR", "count must be at least 1.")
        used = await self.redis.decrby(_operations_key(account_id), count)
        if used < 0:  # never below zero, whatever a confused caller releases
            await self.redis.incrby(_operations_key(account_id), -used)


def _expired(record: dict[str, Any]) -> bool:
    return bool(record.get("expires_at")) and parse_rfc3339(record["expires_at"]) <= time.time()
