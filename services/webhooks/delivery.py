"""Sending events: one signed POST per attempt, and the worker loops that feed it.

`FanOut` turns queued events into deliveries (one per subscribed endpoint); `DeliveryWorker`
claims due deliveries and attempts them: 2xx is delivered; anything else (other statuses,
redirects, which are not followed, timeouts, refused addresses) is retried after a wait drawn
uniformly from [0, cap] (full jitter), caps from WAVIS_WEBHOOK_RETRY_SCHEDULE, until the
schedule or the retry window runs out. An endpoint failing for the whole failure window is
disabled with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from redis.exceptions import RedisError

from services.webhooks.queue import EventQueue, event_data
from services.webhooks.settings import WebhooksSettings
from services.webhooks.ssrf import (
    Lookup,
    SsrfRefused,
    VettingResolver,
    system_lookup,
    vet_url,
)
from services.webhooks.store import EndpointStore
from wavis.core import webhook_signing as signing
from wavis.core.timefmt import rfc3339

log = logging.getLogger(__name__)
USER_AGENT = "WAVIS-Webhooks/1"
_READ_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int  # 0: no HTTP answer
    error: str  # "" when ok


def matches(endpoint: dict[str, Any], event_type: str) -> bool:
    """Whether the endpoint takes this event: test events go to every enabled endpoint."""
    if not endpoint["enabled"]:
        return False
    return event_type == "test" or not endpoint["events"] or event_type in endpoint["events"]


class Sender:
    """The HTTP side: SSRF checks at send time, then one signed POST."""

    def __init__(self, allow_private: bool, timeout_seconds: float, concurrency: int,
                 lookup: Lookup = system_lookup) -> None:
        self.allow_private = allow_private
        self.timeout_seconds = timeout_seconds
        self.lookup = lookup
        connector = aiohttp.TCPConnector(resolver=VettingResolver(allow_private, lookup),
                                         use_dns_cache=False, limit=concurrency)
        self.session = aiohttp.ClientSession(
            connector=connector, trust_env=False, auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=timeout_seconds))

    async def send(self, url: str, secret: str, event_id: str, event_type: str,
                   body: bytes) -> Outcome:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            signing.EVENT_ID_HEADER: event_id,
            signing.TIMESTAMP_HEADER: timestamp,
            signing.SIGNATURE_HEADER: signing.sign(secret, timestamp, body),
            "X-WAVIS-Event-Type": event_type,
        }
        try:
            status = await asyncio.wait_for(self._post(url, headers, body),
                                            self.timeout_seconds)
        except SsrfRefused as exc:
            return Outcome(False, 0, f"refused: {exc}")
        except asyncio.TimeoutError:
            return Outcome(False, 0, f"no answer within {self.timeout_seconds:g} s")
        except aiohttp.ClientError as exc:
            cause = exc.__cause__ if isinstance(exc.__cause__, SsrfRefused) else None
            if cause is not None:
                return Outcome(False, 0, f"refused: {cause}")
            return Outcome(False, 0, f"{type(exc).__name__}: {exc}"[:300])
        except (OSError, ValueError) as exc:  # whatever else the URL or socket throws
            return Outcome(False, 0, f"{type(exc).__name__}: {exc}"[:300])
        if 200 <= status < 300:
            return Outcome(True, status, "")
        if 300 <= status < 400:
            return Outcome(False, status, f"HTTP {status} (redirects are not followed)")
        return Outcome(False, status, f"HTTP {status}")

    async def _post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        await vet_url(url, self.allow_private, self.lookup)  # names, literals, http rule
        async with self.session.post(url, data=body, headers=headers,
                                     allow_redirects=False) as response:
            await response.content.read(_READ_LIMIT)
            return response.status

    async def close(self) -> None:
        await self.session.close()


def retry_delay(schedule: tuple[float, ...], attempts: int) -> float | None:
    """Wait before attempt `attempts + 1`: uniform in [0, cap] (full jitter); None when the
    schedule is used up."""
    if attempts - 1 >= len(schedule):
        return None
    return random.uniform(0, schedule[attempts - 1])


class DeliveryWorker:
    def __init__(self, settings: WebhooksSettings, store: EndpointStore, queue: EventQueue,
                 sender: Sender) -> None:
        self.settings = settings
        self.store = store
        self.queue = queue
        self.sender = sender
        self.wake = asyncio.Event()
        self.in_flight: set[asyncio.Task[None]] = set()

    async def run(self, stopping: asyncio.Event) -> None:
        limit = self.settings.concurrency
        while not stopping.is_set():
            free = limit - len(self.in_flight)
            if free <= 0:
                await asyncio.wait(self.in_flight, return_when=asyncio.FIRST_COMPLETED)
                continue
            self.wake.clear()  # before claiming: a wake-up from now on is not missed
            try:
                claimed = await self.queue.claim(free, self.settings.lease_seconds)
                pause = None if len(claimed) >= free else await self.queue.next_due_in()
            except (RedisError, OSError) as exc:
                log.warning("cannot claim deliveries: %s", exc)
                await _sleep_unless(stopping, 1.0)
                continue
            for did, attempts in claimed:
                task = asyncio.create_task(self.deliver(did, attempts))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
            if len(claimed) >= free:
                continue
            await _wait_any(self.wake, stopping, 1.0 if pause is None else min(1.0, pause))

    async def drain(self, timeout: float) -> None:
        """Let attempts in flight finish; cancelled ones are retried after their lease."""
        if self.in_flight:
            await asyncio.wait(self.in_flight, timeout=timeout)
        for task in list(self.in_flight):
            task.cancel()

    async def deliver(self, did: str, attempts: int) -> None:
        try:
            await self._deliver(did, attempts)
        except (RedisError, OSError) as exc:  # the lease brings it back
            log.warning("delivery %s not settled: %s", did, exc)
        except Exception:
            log.exception("delivery %s failed unexpectedly", did)

    async def _deliver(self, did: str, attempts: int) -> None:
        record = await self.queue.get(did)
        if record is None:
            return
        endpoint = await self.store.find(record["webhook_id"])
        if endpoint is None or not endpoint["enabled"]:
            why = "The endpoint was deleted." if endpoint is None else "The endpoint is disabled."
            await self.queue.settle(did, attempts, {"status": "failed", "last_error": why},
                                    None)
            return
        try:
            secret = self.store.secret(endpoint)
        except ValueError:  # sealed under another WAVIS_KEY_ENCRYPTION_KEY
            log.error("webhook %s: its secret does not open", endpoint["webhook_id"])
            await self.queue.settle(did, attempts, {
                "status": "failed", "last_error": "The signing secret cannot be read; "
                "regenerate it."}, None)
            return
        body = signing.event_body(record["event_id"], record["type"], record["created_at"],
                                  event_data(record))
        outcome = await self.sender.send(endpoint["url"], secret, record["event_id"],
                                         record["type"], body)
        now = time.time()
        fields = {"last_status_code": str(outcome.status_code), "last_error": outcome.error}
        if outcome.ok:
            await self.queue.settle(did, attempts, fields | {
                "status": "delivered", "delivered_at": rfc3339(now)}, None)
            await self.store.mark_success(endpoint["webhook_id"])
            return
        disabled = await self.store.mark_failure(endpoint["webhook_id"],
                                                 self.settings.disable_after_seconds,
                                                 outcome.error)
        delay = retry_delay(self.settings.retry_schedule, attempts)
        created = int(record.get("created_ms") or 0) / 1000
        if (disabled or delay is None
                or now + delay > created + self.settings.retry_window_seconds):
            await self.queue.settle(did, attempts, fields | {"status": "failed"}, None)
            return
        await self.queue.settle(did, attempts, fields | {
            "status": "pending", "next_attempt_at": rfc3339(now + delay)}, now + delay)
        if delay < 1.0:
            self.wake.set()


class FanOut:
    """Reads the event stream through the consumer group; one delivery per endpoint."""

    def __init__(self, store: EndpointStore, queue: EventQueue, reader: Any, consumer: str,
                 wake: asyncio.Event) -> None:
        self.store = store
        self.queue = queue
        self.reader = reader  # a Redis client whose timeout outlasts the blocking read
        self.consumer = consumer
        self.wake = wake

    async def run(self, stopping: asyncio.Event, reclaim_idle_ms: int = 5000) -> None:
        last_reclaim = 0.0
        while not stopping.is_set():
            try:
                await self.queue.ensure_group()
                entries = []
                if time.monotonic() - last_reclaim > reclaim_idle_ms / 2000:
                    last_reclaim = time.monotonic()
                    entries = await self.queue.reclaim(self.consumer, reclaim_idle_ms, 100)
                # Block for new entries only when there is nothing to do (BLOCK 0 = forever).
                entries += await self.queue.read(self.reader, self.consumer, 100,
                                                 None if entries else 500)
                for entry_id, event in entries:
                    await self.handle(entry_id, event)
            except (RedisError, OSError) as exc:
                log.warning("event fan-out paused: %s", exc)
                await _sleep_unless(stopping, 1.0)

    async def handle(self, entry_id: str, event: dict[str, str] | None) -> None:
        webhook_ids: list[str] = []
        if event and event.get("event_id"):
            endpoints = await self.store.all_for(event["account_id"])
            webhook_ids = [e["webhook_id"] for e in endpoints if matches(e, event["type"])]
        await self.queue.fan_out(entry_id, event if event and event.get("event_id") else None,
                                 webhook_ids if event and event.get("event_id") else [])
        if webhook_ids:
            self.wake.set()


async def _sleep_unless(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)


async def _wait_any(first: asyncio.Event, second: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.create_task(first.wait()), asyncio.create_task(second.wait())]
    try:
        await asyncio.wait(waiters, timeout=max(0.005, seconds),
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
