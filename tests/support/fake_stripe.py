"""A small local Stripe for tests: the few endpoints WAVIS calls, in Stripe's wire format
(form-encoded requests with bracketed keys, JSON objects with "object", Stripe's error
shape), plus signing of webhook deliveries as Stripe does it."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

API_KEY = "sk_test_wavis_fake_0123456789abcdefghij"
WEBHOOK_SECRET = "whsec_wavis_fake_0123456789abcdefghijklmnop"
_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}_fake{next(_ids):08d}"


def _unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """line_items[0][price_data][currency]=usd -> nested dicts (list indexes as keys)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return result


class FakeStripe:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.invoice_items: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        # Idempotency-Key -> the answer given (Stripe replays it for the same key).
        self.idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
        # (method, path prefix) -> how many of the next such requests answer 500.
        self.failures: dict[tuple[str, str], int] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeStripe:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, method: str, path_prefix: str, times: int = 1) -> None:
        self.failures[(method, path_prefix)] = times

    def _failing(self, method: str, path: str) -> bool:
        for (m, prefix), left in self.failures.items():
            if m == method and path.startswith(prefix) and left > 0:
                self.failures[(m, prefix)] = left - 1
                return True
        return False

    def _subscription(self, sub_id: str) -> dict[str, Any]:
        """A subscription the tests' checkout events named: made on first sight."""
        return self.subscriptions.setdefault(sub_id, {
            "id": sub_id, "object": "subscription", "status": "active", "livemode": False,
            "cancel_at_period_end": False, "metadata": {},
            "default_payment_method": f"pm_{sub_id}",
            "items": {"object": "list", "data": [{
                "id": f"si_{sub_id}", "object": "subscription_item", "quantity": 1,
                "price": {"id": f"price_{sub_id}", "object": "price", "unit_amount": 0,
                          "currency": "usd", "product": "prod_fake_initial"}}]}})

    def answer_idempotent(self, method: str, path: str, form: dict[str, Any],
                          key: str | None) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if key and key in self.idempotent:
                return self.idempotent[key]
            if self._failing(method, path):
                return 500, {"error": {"type": "api_error", "message": "Injected failure."}}
            status, body = self.answer(method, path, form)
            if key and status < 500:
                self.idempotent[key] = (status, body)
            return status, body

    def calls(self, method: str, path_prefix: str) -> list[dict[str, Any]]:
        return [form for m, p, form in self.requests if m == method and p.startswith(path_prefix)]

    def answer(self, method: str, path: str, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        now = int(time.time())
        if method == "POST" and path == "/v1/customers":
            customer = {"id": _new_id("cus"), "object": "customer", "created": now,
                        "email": form.get("email"), "metadata": form.get("metadata", {}),
                        "livemode": False}
            self.customers[customer["id"]] = customer
            return 200, customer
        if method == "POST" and path == "/v1/checkout/sessions":
            session_id = _new_id("cs_test")
            return 200, {"id": session_id, "object": "checkout.session", "created": now,
                         "mode": form.get("mode"), "customer": form.get("customer"),
                         "client_reference_id": form.get("client_reference_id"),
                         "metadata": form.get("metadata", {}), "status": "open",
                         "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                         "livemode": False}
        if method == "POST" and path == "/v1/products":
            return 200, {"id": _new_id("prod"), "object": "product", "name": form.get("name"),
                         "metadata": form.get("metadata", {}), "livemode": False}
        if method == "GET" and path.startswith("/v1/setup_intents/"):
            intent_id = path.rsplit("/", 1)[1]
            return 200, {"id": intent_id, "object": "setup_intent", "status": "succeeded",
                         "payment_method": f"pm_{intent_id}", "livemode": False}
        if method == "POST" and path.startswith("/v1/customers/"):
            customer = self.customers.setdefault(path.rsplit("/", 1)[1], {
                "id": path.rsplit("/", 1)[1], "object": "customer", "metadata": {},
                "livemode": False})
            customer["invoice_settings"] = form.get("invoice_settings", {})
            return 200, customer
        if method == "GET" and path.startswith("/v1/subscriptions/"):
            return 200, self._subscription(path.rsplit("/", 1)[1])
        if method == "POST" and path.startswith("/v1/subscriptions/"):
            sub = self._subscription(path.rsplit("/", 1)[1])
            if "cancel_at_period_end" in form:
                sub["cancel_at_period_end"] = form["cancel_at_period_end"] == "true"
            for item in (form.get("items") or {}).values():
                price = item.get("price_data") or {}
                sub["items"]["data"][0]["price"] |= {
                    "unit_amount": int(price.get("unit_amount", 0)),
                    "product": price.get("product")}
            return 200, sub
        if method == "POST" and path == "/v1/invoiceitems":
            item = {"id": _new_id("ii"), "object": "invoiceitem", "customer": form["customer"],
                    "amount": int(form["amount"]), "currency": form.get("currency"),
                    "description": form.get("description"), "invoice": None,
                    "metadata": form.get("metadata", {}), "livemode": False}
            self.invoice_items[item["id"]] = item
            return 200, item
        if method == "POST" and path == "/v1/invoices":
            payer = (self.customers.get(form["customer"], {}).get("invoice_settings") or {})
            if not payer.get("default_payment_method"):
                return 400, {"error": {"type": "invalid_request_error", "message":
                                       "The customer has no default payment method."}}
            invoice = {"id": _new_id("in"), "object": "invoice", "customer": form["customer"],
                       "status": "draft", "metadata": form.get("metadata", {}),
                       "collection_method": form.get("collection_method"),
                       "auto_advance": form.get("auto_advance") == "true", "livemode": False}
            if form.get("pending_invoice_items_behavior") == "include":
                for item in self.invoice_items.values():
                    if item["customer"] == form["customer"] and item["invoice"] is None:
                        item["invoice"] = invoice["id"]
            invoice["amount_due"] = sum(i["amount"] for i in self.invoice_items.values()
                                        if i["invoice"] == invoice["id"])
            self.invoices[invoice["id"]] = invoice
            return 200, invoice
        if method == "POST" and path.startswith("/v1/invoices/") and path.endswith("/finalize"):
            invoice = self.invoices[path.split("/")[3]]
            invoice["status"] = "open"
            return 200, invoice
        if method == "DELETE" and path.startswith("/v1/subscriptions/"):
            sub_id = path.rsplit("/", 1)[1]
            return 200, {"id": sub_id, "object": "subscription", "status": "canceled",
                         "canceled_at": now, "livemode": False}
        if method == "GET" and path == "/v1/balance":
            return 200, {"object": "balance", "available": [{"amount": 0, "currency": "usd"}],
                         "pending": [], "livemode": False}
        return 404, {"error": {"type": "invalid_request_error",
                               "message": f"Unrecognized request URL ({method}: {path})."}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                path, _, query = self.path.partition("?")
                form = _unflatten(parse_qsl(raw or query, keep_blank_values=True))
                fake.requests.append((self.command, path, form))
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    status, body = 401, {"error": {
                        "type": "invalid_request_error", "message": "Invalid API Key provided."}}
                else:
                    status, body = fake.answer_idempotent(
                        self.command, path, form, self.headers.get("Idempotency-Key"))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_fake")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    return json.dumps({"id": event_id or _new_id("evt"), "object": "event",
                       "api_version": "2025-01-27.acacia", "created": int(time.time()),
                       "type": event_type, "livemode": False,
                       "data": {"object": obj}}).encode()


def signature(payload: bytes, secret: str = WEBHOOK_SECRET,
              timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send: t=<ts>,v1=<HMAC-SHA256 of "t.payload">."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def stack_env(server: FakeStripe) -> dict[str, str]:
    """The settings that point a stack's metering service at `server`."""
    return {"WAVIS_STRIPE_API_KEY": API_KEY, "WAVIS_STRIPE_API_BASE": server.url,
            "WAVIS_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}
