"""The InferenceService servicer and the service's lifespan (the catalogue, loaded once, and
channels to keys and ckks-compute)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc.aio

from services.inference.catalogue import (
    BUILTIN_MODELS_DIR,
    Model,
    describe,
    load_catalogue,
)
from services.inference.predictions import (
    PREDICT_TIMEOUT_SECONDS,
    CompiledSteps,
    KeyRecords,
    check_key,
    program_request,
    program_steps,
)
from services.inference.settings import InferenceSettings
from wavis.core.errors import WavisError
from wavis.core.grpc_client import open_channel
from wavis.core.grpc_server import ServiceContext
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2_grpc
from wavis.generated.inference.v1 import inference_pb2 as pb
from wavis.generated.inference.v1 import inference_pb2_grpc
from wavis.generated.keys.v1 import keys_pb2_grpc

log = logging.getLogger(__name__)


def model_message(model: Model) -> pb.Model:
    entry = describe(model)
    message = pb.Model(
        model_id=entry["model_id"], name=entry["name"], version=entry["version"],
        task=entry["task"], dataset=entry["dataset"], description=entry["description"],
        n_features=entry["n_features"], n_outputs=entry["n_outputs"],
        classes=entry["classes"], input_layout=pb.Layout(**entry["input_layout"]),
        output_layout=pb.Layout(**entry["output_layout"]),
        key_requirements=pb.KeyRequirements(**entry["key_requirements"]),
        activations=[pb.Activation(
            node=a["node"], function=a["function"], range_low=a["range"][0],
            range_high=a["range"][1], degree=a["degree"], coefficients=a["coefficients"],
            max_error=a["max_error"]) for a in entry["activations"]],
        steps=entry["steps"], cost_units=entry["cost_units"], available=entry["available"])
    if entry["recommended_key"] is not None:
        message.recommended_key.CopyFrom(pb.RecommendedKey(**entry["recommended_key"]))
    accuracy: dict[str, Any] | None = entry["accuracy"]
    if accuracy is not None:
        message.accuracy.CopyFrom(pb.Accuracy(
            metric=accuracy["metric"], plaintext=accuracy["plaintext"],
            encrypted=accuracy["encrypted"], agreement=accuracy["agreement"],
            test_samples=accuracy["test_samples"],
            poly_degree=accuracy.get("key", {}).get("poly_degree", 0)))
    return message


class InferenceServicer(inference_pb2_grpc.InferenceServiceServicer):
    def __init__(self, context: ServiceContext, catalogue: dict[str, Model],
                 keys: keys_pb2_grpc.KeysServiceStub,
                 ckks: ckks_compute_pb2_grpc.CkksComputeServiceStub) -> None:
        self.context = context
        self.catalogue = catalogue
        self.messages = {model_id: model_message(model) for model_id, model in catalogue.items()}
        self.key_records = KeyRecords(keys)
        self.ckks = ckks
        self._compiled: dict[str, CompiledSteps] = {}

    def _model(self, model_id: str) -> Model:
        model = self.catalogue.get(model_id)
        if model is None:
            raise WavisError("MODEL_NOT_FOUND", f"No model {model_id!r} in the catalogue "
                             "(GET /api/v1/models lists them).", {"model_id": model_id})
        return model

    async def Describe(self, request: pb.DescribeRequest,
                       grpc_context: grpc.aio.ServicerContext) -> pb.DescribeResponse:
        return pb.DescribeResponse(info=self.context.service_info(),
                                   models=len(self.catalogue))

    async def ListModels(self, request: pb.ListModelsRequest,
                         grpc_context: grpc.aio.ServicerContext) -> pb.ListModelsResponse:
        return pb.ListModelsResponse(models=list(self.messages.values()))

    async def GetModel(self, request: pb.GetModelRequest,
                       grpc_context: grpc.aio.ServicerContext) -> pb.GetModelResponse:
        return pb.GetModelResponse(model=self.messages[self._model(request.model_id).model_id])

    async def Predict(self, request: pb.PredictRequest,
                      grpc_context: grpc.aio.ServicerContext) -> pb.PredictResponse:
        if not (request.account_id and request.key_id and request.ciphertext_id
                and request.op_id):
            raise WavisError("VALIDATION_ERROR", "account_id, key_id, ciphertext_id and op_id "
                             "are required.")
        model = self._model(request.model_id)
        key = await self.key_records.get(request.account_id, request.key_id)
        check_key(model, key)  # before any work: nothing is reserved or run
        slot_count = int(key.slot_count)
        compiled = self._compiled.get(model.model_id)
        if compiled is None:
            compiled = self._compiled[model.model_id] = program_steps(model)
        reply = await self.ckks.ExecuteProgram(program_request(
            request.account_id, request.key_id, request.ciphertext_id, compiled,
            request.run_async, request.op_id), timeout=PREDICT_TIMEOUT_SECONDS)
        layout = pb.Layout()  # the catalogue's, with the key's samples per ciphertext
        layout.CopyFrom(self.messages[model.model_id].output_layout)
        layout.samples_per_ciphertext = model.samples_per_ciphertext(slot_count)
        answer = pb.PredictResponse(op_id=reply.op_id, model_id=model.model_id,
                                    status=reply.status, output_layout=layout)
        if reply.status == "completed":
            result = reply.result
            output = result.outputs[0].result
            answer.result_ciphertext_id = output.ciphertext_id
            answer.compute_time_ms = result.compute_time_ms
            answer.cost_units = result.cost_units
            answer.cost_usd = result.cost_usd
            answer.cost_jpy = result.cost_jpy
            answer.noise_budget_remaining = output.noise_budget_remaining
            answer.level = output.level
            answer.insecure_key = output.insecure_key
        return answer


@asynccontextmanager
async def lifespan(context: ServiceContext) -> AsyncIterator[None]:
    settings = context.settings
    assert isinstance(settings, InferenceSettings)
    directories = [BUILTIN_MODELS_DIR] + ([settings.models_dir] if settings.models_dir else [])
    catalogue = load_catalogue(directories)
    log.info("catalogue: %d model(s): %s", len(catalogue), ", ".join(sorted(catalogue)))
    keys_channel = open_channel(settings.keys_target, tracer_provider=context.tracer_provider)
    ckks_channel = open_channel(settings.ckks_compute_target,
                                tracer_provider=context.tracer_provider)
    servicer = InferenceServicer(context, catalogue, keys_pb2_grpc.KeysServiceStub(keys_channel),
                                 ckks_compute_pb2_grpc.CkksComputeServiceStub(ckks_channel))
    inference_pb2_grpc.add_InferenceServiceServicer_to_server(servicer, context.server)
    try:
        yield
    finally:
        await keys_channel.close()
        await ckks_channel.close()
