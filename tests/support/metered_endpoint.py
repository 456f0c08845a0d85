"""Test endpoints metered from the gateway: they drive the metering service's reservation
rules (exact boundaries, concurrency, alerts, cancellation) through HTTP with any operation
name and FCU, the way ckks-compute and tfhe-eval meter their work.

`metered` reserves with record=True before the block (402 before any work) and releases if
the block raises or the answer fails; `reserve` (record=False) holds FCU that is later
committed or released.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from gateway import state
from gateway.usage import PENDING_CHARGES, charged, meter_of
from wavis.core.ids import new_id
from wavis.core.request_context import timed
from wavis.core.usage_meter import Charge


async def reserve(request: web.Request, operation: str, fcu: int,
                  op_id: str | None = None, *, record: bool = False) -> Charge:
    """Reserve the operation's FCU (402 when the plan or a hard budget cap refuses). With
    `record`, the charge is recorded at once and stands unless released."""
    account_id = request[state.CALLER].account_id
    with timed("grpc"):
        charge = await meter_of(request).reserve(
            account_id=account_id, op_id=op_id or new_id("op"), operation=operation, fcu=fcu,
            record=record)
    return charged(request, account_id, charge)


@asynccontextmanager
async def metered(request: web.Request, operation: str, fcu: int,
                  op_id: str | None = None) -> AsyncIterator[Charge]:
    charge = await reserve(request, operation, fcu, op_id, record=True)
    try:
        yield charge
    except BaseException:
        pending = request.get(PENDING_CHARGES)
        if pending is not None:
            pending[:] = [entry for entry in pending if entry[1] is not charge]
        await meter_of(request).release(request[state.CALLER].account_id, charge.op_id)
        raise
    # Success: already recorded. The limits middleware releases it if the answer is >= 400.
