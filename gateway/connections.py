"""HTTP connections the gateway does not hold forever.

aiohttp closes a connection that stays idle for its keep-alive timeout (counted from the
connection's start and from each response), but has no deadline for a request's headers: a
client that trickles a header byte at a time keeps a connection and a parser forever
(slowloris). `HeaderDeadlineHandler` closes such a connection when the headers of a request
are not complete within the header timeout of its first byte; bytes of a body never count.
See docs/decisions/0037-http-connection-timeouts.md.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler


class HeaderDeadlineHandler(RequestHandler):
    """aiohttp's protocol with a deadline from a request's first byte to its last header.

    The connection awaits headers when it opens and again once each response is sent; the
    first byte that arrives then arms the deadline, and the next complete request head
    disarms it. Bytes that arrive at any other time are a body, whatever aiohttp's handler
    task is doing, and arm nothing.
    """

    __slots__ = ("_awaiting_headers", "_header_deadline", "_header_timeout", "_requests_seen")

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._header_deadline: asyncio.TimerHandle | None = None
        self._awaiting_headers = True
        self._requests_seen = 0

    def data_received(self, data: bytes) -> None:
        if data and self._awaiting_headers and self._header_deadline is None:
            self._header_deadline = self._loop.call_later(self._header_timeout, self._expire)
        super().data_received(data)
        if self._request_count > self._requests_seen:  # a request head is complete
            self._requests_seen = self._request_count
            self._awaiting_headers = False
            self._disarm()

    async def finish_response(self, request: Any, resp: Any, start_time: Any) -> Any:
        try:
            return await super().finish_response(request, resp, start_time)
        finally:
            # The next bytes begin the next request, unless the client already sent (part of)
            # it, pipelined: then its head may complete without a deadline, as before.
            self._awaiting_headers = self._request_count == self._requests_seen

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _expire(self) -> None:
        self._header_deadline = None
        if self._awaiting_headers:
            self.force_close()


class _HeaderDeadlineServer(web.Server):
    header_timeout: float

    def __call__(self) -> RequestHandler:
        return HeaderDeadlineHandler(self, loop=self._loop, header_timeout=self.header_timeout,
                                     **self._kwargs)


class GatewayRunner(web.AppRunner):
    """An AppRunner whose connections have a keep-alive timeout and a header deadline."""

    def __init__(self, app: web.Application, *, keepalive_seconds: float,
                 header_timeout_seconds: float, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=keepalive_seconds, **kwargs)
        self._header_timeout = header_timeout_seconds

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # aiohttp builds its Server itself (with the app's handler and arguments); only the
        # protocol factory changes.
        server.__class__ = _HeaderDeadlineServer
        assert isinstance(server, _HeaderDeadlineServer)
        server.header_timeout = self._header_timeout
        return server
