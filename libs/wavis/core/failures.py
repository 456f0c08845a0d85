"""What a failure means to the caller: the one mapping from exceptions to public errors.

A WavisError is itself; a failed call to another service passes on the public code it
carried; a Redis that does not answer is UPSTREAM_UNAVAILABLE (502). Anything else is a bug
on our side (INTERNAL_ERROR, with the trace in our logs only). The gateway, the gRPC call
interceptor, metering's reservation stream and asynchronous operations all answer through it.
"""

from __future__ import annotations

import grpc

from wavis.core.errors import WavisError, error_from_rpc
from wavis.core.redis_client import REDIS_UNAVAILABLE, redis_unavailable


def public_error(exc: BaseException) -> WavisError | None:
    """The public error `exc` stands for; None when it is unexpected (a bug)."""
    if isinstance(exc, WavisError):
        return exc
    if isinstance(exc, grpc.RpcError):
        return error_from_rpc(exc)
    if isinstance(exc, REDIS_UNAVAILABLE):
        return redis_unavailable()
    return None
