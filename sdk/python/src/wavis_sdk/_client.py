"""`Client`: the WAVIS API over httpx.Client. Each method hands one operation of `_ops` to
its driver; `AsyncClient` (`_async_client`) has the same namespaces and methods, awaited, and
differs only in how it sends, sleeps and runs local work."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import httpx

from wavis_sdk._core import (
    Attempt,
    Blocking,
    Config,
    Op,
    Prepared,
    Response,
    RetryPolicy,
    Sleep,
    TransportFailure,
)
from wavis_sdk._drivers import T, _config, _failure, _options, _response, _timeout
from wavis_sdk._inference_client import Models
from wavis_sdk._models import (
    BatchResult,
    Ciphertext,
    ComputeResult,
    Decrypted,
    GateResult,
    Key,
    OperationStatus,
    Page,
    ProgramResult,
    TfheSession,
    WavisObject,
    as_object,
)
from wavis_sdk._operation_handles import Operation
from wavis_sdk._ops import Ops, ProgressCallback, key_id_of, op_id_of
from wavis_sdk.ckks import CkksKeys
from wavis_sdk.program import Program
from wavis_sdk.tfhe import TfheKeys


class Client:
    """The WAVIS API, synchronously.

    `api_key` and `base_url` default to WAVIS_API_KEY and WAVIS_BASE_URL (else
    http://127.0.0.1:8080). One connection pool (keep-alive) serves every call; close it with
    `close()` or use the client as a context manager. Retries, timeouts and idempotency keys
    follow `RetryPolicy`; `with_options(...)` gives a client with other settings that shares
    the pool. Pass `http_client` to bring your own httpx.Client (proxies, event hooks).
    """

    is_async = False

    def __init__(self, api_key: str | None = None, base_url: str | None = None, *,
                 timeout: float = 60.0, max_retries: int = 3, retry: RetryPolicy | None = None,
                 idempotency_keys: bool = True, state_dir: str | None = None,
                 default_headers: Mapping[str, str] | None = None,
                 http_client: httpx.Client | None = None) -> None:
        self._setup(_config(api_key, base_url, timeout, max_retries, retry, idempotency_keys,
                            state_dir, default_headers),
                    http_client or httpx.Client(), owns_http=http_client is None)

    def _setup(self, config: Config, http: httpx.Client, owns_http: bool) -> None:
        self.config = config
        self._http = http
        self._owns_http = owns_http
        self._ops = Ops(config)
        self.keys = Keys(self)
        self.ciphertexts = Ciphertexts(self)
        self.compute = Compute(self)
        self.operations = Operations(self)
        self.tfhe = Tfhe(self)
        self.billing = Billing(self)
        self.webhooks = Webhooks(self)
        self.api_keys = ApiKeys(self)
        self.onboarding = Onboarding(self)
        self.models = Models(self)

    def with_options(self, *, api_key: str | None = None, timeout: float | None = None,
                     max_retries: int | None = None, idempotency_key: str | None = None,
                     idempotency_keys: bool | None = None) -> Client:
        """A client with some settings changed, on the same connection pool."""
        other = Client.__new__(Client)
        other._setup(_options(self.config, api_key, timeout, max_retries, idempotency_key,
                              idempotency_keys), self._http, owns_http=False)
        return other

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def health(self) -> WavisObject:
        return self.run(self._ops.obj("GET", "/health", auth=False))

    def program(self, key: Any, *, scale_stable: bool = True, return_ciphertext: bool = False,
                compact: bool = False) -> Program:
        """A CKKS program builder (wavis_sdk.program) that runs as one request when its
        `with` block ends: `with client.program(key) as p: y = p.input(x) * w + 1`."""
        return Program(key, scale_stable=scale_stable, return_ciphertext=return_ciphertext,
                       compact=compact, client=self)

    # -- the driver -------------------------------------------------------------------------

    def run(self, op: Op[T]) -> T:
        """Drive one operation to its end."""
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                effect = op.send(value) if error is None else op.throw(error)
                value, error = None, None
                if isinstance(effect, Attempt):
                    value = self._attempt(effect.request)
                elif isinstance(effect, Sleep):
                    time.sleep(effect.seconds)
                elif isinstance(effect, Blocking):
                    try:
                        value = effect.work()
                    except Exception as exc:  # the operation may clean up or handle it
                        error = exc
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            op.close()

    def _attempt(self, prepared: Prepared) -> Response | TransportFailure:
        content: Any = prepared.body if prepared.file is None else prepared.file.chunks()
        try:
            reply = self._http.request(prepared.method, prepared.url, headers=prepared.headers,
                                       content=content, timeout=_timeout(prepared))
        except httpx.TransportError as error:
            return _failure(error)
        return _response(reply)

    def iterate(self, fetch: Callable[[str | None], Op[Page[T]]]) -> Iterator[T]:
        """Every item of a list endpoint, page after page, following the cursors."""
        cursor: str | None = None
        while True:
            page = self.run(fetch(cursor))
            yield from page.data
            if not page.has_more or not page.next_cursor:
                return
            cursor = page.next_cursor


class _Namespace:
    def __init__(self, client: Client) -> None:
        self._client = client
        self._ops = client._ops
        self._run = client.run


class Keys(_Namespace):
    def generate_ckks(self, poly_degree: int, scale_bits: int, max_depth: int,
                      security_level: str = "128-bit", *, rotations: Sequence[int] | None = None,
                      bootstrappable: bool = False, wait: bool = True,
                      timeout: float | None = 600.0) -> Key:
        """A server-mode CKKS key (the server keeps the secret key); waits while pending."""
        return self._run(self._ops.generate_ckks_key(poly_degree, scale_bits, max_depth,
                                                     security_level, rotations, bootstrappable,
                                                     wait, timeout))

    def generate_tfhe(self, preset: str = "toy", *, wait: bool = True,
                      timeout: float | None = 600.0) -> Key:
        return self._run(self._ops.generate_tfhe_key(preset, wait, timeout))

    def upload(self, keys: CkksKeys | TfheKeys, *,
               progress: ProgressCallback | None = None) -> Key:
        """FHE-blind: upload local keys' public and evaluation parts (never the secret key).
        CKKS goes in one request up to the body limit, else by the chunked upload; TFHE by the
        chunked upload (resumable). The key id is remembered on `keys`."""
        if isinstance(keys, CkksKeys):
            return self._run(self._ops.upload_ckks_key(keys, progress))
        return self._run(self._ops.upload_tfhe_key(keys, progress))

    def upload_file(self, path: str, *, scheme: str, kind: str,
                    progress: ProgressCallback | None = None, resume: bool = True) -> Key:
        """A key archive file by the chunked upload (kind tfhe_eval_key or ckks_key_bundle),
        resumable after an interruption."""
        return self._run(self._ops.upload_file(path, scheme, kind, progress, resume))

    def upload_status(self, upload_id: str) -> WavisObject:
        """A chunked upload's state and the parts the server holds, each with its sha256."""
        return self._run(self._ops.obj("GET", f"/keys/uploads/{upload_id}"))

    def get(self, key_id: str) -> Key:
        return self._run(self._ops.get_key(key_id))

    def wait(self, key_id: str, *, timeout: float | None = 600.0) -> Key:
        return self._run(self._ops.wait_for_key(key_id, timeout))

    def list(self, *, limit: int = 20) -> Iterator[Key]:
        return self._client.iterate(lambda c: self._ops.page("/keys", Key.parse, limit, c))

    def delete(self, key: Any) -> None:
        self._run(self._ops.delete_key(key_id_of(key)))


class Ciphertexts(_Namespace):
    def upload(self, data: Any, key: Any = None) -> Ciphertext:
        """A ciphertext encrypted locally (bytes or LocalCiphertext) under an uploaded key
        (taken from the LocalCiphertext when not given)."""
        return self._run(self._ops.upload_ciphertext(data, key))

    def encrypt(self, key: Any, values: Sequence[float]) -> Ciphertext:
        """Server mode: the server encrypts under its own key."""
        return self._run(self._ops.encrypt_values(key, values))

    def get(self, ciphertext: Any, *, compact: bool = False) -> Ciphertext:
        """The ciphertext with its data (to decrypt locally); `compact`: the data reduced to
        its last level, smaller, decrypting the same (the stored one is unchanged)."""
        return self._run(self._ops.get_ciphertext(ciphertext, compact))

    def decrypt(self, ciphertext: Any, count: int | None = None, *,
                noise_margin_bits: int | None = None) -> Decrypted:
        """Server mode only; blind keys answer BLIND_KEY. The server answers as many values
        as were encrypted (every slot for results it cannot tell), or `count` leading slots.
        `noise_margin_bits` admits results with larger errors (more operations) at a bit of
        precision each; None: the server's default."""
        return self._run(self._ops.decrypt_ciphertext(ciphertext, count, noise_margin_bits))

    def delete(self, ciphertext: Any) -> None:
        self._run(self._ops.delete_ciphertext(ciphertext))


class Compute(_Namespace):
    """CKKS operations on stored ciphertexts. Ciphertext arguments are ids, Ciphertexts or
    earlier ComputeResults; results carry level and noise budget."""

    def run(self, operation: str, key: Any, ciphertexts: Sequence[Any], *,
            return_ciphertext: bool = False, **fields: Any) -> ComputeResult:
        return self._run(self._ops.compute(operation, key, ciphertexts,
                                           {**fields, "return_ciphertext": return_ciphertext}))

    def submit(self, operation: str, key: Any, ciphertexts: Sequence[Any],
               **fields: Any) -> Operation:
        """Start an operation asynchronously (202); wait for it with `.wait()`."""
        status = self._run(self._ops.submit(operation, key, ciphertexts, fields))
        return Operation(self._client, status)

    def add(self, key: Any, a: Any, b: Any, *, scale_stable: bool = False,
            return_ciphertext: bool = False) -> ComputeResult:
        return self.run("add", key, [a, b], scale_stable=scale_stable,
                        return_ciphertext=return_ciphertext)

    def multiply(self, key: Any, a: Any, b: Any, *, scale_stable: bool = False,
                 return_ciphertext: bool = False) -> ComputeResult:
        return self.run("multiply", key, [a, b], scale_stable=scale_stable,
                        return_ciphertext=return_ciphertext)

    def add_plain(self, key: Any, a: Any, values: Sequence[float], *,
                  return_ciphertext: bool = False) -> ComputeResult:
        return self.run("add-plain", key, [a], plain_operand=values,
                        return_ciphertext=return_ciphertext)

    def multiply_plain(self, key: Any, a: Any, values: Sequence[float], *,
                       scale_stable: bool = False, return_ciphertext: bool = False,
                       ) -> ComputeResult:
        return self.run("multiply-plain", key, [a], plain_operand=values,
                        scale_stable=scale_stable, return_ciphertext=return_ciphertext)

    def negate(self, key: Any, a: Any, *, return_ciphertext: bool = False) -> ComputeResult:
        return self.run("negate", key, [a], return_ciphertext=return_ciphertext)

    def rescale(self, key: Any, a: Any, *, return_ciphertext: bool = False) -> ComputeResult:
        return self.run("rescale", key, [a], return_ciphertext=return_ciphertext)

    def rotate(self, key: Any, a: Any, steps: int, *,
               return_ciphertext: bool = False) -> ComputeResult:
        return self.run("rotate", key, [a], rotation_steps=steps,
                        return_ciphertext=return_ciphertext)

    def matmul(self, key: Any, a: Any, matrix: Sequence[Sequence[float]], *,
               scale_stable: bool = False, return_ciphertext: bool = False) -> ComputeResult:
        return self.run("matmul", key, [a], matrix=matrix, scale_stable=scale_stable,
                        return_ciphertext=return_ciphertext)

    def poly_eval(self, key: Any, a: Any, coefficients: Sequence[float], *,
                  scale_stable: bool = False, return_ciphertext: bool = False,
                  ) -> ComputeResult:
        return self.run("poly-eval", key, [a], polynomial_coeffs=coefficients,
                        scale_stable=scale_stable, return_ciphertext=return_ciphertext)

    def bootstrap(self, key: Any, a: Any) -> Operation:
        """Refresh the noise budget (server-mode bootstrappable keys); always asynchronous."""
        return self.submit("bootstrap", key, [a])

    def program(self, key: Any, inputs: Mapping[str, Any], steps: Sequence[Mapping[str, Any]],
                outputs: Sequence[str] | None = None, *, return_ciphertext: bool = False,
                compact: bool = False) -> ProgramResult:
        """A whole circuit in one request (POST /compute/program): `inputs` name stored
        ciphertexts, each step is {"op", "args", ...fields of its operation} with args
        naming inputs or earlier steps ("$k"), `outputs` the steps to store (default: the
        last). client.program(key) builds the same from arithmetic on handles."""
        return self._run(self._ops.program(self._ops.program_body(
            key, inputs, steps, outputs, return_ciphertext, compact)))

    def run_program(self, program: Program) -> ProgramResult:
        """A wavis_sdk.program.Program built alone."""
        program.result = self._run(self._ops.run_program(program))
        return program.result

    def submit_program(self, key: Any, inputs: Mapping[str, Any],
                       steps: Sequence[Mapping[str, Any]],
                       outputs: Sequence[str] | None = None) -> Operation:
        """compute.program, asynchronously (202); wait with `.wait_program()`."""
        status = self._run(self._ops.submit_program(self._ops.program_body(
            key, inputs, steps, outputs, False, False)))
        return Operation(self._client, status)


class Operations(_Namespace):
    def get(self, op: Any) -> Operation:
        return Operation(self._client, self._run(self._ops.get_operation(op_id_of(op))))

    def wait(self, op: Any, *, timeout: float | None = 600.0,
             cancel_on_timeout: bool = False) -> ComputeResult:
        return self._run(self._ops.wait_operation(op_id_of(op), timeout, cancel_on_timeout))

    def wait_program(self, op: Any, *, timeout: float | None = 600.0,
                     cancel_on_timeout: bool = False) -> ProgramResult:
        return self._run(self._ops.wait_program(op_id_of(op), timeout, cancel_on_timeout))

    def cancel(self, op: Any) -> OperationStatus:
        return self._run(self._ops.cancel_operation(op_id_of(op)))


class Tfhe(_Namespace):
    def create_session(self, preset: str = "toy", *,
                       timeout: float | None = 600.0) -> TfheSession:
        """Server mode: the server makes and keeps the keys (demos). Waits while a 128-bit
        preset's key is generated (seconds), up to `timeout`."""
        return self._run(self._ops.create_session(preset, timeout))

    def get_session(self, session_id: str) -> TfheSession:
        return self._run(self._ops.get_session(session_id))

    def create_eval_session(self, keys: Any, *, session_id: str | None = None,
                            progress: ProgressCallback | None = None) -> TfheSession:
        """FHE-blind: a session on local TfheKeys' eval key (inline when it fits in one
        request, else by the resumable chunked upload), or on an uploaded key id."""
        return self._run(self._ops.create_eval_session(keys, session_id, progress))

    def delete_session(self, session: Any) -> None:
        self._run(self._ops.delete_session(session))

    def encrypt(self, session: Any, bits: Sequence[int], *,
                plaintext_modulus: int | None = None) -> list[bytes]:
        """Server mode only; plaintext_modulus 6 for the inputs of AND3 and OR3."""
        return self._run(self._ops.tfhe_encrypt(session, bits, plaintext_modulus))

    def decrypt(self, session: Any, ciphertexts: Sequence[Any]) -> list[int]:
        """Server mode only."""
        return self._run(self._ops.tfhe_decrypt(session, ciphertexts))

    def gate(self, session: Any, op: str, a: Any, b: Any = None, c: Any = None, *,
             sel: Any = None) -> GateResult:
        """One gate: a and b; c too for AND3, OR3 and MAJORITY; sel too for MUX."""
        return self._run(self._ops.gate(session, op, a, b, sel, c))

    def batch(self, session: Any, circuit: Any) -> BatchResult:
        """A Circuit (or a list of gate dicts) in one request; index the result by wire."""
        return self._run(self._ops.batch(session, circuit))

    def pricing(self) -> WavisObject:
        return self._run(self._ops.obj("GET", "/tfhe/pricing", auth=False))


class Billing(_Namespace):
    def usage(self, period: str | None = None) -> WavisObject:
        """FCU and cost of a month (YYYY-MM; this month by default), by operation and day."""
        return self._run(self._ops.obj("GET", "/billing/usage",
                                       params={"period": period} if period else None))

    def balance(self) -> WavisObject:
        return self._run(self._ops.obj("GET", "/billing/balance"))

    def budget(self) -> WavisObject:
        return self._run(self._ops.obj("GET", "/billing/budget"))

    def set_budget(self, monthly_cap_usd: float, mode: str = "soft") -> WavisObject:
        return self._run(self._ops.obj("POST", "/billing/budget", {
            "monthly_cap_usd": monthly_cap_usd, "mode": mode}))

    def subscription(self) -> WavisObject:
        return self._run(self._ops.obj("GET", "/billing/subscription"))

    def subscribe(self, plan: str, email: str, billing_cycle: str | None = None) -> WavisObject:
        body = {"plan": plan, "email": email} | (
            {"billing_cycle": billing_cycle} if billing_cycle else {})
        return self._run(self._ops.obj("POST", "/billing/subscribe", body))

    def cancel_subscription(self) -> WavisObject:
        return self._run(self._ops.obj("DELETE", "/billing/subscription"))

    def invoices(self, *, limit: int = 20) -> Iterator[WavisObject]:
        return self._client.iterate(
            lambda c: self._ops.page("/billing/invoices", as_object, limit, c))

    def invoice(self, invoice_id: str) -> WavisObject:
        return self._run(self._ops.obj("GET", f"/billing/invoices/{invoice_id}"))


class Webhooks(_Namespace):
    def create(self, url: str, events: Sequence[str] | None = None,
               secret: str | None = None) -> WavisObject:
        """Register an endpoint; the answer's `secret` is shown only this once."""
        body: dict[str, Any] = {"url": url}
        if events is not None:
            body["events"] = list(events)
        if secret is not None:
            body["secret"] = secret
        return self._run(self._ops.obj("POST", "/webhooks", body))

    def list(self, *, limit: int = 20) -> Iterator[WavisObject]:
        return self._client.iterate(lambda c: self._ops.page("/webhooks", as_object, limit, c))

    def get(self, webhook_id: str) -> WavisObject:
        return self._run(self._ops.obj("GET", f"/webhooks/{webhook_id}"))

    def update(self, webhook_id: str, *, url: str | None = None,
               events: Sequence[str] | None = None, enabled: bool | None = None) -> WavisObject:
        body: dict[str, Any] = {k: v for k, v in (("url", url), ("enabled", enabled))
                                if v is not None}
        if events is not None:
            body["events"] = list(events)
        return self._run(self._ops.obj("PATCH", f"/webhooks/{webhook_id}", body))

    def delete(self, webhook_id: str) -> None:
        self._run(self._ops.request("DELETE", f"/webhooks/{webhook_id}"))

    def regenerate_secret(self, webhook_id: str) -> WavisObject:
        return self._run(self._ops.obj("PATCH", f"/webhooks/{webhook_id}/regenerate-secret"))

    def send_test(self) -> WavisObject:
        return self._run(self._ops.obj("POST", "/webhooks/test"))

    def events(self, *, limit: int = 20) -> Iterator[WavisObject]:
        """Delivery history, newest first."""
        return self._client.iterate(
            lambda c: self._ops.page("/webhooks/events", as_object, limit, c))


class ApiKeys(_Namespace):
    def create(self, role: str, environment: str = "live",
               name: str | None = None) -> WavisObject:
        """A new API key; the answer's `api_key` is shown only this once."""
        body = {"role": role, "environment": environment} | ({"name": name} if name else {})
        return self._run(self._ops.obj("POST", "/api-keys", body))

    def list(self, *, limit: int = 20) -> Iterator[WavisObject]:
        return self._client.iterate(lambda c: self._ops.page("/api-keys", as_object, limit, c))

    def revoke(self, prefix: str) -> None:
        self._run(self._ops.request("DELETE", f"/api-keys/{prefix}"))

    def rotate(self) -> WavisObject:
        """Rotate the calling key: the old one keeps working for the grace period."""
        return self._run(self._ops.obj("POST", "/keys/apikey/rotate"))


class Onboarding(_Namespace):
    def temp_key(self) -> WavisObject:
        """A trial key (30 minutes, 10 operations), without authentication."""
        return self._run(self._ops.obj("POST", "/onboarding/temp-key", auth=False))
