"""`wavis webhooks listen` receiving a real delivery from the webhooks service: it registers
an endpoint at its own listener, verifies the signature, prints the event, forwards it with
its signature headers, and deletes the endpoint when it stops."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cli_support import Wavis
from click.testing import Result
from sdk_support import new_tenant, sdk_client
from wavis_sdk.webhooks import verify

from wavis.devstack.stack import Stack


class ForwardTarget:
    """The user's local app that `--forward-to` names: records what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                target.received.append((body, dict(self.headers.items())))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_listen_receives_verifies_forwards_and_cleans_up(own_stack: Stack,
                                                         tmp_path: Path) -> None:
    tenant = new_tenant(own_stack, plan="enterprise")
    wavis = Wavis(own_stack.gateway_url, tenant.api_key, tmp_path)
    target = ForwardTarget()
    outcome: list[Result] = []
    listening = threading.Thread(target=lambda: outcome.append(wavis.run(
        "webhooks", "listen", "--forward-to", target.url, "--max-events", "1",
        "--timeout", "60", "--json")))
    listening.start()
    try:
        with sdk_client(own_stack, tenant, tmp_path / "state") as client:
            deadline = time.monotonic() + 30
            while not (hooks := list(client.webhooks.list())):
                assert time.monotonic() < deadline, "the listener never registered"
                time.sleep(0.1)
            (hook,) = hooks
            assert hook.url.startswith("http://127.0.0.1:")
            sent = client.webhooks.send_test()
            listening.join(60)
            assert not listening.is_alive()
            assert list(client.webhooks.list()) == []  # deleted on the way out
    finally:
        target.close()
    (result,) = outcome
    ready, delivery = (json.loads(line) for line in result.stdout.splitlines())
    assert ready == {"listening": hook.url, "webhook_id": hook.webhook_id,
                     "secret": ready["secret"], "forward_to": target.url, "registered": True}
    assert ready["secret"].startswith("whsec_")
    assert delivery["verified"] and delivery["event"]["id"] == sent.event_id
    assert delivery["event"]["type"] == "test"
    assert delivery["forward"] == {"url": target.url, "status": 204}
    # The forwarded request is the delivery itself: it verifies with the printed secret.
    ((body, headers),) = target.received
    assert verify(body, headers, ready["secret"]).id == sent.event_id


def test_listen_stops_at_its_timeout_and_refuses_forged_deliveries(own_stack: Stack,
                                                                   tmp_path: Path) -> None:
    import httpx

    tenant = new_tenant(own_stack, plan="enterprise")
    wavis = Wavis(own_stack.gateway_url, tenant.api_key, tmp_path)
    outcome: list[Result] = []
    listening = threading.Thread(target=lambda: outcome.append(wavis.run(
        "webhooks", "listen", "--timeout", "4")))
    listening.start()
    with sdk_client(own_stack, tenant, tmp_path / "state") as client:
        deadline = time.monotonic() + 30
        while not (hooks := list(client.webhooks.list())):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        forged = httpx.post(hooks[0].url, content=b'{"id":"evt_x","type":"test"}', headers={
            "X-WAVIS-Timestamp": str(int(time.time())), "X-WAVIS-Signature": "sha256=00"})
        assert forged.status_code == 400
        listening.join(30)
        assert list(client.webhooks.list()) == []
    (result,) = outcome
    assert "Ready:" in result.stderr and "whsec_" in result.stderr
    assert "refused a delivery" in result.stderr and "does not match" in result.stderr
    assert "Deleted webhook" in result.stderr


def test_send_a_test_event(own_stack: Stack, tmp_path: Path) -> None:
    tenant = new_tenant(own_stack, plan="enterprise")
    wavis = Wavis(own_stack.gateway_url, tenant.api_key, tmp_path)
    sent = wavis.json("webhooks", "test")
    assert sent["type"] == "test" and sent["webhook_ids"] == []
