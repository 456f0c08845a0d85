"""`wavis webhooks listen`: receive the account's webhook events on this machine, like
`stripe listen`.

The server delivers events by POSTing to a registered URL, so `listen` starts an HTTP
listener here, registers a webhook endpoint pointing at it (or reuses one with the same
URL, with a fresh secret), verifies each delivery's signature with the endpoint's secret,
prints the event, optionally forwards the body and headers to --forward-to (answering the
server with the forward's status, so failed forwards are retried), and deletes the endpoint
it registered when it stops. The server must be able to reach the listener: a server on
this machine or network (a development stack allows http to loopback and private addresses
only with WAVIS_WEBHOOK_ALLOW_PRIVATE), or --public-url for a tunnel to it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import click
import httpx

import wavis_sdk
from wavis_sdk.cli._app import json_option, pass_app
from wavis_sdk.cli._output import App
from wavis_sdk.webhooks import EVENT_ID_HEADER, verify

# Headers passed on to --forward-to (the signature needs the body and these, untouched).
FORWARDED_HEADERS = ("content-type", "user-agent", "x-wavis-signature", "x-wavis-timestamp",
                     EVENT_ID_HEADER.lower(), "x-wavis-event-type", "x-wavis-delivery-attempt")


class Listener:
    """The local HTTP receiver; deliveries verified and forwarded on its threads, reported
    to the command through a queue."""

    def __init__(self, host: str, port: int, forward_to: str | None) -> None:
        self.secret: str | None = None
        self.forward_to = forward_to
        self.reports: queue.Queue[dict[str, Any]] = queue.Queue()
        self.forwarder = httpx.Client(timeout=30.0)
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, report = listener.receive(body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                listener.reports.put(report)

            def do_GET(self) -> None:
                answer = b"wavis webhooks listen\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the command prints what matters

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.forwarder.close()

    def receive(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """(status to answer, what to report) for one delivery."""
        received = time.time()
        if self.secret is None:
            return 503, {"verified": False, "error": "not registered yet"}
        try:
            event = verify(body, headers, self.secret)
        except wavis_sdk.SignatureVerificationError as error:
            return 400, {"verified": False, "error": error.message,
                         "event_id": headers.get(EVENT_ID_HEADER)}
        report: dict[str, Any] = {"verified": True, "received_at": received,
                                  "event": dict(event)}
        if self.forward_to is None:
            return 200, report
        kept = {k: v for k, v in headers.items() if k.lower() in FORWARDED_HEADERS}
        try:
            reply = self.forwarder.post(self.forward_to, content=body, headers=kept)
            report["forward"] = {"url": self.forward_to, "status": reply.status_code}
            return (200 if reply.is_success else 502), report
        except httpx.HTTPError as error:
            report["forward"] = {"url": self.forward_to, "status": None,
                                 "error": f"{type(error).__name__}: {error}"}
            return 502, report


@click.group()
def webhooks() -> None:
    """Webhook events: listen here, send a test event."""


@webhooks.command()
@click.option("--forward-to", metavar="URL", help="POST each verified event there too "
                                                  "(same body and signature headers).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, show_default=True, help="Port (0: any free port).")
@click.option("--public-url", metavar="URL",
              help="The URL the server should call, if not http://HOST:PORT/ (a tunnel).")
@click.option("--events", help="Event types, comma-separated (default: all).")
@click.option("--max-events", type=int, help="Stop after this many verified events.")
@click.option("--timeout", type=float, help="Stop after this many seconds.")
@json_option
@pass_app
def listen(app: App, forward_to: str | None, host: str, port: int, public_url: str | None,
           events: str | None, max_events: int | None, timeout: float | None) -> None:
    """Receive this account's webhook events here until Ctrl-C.

    The server must reach the listener (see the module notes in the README). With --json,
    one JSON object per line: first the endpoint, then one per delivery.
    """
    client = app.client()
    listener = Listener(host, port, forward_to)
    listener.start()
    url = public_url or f"http://{host}:{listener.port}/"
    created = False
    webhook_id: str | None = None
    try:
        existing = next((hook for hook in client.webhooks.list(limit=100)
                         if hook.get("url") == url), None)
        if existing is not None:
            webhook_id = str(existing["webhook_id"])
            listener.secret = str(client.webhooks.regenerate_secret(webhook_id)["secret"])
        else:
            try:
                hook = client.webhooks.create(
                    url, events=[e.strip() for e in events.split(",")] if events else None)
            except wavis_sdk.ValidationError as error:
                error.message += (" (the server must be allowed to call this URL: a "
                                  "development stack needs WAVIS_WEBHOOK_ALLOW_PRIVATE for "
                                  "http and loopback; or pass --public-url)")
                raise
            webhook_id, listener.secret, created = str(hook["webhook_id"]), \
                str(hook["secret"]), True
        ready = {"listening": url, "webhook_id": webhook_id, "secret": listener.secret,
                 "forward_to": forward_to, "registered": created}
        if app.json_mode:
            app.emit_line(ready)
        else:
            app.err.print(f"Ready: {url} receives the events of webhook {webhook_id} "
                          f"(signing secret [bold]{listener.secret}[/])"
                          + (f", forwarding to {forward_to}" if forward_to else "")
                          + ". Ctrl-C stops.")
        _print_until_done(app, listener, max_events, timeout)
    finally:
        listener.stop()
        if created and webhook_id is not None:
            with contextlib.suppress(wavis_sdk.WavisError):
                client.webhooks.delete(webhook_id)
                app.note(f"Deleted webhook {webhook_id}.")


def _print_until_done(app: App, listener: Listener, max_events: int | None,
                      timeout: float | None) -> None:
    deadline = None if timeout is None else time.monotonic() + timeout
    verified = 0
    while max_events is None or verified < max_events:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return
        try:
            report = listener.reports.get(timeout=min(0.5, left) if left else 0.5)
        except queue.Empty:
            continue
        verified += bool(report.get("verified"))
        if app.json_mode:
            app.emit_line(report)
            continue
        if not report.get("verified"):
            app.err.print(f"[red]refused a delivery[/] ({report.get('error')})")
            continue
        event = report["event"]
        line = f"{event.get('created_at', '')}  {event.get('type')}  {event.get('id')}"
        forward = report.get("forward")
        if forward:
            line += f"  -> {forward['url']} [{forward['status'] or forward.get('error')}]"
        app.out.print(line)


@webhooks.command("test")
@json_option
@pass_app
def send_test(app: App) -> None:
    """Ask the server to send a `test` event to every enabled endpoint."""
    sent = app.client().webhooks.send_test()
    app.emit(sent, lambda: app.out.print(
        f"Sent test event {sent['event_id']} to {len(sent['webhook_ids'])} endpoint(s)."))
