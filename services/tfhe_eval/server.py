"""The TfheEvalService servicer and the service's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import grpc.aio

from services.tfhe_eval import evaluator
from services.tfhe_eval.ciphertext_tags import CiphertextTags
from services.tfhe_eval.keycache import KeyCache
from services.tfhe_eval.service import READY, TfheService
from services.tfhe_eval.sessions import SessionStore
from services.tfhe_eval.settings import TfheSettings
from wavis.core.grpc_client import open_channel
from wavis.core.grpc_server import ServiceContext
from wavis.core.ids import new_id
from wavis.core.key_deletions import follow_key_deletions
from wavis.core.pricing import batch_fcu, tfhe_fcu
from wavis.core.redis_client import open_redis
from wavis.core.secrets import require_secret
from wavis.core.tfhe_catalog import GATE_BOOTSTRAPS
from wavis.core.usage_meter import Charge, UsageMeter
from wavis.fhe.engine import fhe_engine_description
from wavis.fhe.workers import FheWorkerPool
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc
from wavis.generated.metering.v1 import usage_pb2_grpc
from wavis.generated.tfhe_eval.v1 import tfhe_eval_pb2 as pb
from wavis.generated.tfhe_eval.v1 import tfhe_eval_pb2_grpc

log = logging.getLogger(__name__)

RESULTS_PER_MESSAGE = 256  # 256 x 4,521 bytes (STD128, tagged) stays well under 4 MB


def session_message(record: dict[str, Any], idle_seconds: int) -> pb.Session:
    return pb.Session(session_id=record["session_id"], preset=record["preset"],
                      n=record["n"], big_n=record["big_n"], is_blind=record["is_blind"],
                      key_id=record["key_id"], security_bits=record["security_bits"],
                      idle_timeout_seconds=idle_seconds, replica=record.get("replica", ""),
                      status=record.get("status", READY), failure=record.get("failure", ""))


class TfheEvalServicer(tfhe_eval_pb2_grpc.TfheEvalServiceServicer):
    def __init__(self, context: ServiceContext, service: TfheService,
                 meter: UsageMeter) -> None:
        self.context = context
        self.service = service
        self.meter = meter

    def _session(self, record: dict[str, Any]) -> pb.Session:
        return session_message(record, self.service.sessions.idle_seconds)

    async def Describe(self, request: pb.DescribeRequest,
                       grpc_context: grpc.aio.ServicerContext) -> pb.DescribeResponse:
        cache = self.service.cache
        return pb.DescribeResponse(info=self.context.service_info(),
                                   active_sessions=self.service.active_sessions(),
                                   loaded_keys=len(cache.entries),
                                   loaded_key_bytes=cache.loaded_bytes,
                                   workers=self.service.workers)

    async def CreateSession(self, request: pb.CreateSessionRequest,
                            grpc_context: grpc.aio.ServicerContext) -> pb.SessionResponse:
        record = await self.service.create_session(
            request.account_id, request.preset,
            keys_pb2.KeyLimits(max_keys=request.max_keys, max_key_bytes=request.max_key_bytes))
        return pb.SessionResponse(session=self._session(record))

    async def CreateEvalSession(self, request: pb.CreateEvalSessionRequest,
                                grpc_context: grpc.aio.ServicerContext) -> pb.SessionResponse:
        record = await self.service.create_eval_session(request)
        return pb.SessionResponse(session=self._session(record))

    async def GetSession(self, request: pb.GetSessionRequest,
                         grpc_context: grpc.aio.ServicerContext) -> pb.SessionResponse:
        record = await self.service.session(request.account_id, request.session_id,
                                            usable=False)
        return pb.SessionResponse(session=self._session(record))

    async def DeleteSession(self, request: pb.DeleteSessionRequest,
                            grpc_context: grpc.aio.ServicerContext,
                            ) -> pb.DeleteSessionResponse:
        record = await self.service.delete_session(request.account_id, request.session_id)
        return pb.DeleteSessionResponse(session=self._session(record))

    async def Encrypt(self, request: pb.EncryptRequest,
                      grpc_context: grpc.aio.ServicerContext) -> pb.EncryptResponse:
        ciphertexts, record = await self.service.encrypt(
            request.account_id, request.session_id, list(request.bits), request.plaintext_modulus)
        return pb.EncryptResponse(ciphertexts=ciphertexts, session=self._session(record))

    async def Decrypt(self, request: pb.DecryptRequest,
                      grpc_context: grpc.aio.ServicerContext) -> pb.DecryptResponse:
        bits, record = await self.service.decrypt(request.account_id, request.session_id,
                                                  list(request.ciphertexts))
        return pb.DecryptResponse(bits=bits, session=self._session(record))

    async def _evaluate(self, request: pb.EvaluateGateRequest | pb.EvaluateBatchRequest,
                        gates: list[pb.Gate], batch: bool,
                        ) -> tuple[evaluator.BatchOutcome, dict[str, Any], Charge, bool]:
        """Reserve the FCU while the session loads and the gates are checked, evaluate,
        and give the charge back if the evaluation fails (UsageMeter.metered)."""
        op_id = request.op_id or new_id("op")
        preparation = self.service.prepare(request.account_id, request.session_id, gates,
                                           batch=batch)
        bootstraps = [GATE_BOOTSTRAPS.get(gate.op.upper(), 0) for gate in gates]
        fcu, discounted = batch_fcu(bootstraps) if batch else (tfhe_fcu(bootstraps[0]), False)

        async def execute(prepared: tuple[dict[str, Any], list[evaluator.ParsedGate]],
                          ) -> tuple[evaluator.BatchOutcome, dict[str, Any]]:
            return await self.service.evaluate(*prepared), prepared[0]

        if request.skip_metering:
            (outcome, record), charge = await execute(await preparation), Charge(op_id)
        else:
            operation = "tfhe_batch" if batch else f"tfhe_{gates[0].op.lower()}"
            (outcome, record), charge = await self.meter.metered(
                preparation, execute, account_id=request.account_id, op_id=op_id,
                operation=operation, fcu=fcu)
        return outcome, record, charge, discounted

    async def EvaluateGate(self, request: pb.EvaluateGateRequest,
                           grpc_context: grpc.aio.ServicerContext) -> pb.EvaluateGateResponse:
        outcome, record, charge, _ = await self._evaluate(request, [request.gate], False)
        return pb.EvaluateGateResponse(result=outcome.outputs[0],
                                       bootstraps=outcome.bootstraps,
                                       compute_time_ms=round(outcome.seconds * 1000, 3),
                                       session=self._session(record),
                                       cost_units=charge.cost_units, cost_usd=charge.cost_usd,
                                       cost_jpy=charge.cost_jpy)

    async def EvaluateBatch(self, request: pb.EvaluateBatchRequest,
                            grpc_context: grpc.aio.ServicerContext,
                            ) -> AsyncIterator[pb.EvaluateBatchResponse]:
        outcome, record, charge, discounted = await self._evaluate(
            request, list(request.gates), True)
        outputs = outcome.outputs
        for start in range(0, len(outputs), RESULTS_PER_MESSAGE):
            last = start + RESULTS_PER_MESSAGE >= len(outputs)
            message = pb.EvaluateBatchResponse(
                results=outputs[start:start + RESULTS_PER_MESSAGE], done=last)
            if last:
                message.bootstraps = outcome.bootstraps
                message.compute_time_ms = round(outcome.seconds * 1000, 3)
                message.levels = outcome.levels
                message.session.CopyFrom(self._session(record))
                message.cost_units = charge.cost_units
                message.cost_usd = charge.cost_usd
                message.cost_jpy = charge.cost_jpy
                message.discount_applied = discounted
            yield message


async def _unload_key(service: TfheService, key_id: str) -> None:
    """A deleted key is unloaded (its sessions answer SESSION_NOT_FOUND on their next use)."""
    if service.cache.forget(key_id):
        log.info("key %s deleted: unloaded", key_id)
        await service.trim_workers()


async def _loaded_keys(service: TfheService) -> dict[str, str]:
    return service.cache.keys_in_use()


async def _sweep_sessions(service: TfheService, every: float) -> None:
    """Delete the keys of sessions that ended idle, for as long as we run."""
    while True:
        await asyncio.sleep(every)
        try:
            ended = await service.sweep()
            if ended:
                log.info("%d idle TFHE sessions ended", ended)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis or keys down: try again next round
            log.warning("session sweep failed: %s", exc)


@asynccontextmanager
async def lifespan(context: ServiceContext) -> AsyncIterator[None]:
    settings = context.settings
    assert isinstance(settings, TfheSettings)
    # Every replica tags with the same secret (docs/decisions/0029-secrets-generated-in-
    # development.md), so any replica takes a ciphertext another issued.
    tags = CiphertextTags(require_secret(
        settings.ciphertext_secret, "WAVIS_TFHE_CIPHERTEXT_SECRET", "tfhe_ciphertext_secret",
        production=settings.is_production, data_dir=settings.data_dir))
    context.fhe_engine = fhe_engine_description()
    redis = open_redis(settings, tracer_provider=context.tracer_provider)
    keys_channel = open_channel(settings.keys_target, tracer_provider=context.tracer_provider)
    keys = keys_pb2_grpc.KeysServiceStub(keys_channel)
    metering_channel = open_channel(settings.metering_target,
                                    tracer_provider=context.tracer_provider)
    # With tracing on, each reservation stays a call of its own (a span in the trace).
    meter = UsageMeter(usage_pb2_grpc.UsageServiceStub(metering_channel),
                       streamed=context.tracer_provider is None)
    # A worker holds at most the cached keys, plus room for a call's work.
    pool = FheWorkerPool(settings.workers, settings.omp_num_threads,
                         memory_limit_bytes=settings.key_cache_bytes + 2 * 1024 ** 3)
    cache = KeyCache(keys, settings.data_dir / "tfhe-cache" / context.instance_id.replace(
        ":", "-"), settings.key_cache_bytes, settings.workers)
    service = TfheService(keys, SessionStore(redis, settings.session_idle_seconds), cache,
                          pool, settings.workers, context.instance_id,
                          settings.keygen_timeout_seconds, tags)
    tfhe_eval_pb2_grpc.add_TfheEvalServiceServicer_to_server(
        TfheEvalServicer(context, service, meter), context.server)
    tasks = [asyncio.create_task(follow_key_deletions(
                 keys, dropped=lambda key_id: _unload_key(service, key_id),
                 in_use=lambda: _loaded_keys(service))),
             asyncio.create_task(_sweep_sessions(
                 service, min(30.0, max(0.5, settings.session_idle_seconds / 4))))]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        pool.close()
        cache.close()
        await meter.close()
        await keys_channel.close()
        await metering_channel.close()
        await redis.aclose()
