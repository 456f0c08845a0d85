"""The SDK's logic without I/O: requests, retries, responses (the sync and async clients share it).

Every API call is a generator ("an operation") that yields effects and receives their outcome:
`Attempt` (send one HTTP request: the driver answers a `Response` or a `TransportFailure`),
`Sleep` (wait) and `Blocking` (run local work: hashing a file, writing an archive). The sync
client drives operations with httpx.Client and time.sleep, the async one with
httpx.AsyncClient, asyncio.sleep and a worker thread; nothing else differs between them, so
every retry decision, header, body and parse exists once, here and in `_ops`.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from wavis_sdk._errors import (
    APIConnectionError,
    APITimeoutError,
    WavisError,
    error_from_response,
    parse_retry_after,
)
from wavis_sdk._version import __version__

T = TypeVar("T")

API_PREFIX = "/api/v1"
DEFAULT_BASE_URL = "http://127.0.0.1:8080"
USER_AGENT = f"wavis-sdk/{__version__}"
# The gateway refuses request bodies above this (WAVIS_MAX_REQUEST_BYTES' default); larger keys
# go through the chunked upload. A test compares it with the server's setting.
MAX_REQUEST_BYTES = 40 * 1024 * 1024
# Methods whose repetition changes nothing more than the first call did.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
FILE_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before sending a request again.

    429 and 503 (refused before anything ran) are retried after `Retry-After` when the server
    sends one (up to `max_retry_after`; longer waits raise at once), else with backoff. 502 and
    broken connections are retried only when repeating is safe: idempotent methods, and POST or
    PATCH carrying an Idempotency-Key (the SDK adds one to every POST and PATCH unless told not
    to), so a retry never runs or bills twice. 409 IDEMPOTENCY_IN_PROGRESS (the first try is
    still running) waits too. Backoff: min(max_backoff, base_backoff * 2^n) scaled by a random
    factor in [0.5, 1] (jitter keeps many clients from retrying in step).
    """

    max_retries: int = 3
    base_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    statuses: frozenset[int] = frozenset({429, 502, 503})

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        ceiling = min(self.max_backoff, self.base_backoff * (2.0 ** attempt))
        return ceiling * (0.5 + rng() / 2)


NO_RETRIES = RetryPolicy(max_retries=0)


