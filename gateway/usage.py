"""Charges from a handler's point of view; the compute services meter their own work
(docs/decisions/0003-metering-in-the-compute-services.md).

- `charged(request, account_id, charge)` files a charge a service answered with, so that an
  answer that still ends in failure (>= 400, or the handler raised) gives it back;
- `metered_call(request, account_id, op_id, call)` awaits a call to such a service and, when
  its answer was lost, releases the op id in the background (it may have been recorded);
- `settle(request, status)`, from the limits middleware once the answer is known.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import grpc
from aiohttp import web

from gateway import state
from wavis.core.errors import error_from_rpc
from wavis.core.request_context import timed
from wavis.core.usage_meter import Charge, UsageMeter, in_background

T = TypeVar("T")

# (account id, charge) taken during the request: released by settle() if its answer fails.
PENDING_CHARGES = web.RequestKey("pending_charges", list)


def meter_of(request: web.Request) -> UsageMeter:
    return UsageMeter(request.app[state.SERVICES].usage)


def charged(request: web.Request, account_id: str, charge: Charge) -> Charge:
    pending = request.get(PENDING_CHARGES)
    if pending is not None and charge.owned:
        pending.append((account_id, charge))
    return charge


async def metered_call(request: web.Request, account_id: str, op_id: str,
                       call: Awaitable[T]) -> T:
    try:
        return await call
    except grpc.RpcError as exc:
        error = error_from_rpc(exc)
        if error.http_status >= 500:
            in_background(meter_of(request).release_until_acknowledged(account_id, op_id))
        raise error from None
    except asyncio.CancelledError:
        in_background(meter_of(request).release_until_acknowledged(account_id, op_id))
        raise


async def settle(request: web.Request, status: int | None) -> None:
    """After the handler: if the answer is a failure (>= 400, or None: the handler raised or
    was cancelled), release every charge the request took. On success nothing is sent."""
    pending = request.get(PENDING_CHARGES) or []
    if status is None or status >= 400:
        meter = meter_of(request)
        for account_id, charge in pending:
            with timed("grpc"):
                await meter.release(account_id, charge.op_id)
    pending.clear()
