"""Reservations over one long-lived UsageService.ReserveUsageStream call.

Many reservations are in flight at once, matched to their answers by sequence number. When
the stream breaks, the reservations waiting on it fail as UPSTREAM_UNAVAILABLE and the next
reservation opens a new stream. See docs/decisions/0005-one-reservation-stream-per-process.md.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import grpc
import grpc.aio

from wavis.core.errors import WavisError, error_from_rpc, error_from_status
from wavis.core.request_context import current_request_id
from wavis.generated.metering.v1 import usage_pb2, usage_pb2_grpc

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_SECONDS = 10.0  # as a unary call's default deadline


def _expire(answer: asyncio.Future[Any]) -> None:
    if not answer.done():
        answer.set_exception(WavisError("UPSTREAM_UNAVAILABLE", "The metering service did "
                                        "not answer in time."))


class ReservationStream:
    def __init__(self, usage: usage_pb2_grpc.UsageServiceStub) -> None:
        self.usage = usage
        self._sequence = itertools.count(1)
        self._call: Any = None
        self._reader: asyncio.Task[None] | None = None
        # sequence -> (the call it was sent on, its answer)
        self._waiting: dict[int, tuple[Any, asyncio.Future[Any]]] = {}
        self._writing = asyncio.Lock()  # one write at a time on a call

    async def reserve(self, request: usage_pb2.ReserveUsageRequest,
                      ) -> usage_pb2.ReserveUsageResponse:
        """ReserveUsage's answer; its refusal as a WavisError (UPSTREAM_UNAVAILABLE when the
        answer was lost)."""
        sequence = next(self._sequence)
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        # A timer rather than asyncio.wait_for: no extra task per reservation.
        timer = loop.call_later(ANSWER_TIMEOUT_SECONDS, _expire, answer)
        try:
            async with self._writing:
                call = self._open()
                self._waiting[sequence] = (call, answer)
                try:
                    await call.write(usage_pb2.ReserveUsageStreamRequest(
                        sequence=sequence, reservation=request,
                        request_id=current_request_id.get() or ""))
                except (grpc.RpcError, grpc.aio.UsageError, asyncio.InvalidStateError) as exc:
                    self._broken(call, exc)
            reply = await answer
        finally:
            timer.cancel()
            self._waiting.pop(sequence, None)
        if reply.HasField("error"):
            raise error_from_status(reply.error) or WavisError("INTERNAL_ERROR")
        return reply.reserved

    def _open(self) -> Any:
        if self._call is None or self._call.done():
            self._call = self.usage.ReserveUsageStream()
            self._reader = asyncio.ensure_future(self._read(self._call))
        return self._call

    async def _read(self, call: Any) -> None:
        try:
            async for reply in call:
                _, waiting = self._waiting.get(reply.sequence, (None, None))
                if waiting is not None and not waiting.done():
                    waiting.set_result(reply)
            self._broken(call, None)
        except grpc.RpcError as exc:
            self._broken(call, exc)
        except asyncio.CancelledError:
            self._broken(call, None)
            raise

    def _broken(self, call: Any, cause: BaseException | None) -> None:
        """The stream ended: everything still waiting on it has lost its answer."""
        if cause is not None:
            log.warning("reservation stream to metering broke: %s", cause)
        if self._call is call:
            self._call = None
        error = (error_from_rpc(cause) if isinstance(cause, grpc.RpcError)
                 else WavisError("UPSTREAM_UNAVAILABLE", "The metering service ended the "
                                 "reservation stream."))
        if error.http_status < 500:
            error = WavisError("UPSTREAM_UNAVAILABLE", error.message)
        for sent_on, answer in list(self._waiting.values()):
            if sent_on is call and not answer.done():
                answer.set_exception(error)

    async def close(self) -> None:
        call, self._call = self._call, None
        if call is not None:
            call.cancel()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, grpc.RpcError):
                pass
