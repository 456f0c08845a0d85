"""`client.models`: the model catalogue and predictions on encrypted samples (the secret key
stays here: samples are packed and encrypted locally, predictions decrypted locally)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from wavis_sdk import _inference_ops as ops
from wavis_sdk._models import WavisObject
from wavis_sdk.ckks import CkksKeys

if TYPE_CHECKING:
    from wavis_sdk._async_client import AsyncClient
    from wavis_sdk._client import Client


class Models:
    """The FHE models available, and predictions.

    `predict(model_id, X)` packs the rows of X (samples x features, raw values) into as few
    ciphertexts as the key's slots allow, encrypts them here, has the server run the model,
    and decrypts here: labels for classifiers, values for regressions. Keys: `keys=` local
    CkksKeys that meet the model's `key_requirements`, else keys this client made earlier
    that do, else new ones at the model's recommended 128-bit parameters (or `poly_degree`
    and `security_level`), uploaded once.
    """

    def __init__(self, client: Client) -> None:
        self._ops = client._ops
        self._run = client.run
        self._made: list[CkksKeys] = []

    def list(self) -> builtins.list[WavisObject]:
        return self._run(ops.list_models(self._ops))

    def get(self, model_id: str) -> WavisObject:
        return self._run(ops.get_model(self._ops, model_id))

    def predict(self, model_id: str, features: Any, *, keys: CkksKeys | None = None,
                poly_degree: int | None = None, security_level: str | None = None,
                ) -> np.ndarray[Any, Any]:
        return self._run(ops.predict(self._ops, self._made, model_id, features, keys,
                                     poly_degree, security_level, False))

    def scores(self, model_id: str, features: Any, *, keys: CkksKeys | None = None,
               poly_degree: int | None = None, security_level: str | None = None,
               ) -> np.ndarray[Any, Any]:
        """The model's raw outputs (samples x n_outputs): logits, class scores, values."""
        return self._run(ops.predict(self._ops, self._made, model_id, features, keys,
                                     poly_degree, security_level, True))


class AsyncModels:
    """Models, for AsyncClient (local cryptography runs on worker threads)."""

    def __init__(self, client: AsyncClient) -> None:
        self._ops = client._ops
        self._run = client.run
        self._made: list[CkksKeys] = []

    async def list(self) -> builtins.list[WavisObject]:
        return await self._run(ops.list_models(self._ops))

    async def get(self, model_id: str) -> WavisObject:
        return await self._run(ops.get_model(self._ops, model_id))

    async def predict(self, model_id: str, features: Any, *, keys: CkksKeys | None = None,
                      poly_degree: int | None = None, security_level: str | None = None,
                      ) -> np.ndarray[Any, Any]:
        return await self._run(ops.predict(self._ops, self._made, model_id, features, keys,
                                           poly_degree, security_level, False))

    async def scores(self, model_id: str, features: Any, *, keys: CkksKeys | None = None,
                     poly_degree: int | None = None, security_level: str | None = None,
                     ) -> np.ndarray[Any, Any]:
        return await self._run(ops.predict(self._ops, self._made, model_id, features, keys,
                                           poly_degree, security_level, True))
