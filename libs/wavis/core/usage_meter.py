"""Metering from the services that do the work (ckks-compute, tfhe-eval).

    result, charge = await meter.metered(load_inputs(...), evaluate, account_id=..., ...)

runs a whole synchronous operation: the FCU is reserved (and recorded) while the inputs load,
and the evaluation overlaps the reservation too while the account's last known headroom
allows it; a refusal drops the result (`discard`). `reserve_during(..., record=False)` holds
the FCU of asynchronous work until `commit` or `release`. Whatever fails, nothing stays
charged: failed work gives the charge back, a lost answer is released in the background until
acknowledged. See docs/decisions/0003-metering-in-the-compute-services.md and
docs/decisions/0004-evaluate-while-the-reservation-travels.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from wavis.core.errors import WavisError, error_from_rpc
from wavis.core.request_context import current_environment
from wavis.core.reservation_stream import ReservationStream
from wavis.generated.metering.v1 import usage_pb2, usage_pb2_grpc

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

# How long an answer's headroom is trusted (longer widens the window for discarded work).
HEADROOM_FOR_SECONDS = 10.0
MAX_ACCOUNTS_REMEMBERED = 10_000  # lapsed headrooms are dropped beyond it

# Seconds between further attempts of a release the metering service did not acknowledge.
RELEASE_RETRY_DELAYS = (0.2, 1.0, 5.0, 30.0)
_background: set[asyncio.Task[Any]] = set()


@dataclass(frozen=True)
class Charge:
    """What an operation was charged."""

    op_id: str
    cost_units: int = 0
    cost_usd: float = 0.0
    cost_jpy: float = 0.0
    # Whether this call's reservation stands to be given back on failure: False when nothing
    # was metered, or when the op id had been recorded before (a retry of a finished op must
    # not release the charge of the first run).
    owned: bool = False


class UsageMeter:
    def __init__(self, usage: usage_pb2_grpc.UsageServiceStub, *,
                 streamed: bool = False) -> None:
        """`streamed`: send reservations over one ReserveUsageStream (wavis.core.
        reservation_stream) instead of a call each; for long-lived services with tracing
        off (with tracing on each reservation stays a call, so it is a span of its own)."""
        self.usage = usage
        self._stream = ReservationStream(usage) if streamed else None
        # account -> (monotonic deadline, headroom FCU of the last answer; -1: no limit)
        self._headroom: dict[str, tuple[float, int]] = {}
        # account -> FCU of operations evaluated while their reservations travel
        self._in_flight: dict[str, int] = {}

    async def reserve(self, *, account_id: str, op_id: str, operation: str, fcu: int,
                      record: bool) -> Charge:
        """Reserve (and with `record`, record) the FCU; raises the metering service's refusal
        as a WavisError."""
        message = usage_pb2.ReserveUsageRequest(
            account_id=account_id, op_id=op_id, operation=operation, fcu=fcu,
            record=record, environment=current_environment.get())
        try:
            if self._stream is not None:
                reply = await self._stream.reserve(message)
            else:
                reply = await self.usage.ReserveUsage(message)
        except (grpc.RpcError, WavisError) as exc:
            self._headroom.pop(account_id, None)
            error = error_from_rpc(exc) if isinstance(exc, grpc.RpcError) else exc
            if error.http_status >= 500:  # it may have landed: make sure it does not stand
                in_background(self.release_until_acknowledged(account_id, op_id))
            raise error from None
        except asyncio.CancelledError:
            in_background(self.release_until_acknowledged(account_id, op_id))
            raise
        self._note_headroom(account_id, int(reply.headroom_fcu))
        return Charge(op_id, int(reply.cost_units), reply.cost_usd, reply.cost_jpy,
                      owned=reply.recorded or not record)

    def _note_headroom(self, account_id: str, headroom_fcu: int) -> None:
        if headroom_fcu == 0:
            self._headroom.pop(account_id, None)
            return
        now = time.monotonic()
        if len(self._headroom) >= MAX_ACCOUNTS_REMEMBERED:  # forget the lapsed
            self._headroom = {account: noted for account, noted in self._headroom.items()
                              if noted[0] > now}
        self._headroom[account_id] = (now + HEADROOM_FOR_SECONDS, headroom_fcu)

    def may_overlap(self, account_id: str, fcu: int) -> bool:
        """Whether an operation of `fcu` may be evaluated while its reservation travels: the
        account's last known headroom leaves room for twice what is in flight here."""
        deadline, headroom = self._headroom.get(account_id, (0.0, 0))
        if deadline <= time.monotonic():
            return False
        return headroom < 0 or 2 * (self._in_flight.get(account_id, 0) + fcu) <= headroom

    async def metered(self, preparation: Awaitable[T], execute: Callable[[T], Awaitable[R]],
                      *, account_id: str, op_id: str, operation: str, fcu: int,
                      discard: Callable[[R], Awaitable[None]] | None = None,
                      ) -> tuple[R, Charge]:
        """A synchronous operation, recorded: `preparation` loads and checks its inputs,
        `execute` evaluates them. A failed or cancelled operation costs nothing."""
        if self.may_overlap(account_id, fcu):  # evaluated while the reservation travels
            async def whole() -> R:
                return await execute(await preparation)

            self._in_flight[account_id] = self._in_flight.get(account_id, 0) + fcu
            try:
                return await self.reserve_during(
                    whole(), account_id=account_id, op_id=op_id, operation=operation,
                    fcu=fcu, record=True, discard=discard)
            finally:
                left = self._in_flight.pop(account_id) - fcu
                if left:
                    self._in_flight[account_id] = left
        prepared, charge = await self.reserve_during(
            preparation, account_id=account_id, op_id=op_id, operation=operation, fcu=fcu,
            record=True)
        try:
            return await execute(prepared), charge
        except BaseException:
            await self.give_back(account_id, charge)
            raise

    async def reserve_during(self, work: Awaitable[T], *, account_id: str, op_id: str,
                             operation: str, fcu: int, record: bool,
                             discard: Callable[[T], Awaitable[None]] | None = None,
                             ) -> tuple[T, Charge]:
        """Run `work` while the FCU is reserved: loading and checking inputs, or (`metered`,
        for an account with headroom before its limits) the whole operation. Failed work wins over a
        refused charge and leaves nothing charged; work done before its charge was refused
        is undone with `discard`."""
        reservation = asyncio.ensure_future(self.reserve(
            account_id=account_id, op_id=op_id, operation=operation, fcu=fcu, record=record))
        try:
            result = await work
        except asyncio.CancelledError:
            reservation.add_done_callback(lambda done: self._release_if_landed(done, account_id,
                                                                               op_id))
            raise
        except BaseException:
            # A reservation that failed left nothing standing (reserve() sees to it).
            with contextlib.suppress(Exception):
                await self.give_back(account_id, await reservation)
            raise
        try:
            return result, await reservation
        except BaseException:  # refused after all: nothing of the work is answered
            if discard is not None:
                with contextlib.suppress(Exception):
                    await discard(result)
            raise

    def _release_if_landed(self, reservation: asyncio.Future[Charge], account_id: str,
                           op_id: str) -> None:
        if (not reservation.cancelled() and reservation.exception() is None
                and reservation.result().owned):
            in_background(self.release_until_acknowledged(account_id, op_id))

    async def give_back(self, account_id: str, charge: Charge) -> None:
        """Undo what this call's reservation did (nothing if it did nothing)."""
        if charge.owned:
            await self.release(account_id, charge.op_id)

    async def commit(self, account_id: str, op_id: str) -> None:
        """Record a held reservation (asynchronous work that completed)."""
        await self.usage.CommitUsage(usage_pb2.CommitUsageRequest(
            account_id=account_id, op_id=op_id))

    async def release(self, account_id: str, op_id: str) -> None:
        """Give the charge back now (retried in the background if that fails)."""
        message = usage_pb2.ReleaseUsageRequest(account_id=account_id, op_id=op_id)
        try:
            await asyncio.shield(self.usage.ReleaseUsage(message))
            return
        except grpc.RpcError as exc:
            log.warning("could not release usage of %s, retrying: %s", op_id, exc)
        except asyncio.CancelledError:  # the shielded call goes on; make sure it lands
            in_background(self.release_until_acknowledged(account_id, op_id))
            raise
        in_background(self.release_until_acknowledged(account_id, op_id,
                                                       RELEASE_RETRY_DELAYS))

    async def release_until_acknowledged(
            self, account_id: str, op_id: str,
            delays: tuple[float, ...] = (0.0, *RELEASE_RETRY_DELAYS)) -> None:
        """ReleaseUsage is idempotent: send it until the metering service answers."""
        message = usage_pb2.ReleaseUsageRequest(account_id=account_id, op_id=op_id)
        error: grpc.RpcError | None = None
        for delay in delays:
            await asyncio.sleep(delay)
            try:
                await self.usage.ReleaseUsage(message)
                return
            except grpc.RpcError as exc:
                error = exc
        # Still standing: an operator re-sends ReleaseUsage for this op id (idempotent).
        log.error("could not release usage of %s (account %s); it stays recorded until "
                  "ReleaseUsage is sent for it: %s", op_id, account_id, error)


    async def close(self) -> None:
        if self._stream is not None:
            await self._stream.close()


def in_background(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` to its end without anyone awaiting it (kept referenced until done)."""
    task = asyncio.ensure_future(work)
    _background.add(task)
    task.add_done_callback(_background.discard)
