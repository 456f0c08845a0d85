"""A local CKKS context for tests without processes (testing parameters, N=2048): keys,
rotation keys for every power of two, and operands in every state a computation reaches."""

from __future__ import annotations

from typing import Any

import openfhe as fhe

from wavis.fhe.ckks_ops import KeyShape, rescale_products
from wavis.fhe.ckks_params import default_rotations

RING = 2048
SLOTS = RING // 2
DEPTH = 5


class Context:
    def __init__(self, technique: str) -> None:
        parameters = fhe.CCParamsCKKSRNS()
        parameters.SetRingDim(RING)
        parameters.SetMultiplicativeDepth(DEPTH)
        parameters.SetScalingModSize(40)
        parameters.SetFirstModSize(50)
        parameters.SetScalingTechnique(getattr(fhe, technique))
        parameters.SetKeySwitchTechnique(fhe.HYBRID)
        parameters.SetBatchSize(SLOTS)
        parameters.SetSecurityLevel(fhe.HEStd_NotSet)
        self.cc = fhe.GenCryptoContext(parameters)
        for feature in (fhe.PKE, fhe.KEYSWITCH, fhe.LEVELEDSHE, fhe.ADVANCEDSHE):
            self.cc.Enable(feature)
        self.keys = self.cc.KeyGen()
        self.cc.EvalMultKeyGen(self.keys.secretKey)
        self.cc.EvalRotateKeyGen(self.keys.secretKey, default_rotations(SLOTS))
        self.shape = KeyShape(slot_count=SLOTS, max_depth=DEPTH,
                              rotations=frozenset(default_rotations(SLOTS)),
                              manual_scaling=technique == "FIXEDMANUAL",
                              fresh_scale_degree=2 if technique == "FLEXIBLEAUTOEXT" else 1)

    def encrypt(self, value: float) -> Any:
        return self.cc.Encrypt(self.keys.publicKey,
                               self.cc.MakeCKKSPackedPlaintext([value] * SLOTS))

    def states(self) -> dict[str, Any]:
        """Operands in every state a computation reaches: fresh, a product, a rescaled
        product, deeper products."""
        cc, x = self.cc, self.encrypt(0.5)
        product = cc.EvalMult(x, x)
        found = {"fresh": x, "product": product,
                 "rescaled": rescale_products(cc, product, self.shape)}
        found["deeper"] = cc.EvalMult(found["rescaled"], found["rescaled"])
        found["deep"] = rescale_products(cc, cc.EvalMult(found["deeper"], x), self.shape)
        found["deepest"] = rescale_products(
            cc, cc.EvalMult(found["deep"], found["deep"]), self.shape)
        return found


