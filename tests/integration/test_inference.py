"""Encrypted inference through HTTP: the public catalogue, predictions on blind and
server-mode keys that agree with the plaintext models, keys that do not meet a model's
requirements refused before any work, asynchronous predictions, trial accounts."""

from __future__ import annotations

import asyncio
import base64
from functools import cache
from typing import Any

import numpy as np
import pytest
from wavis_sdk import inference
from wavis_sdk.ckks import CkksKeys

from services.inference.catalogue import BUILTIN_MODELS_DIR, load_catalogue
from support.accounts import Tenant, create_account, fresh_ip
from support.ckks_account import generate_key
from support.http import Api
from support.onnx_models import held_out_split
from wavis.devstack.stack import Stack

MODELS = ("breast-cancer-logreg", "diabetes-linreg", "digits-mlp")
TOLERANCE = 1e-3  # CKKS at 40-bit scale, N=2048, against the polynomial model


@cache
def catalogue() -> dict[str, Any]:
    return load_catalogue([BUILTIN_MODELS_DIR])


@cache
def blind_keys() -> CkksKeys:
    """One local key (testing parameters, N=2048) meeting every shipped model's needs."""
    rotations = sorted({r for m in catalogue().values() for r in m.program.rotations})
    depth = max(m.depth for m in catalogue().values())
    return CkksKeys.generate(2048, 40, depth, "testing", rotations=rotations)


async def upload_key(api: Api, tenant: Tenant, keys: CkksKeys) -> str:
    parts = {name: base64.b64encode(data).decode() for name, data in keys.wire_parts().items()}
    reply = await api.post("/api/v1/keys/upload", headers=tenant.auth(),
                           json={"scheme": "ckks", **parts})
    assert reply.status == 201, reply.text
    return str(reply.json["key_id"])


async def upload(api: Api, tenant: Tenant, key_id: str, keys: CkksKeys,
                 vector: np.ndarray) -> str:
    reply = await api.post("/api/v1/ciphertexts", headers=tenant.auth(), json={
        "key_id": key_id, "data": base64.b64encode(keys.encrypt(vector).data).decode()})
    assert reply.status == 201, reply.text
    return str(reply.json["ciphertext_id"])


async def download(api: Api, tenant: Tenant, ciphertext_id: str) -> bytes:
    reply = await api.get(f"/api/v1/ciphertexts/{ciphertext_id}", headers=tenant.auth())
    assert reply.status == 200, reply.text
    return base64.b64decode(reply.json["data"])


async def fcu_used(api: Api, tenant: Tenant) -> int:
    usage = await api.get("/api/v1/billing/usage", headers=tenant.auth())
    return int(usage.json["total_fcu"])


async def predict(api: Api, tenant: Tenant, model_id: str, key_id: str, ciphertext_id: str,
                  **fields: Any) -> Any:
    return await api.post(f"/api/v1/models/{model_id}/predict", headers=tenant.auth(),
                          json={"key_id": key_id, "ciphertext_id": ciphertext_id, **fields})


async def test_the_catalogue_is_public(api: Api) -> None:
    reply = await api.get("/api/v1/models")
    assert reply.status == 200, reply.text
    models = {m["model_id"]: m for m in reply.json["models"]}
    assert sorted(models) == list(MODELS)
    digits = models["digits-mlp"]
    assert (digits["task"], digits["n_features"], digits["n_outputs"]) == ("multiclass", 64, 10)
    assert digits["input_layout"] == {"block_size": 64, "values_per_sample": 64}
    assert digits["output_layout"]["values"] == "scores"
    assert digits["key_requirements"]["min_depth"] == 5
    assert digits["accuracy"]["agreement"] >= 0.99 and digits["accuracy"]["test_samples"] == 450
    assert all(m["available"] for m in models.values())
    one = await api.get("/api/v1/models/breast-cancer-logreg")
    assert one.status == 200 and one.json == models["breast-cancer-logreg"]
    missing = await api.get("/api/v1/models/gpt-7b")
    assert missing.status == 404 and missing.json["error"]["code"] == "MODEL_NOT_FOUND"