@dataclass(frozen=True)
class Config:
    """Everything a request needs from the client (immutable; `with_options` copies it)."""

    api_key: str | None
    base_url: str
    timeout: float = 60.0
    connect_timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    idempotency_keys: bool = True  # generate one Idempotency-Key per logical POST/PATCH
    idempotency_key: str | None = None  # a caller's own key, for the next logical call(s)
    default_headers: Mapping[str, str] = field(default_factory=dict)
    state_dir: str | None = None  # upload journals (resumable uploads); None: the user cache

    @staticmethod
    def from_env(api_key: str | None = None, base_url: str | None = None,
                 **options: Any) -> Config:
        base = (base_url or os.environ.get("WAVIS_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if base.endswith(API_PREFIX):  # accept either form of the URL
            base = base[: -len(API_PREFIX)]
        return Config(api_key=api_key or os.environ.get("WAVIS_API_KEY") or None,
                      base_url=base, **options)

    def replace(self, **changes: Any) -> Config:
        return replace(self, **changes)

    def upload_state_dir(self) -> str:
        if self.state_dir:
            return os.path.join(self.state_dir, "uploads")
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                  ".cache")
        return os.path.join(cache, "wavis-sdk", "uploads")


@dataclass(frozen=True)
class FileSlice:
    """Bytes [offset, offset + length) of a file on disk: a request body streamed from disk
    in 1 MiB reads (a 915 MB key is never held in memory), re-readable for a retry."""

    path: str
    offset: int
    length: int

    def chunks(self) -> Iterator[bytes]:
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            left = self.length
            while left > 0:
                chunk = handle.read(min(FILE_CHUNK_BYTES, left))
                if not chunk:
                    raise OSError(f"{self.path} is shorter than expected (it changed?)")
                left -= len(chunk)
                yield chunk


@dataclass(frozen=True)
class Request:
    """One logical API call, before headers and retries."""

    method: str
    path: str  # below /api/v1, e.g. "/keys"
    json: Any = None
    params: Mapping[str, Any] | None = None
    file: FileSlice | None = None  # a raw body from disk (application/octet-stream)
    auth: bool = True
    timeout: float | None = None  # this endpoint's own, when the server allows it longer


@dataclass(frozen=True)
class Prepared:
    """A request ready to send, the same bytes on every attempt."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    file: FileSlice | None
    timeout: float
    connect_timeout: float
    replay_safe: bool  # repeating it cannot do the work twice


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content) if self.content else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class TransportFailure:
    """No HTTP answer. `sent` is False when no connection was made (nothing reached the
    server, so any request may be repeated)."""

    error: BaseException
    sent: bool
    timed_out: bool = False


@dataclass(frozen=True)
class Attempt:
    request: Prepared


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Blocking:
    """Local work that may take a while (hashing a file, writing an archive): the async
    driver runs it on a worker thread."""

    work: Callable[[], Any]


Effect = Attempt | Sleep | Blocking
Op = Generator[Effect, Any, T]


def prepare(config: Config, request: Request) -> Prepared:
    """Headers, URL and body of a call; the Idempotency-Key is chosen here, once per call."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **config.default_headers}
    if request.auth:
        if not config.api_key:
            raise WavisError("No API key: pass api_key= or set WAVIS_API_KEY.",
                             code="UNAUTHORIZED")
        headers["Authorization"] = f"Bearer {config.api_key}"
    body: bytes | None = None
    if request.json is not None:
        body = json.dumps(request.json, separators=(",", ":")).encode()
        headers["Content-Type"] = "application/json"
    elif request.file is not None:
        headers["Content-Type"] = "application/octet-stream"
        headers["Content-Length"] = str(request.file.length)
    method = request.method.upper()
    replay_safe = method in IDEMPOTENT_METHODS
    if method in ("POST", "PATCH"):
        key = config.idempotency_key or (
            f"wavis-sdk-{uuid.uuid4().hex}" if config.idempotency_keys else None)
        if key is not None:
            headers["Idempotency-Key"] = key
            replay_safe = True
    url = config.base_url + API_PREFIX + request.path
    if request.params:
        url += "?" + "&".join(f"{k}={_quote(v)}" for k, v in request.params.items()
                              if v is not None)
    timeout = max(config.timeout, request.timeout or 0.0)
    return Prepared(method, url, headers, body, request.file, timeout, config.connect_timeout,
                    replay_safe)


def _quote(value: Any) -> str:
    from urllib.parse import quote

    return quote(str(value).lower() if isinstance(value, bool) else str(value), safe="")


def retry_wait(policy: RetryPolicy, prepared: Prepared, outcome: Response | TransportFailure,
               attempt: int, rng: Callable[[], float] = random.random) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None not to retry."""
    if attempt >= policy.max_retries:
        return None
    if isinstance(outcome, TransportFailure):
        if outcome.sent and not prepared.replay_safe:
            return None
        return policy.backoff(attempt, rng)
    status = outcome.status
    if status == 409 and prepared.replay_safe and _error_code(outcome) == \
            "IDEMPOTENCY_IN_PROGRESS":
        return policy.backoff(attempt, rng)
    if status not in policy.statuses:
        return None
    if status in (429, 503):  # refused before anything ran: always safe to send again
        asked = parse_retry_after(outcome.headers)
        if asked is not None:
            return asked if asked <= policy.max_retry_after else None
        return policy.backoff(attempt, rng)
    return policy.backoff(attempt, rng) if prepared.replay_safe else None


def _error_code(response: Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code"))
    return None


def call(config: Config, request: Request) -> Op[Response]:
    """One logical call: attempts and waits until a final answer; error answers raise."""
    prepared = prepare(config, request)
    attempt = 0
    while True:
        outcome: Response | TransportFailure = yield Attempt(prepared)
        wait = retry_wait(config.retry, prepared, outcome, attempt)
        if wait is None:
            break
        yield Sleep(wait)
        attempt += 1
    if isinstance(outcome, TransportFailure):
        kind = APITimeoutError if outcome.timed_out else APIConnectionError
        raise kind(f"{prepared.method} {prepared.url} failed after {attempt + 1} attempt(s): "
                   f"{type(outcome.error).__name__}: {outcome.error}",
                   code="TIMEOUT" if outcome.timed_out else "CONNECTION_ERROR") \
            from outcome.error
    if outcome.status >= 400:
        raise error_from_response(outcome.status, outcome.headers, outcome.content)
    return outcome


def call_json(config: Config, request: Request) -> Op[tuple[Any, Response]]:
    response = yield from call(config, request)
    return response.json(), response
