"""`client.models` against the real stack: the catalogue, predictions on samples encrypted
here (batched into as few ciphertexts as the key's slots allow) that agree with the
plaintext models, keys checked here, keys made once and reused, and the async client."""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import wavis_sdk
from sdk_support import sdk_client
from wavis_sdk.ckks import CkksKeys

from services.inference.catalogue import BUILTIN_MODELS_DIR, load_catalogue
from support.accounts import Tenant
from support.onnx_models import held_out_split
from wavis.devstack.stack import Stack


@cache
def catalogue():  # type: ignore[no-untyped-def]
    return load_catalogue([BUILTIN_MODELS_DIR])


@cache
def model_keys() -> CkksKeys:
    """Testing parameters (N=2048: 16 digits or 32 breast-cancer samples per ciphertext)
    that meet every shipped model's requirements."""
    rotations = sorted({r for m in catalogue().values() for r in m.program.rotations})
    return CkksKeys.generate(2048, 40, 5, "testing", rotations=rotations)


def plaintext_predictions(model_id: str, features: np.ndarray) -> np.ndarray:
    model = catalogue()[model_id]
    outputs = model.network.evaluate(features)
    classes = np.asarray(model.metadata.get("classes", []))
    if model.task == "multiclass":
        return classes[np.argmax(outputs, axis=1)]
    if model.task == "binary-classification":
        return classes[(outputs[:, 0] > 0).astype(int)]
    return outputs[:, 0]


def test_the_catalogue(client: wavis_sdk.Client) -> None:
    models = {m.model_id: m for m in client.models.list()}
    assert sorted(models) == ["breast-cancer-logreg", "diabetes-linreg", "digits-mlp"]
    digits = client.models.get("digits-mlp")
    assert digits == models["digits-mlp"]
    assert digits.key_requirements["min_depth"] == 5 and digits.classes[3] == "3"
    with pytest.raises(wavis_sdk.NotFoundError) as refused:
        client.models.get("llama-70b")
    assert refused.value.code == "MODEL_NOT_FOUND"


def test_predict_batches_samples_and_agrees_with_the_plaintext_model(
        client: wavis_sdk.Client) -> None:
    features, labels = held_out_split(catalogue()["digits-mlp"].metadata)
    features = features[:40]  # three ciphertexts of 16, 16 and 8 samples
    predicted = client.models.predict("digits-mlp", features, keys=model_keys())
    assert predicted.shape == (40,)
    assert np.mean(predicted == plaintext_predictions("digits-mlp", features)) >= 0.99
    assert np.mean(predicted.astype(int) == labels[:40]) >= 0.9
    scores = client.models.scores("digits-mlp", features[:3], keys=model_keys())
    model = catalogue()["digits-mlp"]
    assert np.allclose(scores, model.network.evaluate(features[:3], dict(model.approximations)),
                       atol=1e-3)
    values = client.models.predict("diabetes-linreg", held_out_split(
        catalogue()["diabetes-linreg"].metadata)[0][:5], keys=model_keys())
    assert values.dtype == np.float64 and np.all((values > 0) & (values < 400))


def test_keys_short_of_the_requirements_are_refused_here(client: wavis_sdk.Client,
                                                         ckks_keys: CkksKeys) -> None:
    with pytest.raises(wavis_sdk.ValidationError) as refused:
        client.models.predict("digits-mlp", np.zeros((1, 64)), keys=ckks_keys)
    assert refused.value.code == "KEY_REQUIREMENTS_NOT_MET"
    assert "max_depth 3 < 5" in refused.value.details["unmet"]
    with pytest.raises(wavis_sdk.ValidationError) as wrong_shape:
        client.models.predict("digits-mlp", np.zeros((2, 30)), keys=model_keys())
    assert "64 features" in wrong_shape.value.message


def test_keys_are_made_once_and_reused(mesh: Stack, tenant: Tenant, tmp_path: Path) -> None:
    features = held_out_split(catalogue()["digits-mlp"].metadata)[0][:4]
    with sdk_client(mesh, tenant, tmp_path) as client:
        before = {key.key_id for key in client.keys.list(limit=100)}
        first = client.models.predict("digits-mlp", features, poly_degree=2048,
                                      security_level="testing")
        second = client.models.predict("digits-mlp", features, poly_degree=2048,
                                       security_level="testing")
        made = {key.key_id for key in client.keys.list(limit=100)} - before
    assert list(first) == list(second)
    assert len(made) == 1


def test_the_async_client(mesh: Stack, tenant: Tenant) -> None:
    features = held_out_split(catalogue()["breast-cancer-logreg"].metadata)[0][:50]

    async def run() -> np.ndarray:
        async with wavis_sdk.AsyncClient(
                tenant.api_key, mesh.gateway_url,
                default_headers={"X-Forwarded-For": tenant.client_ip}) as client:
            assert len(await client.models.list()) == 3
            return await client.models.predict("breast-cancer-logreg", features,
                                               keys=model_keys())

    predicted = asyncio.run(run())
    assert list(predicted) == list(plaintext_predictions("breast-cancer-logreg", features))