@pytest.mark.parametrize("model_id", MODELS)
async def test_blind_prediction_agrees_with_the_plaintext_model(api: Api, mesh: Stack,
                                                                model_id: str) -> None:
    """The user encrypts the test split's first samples locally, the server runs the model
    without seeing them, the user decrypts: the outputs are the model's (with its
    polynomial activations) and the predictions the plaintext model's."""
    tenant = await create_account(mesh)
    keys = blind_keys()
    key_id = await upload_key(api, tenant, keys)
    model = catalogue()[model_id]
    entry = (await api.get(f"/api/v1/models/{model_id}")).json
    features, _ = held_out_split(model.metadata)
    per_ciphertext = inference.samples_per_ciphertext(entry, keys.slot_count)
    features = features[:per_ciphertext]  # one ciphertext: a full batch
    (vector,) = inference.pack(features, entry, keys.slot_count)
    ciphertext_id = await upload(api, tenant, key_id, keys, vector)
    before = await fcu_used(api, tenant)
    reply = await predict(api, tenant, model_id, key_id, ciphertext_id)
    assert reply.status == 200, reply.text
    body = reply.json
    assert body["model_id"] == model_id and body["status"] == "completed"
    assert body["output_layout"] == entry["output_layout"] | {
        "samples_per_ciphertext": per_ciphertext}
    assert body["cost_units"] == entry["cost_units"] > 0
    assert body["cost_usd"] == pytest.approx(entry["cost_units"] * 0.000002)
    assert reply.headers["X-Security-Warning"]  # testing parameters
    assert await fcu_used(api, tenant) == before + entry["cost_units"]
    slots = keys.decrypt(await download(api, tenant, body["result_ciphertext_id"]))
    outputs = inference.unpack(slots, entry, len(features))
    polynomial = model.network.evaluate(features, dict(model.approximations))
    assert np.max(np.abs(outputs - polynomial)) < TOLERANCE * max(1.0, np.abs(polynomial).max())
    agree = np.mean(inference.predictions(outputs, entry)
                    == inference.predictions(model.network.evaluate(features), entry))
    assert agree >= 0.99 if model.task != "regression" else np.allclose(
        outputs[:, 0], model.network.evaluate(features)[:, 0], rtol=1e-4, atol=1e-2)


async def test_server_mode_key(api: Api, mesh: Stack) -> None:
    """A key the server holds: it encrypts the samples and decrypts the predictions for the
    user, flooded with noise at the key's published precision (on the scaled outputs)."""
    tenant = await create_account(mesh)
    model = catalogue()["breast-cancer-logreg"]
    key = await generate_key(api, tenant, params=server_params(55),
                             rotations=model.program.rotations)
    entry = (await api.get("/api/v1/models/breast-cancer-logreg")).json
    features, _ = held_out_split(model.metadata)
    features = features[:32]
    (vector,) = inference.pack(features, entry, 1024)
    encrypted = await api.post("/api/v1/ciphertexts/encrypt", headers=tenant.auth(),
                               json={"key_id": key["key_id"], "values": vector.tolist()})
    assert encrypted.status == 201, encrypted.text
    reply = await predict(api, tenant, "breast-cancer-logreg", key["key_id"],
                          encrypted.json["ciphertext_id"])
    assert reply.status == 200, reply.text
    decrypted = await api.post(
        f"/api/v1/ciphertexts/{reply.json['result_ciphertext_id']}/decrypt",
        headers=tenant.auth(), json={"count": 1024})
    assert decrypted.status == 200, decrypted.text
    outputs = inference.unpack(np.array(decrypted.json["values"]), entry, len(features))
    polynomial = model.network.evaluate(features, dict(model.approximations))
    bound = (2.0 ** -decrypted.json["precision_bits"] + TOLERANCE) * entry[
        "output_layout"]["scale"]
    assert np.max(np.abs(outputs - polynomial)) < bound
    # Labels agree wherever the noise cannot carry a logit across zero.
    clear = np.abs(polynomial[:, 0]) > bound
    assert clear.sum() >= 24
    assert list(inference.predictions(outputs, entry)[clear]) == list(
        inference.predictions(model.network.evaluate(features), entry)[clear])


