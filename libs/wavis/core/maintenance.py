"""The operator's maintenance switch, one Redis key shared by every gateway replica.

`wavis-admin maintenance on|off` writes or deletes the key. Each gateway replica keeps a
local copy that a background task re-reads every REFRESH_SECONDS, so a request never waits
on Redis for it and every replica obeys within a second (docs/decisions/0034).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

KEY = "wavis:maintenance"
# Well inside the one second every replica must obey in, for one GET per replica per tick.
REFRESH_SECONDS = 0.25
DEFAULT_MESSAGE = "The service is in maintenance."
DEFAULT_RETRY_AFTER = 600


@dataclass(frozen=True)
class Maintenance:
    message: str
    retry_after: int  # seconds, sent as Retry-After
    by: str  # who turned it on
    since: str  # when, UTC ISO 8601


def _parse(raw: bytes | str | None) -> Maintenance | None:
    if raw is None:
        return None
    fields: dict[str, Any] = json.loads(raw)
    return Maintenance(str(fields["message"]), int(fields["retry_after"]),
                       str(fields.get("by", "")), str(fields.get("since", "")))


async def read(redis: aioredis.Redis) -> Maintenance | None:
    return _parse(await redis.get(KEY))


async def turn_on(redis: aioredis.Redis, state: Maintenance) -> None:
    await redis.set(KEY, json.dumps(asdict(state)))


async def turn_off(redis: aioredis.Redis) -> bool:
    """True if it was on."""
    return bool(await redis.delete(KEY))


class MaintenanceWatch:
    """The replica's local view of the switch; `current` costs a request nothing."""

    def __init__(self) -> None:
        self.current: Maintenance | None = None

    async def follow(self, redis: aioredis.Redis) -> None:
        """Re-read the key every REFRESH_SECONDS, for as long as the gateway runs."""
        while True:
            started = time.monotonic()
            try:
                latest = await read(redis)
            except Exception:  # Redis down: keep the last known state, try again next tick
                log.warning("cannot read the maintenance switch", exc_info=True)
            else:
                if latest != self.current:
                    log.warning("maintenance %s", "on" if latest else "off",
                                extra={"maintenance": asdict(latest) if latest else None})
                self.current = latest
            await asyncio.sleep(max(0.0, REFRESH_SECONDS - (time.monotonic() - started)))
