"""What the SDK's stack tests share: accounts, SDK clients, a gateway with a short lockout,
and a TCP proxy that drops answers (a connection that breaks after the request was sent)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import wavis_sdk
from aiohttp import web

from gateway.app import create_app
from gateway.settings import GatewaySettings, parse_networks
from support.accounts import Tenant, create_account
from wavis.core.mesh import SERVICES
from wavis.devstack.stack import Stack


def new_tenant(stack: Stack, plan: str = "pro") -> Tenant:
    return asyncio.run(create_account(stack, plan=plan))


def sdk_client(stack: Stack | str, tenant: Tenant, state_dir: Path, **options: Any,
               ) -> wavis_sdk.Client:
    """An SDK client as the tenant, from the tenant's own client address (so one test's
    requests never fill another's per-IP burst window)."""
    url = stack if isinstance(stack, str) else stack.gateway_url
    return wavis_sdk.Client(tenant.api_key, url, state_dir=str(state_dir),
                            default_headers={"X-Forwarded-For": tenant.client_ip}, **options)


@asynccontextmanager
async def gateway_with(stack: Stack, **settings: Any) -> AsyncIterator[str]:
    """The real gateway app in this process, on the stack's Redis and services, with some
    settings of its own (e.g. a lockout of seconds instead of 15 minutes)."""
    assert stack.redis is not None
    targets = {f"{s.key}_target": f"127.0.0.1:{stack.service_ports[s.key]}" for s in SERVICES}
    app = create_app(GatewaySettings(redis_url=stack.redis.url, data_dir=stack.data_dir,
                                     trusted_proxies=parse_networks("127.0.0.1/32"),
                                     **targets, **settings))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class DroppingProxy:
    """A TCP proxy to `target` on loopback. On its first `drop` connections it forwards the
    request, waits until the server's answer begins (the request has run), and closes the
    client's connection without passing the answer on; later connections pass through."""

    def __init__(self, target_url: str, drop: int = 1) -> None:
        host, port = target_url.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.drop = drop
        self.connections = 0
        self.dropped = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopping = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def close(self) -> None:
        self._stopping.set()
        self._listener.close()

    def __enter__(self) -> DroppingProxy:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            dropping = self.connections <= self.drop
            threading.Thread(target=self._serve, args=(client, dropping), daemon=True).start()

    def _serve(self, client: socket.socket, dropping: bool) -> None:
        upstream = socket.create_connection(self.target)
        threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
        try:
            if dropping:
                upstream.recv(1)  # the answer has begun: the request ran to its end
                self.dropped += 1
                return
            _pipe(upstream, client)
        finally:
            for sock in (client, upstream):
                # shutdown, not just close: it sends the FIN even while the other
                # direction's thread is still blocked reading this socket.
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