async def test_a_key_whose_last_level_cannot_hold_the_outputs_is_refused(
        api: Api, mesh: Stack) -> None:
    """At scale_bits 59 the first modulus (60 bits) leaves the last level values below 1:
    the model's outputs would wrap around into wrong predictions (by 32 on every logit,
    before the outputs were scaled), so the key is refused before any work."""
    tenant = await create_account(mesh)
    model = catalogue()["breast-cancer-logreg"]
    entry = (await api.get("/api/v1/models/breast-cancer-logreg")).json
    ceiling = entry["key_requirements"]["max_scale_bits"]
    assert ceiling == 56
    key = await generate_key(api, tenant, params=server_params(59),
                             rotations=model.program.rotations)
    encrypted = await api.post("/api/v1/ciphertexts/encrypt", headers=tenant.auth(),
                               json={"key_id": key["key_id"], "values": [0.5] * 64})
    assert encrypted.status == 201, encrypted.text
    before = await fcu_used(api, tenant)
    reply = await predict(api, tenant, "breast-cancer-logreg", key["key_id"],
                          encrypted.json["ciphertext_id"])
    assert reply.status == 400, reply.text
    assert reply.json["error"]["code"] == "KEY_REQUIREMENTS_NOT_MET"
    assert reply.json["error"]["details"]["unmet"] == [
        {"requirement": "max_scale_bits", "required": ceiling, "key": 59}]
    assert await fcu_used(api, tenant) == before


def server_params(scale_bits: int) -> dict[str, Any]:
    depth = catalogue()["breast-cancer-logreg"].depth
    return {"poly_degree": 2048, "scale_bits": scale_bits, "max_depth": depth,
            "security_level": "testing"}


