"""Encrypted inference as operations (see _core): the catalogue, and a prediction made of
local work (a key, packing, encryption, decryption: wavis_sdk.inference and wavis_sdk.ckks)
around four API calls per ciphertext of samples (upload, predict, download, clean up)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np

from wavis_sdk import inference
from wavis_sdk._core import Blocking, Op
from wavis_sdk._errors import NotFoundError, ValidationError
from wavis_sdk._models import WavisObject, as_object
from wavis_sdk._ops import EVAL_TIMEOUT, Ops
from wavis_sdk.ckks import CkksKeys


def list_models(ops: Ops) -> Op[list[WavisObject]]:
    response = yield from ops.request("GET", "/models", auth=False)
    return [as_object(model) for model in response.json()["models"]]


def get_model(ops: Ops, model_id: str) -> Op[WavisObject]:
    response = yield from ops.request("GET", f"/models/{model_id}", auth=False)
    return as_object(response.json())


def check_keys(model: Mapping[str, Any], keys: CkksKeys) -> None:
    """ValidationError (KEY_REQUIREMENTS_NOT_MET) naming what the keys lack for the model."""
    unmet = inference.keys_unmet(model, keys)
    if unmet:
        raise ValidationError(f"These keys do not meet the requirements of "
                              f"{model['model_id']}: {'; '.join(unmet)}.",
                              code="KEY_REQUIREMENTS_NOT_MET", details={"unmet": unmet})


def predict(ops: Ops, made: list[CkksKeys], model_id: str, features: Any,
            keys: CkksKeys | None, poly_degree: int | None, security_level: str | None,
            scores: bool) -> Op[np.ndarray[Any, Any]]:
    """Predictions (or the raw outputs, `scores`) for every row of `features`. Keys: those
    given, else one this client made before that meets the model's requirements, else new
    ones (kept in `made`); uploaded when they have no key id yet."""
    model = yield from get_model(ops, model_id)
    array = inference.features_array(features, model)
    if keys is not None:
        check_keys(model, keys)
    else:
        keys = next((k for k in made if not inference.keys_unmet(model, k)
                     and (poly_degree is None or k.params.poly_degree == poly_degree)), None)
        if keys is None:
            keys = yield Blocking(lambda: inference.keys_for_model(model, poly_degree,
                                                                    security_level))
            made.append(keys)
    if keys.key_id is None:
        yield from ops.upload_ckks_key(keys, None)
    assert keys.key_id is not None
    per_ciphertext = inference.samples_per_ciphertext(model, keys.slot_count)
    rows = []
    for start, vector in zip(range(0, len(array), per_ciphertext),
                             inference.pack(array, model, keys.slot_count), strict=True):
        local = yield Blocking(partial(keys.encrypt, vector))
        uploaded = yield from ops.upload_ciphertext(local, keys.key_id)
        response = yield from ops.request("POST", f"/models/{model_id}/predict", {
            "key_id": keys.key_id, "ciphertext_id": uploaded.ciphertext_id},
            timeout=EVAL_TIMEOUT)
        result_id = response.json()["result_ciphertext_id"]
        result = yield from ops.get_ciphertext(result_id)
        slots = yield Blocking(partial(keys.decrypt, result.data))
        rows.append(inference.unpack(slots, model, min(per_ciphertext, len(array) - start)))
        for ciphertext_id in (uploaded.ciphertext_id, result_id):
            try:
                yield from ops.delete_ciphertext(ciphertext_id)
            except NotFoundError:  # evicted meanwhile
                pass
    outputs = np.concatenate(rows)
    return outputs if scores else inference.predictions(outputs, model)
