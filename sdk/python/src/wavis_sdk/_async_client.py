"""`AsyncClient`: the WAVIS API over httpx.AsyncClient, with the same namespaces and methods
as `Client` (`_client`), awaited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
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
from wavis_sdk._inference_client import AsyncModels
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
from wavis_sdk._operation_handles import AsyncOperation
from wavis_sdk._ops import Ops, ProgressCallback, key_id_of, op_id_of
from wavis_sdk.ckks import CkksKeys
from wavis_sdk.program import Program
from wavis_sdk.tfhe import TfheKeys


class AsyncClient:
    """The WAVIS API for asyncio: the same namespaces and methods as `Client`, awaited."""

    is_async = True

    def __init__(self, api_key: str | None = None, base_url: str | None = None, *,
                 timeout: float = 60.0, max_retries: int = 3, retry: RetryPolicy | None = None,
                 idempotency_keys: bool = True, state_dir: str | None = None,
                 default_headers: Mapping[str, str] | None = None,
                 http_client: httpx.AsyncClient | None = None) -> None:
        self._setup(_config(api_key, base_url, timeout, max_retries, retry, idempotency_keys,
                            state_dir, default_headers),
                    http_client or httpx.AsyncClient(), owns_http=http_client is None)

    def _setup(self, config: Config, http: httpx.AsyncClient, owns_http: bool) -> None:
        self.config = config
        self._http = http
        self._owns_http = owns_http
        self._ops = Ops(config)
        self.keys = AsyncKeys(self)
        self.ciphertexts = AsyncCiphertexts(self)
        self.compute = AsyncCompute(self)
        self.operations = AsyncOperations(self)
        self.tfhe = AsyncTfhe(self)
        self.billing = AsyncBilling(self)
        self.webhooks = AsyncWebhooks(self)
        self.api_keys = AsyncApiKeys(self)
        self.onboarding = AsyncOnboarding(self)
        self.models = AsyncModels(self)

    def with_options(self, *, api_key: str | None = None, timeout: float | None = None,
                     max_retries: int | None = None, idempotency_key: str | None = None,
                     idempotency_keys: bool | None = None) -> AsyncClient:
        other = AsyncClient.__new__(AsyncClient)
        other._setup(_options(self.config, api_key, timeout, max_retries, idempotency_key,
                              idempotency_keys), self._http, owns_http=False)
        return other

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def health(self) -> WavisObject:
        return await self.run(self._ops.obj("GET", "/health", auth=False))

    def program(self, key: Any, *, scale_stable: bool = True, return_ciphertext: bool = False,
                compact: bool = False) -> Program:
        """As Client.program; it runs when its `async with` block ends."""
        return Program(key, scale_stable=scale_stable, return_ciphertext=return_ciphertext,
                       compact=compact, client=self)

    async def run(self, op: Op[T]) -> T:
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                effect = op.send(value) if error is None else op.throw(error)
                value, error = None, None
                if isinstance(effect, Attempt):
                    value = await self._attempt(effect.request)
                elif isinstance(effect, Sleep):
                    await asyncio.sleep(effect.seconds)
                elif isinstance(effect, Blocking):
                    try:
                        value = await asyncio.to_thread(effect.work)
                    except Exception as exc:  # the operation may clean up or handle it
                        error = exc
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            op.close()  # also when the task is cancelled mid-wait

    async def _attempt(self, prepared: Prepared) -> Response | TransportFailure:
        content: Any = prepared.body
        if prepared.file is not None:
            content = _async_chunks(prepared.file.chunks())
        try:
            reply = await self._http.request(prepared.method, prepared.url,
                                             headers=prepared.headers, content=content,
                                             timeout=_timeout(prepared))
        except httpx.TransportError as error:
            return _failure(error)
        return _response(reply)

    async def iterate(self, fetch: Callable[[str | None], Op[Page[T]]]) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            page = await self.run(fetch(cursor))
            for item in page.data:
                yield item
            if not page.has_more or not page.next_cursor:
                return
            cursor = page.next_cursor


async def _async_chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    # Reads of 1 MiB (FileSlice.chunks) on a worker thread: the event loop never waits for the disk.
    while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
        yield chunk


class _AsyncNamespace:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._ops = client._ops
        self._run = client.run


class AsyncKeys(_AsyncNamespace):
    async def generate_ckks(self, poly_degree: int, scale_bits: int, max_depth: int,
                            security_level: str = "128-bit", *,
                            rotations: Sequence[int] | None = None,
                            bootstrappable: bool = False, wait: bool = True,
                            timeout: float | None = 600.0) -> Key:
        return await self._run(self._ops.generate_ckks_key(
            poly_degree, scale_bits, max_depth, security_level, rotations, bootstrappable,
            wait, timeout))

    async def generate_tfhe(self, preset: str = "toy", *, wait: bool = True,
                            timeout: float | None = 600.0) -> Key:
        return await self._run(self._ops.generate_tfhe_key(preset, wait, timeout))

    async def upload(self, keys: CkksKeys | TfheKeys, *,
                     progress: ProgressCallback | None = None) -> Key:
        if isinstance(keys, CkksKeys):
            return await self._run(self._ops.upload_ckks_key(keys, progress))
        return await self._run(self._ops.upload_tfhe_key(keys, progress))

    async def upload_file(self, path: str, *, scheme: str, kind: str,
                          progress: ProgressCallback | None = None, resume: bool = True) -> Key:
        return await self._run(self._ops.upload_file(path, scheme, kind, progress, resume))

    async def upload_status(self, upload_id: str) -> WavisObject:
        return await self._run(self._ops.obj("GET", f"/keys/uploads/{upload_id}"))

    async def get(self, key_id: str) -> Key:
        return await self._run(self._ops.get_key(key_id))

    async def wait(self, key_id: str, *, timeout: float | None = 600.0) -> Key:
        return await self._run(self._ops.wait_for_key(key_id, timeout))

    def list(self, *, limit: int = 20) -> AsyncIterator[Key]:
        return self._client.iterate(lambda c: self._ops.page("/keys", Key.parse, limit, c))

    async def delete(self, key: Any) -> None:
        await self._run(self._ops.delete_key(key_id_of(key)))


class AsyncCiphertexts(_AsyncNamespace):
    async def upload(self, data: Any, key: Any = None) -> Ciphertext:
        return await self._run(self._ops.upload_ciphertext(data, key))

    async def encrypt(self, key: Any, values: Sequence[float]) -> Ciphertext:
        return await self._run(self._ops.encrypt_values(key, values))

    async def get(self, ciphertext: Any, *, compact: bool = False) -> Ciphertext:
        return await self._run(self._ops.get_ciphertext(ciphertext, compact))

    async def decrypt(self, ciphertext: Any, count: int | None = None, *,
                      noise_margin_bits: int | None = None) -> Decrypted:
        return await self._run(self._ops.decrypt_ciphertext(ciphertext, count,
                                                            noise_margin_bits))

    async def delete(self, ciphertext: Any) -> None:
        await self._run(self._ops.delete_ciphertext(ciphertext))


class AsyncCompute(_AsyncNamespace):
    async def run(self, operation: str, key: Any, ciphertexts: Sequence[Any], *,
                  return_ciphertext: bool = False, **fields: Any) -> ComputeResult:
        return await self._run(self._ops.compute(
            operation, key, ciphertexts, {**fields, "return_ciphertext": return_ciphertext}))

    async def submit(self, operation: str, key: Any, ciphertexts: Sequence[Any],
                     **fields: Any) -> AsyncOperation:
        status = await self._run(self._ops.submit(operation, key, ciphertexts, fields))
        return AsyncOperation(self._client, status)

    async def add(self, key: Any, a: Any, b: Any, *, scale_stable: bool = False,
                  return_ciphertext: bool = False) -> ComputeResult:
        return await self.run("add", key, [a, b], scale_stable=scale_stable,
                              return_ciphertext=return_ciphertext)

    async def multiply(self, key: Any, a: Any, b: Any, *, scale_stable: bool = False,
                       return_ciphertext: bool = False) -> ComputeResult:
        return await self.run("multiply", key, [a, b], scale_stable=scale_stable,
                              return_ciphertext=return_ciphertext)

    async def add_plain(self, key: Any, a: Any, values: Sequence[float], *,
                        return_ciphertext: bool = False) -> ComputeResult:
        return await self.run("add-plain", key, [a], plain_operand=values,
                              return_ciphertext=return_ciphertext)

    async def multiply_plain(self, key: Any, a: Any, values: Sequence[float], *,
                             scale_stable: bool = False, return_ciphertext: bool = False,
                             ) -> ComputeResult:
        return await self.run("multiply-plain", key, [a], plain_operand=values,
                              scale_stable=scale_stable, return_ciphertext=return_ciphertext)

    async def negate(self, key: Any, a: Any, *,
                     return_ciphertext: bool = False) -> ComputeResult:
        return await self.run("negate", key, [a], return_ciphertext=return_ciphertext)

    async def rescale(self, key: Any, a: Any, *,
                      return_ciphertext: bool = False) -> ComputeResult:
        return await self.run("rescale", key, [a], return_ciphertext=return_ciphertext)

    async def rotate(self, key: Any, a: Any, steps: int, *,
                     return_ciphertext: bool = False) -> ComputeResult:
        return await self.run("rotate", key, [a], rotation_steps=steps,
                              return_ciphertext=return_ciphertext)

    async def matmul(self, key: Any, a: Any, matrix: Sequence[Sequence[float]], *,
                     scale_stable: bool = False,
                     return_ciphertext: bool = False) -> ComputeResult:
        return await self.run("matmul", key, [a], matrix=matrix, scale_stable=scale_stable,
                              return_ciphertext=return_ciphertext)

    async def poly_eval(self, key: Any, a: Any, coefficients: Sequence[float], *,
                        scale_stable: bool = False, return_ciphertext: bool = False,
                        ) -> ComputeResult:
        return await self.run("poly-eval", key, [a], polynomial_coeffs=coefficients,
                              scale_stable=scale_stable, return_ciphertext=return_ciphertext)

    async def bootstrap(self, key: Any, a: Any) -> AsyncOperation:
        return await self.submit("bootstrap", key, [a])

    async def program(self, key: Any, inputs: Mapping[str, Any],
                      steps: Sequence[Mapping[str, Any]], outputs: Sequence[str] | None = None,
                      *, return_ciphertext: bool = False, compact: bool = False,
                      ) -> ProgramResult:
        return await self._run(self._ops.program(self._ops.program_body(
            key, inputs, steps, outputs, return_ciphertext, compact)))

    async def run_program(self, program: Program) -> ProgramResult:
        program.result = await self._run(self._ops.run_program(program))
        return program.result

    async def submit_program(self, key: Any, inputs: Mapping[str, Any],
                             steps: Sequence[Mapping[str, Any]],
                             outputs: Sequence[str] | None = None) -> AsyncOperation:
        status = await self._run(self._ops.submit_program(self._ops.program_body(
            key, inputs, steps, outputs, False, False)))
        return AsyncOperation(self._client, status)


class AsyncOperations(_AsyncNamespace):
    async def get(self, op: Any) -> AsyncOperation:
        return AsyncOperation(self._client,
                              await self._run(self._ops.get_operation(op_id_of(op))))

    async def wait(self, op: Any, *, timeout: float | None = 600.0,
                   cancel_on_timeout: bool = False) -> ComputeResult:
        return await self._run(self._ops.wait_operation(op_id_of(op), timeout,
                                                        cancel_on_timeout))

    async def wait_program(self, op: Any, *, timeout: float | None = 600.0,
                           cancel_on_timeout: bool = False) -> ProgramResult:
        return await self._run(self._ops.wait_program(op_id_of(op), timeout,
                                                      cancel_on_timeout))

    async def cancel(self, op: Any) -> OperationStatus:
        return await self._run(self._ops.cancel_operation(op_id_of(op)))


class AsyncTfhe(_AsyncNamespace):
    async def create_session(self, preset: str = "toy", *,
                             timeout: float | None = 600.0) -> TfheSession:
        return await self._run(self._ops.create_session(preset, timeout))

    async def get_session(self, session_id: str) -> TfheSession:
        return await self._run(self._ops.get_session(session_id))

    async def create_eval_session(self, keys: Any, *, session_id: str | None = None,
                                  progress: ProgressCallback | None = None) -> TfheSession:
        return await self._run(self._ops.create_eval_session(keys, session_id, progress))

    async def delete_session(self, session: Any) -> None:
        await self._run(self._ops.delete_session(session))

    async def encrypt(self, session: Any, bits: Sequence[int], *,
                      plaintext_modulus: int | None = None) -> list[bytes]:
        return await self._run(self._ops.tfhe_encrypt(session, bits, plaintext_modulus))

    async def decrypt(self, session: Any, ciphertexts: Sequence[Any]) -> list[int]:
        return await self._run(self._ops.tfhe_decrypt(session, ciphertexts))

    async def gate(self, session: Any, op: str, a: Any, b: Any = None, c: Any = None, *,
                   sel: Any = None) -> GateResult:
        return await self._run(self._ops.gate(session, op, a, b, sel, c))

    async def batch(self, session: Any, circuit: Any) -> BatchResult:
        return await self._run(self._ops.batch(session, circuit))

    async def pricing(self) -> WavisObject:
        return await self._run(self._ops.obj("GET", "/tfhe/pricing", auth=False))


class AsyncBilling(_AsyncNamespace):
    async def usage(self, period: str | None = None) -> WavisObject:
        return await self._run(self._ops.obj("GET", "/billing/usage",
                                             params={"period": period} if period else None))

    async def balance(self) -> WavisObject:
        return await self._run(self._ops.obj("GET", "/billing/balance"))

    async def budget(self) -> WavisObject:
        return await self._run(self._ops.obj("GET", "/billing/budget"))

    async def set_budget(self, monthly_cap_usd: float, mode: str = "soft") -> WavisObject:
        return await self._run(self._ops.obj("POST", "/billing/budget", {
            "monthly_cap_usd": monthly_cap_usd, "mode": mode}))

    async def subscription(self) -> WavisObject:
        return await self._run(self._ops.obj("GET", "/billing/subscription"))

    async def subscribe(self, plan: str, email: str,
                        billing_cycle: str | None = None) -> WavisObject:
        body = {"plan": plan, "email": email} | (
            {"billing_cycle": billing_cycle} if billing_cycle else {})
        return await self._run(self._ops.obj("POST", "/billing/subscribe", body))

    async def cancel_subscription(self) -> WavisObject:
        return await self._run(self._ops.obj("DELETE", "/billing/subscription"))

    def invoices(self, *, limit: int = 20) -> AsyncIterator[WavisObject]:
        return self._client.iterate(
            lambda c: self._ops.page("/billing/invoices", as_object, limit, c))

    async def invoice(self, invoice_id: str) -> WavisObject:
        return await self._run(self._ops.obj("GET", f"/billing/invoices/{invoice_id}"))


class AsyncWebhooks(_AsyncNamespace):
    async def create(self, url: str, events: Sequence[str] | None = None,
                     secret: str | None = None) -> WavisObject:
        body: dict[str, Any] = {"url": url}
        if events is not None:
            body["events"] = list(events)
        if secret is not None:
            body["secret"] = secret
        return await self._run(self._ops.obj("POST", "/webhooks", body))

    def list(self, *, limit: int = 20) -> AsyncIterator[WavisObject]:
        return self._client.iterate(lambda c: self._ops.page("/webhooks", as_object, limit, c))

    async def get(self, webhook_id: str) -> WavisObject:
        return await self._run(self._ops.obj("GET", f"/webhooks/{webhook_id}"))

    async def update(self, webhook_id: str, *, url: str | None = None,
                     events: Sequence[str] | None = None,
                     enabled: bool | None = None) -> WavisObject:
        body: dict[str, Any] = {k: v for k, v in (("url", url), ("enabled", enabled))
                                if v is not None}
        if events is not None:
            body["events"] = list(events)
        return await self._run(self._ops.obj("PATCH", f"/webhooks/{webhook_id}", body))

    async def delete(self, webhook_id: str) -> None:
        await self._run(self._ops.request("DELETE", f"/webhooks/{webhook_id}"))

    async def regenerate_secret(self, webhook_id: str) -> WavisObject:
        return await self._run(self._ops.obj("PATCH",
                                             f"/webhooks/{webhook_id}/regenerate-secret"))

    async def send_test(self) -> WavisObject:
        return await self._run(self._ops.obj("POST", "/webhooks/test"))

    def events(self, *, limit: int = 20) -> AsyncIterator[WavisObject]:
        return self._client.iterate(
            lambda c: self._ops.page("/webhooks/events", as_object, limit, c))


class AsyncApiKeys(_AsyncNamespace):
    async def create(self, role: str, environment: str = "live",
                     name: str | None = None) -> WavisObject:
        body = {"role": role, "environment": environment} | ({"name": name} if name else {})
        return await self._run(self._ops.obj("POST", "/api-keys", body))

    def list(self, *, limit: int = 20) -> AsyncIterator[WavisObject]:
        return self._client.iterate(lambda c: self._ops.page("/api-keys", as_object, limit, c))

    async def revoke(self, prefix: str) -> None:
        await self._run(self._ops.request("DELETE", f"/api-keys/{prefix}"))

    async def rotate(self) -> WavisObject:
        return await self._run(self._ops.obj("POST", "/keys/apikey/rotate"))


class AsyncOnboarding(_AsyncNamespace):
    async def temp_key(self) -> WavisObject:
        return await self._run(self._ops.obj("POST", "/onboarding/temp-key", auth=False))
