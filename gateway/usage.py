"""Metering an operation from a handler: one round trip before the work, none after success.

    async with metered(request, "multiply", pricing.CKKS_FCU["multiply"]) as charge:
        result = await compute(...)
    return web.json_response({..., "cost_units": charge.cost_units, ...})

`metered` reserves with `record=True`: the metering service checks the plan and a hard budget
cap (402 QUOTA_EXHAUSTED, BUDGET_CAP_REACHED before any work) and records the charge in the
same atomic step. Success sends nothing more. An exception in the block, an answer of 400 or
more (the limits middleware looks at it once the handler returns) or a cancellation releases
the charge, which reverses exactly what the reservation recorded. A reservation whose answer
never came back (an error or a cancellation while waiting for it) is released too; the
metering service voids an op id released before its reservation lands. A release that
cannot be delivered is retried in the background. A replayed idempotent request never
reaches the handler, so it is never billed again.

`reserve` (record=False) is for asynchronous operations: it holds the FCU, and the compute
service commits (CommitUsage) or releases (ReleaseUsage) the op when it finishes; the gateway
only releases it if the request itself fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from aiohttp import web

from wavis.core.errors import error_from_rpc
from wavis.core.ids import new_id
from wavis.core.request_context import timed
from wavis.gateway import state
from wavis.metering.v1 import metering_pb2, metering_pb2_grpc

log = logging.getLogger(__name__)

# Set by the limits middleware when it already counted this request against the account's
# operation allowance (trial accounts), so a reservation does not count it twice.
OPERATION_COUNTED = web.RequestKey("operation_counted", bool)
# Charges taken during the request: released by settle() if its answer is a failure.
PENDING_CHARGES = web.RequestKey("pending_charges", list)

# Seconds between further attempts of a release the metering service did not acknowledge.
RELEASE_RETRY_DELAYS = (0.2, 1.0, 5.0, 30.0)
_background: set[asyncio.Task[Any]] = set()


@dataclass
class Charge:
    op_id: str
    operation: str
    cost_units: int
    cost_usd: float
    cost_jpy: float
    account_id: str = field(default="", repr=False)


async def reserve(request: web.Request, operation: str, fcu: int,
                  op_id: str | None = None, *, record: bool = False) -> Charge:
    """Reserve the operation's FCU (402 when the plan or a hard budget cap refuses). With
    `record`, the charge is recorded at once and stands unless released."""
    caller = request[state.CALLER]
    op_id = op_id or new_id("op")
    metering = request.app[state.SERVICES].metering
    try:
        with timed("grpc"):
            reply = await metering.ReserveUsage(metering_pb2.ReserveUsageRequest(
                account_id=caller.account_id, op_id=op_id, operation=operation, fcu=fcu,
                operation_already_counted=bool(request.get(OPERATION_COUNTED)),
                record=record))
    except grpc.RpcError as exc:
        if record:  # it may have landed (a lost answer): make sure it does not stand
            _in_background(_release_with_retries(metering, caller.account_id, op_id))
        raise error_from_rpc(exc) from None
    except asyncio.CancelledError:
        if record:
            _in_background(_release_with_retries(metering, caller.account_id, op_id))
        raise
    charge = Charge(op_id, operation, int(reply.cost_units), reply.cost_usd, reply.cost_jpy,
                    caller.account_id)
    pending = request.get(PENDING_CHARGES)
    if pending is not None:  # released by settle() if the request ends in failure
        pending.append(charge)
    return charge


@asynccontextmanager
async def metered(request: web.Request, operation: str, fcu: int,
                  op_id: str | None = None) -> AsyncIterator[Charge]:
    charge = await reserve(request, operation, fcu, op_id, record=True)
    try:
        yield charge
    except BaseException:
        pending = request.get(PENDING_CHARGES)
        if pending is not None:
            pending[:] = [entry for entry in pending if entry is not charge]
        await release(request, charge)
        raise
    # Success: already recorded. The limits middleware releases it if the answer is >= 400.


async def release(request: web.Request, charge: Charge) -> None:
    """Give the charge back now (retried in the background if that fails)."""
    metering = request.app[state.SERVICES].metering
    message = metering_pb2.ReleaseUsageRequest(account_id=charge.account_id,
                                               op_id=charge.op_id)
    try:
        with timed("grpc"):
            await asyncio.shield(metering.ReleaseUsage(message))
        return
    except grpc.RpcError as exc:
        log.warning("could not release usage of %s, retrying: %s", charge.op_id, exc)
    except asyncio.CancelledError:  # the shielded call goes on; make sure it lands
        _in_background(_release_with_retries(metering, charge.account_id, charge.op_id))
        raise
    _in_background(_release_with_retries(metering, charge.account_id, charge.op_id,
                                         RELEASE_RETRY_DELAYS))


async def _release_with_retries(metering: metering_pb2_grpc.MeteringServiceStub,
                                account_id: str, op_id: str,
                                delays: tuple[float, ...] = (0.0, *RELEASE_RETRY_DELAYS),
                                ) -> None:
    """ReleaseUsage is idempotent: send it until the metering service answers."""
    message = metering_pb2.ReleaseUsageRequest(account_id=account_id, op_id=op_id)
    error: grpc.RpcError | None = None
    for delay in delays:
        await asyncio.sleep(delay)
        try:
            await metering.ReleaseUsage(message)
            return
        except grpc.RpcError as exc:
            error = exc
    # Still standing: an operator re-sends ReleaseUsage for this op id (idempotent).
    log.error("could not release usage of %s (account %s); it stays recorded until "
              "ReleaseUsage is sent for it: %s", op_id, account_id, error)


def _in_background(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(work)
    _background.add(task)
    task.add_done_callback(_background.discard)


async def settle(request: web.Request, status: int | None) -> None:
    """After the handler: if the answer is a failure (>= 400, or None: the handler raised or
    was cancelled), release every charge the request took. On success nothing is sent: sync
    charges are already recorded, async ones are settled by the compute service."""
    pending = request.get(PENDING_CHARGES) or []
    if status is None or status >= 400:
        for charge in pending:
            await release(request, charge)
    pending.clear()
