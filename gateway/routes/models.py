"""Encrypted inference: the model catalogue (GET /models, GET /models/{model_id}) and
POST /models/{model_id}/predict, answered by the inference service.

A prediction is the model's CKKS program run by ckks-compute on a ciphertext of packed
samples, metered there like any program (docs/decisions/0086-inference-service-runs-
programs-on-ckks-compute.md); asynchronous predictions are polled and cancelled as operations
(GET and DELETE /compute/{op_id}).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import state
from gateway.body import read_body
from gateway.endpoints import Endpoint, Reply, refusal
from gateway.response_headers import LOCATION
from gateway.routes.compute import (
    _NOISE_HEADERS,
    COMPUTE_TIMEOUT_SECONDS,
    OP_ID_PREFIX,
    budget_headers,
)
from gateway.schemas import register_schemas
from gateway.usage import charged, metered_call
from wavis.core.ids import MODEL_ID_PATTERN, new_id
from wavis.core.roles import TRIAL
from wavis.core.usage_meter import Charge
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2 as ckks_pb
from wavis.generated.inference.v1 import inference_pb2 as pb

TASKS = ["binary-classification", "multiclass", "regression"]
OUTPUT_VALUES = ["logit", "probability", "scores", "value"]


def _layout(layout: pb.Layout, output: bool, prediction: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"block_size": layout.block_size,
                            "values_per_sample": layout.values_per_sample}
    if output:
        body["values"] = layout.values
        body["scale"] = layout.scale
    if prediction:
        body["samples_per_ciphertext"] = layout.samples_per_ciphertext
    return body


def model_json(model: pb.Model) -> dict[str, Any]:
    needs = model.key_requirements
    body: dict[str, Any] = {
        "model_id": model.model_id, "name": model.name, "version": model.version,
        "task": model.task, "dataset": model.dataset, "description": model.description,
        "n_features": model.n_features, "n_outputs": model.n_outputs,
        "classes": list(model.classes),
        "input_layout": _layout(model.input_layout, False),
        "output_layout": _layout(model.output_layout, True),
        "key_requirements": {"scheme": needs.scheme, "min_poly_degree": needs.min_poly_degree,
                             "min_depth": needs.min_depth, "rotations": list(needs.rotations),
                             "max_scale_bits": needs.max_scale_bits
                             if needs.HasField("max_scale_bits") else None},
        "recommended_key": None, "activations": [
            {"node": a.node, "function": a.function, "range": [a.range_low, a.range_high],
             "degree": a.degree, "coefficients": list(a.coefficients),
             "max_error": a.max_error} for a in model.activations],
        "accuracy": None, "steps": model.steps, "cost_units": model.cost_units,
        "available": model.available,
    }
    if model.HasField("recommended_key"):
        key = model.recommended_key
        body["recommended_key"] = {"poly_degree": key.poly_degree, "scale_bits": key.scale_bits,
                                   "max_depth": key.max_depth,
                                   "security_level": key.security_level}
    if model.HasField("accuracy"):
        accuracy = model.accuracy
        body["accuracy"] = {"metric": accuracy.metric, "plaintext": accuracy.plaintext,
                            "encrypted": accuracy.encrypted, "agreement": accuracy.agreement,
                            "test_samples": accuracy.test_samples,
                            "poly_degree": accuracy.poly_degree}
    return body


async def list_models(request: web.Request) -> web.Response:
    reply = await request.app[state.SERVICES].inference.ListModels(pb.ListModelsRequest())
    return web.json_response({"models": [model_json(model) for model in reply.models]})


async def get_model(request: web.Request) -> web.Response:
    reply = await request.app[state.SERVICES].inference.GetModel(pb.GetModelRequest(
        model_id=request.match_info["model_id"]))
    return web.json_response(model_json(reply.model))


async def predict(request: web.Request) -> web.Response:
    body = await read_body(request)
    caller = request[state.CALLER]
    op_id = new_id(OP_ID_PREFIX)
    message = pb.PredictRequest(
        account_id=caller.account_id, model_id=request.match_info["model_id"],
        key_id=body["key_id"], ciphertext_id=body["ciphertext_id"],
        run_async=body.get("async", False), op_id=op_id)
    # ckks-compute meters the model's program under this op id (a failed answer releases it).
    reply = await metered_call(request, caller.account_id, op_id, request.app[
        state.SERVICES].inference.Predict(message, timeout=COMPUTE_TIMEOUT_SECONDS))
    if reply.status == "pending":
        return web.json_response(
            {"op_id": reply.op_id, "model_id": reply.model_id, "status": "pending",
             "output_layout": _layout(reply.output_layout, True, True)},
            status=202, headers={LOCATION.name: f"/api/v1/compute/{reply.op_id}"})
    charged(request, caller.account_id, Charge(op_id, reply.cost_units, owned=True))
    headers = budget_headers(ckks_pb.Ciphertext(
        noise_budget_remaining=reply.noise_budget_remaining, insecure_key=reply.insecure_key))
    return web.json_response({
        "op_id": reply.op_id, "model_id": reply.model_id, "status": "completed",
        "result_ciphertext_id": reply.result_ciphertext_id,
        "output_layout": _layout(reply.output_layout, True, True),
        "compute_time_ms": reply.compute_time_ms, "cost_units": reply.cost_units,
        "cost_usd": reply.cost_usd, "cost_jpy": reply.cost_jpy,
        "noise_budget_remaining": reply.noise_budget_remaining, "level": reply.level,
    }, headers=headers)


_LAYOUT = {"type": "object", "required": ["block_size", "values_per_sample"],
           "properties": {"block_size": {"type": "integer"},
                          "values_per_sample": {"type": "integer"},
                          "values": {"enum": OUTPUT_VALUES},
                          "samples_per_ciphertext": {"type": "integer"},
                          "scale": {"type": "number", "description": "Outputs only: multiply "
                                    "the decrypted slots by it (the program divides the "
                                    "outputs by this power of two so that they fit the "
                                    "last level)."}},
           "description": "Sample s occupies slots [s * block_size, (s + 1) * block_size): "
                          "its values_per_sample values first, zeros after."}
register_schemas({
    "Model": {
        "type": "object",
        "required": ["model_id", "name", "version", "task", "dataset", "n_features",
                     "n_outputs", "input_layout", "output_layout", "key_requirements",
                     "accuracy", "cost_units", "available"],
        "properties": {
            "model_id": {"type": "string", "pattern": MODEL_ID_PATTERN},
            "name": {"type": "string"}, "version": {"type": "string"},
            "task": {"enum": TASKS}, "dataset": {"type": "string"},
            "description": {"type": "string"},
            "n_features": {"type": "integer"}, "n_outputs": {"type": "integer"},
            "classes": {"type": "array", "items": {"type": "string"},
                        "description": "Labels in output order; binary: [negative, positive]."},
            "input_layout": _LAYOUT,
            "output_layout": _LAYOUT | {"description": "Where the outputs come back, and "
                                        "what they are: logit (binary, > 0 is the positive "
                                        "class), probability (> 0.5), scores (multiclass, "
                                        "the largest wins) or value (regression)."},
            "key_requirements": {
                "type": "object",
                "required": ["scheme", "min_poly_degree", "min_depth", "rotations",
                             "max_scale_bits"],
                "properties": {"scheme": {"const": "ckks"},
                               "min_poly_degree": {"type": "integer"},
                               "min_depth": {"type": "integer"},
                               "rotations": {"type": "array", "items": {"type": "integer"}},
                               "max_scale_bits": {
                                   "type": ["integer", "null"],
                                   "description": "The largest scale_bits whose last level "
                                   "holds the model's values (larger ones would wrap them "
                                   "around); null: not measured."}}},
            "recommended_key": {
                "type": ["object", "null"],
                "description": "The smallest 128-bit key that meets the requirements.",
                "properties": {"poly_degree": {"type": "integer"},
                               "scale_bits": {"type": "integer"},
                               "max_depth": {"type": "integer"},
                               "security_level": {"type": "string"}}},
            "activations": {"type": "array", "items": {
                "type": "object", "description": "An activation run as a polynomial: its "
                "Chebyshev interpolant over range, of this degree.",
                "properties": {"node": {"type": "string"}, "function": {"type": "string"},
                               "range": {"type": "array", "items": {"type": "number"}},
                               "degree": {"type": "integer"},
                               "coefficients": {"type": "array", "items": {"type": "number"}},
                               "max_error": {"type": "number"}}}},
            "accuracy": {
                "type": ["object", "null"],
                "description": "Measured under encryption on the held-out test split.",
                "properties": {"metric": {"enum": ["accuracy", "r2"]},
                               "plaintext": {"type": "number"},
                               "encrypted": {"type": "number"},
                               "agreement": {"type": "number"},
                               "test_samples": {"type": "integer"},
                               "poly_degree": {"type": "integer"}}},
            "steps": {"type": "integer"},
            "cost_units": {"type": "integer",
                           "description": "FCU of one prediction (one ciphertext of samples)."},
            "available": {"type": "boolean"},
        },
    },
    "ModelList": {"type": "object", "required": ["models"],
                  "properties": {"models": {"type": "array",
                                            "items": {"$ref": "#/components/schemas/Model"}}}},
    "PredictRequest": {
        "type": "object", "required": ["key_id", "ciphertext_id"], "additionalProperties": False,
        "properties": {
            "key_id": {"type": "string", "minLength": 1,
                       "description": "A CKKS key, blind or server-mode, that meets "
                                      "key_requirements."},
            "ciphertext_id": {"type": "string", "minLength": 1,
                              "description": "Samples packed as the model's input_layout."},
            "async": {"type": "boolean", "default": False,
                      "description": "Answer 202 at once; poll GET /compute/{op_id}."}}},
    "Prediction": {
        "type": "object",
        "required": ["op_id", "model_id", "status", "result_ciphertext_id", "output_layout",
                     "compute_time_ms", "cost_units", "cost_usd", "cost_jpy",
                     "noise_budget_remaining"],
        "properties": {
            "op_id": {"type": "string"}, "model_id": {"type": "string"},
            "status": {"const": "completed"},
            "result_ciphertext_id": {"type": "string"}, "output_layout": _LAYOUT,
            "compute_time_ms": {"type": "number"}, "cost_units": {"type": "integer"},
            "cost_usd": {"type": "number"}, "cost_jpy": {"type": "number"},
            "noise_budget_remaining": {"type": "number"}, "level": {"type": "integer"}}},
    "PredictionPending": {
        "type": "object", "required": ["op_id", "model_id", "status"],
        "properties": {"op_id": {"type": "string"}, "model_id": {"type": "string"},
                       "status": {"const": "pending"}, "output_layout": _LAYOUT}},
})

_MODEL_ID = {"model_id": {"type": "string", "pattern": MODEL_ID_PATTERN}}
ENDPOINTS = (
    Endpoint("GET", "/models", list_models, "The FHE models available", "Models",
             {200: Reply("Every model that runs (the catalogue is one page).", "ModelList")},
             description="Only models that run on CPUs under FHE today are listed: "
                         "no language model is."),
    Endpoint("GET", "/models/{model_id}", get_model, "One model of the catalogue", "Models",
             {200: Reply("The model.", "Model")}, path_parameters=_MODEL_ID),
    Endpoint("POST", "/models/{model_id}/predict", predict,
             "Run a model on encrypted samples", "Models",
             {200: Reply("The encrypted outputs; noise headers of the result.", "Prediction",
                         _NOISE_HEADERS),
              202: Reply("Queued (async).", "PredictionPending", (LOCATION.name,)),
              **refusal(400, "KEY_REQUIREMENTS_NOT_MET", "MISMATCHED_KEY",
                        "NOISE_BUDGET_EXHAUSTED", why="The key lacks what the model needs "
                        "(checked before any work), or the ciphertext is not a fresh one "
                        "under it")},
             min_role=TRIAL, request_schema="PredictRequest", operation=True,
             path_parameters=_MODEL_ID,
             description="The model's CKKS program runs on the ciphertext's samples (all of "
                         "them at once); priced as the FCU of its operations, as a program; "
                         "counts as one operation."),
)
