"""The CkksComputeService servicer and the service's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import grpc.aio

from services.ckks_compute.ciphertexts import CiphertextStore, StoredCiphertext
from services.ckks_compute.compute import (
    Calculator,
    ComputeInput,
    ComputeOutput,
    DecryptionSettings,
)
from services.ckks_compute.decryptions import DecryptionBudget
from services.ckks_compute.engine import CkksEngine
from services.ckks_compute.operations import Operations
from services.ckks_compute.program import parse
from services.ckks_compute.programs import (
    ProgramOutcome,
    Programs,
    result_from_json,
    result_to_json,
)
from services.ckks_compute.settings import CkksSettings
from wavis.core.ckks_programs import step_ref
from wavis.core.event_schemas import event_data
from wavis.core.events import EventPublisher
from wavis.core.grpc_client import open_channel
from wavis.core.grpc_server import ServiceContext
from wavis.core.ids import new_id
from wavis.core.key_deletions import follow_key_deletions
from wavis.core.redis_client import open_redis
from wavis.core.usage_meter import Charge, UsageMeter
from wavis.fhe.engine import fhe_engine_description
from wavis.fhe.workers import FheWorkerPool
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2 as pb
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2_grpc
from wavis.generated.keys.v1 import keys_pb2_grpc
from wavis.generated.metering.v1 import usage_pb2_grpc

log = logging.getLogger(__name__)


def ciphertext_message(stored: StoredCiphertext, data: bytes | None = None) -> pb.Ciphertext:
    return pb.Ciphertext(ciphertext_id=stored.ciphertext_id, key_id=stored.key_id,
                         level=stored.level, noise_budget_remaining=stored.budget_pct,
                         size_bytes=stored.size, expires_at=stored.expires_at,
                         data=data or b"", insecure_key=stored.insecure_key)


def result_message(output: ComputeOutput, with_data: bool, charge: Charge) -> pb.OperationResult:
    return pb.OperationResult(
        result=ciphertext_message(output.result, output.data if with_data else None),
        compute_time_ms=output.compute_time_ms, evicted_ciphertext_ids=output.evicted,
        bootstrap_applied=output.bootstrap_applied,
        bootstrap_effective_degree=output.bootstrap_effective_degree,
        bootstrap_degraded=output.bootstrap_degraded, cost_units=charge.cost_units,
        cost_usd=charge.cost_usd, cost_jpy=charge.cost_jpy)


def _result_from_json(result: dict[str, Any]) -> pb.OperationResult:
    message = pb.OperationResult()
    message.result.CopyFrom(pb.Ciphertext(**result["result"]))
    message.compute_time_ms = result["compute_time_ms"]
    message.evicted_ciphertext_ids.extend(result["evicted_ciphertext_ids"])
    for name in ("bootstrap_applied", "bootstrap_effective_degree", "bootstrap_degraded",
                 "cost_units", "cost_usd", "cost_jpy"):
        setattr(message, name, result.get(name, getattr(message, name)))
    return message


def _result_to_json(output: ComputeOutput, charge: Charge) -> dict[str, Any]:
    stored = output.result
    return {"result": {"ciphertext_id": stored.ciphertext_id, "key_id": stored.key_id,
                       "level": stored.level, "noise_budget_remaining": stored.budget_pct,
                       "size_bytes": stored.size, "expires_at": stored.expires_at,
                       "insecure_key": stored.insecure_key},
            "compute_time_ms": output.compute_time_ms,
            "evicted_ciphertext_ids": output.evicted,
            "bootstrap_applied": output.bootstrap_applied,
            "bootstrap_effective_degree": output.bootstrap_effective_degree,
            "bootstrap_degraded": output.bootstrap_degraded,
            "cost_units": charge.cost_units, "cost_usd": charge.cost_usd,
            "cost_jpy": charge.cost_jpy}


def program_result_message(outcome: ProgramOutcome, charge: Charge, discounted: bool,
                           ) -> pb.ProgramResult:
    return pb.ProgramResult(
        outputs=[pb.ProgramOutput(ref=step_ref(output.step),
                                  result=ciphertext_message(output.stored, output.data))
                 for output in outcome.outputs],
        steps_evaluated=outcome.steps_evaluated, compute_time_ms=outcome.compute_time_ms,
        evicted_ciphertext_ids=outcome.evicted, cost_units=charge.cost_units,
        cost_usd=charge.cost_usd, cost_jpy=charge.cost_jpy, discount_applied=discounted)


class CkksComputeServicer(ckks_compute_pb2_grpc.CkksComputeServiceServicer):
    def __init__(self, context: ServiceContext, calculator: Calculator, operations: Operations,
                 events: EventPublisher, meter: UsageMeter) -> None:
        self.context = context
        self.meter = meter
        self.programs = Programs(calculator)
        self.calculator = calculator
        self.operations = operations
        self.events = events

    async def Describe(self, request: pb.DescribeRequest,
                       grpc_context: grpc.aio.ServicerContext) -> pb.DescribeResponse:
        try:
            usage = await self.calculator.store.usage_pct()
        except Exception:  # Redis down: still describe the replica
            usage = 0.0
        return pb.DescribeResponse(info=self.context.service_info(),
                                   active_jobs=len(self.operations.tasks),
                                   ciphertext_cache_usage_pct=min(100.0, usage))

    async def UploadCiphertext(self, request: pb.UploadCiphertextRequest,
                               grpc_context: grpc.aio.ServicerContext,
                               ) -> pb.UploadCiphertextResponse:
        stored, evicted = await self.calculator.upload(request.account_id, request.key_id,
                                                       request.data)
        return pb.UploadCiphertextResponse(ciphertext=ciphertext_message(stored),
                                           evicted_ciphertext_ids=evicted)

    async def EncryptValues(self, request: pb.EncryptValuesRequest,
                            grpc_context: grpc.aio.ServicerContext) -> pb.EncryptValuesResponse:
        stored, evicted = await self.calculator.encrypt(request.account_id, request.key_id,
                                                        list(request.values))
        return pb.EncryptValuesResponse(ciphertext=ciphertext_message(stored),
                                        evicted_ciphertext_ids=evicted)

    async def GetCiphertext(self, request: pb.GetCiphertextRequest,
                            grpc_context: grpc.aio.ServicerContext) -> pb.GetCiphertextResponse:
        if request.include_data and request.compact:
            stored, data = await self.calculator.compact(request.account_id,
                                                         request.ciphertext_id)
            return pb.GetCiphertextResponse(ciphertext=ciphertext_message(stored, data))
        stored = await self.calculator.store.get(request.account_id, request.ciphertext_id,
                                                 with_data=request.include_data)
        return pb.GetCiphertextResponse(ciphertext=ciphertext_message(stored, stored.data))

    async def DeleteCiphertext(self, request: pb.DeleteCiphertextRequest,
                               grpc_context: grpc.aio.ServicerContext,
                               ) -> pb.DeleteCiphertextResponse:
        await self.calculator.store.delete(request.account_id, request.ciphertext_id)
        self.calculator.engine.forget_ciphertext(request.ciphertext_id)
        return pb.DeleteCiphertextResponse()

    async def DecryptCiphertext(self, request: pb.DecryptCiphertextRequest,
                                grpc_context: grpc.aio.ServicerContext,
                                ) -> pb.DecryptCiphertextResponse:
        decryption = await self.calculator.decrypt(
            request.account_id, request.ciphertext_id, int(request.count),
            request.noise_margin_bits if request.HasField("noise_margin_bits") else None)
        return pb.DecryptCiphertextResponse(
            values=decryption.values, precision_bits=decryption.precision_bits,
            insecure_key=decryption.insecure_key,
            decryptions_remaining=decryption.decryptions_remaining,
            noise_margin_bits=decryption.margin_bits)

    async def Compute(self, request: pb.ComputeRequest,
                      grpc_context: grpc.aio.ServicerContext) -> pb.ComputeResponse:
        work = ComputeInput(
            account_id=request.account_id, operation=request.operation, key_id=request.key_id,
            ciphertext_ids=list(request.ciphertext_ids),
            plain_operand=list(request.plain_operand) if request.has_plain_operand else None,
            polynomial_coeffs=list(request.polynomial_coeffs),
            scale_stable=request.scale_stable, rotation_steps=int(request.rotation_steps),
            matrix=[list(row.values) for row in request.matrix] or None,
            compact=request.return_ciphertext and request.compact)
        op_id = request.op_id or new_id("op")
        key = await self.calculator.key_for(work)
        preparation = self.calculator.prepare(work, key)  # refusals answer now, queued or not
        fcu = self.calculator.fcu(work, key)
        if not request.run_async:
            if request.skip_metering:
                output, charge = await self.calculator.execute(await preparation), Charge(op_id)
            else:  # the FCU is reserved and recorded while the operands load; a failed or
                # cancelled op costs nothing
                output, charge = await self.meter.metered(
                    preparation, self.calculator.execute, account_id=work.account_id,
                    op_id=op_id, operation=work.operation, fcu=fcu,
                    discard=self.calculator.discard)
            return pb.ComputeResponse(op_id=op_id, status="completed", result=result_message(
                output, request.return_ciphertext, charge))
        if request.skip_metering:
            prepared, charge = await preparation, Charge(op_id)
        else:  # held until the queued work ends (committed or released)
            prepared, charge = await self.meter.reserve_during(
                preparation, account_id=work.account_id, op_id=op_id,
                operation=work.operation, fcu=fcu, record=False)

        async def run() -> dict[str, Any]:
            return _result_to_json(await self.calculator.execute(prepared), charge)

        async def finished(record: dict[str, Any]) -> None:
            if not request.skip_metering:
                await self._settle_usage(work.account_id, op_id,
                                         record["status"] == "completed")
            await self._operation_event(record)

        try:
            await self.operations.submit(op_id, work.account_id, work.operation, work.key_id,
                                         run, finished)
        except BaseException:
            await self.meter.give_back(work.account_id, charge)
            raise
        return pb.ComputeResponse(op_id=op_id, status="pending")

    async def ExecuteProgram(self, request: pb.ExecuteProgramRequest,
                             grpc_context: grpc.aio.ServicerContext,
                             ) -> pb.ExecuteProgramResponse:
        program = parse(request)  # malformed programs are refused before anything loads
        op_id = request.op_id or new_id("op")
        key = await self.programs.key_for(program)
        preparation = self.programs.prepare(program, key)  # refusals answer now, queued or not
        discounted = program.discounted and not request.skip_metering
        account_id = program.account_id

        async def execute(prepared: Any) -> ProgramOutcome:
            return await self.programs.execute(prepared, request.return_ciphertext,
                                               request.compact)

        if not request.run_async:
            if request.skip_metering:
                outcome, charge = await execute(await preparation), Charge(op_id)
            else:  # reserved once for the whole program, as for one operation
                outcome, charge = await self.meter.metered(
                    preparation, execute, account_id=account_id, op_id=op_id,
                    operation="program", fcu=program.fcu,
                    discard=self.programs.discard)
            return pb.ExecuteProgramResponse(op_id=op_id, status="completed", result=(
                program_result_message(outcome, charge, discounted)))
        if request.skip_metering:
            prepared, charge = await preparation, Charge(op_id)
        else:  # held until the queued program ends (committed or released)
            prepared, charge = await self.meter.reserve_during(
                preparation, account_id=account_id, op_id=op_id, operation="program",
                fcu=program.fcu, record=False)

        async def run() -> dict[str, Any]:
            outcome = await execute(prepared)
            return result_to_json(program_result_message(outcome, charge, discounted))

        async def finished(record: dict[str, Any]) -> None:
            if not request.skip_metering:
                await self._settle_usage(program.account_id, op_id,
                                         record["status"] == "completed")
            await self._operation_event(record)

        async def discard(result: dict[str, Any]) -> None:
            for output in result.get("outputs", []):
                await self.programs.discard_ciphertext(program.account_id,
                                                       output["result"]["ciphertext_id"])

        try:
            await self.operations.submit(op_id, program.account_id, "program", program.key_id,
                                         run, finished, interruptible=True, discard=discard)
        except BaseException:
            await self.meter.give_back(program.account_id, charge)
            raise
        return pb.ExecuteProgramResponse(op_id=op_id, status="pending")

    async def _operation_event(self, record: dict[str, Any]) -> None:
        """compute_complete or compute_failed for an operation that ended so."""
        common = {"op_id": record["op_id"], "operation": record["operation"],
                  "key_id": record["key_id"]}
        if record["status"] == "completed":
            result = record["result"]
            ids = ([output["result"]["ciphertext_id"] for output in result["outputs"]]
                   if record["operation"] == "program" else [result["result"]["ciphertext_id"]])
            event_type = "compute_complete"
            data = event_data(event_type, **common, result_ciphertext_id=ids[0],
                              result_ciphertext_ids=ids, cost_units=int(result["cost_units"]),
                              cost_usd=float(result["cost_usd"]))
        elif record["status"] == "failed":
            event_type = "compute_failed"
            data = event_data(event_type, **common, error={
                "code": record["error_code"], "message": record["error_message"]})
        else:
            return
        await self.events.publish_or_log(record["account_id"], event_type, data)

    async def operation_lost(self, record: dict[str, Any]) -> None:
        """An operation whose replica died before settling it: a completed one is billed
        (CommitUsage is idempotent), any other given back; its event fires (at least once:
        the replica may have sent it before it died)."""
        await self._settle_usage(record["account_id"], record["op_id"],
                                 completed=record["status"] == "completed")
        await self._operation_event(record)

    async def _settle_usage(self, account_id: str, op_id: str, completed: bool) -> None:
        """Record a completed async op's reserved FCU; give it back otherwise."""
        try:
            if completed:
                await self.meter.commit(account_id, op_id)
            else:
                await self.meter.release(account_id, op_id)
        except grpc.RpcError as exc:  # an unsettled reservation expires by itself
            log.error("could not settle usage of %s: %s", op_id, exc)

    async def GetOperation(self, request: pb.GetOperationRequest,
                           grpc_context: grpc.aio.ServicerContext) -> pb.GetOperationResponse:
        record = await self.operations.get(request.account_id, request.op_id)
        reply = pb.GetOperationResponse(
            op_id=record["op_id"], operation=record["operation"], status=record["status"],
            key_id=record["key_id"], error_code=record.get("error_code", ""),
            error_message=record.get("error_message", ""))
        if record.get("result") and record["operation"] == "program":
            reply.program_result.CopyFrom(result_from_json(record["result"]))
        elif record.get("result"):
            reply.result.CopyFrom(_result_from_json(record["result"]))
        return reply

    async def CancelOperation(self, request: pb.CancelOperationRequest,
                              grpc_context: grpc.aio.ServicerContext,
                              ) -> pb.CancelOperationResponse:
        status = await self.operations.cancel(request.account_id, request.op_id)
        return pb.CancelOperationResponse(status=status)


