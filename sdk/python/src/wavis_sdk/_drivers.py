"""What `Client` and `AsyncClient` share: the configuration, per-call options, and the
translation of httpx's requests, responses and failures to the SDK's."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx

from wavis_sdk._core import (
    Config,
    Prepared,
    Response,
    RetryPolicy,
    TransportFailure,
)

T = TypeVar("T")


def _timeout(prepared: Prepared) -> httpx.Timeout:
    return httpx.Timeout(prepared.timeout, connect=min(prepared.connect_timeout,
                                                       prepared.timeout))


def _response(reply: httpx.Response) -> Response:
    return Response(reply.status_code, {k.lower(): v for k, v in reply.headers.items()},
                    reply.content)


def _failure(error: httpx.TransportError) -> TransportFailure:
    # Only a refused or timed-out connect proves the request never reached the server.
    never_sent = isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout))
    return TransportFailure(error, sent=not never_sent,
                            timed_out=isinstance(error, httpx.TimeoutException))


def _config(api_key: str | None, base_url: str | None, timeout: float, max_retries: int,
            retry: RetryPolicy | None, idempotency_keys: bool, state_dir: str | None,
            default_headers: Mapping[str, str] | None) -> Config:
    policy = retry or RetryPolicy(max_retries=max_retries)
    return Config.from_env(api_key, base_url, timeout=timeout, retry=policy,
                           idempotency_keys=idempotency_keys, state_dir=state_dir,
                           default_headers=dict(default_headers or {}))


def _options(config: Config, api_key: str | None, timeout: float | None,
             max_retries: int | None, idempotency_key: str | None,
             idempotency_keys: bool | None) -> Config:
    changes: dict[str, Any] = {}
    if api_key is not None:
        changes["api_key"] = api_key
    if timeout is not None:
        changes["timeout"] = timeout
    if max_retries is not None:
        changes["retry"] = dataclasses.replace(config.retry, max_retries=max_retries)
    if idempotency_key is not None:
        changes["idempotency_key"] = idempotency_key
    if idempotency_keys is not None:
        changes["idempotency_keys"] = idempotency_keys
    return config.replace(**changes)
