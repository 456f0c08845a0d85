"""Server interceptors every service runs: service credential, then request id and error
mapping (one interceptor: every layer costs each call an await).

Only WAVIS methods (`/wavis.*`) are wrapped; health and reflection pass through untouched
(and need no service credential). A method's wrapped handler is made once and reused.
"""

from __future__ import annotations

import abc
import asyncio
import hmac
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import grpc
import grpc.aio

from wavis.core.errors import WavisError, to_rpc_status
from wavis.core.failures import public_error
from wavis.core.request_context import (
    ENVIRONMENT_METADATA,
    REQUEST_ID_METADATA,
    current_environment,
    current_request_id,
    new_request_id,
)
from wavis.core.roles import ENVIRONMENTS
from wavis.core.service_auth import AUTHORIZATION_METADATA, UNAUTHENTICATED_PREFIXES, bearer

log = logging.getLogger(__name__)

Around = Callable[[grpc.aio.ServicerContext, str], AbstractAsyncContextManager[None]]


def _wrap_handler(handler: grpc.RpcMethodHandler, method: str,
                  around: Around) -> grpc.RpcMethodHandler:
    """A handler of the same kind whose behaviour runs inside `around(context, method)`."""
    if handler.unary_unary is not None:
        inner_uu = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with around(context, method):
                return await inner_uu(request, context)

        return grpc.unary_unary_rpc_method_handler(
            unary_unary, handler.request_deserializer, handler.response_serializer)

    if handler.stream_unary is not None:
        inner_su = handler.stream_unary

        async def stream_unary(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            async with around(context, method):
                return await inner_su(requests, context)

        return grpc.stream_unary_rpc_method_handler(
            stream_unary, handler.request_deserializer, handler.response_serializer)

    streaming = handler.unary_stream or handler.stream_stream
    assert streaming is not None

    async def response_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
        async with around(context, method):
            if inspect.isasyncgenfunction(streaming):
                async for item in streaming(request, context):
                    yield item
            else:  # writes through context.write
                await streaming(request, context)

    make = (grpc.unary_stream_rpc_method_handler if handler.unary_stream is not None
            else grpc.stream_stream_rpc_method_handler)
    return make(response_stream, handler.request_deserializer, handler.response_serializer)


class WrappedHandlers:
    """Wrapped handlers made once per method (and remade if the inner handler changes)."""

    def __init__(self, around: Around) -> None:
        self.around = around
        self._made: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def get(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        made = self._made.get(method)
        if made is None or made[0] is not handler:
            made = self._made[method] = (handler, _wrap_handler(handler, method, self.around))
        return made[1]


class _WrappingInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self) -> None:
        self._handlers = WrappedHandlers(self.around)

    @abc.abstractmethod
    def around(self, context: grpc.aio.ServicerContext,
               method: str) -> AbstractAsyncContextManager[None]:
        """The context every call of a WAVIS method runs inside."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or not method.startswith("/wavis."):
            return handler
        return self._handlers.get(handler, method)


class CallInterceptor(_WrappingInterceptor):
    """Adopt the caller's x-request-id (or make one) for logs and onward calls, and map
    failures: WavisError -> google.rpc.Status with ErrorInfo (a failed call to another
    service passes its public code on unchanged); anything unexpected -> INTERNAL_ERROR."""

    @asynccontextmanager
    async def around(self, context: grpc.aio.ServicerContext,
                     method: str) -> AsyncIterator[None]:
        request_id = None
        environment = "live"
        for key, value in context.invocation_metadata() or ():
            if key == REQUEST_ID_METADATA:
                request_id = value
            elif key == ENVIRONMENT_METADATA and value in ENVIRONMENTS:
                environment = str(value)
        token = current_request_id.set(str(request_id or new_request_id()))
        environment_token = current_environment.set(environment)
        try:
            yield
        except (asyncio.CancelledError, grpc.aio.AbortError):
            raise
        except Exception as exc:
            error = public_error(exc)
            if error is None:
                # The stack trace stays in our logs; the caller learns only that it failed.
                log.exception("%s raised", method)
                error = WavisError("INTERNAL_ERROR")
            elif error.http_status >= 500:
                log.warning("%s failed: %s", method, error)
            code, message, trailing = to_rpc_status(error)
            await context.abort(code, message, trailing_metadata=trailing)
        finally:
            current_request_id.reset(token)
            current_environment.reset(environment_token)


def _refuse(handler: grpc.RpcMethodHandler, details: str) -> grpc.RpcMethodHandler:
    """A handler of the same kind that answers UNAUTHENTICATED without running the method."""

    async def deny(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, details)

    async def deny_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, details)
        yield  # pragma: no cover - makes this an async generator

    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            deny, handler.request_deserializer, handler.response_serializer)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            deny, handler.request_deserializer, handler.response_serializer)
    make = (grpc.unary_stream_rpc_method_handler if handler.unary_stream is not None
            else grpc.stream_stream_rpc_method_handler)
    return make(deny_stream, handler.request_deserializer, handler.response_serializer)


class ServiceTokenInterceptor(grpc.aio.ServerInterceptor):
    """Every method except health and reflection needs `authorization: Bearer <service token>`;
    compared in constant time. A call without it gets UNAUTHENTICATED."""

    def __init__(self, token: str | None = None) -> None:
        self._expected: bytes | None = None
        if token is not None:
            self.set_token(token)

    def set_token(self, token: str) -> None:
        """Until a token is set every protected call is refused (fail closed)."""
        self._expected = bearer(token).encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(UNAUTHENTICATED_PREFIXES):
            return handler
        presented = ""
        for key, value in handler_call_details.invocation_metadata or ():
            if key == AUTHORIZATION_METADATA and isinstance(value, str):
                presented = value
                break
        if self._expected is not None and hmac.compare_digest(presented.encode(),
                                                              self._expected):
            return handler
        log.warning("%s refused: %s service credential", method,
                    "invalid" if presented else "no")
        return _refuse(handler, "this call needs the mesh's service credential "
                                "(authorization: Bearer <WAVIS_SERVICE_TOKEN>)")