async def _drop_key(calculator: Calculator, key_id: str) -> None:
    """A deleted key: its ciphertexts and loaded material go."""
    removed = await calculator.store.delete_key(key_id)
    await calculator.decryptions.forget(key_id)
    await calculator.engine.forget_key(key_id)
    log.info("key %s deleted: dropped %d ciphertexts", key_id, removed)


@asynccontextmanager
async def lifespan(context: ServiceContext) -> AsyncIterator[None]:
    settings = context.settings
    assert isinstance(settings, CkksSettings)
    context.fhe_engine = fhe_engine_description()
    # The ciphertext cache may live in a Redis of its own (no AOF): see
    # docs/decisions/0011-ciphertexts-in-a-redis-of-their-own.md.
    redis_bytes = open_redis(settings, tracer_provider=context.tracer_provider,
                             url=settings.ciphertext_redis_url or None)
    redis_text = open_redis(settings, decode_responses=True,
                            tracer_provider=context.tracer_provider)
    keys_channel = open_channel(settings.keys_target, tracer_provider=context.tracer_provider)
    keys = keys_pb2_grpc.KeysServiceStub(keys_channel)
    metering_channel = open_channel(settings.metering_target,
                                    tracer_provider=context.tracer_provider)
    engine = CkksEngine(keys, settings.compute_threads, settings.key_cache_bytes,
                        settings.ciphertext_cache_bytes)
    # The worker only reads uploaded ciphertexts (2 MB at most, with their context).
    pool = FheWorkerPool(1, settings.omp_num_threads, memory_limit_bytes=2 * 1024 ** 3)
    store = CiphertextStore(redis_bytes, settings.ciphertext_store_bytes,
                            settings.ciphertext_ttl_seconds)
    calculator = Calculator(engine, store, pool, DecryptionBudget(redis_text),
                            DecryptionSettings(settings.decryptions_per_key,
                                               settings.decryption_security_bits,
                                               settings.decryption_margin_bits))
    events = EventPublisher(settings.webhooks_target)
    # With tracing on, each reservation stays a call of its own (a span in the trace).
    meter = UsageMeter(usage_pb2_grpc.UsageServiceStub(metering_channel),
                       streamed=context.tracer_provider is None)
    operations = Operations(redis_text, settings.operation_ttl_seconds,
                            lease_seconds=settings.operation_lease_seconds,
                            slots=settings.compute_threads)
    servicer = CkksComputeServicer(context, calculator, operations, events, meter)
    operations.lost = servicer.operation_lost
    ckks_compute_pb2_grpc.add_CkksComputeServiceServicer_to_server(servicer, context.server)
    leases = asyncio.create_task(operations.keep_leases())
    watcher = asyncio.create_task(follow_key_deletions(
        keys, dropped=lambda key_id: _drop_key(calculator, key_id),
        in_use=calculator.store.keys_in_use))
    try:
        yield
    finally:
        leases.cancel()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        for task in list(operations.tasks.values()):
            task.cancel()
        engine.close()
        pool.close()
        await events.close()
        await meter.close()
        await keys_channel.close()
        await metering_channel.close()
        await redis_bytes.aclose()
        await redis_text.aclose()


