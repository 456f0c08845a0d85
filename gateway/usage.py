"""Metering an operation from a handler: reserve its FCU before the work, record it after.

    async with metered(request, "multiply", pricing.CKKS_FCU["multiply"]) as charge:
        result = await compute(...)
    return web.json_response({..., "cost_units": charge.cost_units, ...})

The reservation refuses with 402 (QUOTA_EXHAUSTED, BUDGET_CAP_REACHED) before any work. When
the block exits normally the charge is committed once the handler's answer is known to be
below 400 (the limits middleware settles it; outside that middleware, at once); an exception
in the block, or an answer of 400 or more, releases it. A replayed idempotent request never
reaches the handler, so it is never billed again.

`reserve` is for asynchronous operations: the compute service commits (CommitUsage) or
releases (ReleaseUsage) the op later; the gateway only releases it if the request fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import grpc
from aiohttp import web

from wavis.core.errors import error_from_rpc
from wavis.core.ids import new_id
from wavis.core.request_context import timed
from wavis.gateway import state
from wavis.metering.v1 import metering_pb2

log = logging.getLogger(__name__)

# Set by the limits middleware when it already counted this request against the account's
# operation allowance (trial accounts), so a reservation does not count it twice.
OPERATION_COUNTED = web.RequestKey("operation_counted", bool)
# Charges waiting for the handler's answer: (charge, committed by the gateway?).
PENDING_CHARGES = web.RequestKey("pending_charges", list)


@dataclass
class Charge:
    op_id: str
    operation: str
    cost_units: int
    cost_usd: float
    cost_jpy: float
    account_id: str = field(default="", repr=False)


async def reserve(request: web.Request, operation: str, fcu: int,
                  op_id: str | None = None) -> Charge:
    """Reserve the operation's FCU (402 when the plan or a hard budget cap refuses)."""
    caller = request[state.CALLER]
    op_id = op_id or new_id("op")
    try:
        with timed("grpc"):
            reply = await request.app[state.SERVICES].metering.ReserveUsage(
                metering_pb2.ReserveUsageRequest(
                    account_id=caller.account_id, op_id=op_id, operation=operation, fcu=fcu,
                    operation_already_counted=bool(request.get(OPERATION_COUNTED))))
    except grpc.RpcError as exc:
        raise error_from_rpc(exc) from None
    charge = Charge(op_id, operation, int(reply.cost_units), reply.cost_usd, reply.cost_jpy,
                    caller.account_id)
    pending = request.get(PENDING_CHARGES)
    if pending is not None:  # released by settle() if the request ends in failure
        pending.append((charge, False))
    return charge


@asynccontextmanager
async def metered(request: web.Request, operation: str, fcu: int,
                  op_id: str | None = None) -> AsyncIterator[Charge]:
    charge = await reserve(request, operation, fcu, op_id)
    pending = request.get(PENDING_CHARGES)
    try:
        yield charge
    except BaseException:
        if pending is not None:
            _forget(pending, charge)
        await _settle_one(request, charge, commit=False)
        raise
    if pending is None:
        await _settle_one(request, charge, commit=True)
    else:  # commit once the handler's status is known
        _forget(pending, charge)
        pending.append((charge, True))


def _forget(pending: list[tuple[Charge, bool]], charge: Charge) -> None:
    pending[:] = [entry for entry in pending if entry[0] is not charge]


async def _settle_one(request: web.Request, charge: Charge, *, commit: bool) -> None:
    metering = request.app[state.SERVICES].metering
    try:
        with timed("grpc"):
            if commit:
                await metering.CommitUsage(metering_pb2.CommitUsageRequest(
                    account_id=charge.account_id, op_id=charge.op_id))
            else:
                await asyncio.shield(metering.ReleaseUsage(metering_pb2.ReleaseUsageRequest(
                    account_id=charge.account_id, op_id=charge.op_id)))
    except grpc.RpcError as exc:
        # A lost release frees itself when the reservation expires; a lost commit is logged
        # with its op id so it can be recorded (CommitUsage is idempotent).
        log.error("could not %s usage of %s: %s", "commit" if commit else "release",
                  charge.op_id, exc)


async def settle(request: web.Request, status: int | None) -> None:
    """After the handler: commit the finished charges if the answer is below 400, else
    release every charge (status None: the handler raised)."""
    pending = request.get(PENDING_CHARGES) or []
    succeeded = status is not None and status < 400
    for charge, finished in pending:
        if succeeded and not finished:
            continue  # an asynchronous op: the compute service commits or releases it
        await _settle_one(request, charge, commit=succeeded)
    pending.clear()