async def test_a_key_short_of_the_requirements_is_refused_before_any_work(
        api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    key = await generate_key(api, tenant)  # depth 3, power-of-two rotations
    encrypted = await api.post("/api/v1/ciphertexts/encrypt", headers=tenant.auth(),
                               json={"key_id": key["key_id"], "values": [1.0] * 64})
    before = await fcu_used(api, tenant)
    reply = await predict(api, tenant, "digits-mlp", key["key_id"],
                          encrypted.json["ciphertext_id"])
    assert reply.status == 400, reply.text
    error = reply.json["error"]
    assert error["code"] == "KEY_REQUIREMENTS_NOT_MET"
    unmet = {entry["requirement"]: entry for entry in error["details"]["unmet"]}
    assert unmet["min_depth"] == {"requirement": "min_depth", "required": 5, "key": 3}
    assert -24 in unmet["rotations"]["missing"] and 3 in unmet["rotations"]["missing"]
    assert 8 not in unmet["rotations"]["missing"]  # the key has it
    assert await fcu_used(api, tenant) == before
    # Unknown model, another account's key, a missing ciphertext.
    unknown = await predict(api, tenant, "no-such-model", key["key_id"], "ct_x")
    assert (unknown.status, unknown.json["error"]["code"]) == (404, "MODEL_NOT_FOUND")
    other = await create_account(mesh)
    foreign = await predict(api, other, "breast-cancer-logreg", key["key_id"], "ct_x")
    assert (foreign.status, foreign.json["error"]["code"]) == (404, "KEY_NOT_FOUND")


async def test_asynchronous_prediction(api: Api, mesh: Stack) -> None:
    tenant = await create_account(mesh)
    keys = blind_keys()
    key_id = await upload_key(api, tenant, keys)
    model = catalogue()["diabetes-linreg"]
    entry = (await api.get("/api/v1/models/diabetes-linreg")).json
    features, _ = held_out_split(model.metadata)
    features = features[:20]
    (vector,) = inference.pack(features, entry, keys.slot_count)
    ciphertext_id = await upload(api, tenant, key_id, keys, vector)
    reply = await predict(api, tenant, "diabetes-linreg", key_id, ciphertext_id, **{"async": True})
    assert reply.status == 202, reply.text
    assert reply.headers["Location"] == f"/api/v1/compute/{reply.json['op_id']}"
    assert reply.json["output_layout"]["samples_per_ciphertext"] == 64
    for _ in range(300):
        status = await api.get(reply.headers["Location"], headers=tenant.auth())
        if status.json["status"] not in ("pending", "running"):
            break
        await asyncio.sleep(0.1)
    assert status.json["status"] == "completed", status.json
    result_id = status.json["outputs"][0]["result_ciphertext_id"]
    outputs = inference.unpack(keys.decrypt(await download(api, tenant, result_id)), entry,
                               len(features))
    assert np.allclose(outputs, model.network.evaluate(features), atol=1e-2)


async def test_a_prediction_is_one_operation_of_a_trial(api: Api, mesh: Stack) -> None:
    ip = fresh_ip()
    trial = await api.post("/api/v1/onboarding/temp-key", headers={"X-Forwarded-For": ip})
    assert trial.status == 200, trial.text
    tenant = Tenant("", trial.json["api_key"], ip)
    keys = blind_keys()
    key_id = await upload_key(api, tenant, keys)
    entry = (await api.get("/api/v1/models/breast-cancer-logreg")).json
    (vector,) = inference.pack(np.ones((2, 30)), entry, keys.slot_count)
    ciphertext_id = await upload(api, tenant, key_id, keys, vector)
    statuses = [(await predict(api, tenant, "breast-cancer-logreg", key_id, ciphertext_id)
                 ).status for _ in range(11)]
    assert statuses[:10] == [200] * 10  # the trial's 10 operations, one per prediction
    assert statuses[10] == 402


async def test_an_operator_adds_models_with_wavis_models_dir(
        api: Api, mesh: Stack, session: Any, openapi_doc: dict[str, Any], tmp_path: Any,
        caplog: Any) -> None:
    """A deployment's models folder: its valid model is served beside the shipped ones (and
    runs), one outside the supported subset is left out."""
    from onnx import helper

    from support.onnx_models import relu_mlp, write_model

    # Degree 4: depth 3 + 2, so its key has the parameters of the others uploaded here (the
    # keys service's worker can refuse a context of another depth after one: reported).
    relu_mlp(tmp_path, "operator-relu", degree=4)
    write_model(tmp_path, "operator-softmax", [
        helper.make_node("MatMul", ["x", "w"], ["z"], name="dense"),
        helper.make_node("Softmax", ["z"], ["y"], name="softmax_node")],
        {"w": np.ones((4, 3))}, 4, 3, {"task": "multiclass", "classes": ["a", "b", "c"]})
    replica = mesh.start_service_replica("inference", env={"WAVIS_MODELS_DIR": str(tmp_path)})
    gateway = mesh.start_extra_gateway(targets={"inference": f"127.0.0.1:{replica.port}"})
    try:
        extra = Api(session, f"http://127.0.0.1:{gateway.port}", openapi_doc)
        listed = await extra.get("/api/v1/models")
        assert sorted(m["model_id"] for m in listed.json["models"]) == sorted(
            [*MODELS, "operator-relu"])
        entry = (await extra.get("/api/v1/models/operator-relu")).json
        assert entry["activations"][0]["function"] == "Relu"
        tenant = await create_account(mesh)
        needs = entry["key_requirements"]
        assert needs["min_depth"] == 5
        keys = CkksKeys.generate(2048, 40, 5, "testing", rotations=needs["rotations"])
        key_id = await upload_key(extra, tenant, keys)
        features = np.random.default_rng(5).normal(size=(10, 5))
        (vector,) = inference.pack(features, entry, keys.slot_count)
        ciphertext_id = await upload(extra, tenant, key_id, keys, vector)
        reply = await predict(extra, tenant, "operator-relu", key_id, ciphertext_id)
        assert reply.status == 200, reply.text
        outputs = inference.unpack(keys.decrypt(
            await download(extra, tenant, reply.json["result_ciphertext_id"])), entry, 10)
        from services.inference.catalogue import load_model

        model = load_model(tmp_path / "operator-relu.onnx")
        assert np.allclose(outputs, model.network.evaluate(features, dict(model.approximations)),
                           atol=TOLERANCE)
    finally:
        gateway.child.terminate()
        replica.child.terminate()
    log = (mesh.log_dir / "inference-2.log").read_text() if mesh.log_dir else ""
    assert "operator-softmax.onnx left out" in log and "softmax_node" in log
