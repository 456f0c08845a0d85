"""How `wavis` talks: JSON on stdout for scripts (`--json`), rich text and progress bars for
people (progress and messages on stderr), and errors with their code, message and request id
under one exit code per error family."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

import wavis_sdk
from wavis_sdk._models import UploadProgress
from wavis_sdk.cli._config import Settings, resolve

# Exit codes, one per error family (checked first match, so subclasses come first). 2 is
# click's own for a wrong command line.
EXIT_CODES: tuple[tuple[type[BaseException], int, str], ...] = (
    (wavis_sdk.AuthenticationError, 3, "authentication (401): no, a wrong or a revoked key"),
    (wavis_sdk.PermissionDeniedError, 4, "permission (403): the key's role is too low"),
    (wavis_sdk.NotFoundError, 5, "not found (404)"),
    (wavis_sdk.ValidationError, 6, "invalid input (400, 413, 422) or signature"),
    (wavis_sdk.QuotaError, 7, "quota or budget (402)"),
    (wavis_sdk.ConflictError, 8, "conflict (409)"),
    (wavis_sdk.RateLimitError, 9, "rate limited (429) beyond the retries"),
    (wavis_sdk.APIConnectionError, 10, "server unreachable or no answer in time"),
    (wavis_sdk.UpstreamError, 11, "server error (5xx)"),
    (wavis_sdk.WaitTimeoutError, 12, "a wait timed out"),
    (wavis_sdk.OperationFailedError, 13, "an operation or key generation failed"),
    (wavis_sdk.DecryptionError, 14, "local decryption failed"),
    (wavis_sdk.WavisError, 1, "any other error (local files, arguments)"),
)
INTERRUPTED = 130


def exit_code(error: BaseException) -> int:
    for family, code, _ in EXIT_CODES:
        if isinstance(error, family):
            return code
    return 1


def plain(value: Any) -> Any:
    """A JSON-ready form of SDK results: their `raw` answer when they keep one."""
    raw = getattr(value, "raw", None)
    if isinstance(raw, Mapping) and raw:
        return dict(raw)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in dataclasses.asdict(value).items()
                if not isinstance(v, bytes)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class App:
    """One command's context (ctx.obj): output mode, consoles and the API client."""

    def __init__(self, base_url: str | None, json_mode: bool) -> None:
        self.base_url_option = base_url
        self.json_mode = json_mode
        self.out = Console(soft_wrap=True, highlight=False)
        self.err = Console(stderr=True, soft_wrap=True, highlight=False)
        self._client: wavis_sdk.Client | None = None

    # -- settings and client ----------------------------------------------------------

    def settings(self) -> Settings:
        return resolve(self.base_url_option)

    def client(self) -> wavis_sdk.Client:
        if self._client is None:
            found = self.settings()
            if not found.api_key:
                raise wavis_sdk.AuthenticationError(
                    f"No API key: run `wavis login` or set WAVIS_API_KEY "
                    f"(config file {found.config_file}).", code="UNAUTHORIZED")
            self._client = wavis_sdk.Client(found.api_key, found.base_url)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- output -----------------------------------------------------------------------

    def emit(self, data: Any, human: Callable[[], None]) -> None:
        """`data` as one JSON document on stdout in --json mode, else `human()`."""
        if self.json_mode:
            click.echo(json.dumps(plain(data), indent=2, default=str))
        else:
            human()

    def emit_line(self, data: Any) -> None:
        """One compact JSON document per line (streams: webhook events)."""
        click.echo(json.dumps(plain(data), separators=(",", ":"), default=str))

    def note(self, message: str) -> None:
        """A remark for people, on stderr, never in --json mode."""
        if not self.json_mode:
            self.err.print(message)

    def report_error(self, error: BaseException) -> int:
        code = exit_code(error)
        if isinstance(error, wavis_sdk.WavisError):
            body = {"code": error.code, "message": error.message,
                    "request_id": error.request_id, "details": error.details,
                    "http_status": error.http_status}
        else:
            body = {"code": type(error).__name__, "message": str(error), "request_id": None,
                    "details": {}, "http_status": None}
        if self.json_mode:
            click.echo(json.dumps({"error": body, "exit_code": code}, indent=2, default=str))
            return code
        where = []
        if body["http_status"] is not None:
            where.append(f"HTTP {body['http_status']}")
        if body["request_id"]:
            where.append(f"request_id {body['request_id']}")
        self.err.print(f"[bold red]Error[/] {body['code']}: {body['message']}"
                       + (f" ({', '.join(where)})" if where else ""), markup=True,
                       highlight=False)
        if body["details"]:
            self.err.print(f"  details: {json.dumps(body['details'], default=str)}",
                           markup=False)
        return code

    # -- progress ---------------------------------------------------------------------

    @contextlib.contextmanager
    def waiting(self, message: str) -> Iterator[None]:
        """A spinner on stderr while something is waited for (not in --json mode)."""
        if self.json_mode:
            yield
            return
        with self.err.status(message):
            yield

    @contextlib.contextmanager
    def transfer(self) -> Iterator[Callable[[UploadProgress], None]]:
        """A progress callback for the SDK's chunked uploads: a bar per phase."""
        if self.json_mode:
            yield lambda _: None
            return
        progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                            DownloadColumn(), TransferSpeedColumn(), TimeElapsedColumn(),
                            console=self.err, transient=False)
        tasks: dict[str, TaskID] = {}
        labels = {"hashing": "hashing the file", "verifying": "checking the parts held",
                  "uploading": "uploading", "completing": "server checking the key"}

        def update(event: UploadProgress) -> None:
            if event.phase not in tasks:
                for other in tasks.values():  # an earlier phase is over
                    task = progress.tasks[other]
                    progress.update(other, completed=task.total)
                description = labels.get(event.phase, event.phase)
                if event.phase == "uploading" and event.resumed:
                    description += f" (resumed: {event.parts_done} parts were there)"
                tasks[event.phase] = progress.add_task(
                    description, total=None if event.phase == "completing" else
                    max(1, event.bytes_total))
            if event.phase != "completing":
                progress.update(tasks[event.phase], completed=event.bytes_done)

        with progress:
            yield update


def parse_json_or_exit(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise click.BadParameter(f"{what} is not JSON: {error}") from None


def stdin_is_a_terminal() -> bool:
    return sys.stdin.isatty()
