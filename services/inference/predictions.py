"""A prediction: the key checked against the model, then the model's program on ckks-compute.

The program runs as any CKKS program does (checked whole, metered once by ckks-compute for
the account, `operation: "program"` in usage), so a prediction costs exactly the FCU of the
operations the model runs (docs/decisions/0086-inference-service-runs-programs-on-ckks-compute.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from services.inference.catalogue import SCHEME, Model
from services.inference.compiler import INPUT
from wavis.core.errors import WavisError
from wavis.generated.ckks_compute.v1 import ckks_compute_pb2 as ckks_pb
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc

PREDICT_TIMEOUT_SECONDS = 600.0


class KeyRecords:
    """Recently read key records, by (account, key): a key's parameters and rotations never
    change, so a prediction needs the keys service only for keys it has not seen lately. A
    key deleted meanwhile passes the requirements check and is refused by ckks-compute
    (KEY_NOT_FOUND) as it would have been."""

    def __init__(self, keys: keys_pb2_grpc.KeysServiceStub, ttl_seconds: float = 60.0,
                 capacity: int = 10_000) -> None:
        self.keys = keys
        self.ttl_seconds = ttl_seconds
        self.capacity = capacity
        self._records: dict[tuple[str, str], tuple[float, keys_pb2.Key]] = {}

    async def get(self, account_id: str, key_id: str) -> keys_pb2.Key:
        now = time.monotonic()
        found = self._records.get((account_id, key_id))
        if found is not None and found[0] > now:
            return found[1]
        key = (await self.keys.GetKey(keys_pb2.GetKeyRequest(account_id=account_id,
                                                             key_id=key_id))).key
        if key.status == "ready":  # a pending key is read again next time
            if len(self._records) >= self.capacity:
                self._records.clear()
            self._records[(account_id, key_id)] = (now + self.ttl_seconds, key)
        return key


def unmet_requirements(model: Model, key: keys_pb2.Key) -> list[dict[str, Any]]:
    """Each requirement the key misses, with what the model needs and what the key has."""
    if key.scheme != SCHEME:
        return [{"requirement": "scheme", "required": SCHEME, "key": key.scheme}]
    unmet: list[dict[str, Any]] = []
    if key.params.poly_degree < model.min_poly_degree:
        unmet.append({"requirement": "min_poly_degree", "required": model.min_poly_degree,
                      "key": key.params.poly_degree})
    if key.params.max_depth < model.depth:
        unmet.append({"requirement": "min_depth", "required": model.depth,
                      "key": key.params.max_depth})
    ceiling = model.max_scale_bits
    if ceiling is not None and key.params.scale_bits > ceiling:
        unmet.append({"requirement": "max_scale_bits", "required": ceiling,
                      "key": key.params.scale_bits})
    slots = max(1, key.slot_count)
    have = {step % slots for step in key.rotations}
    missing = [step for step in model.program.rotations if step % slots not in have]
    if missing:
        unmet.append({"requirement": "rotations", "required": model.program.rotations,
                      "missing": missing})
    return unmet


def check_key(model: Model, key: keys_pb2.Key) -> None:
    if key.status != "ready":  # as ckks-compute answers for a key it cannot use yet
        raise WavisError("KEY_NOT_FOUND", f"Key {key.key_id} is {key.status}, not ready.")
    unmet = unmet_requirements(model, key)
    if unmet:
        names = ", ".join(entry["requirement"] for entry in unmet)
        raise WavisError("KEY_REQUIREMENTS_NOT_MET", f"Key {key.key_id} does not meet the "
                         f"requirements of {model.model_id}: {names} (details.unmet); make a "
                         "key with the model's key_requirements.",
                         {"model_id": model.model_id, "key_id": key.key_id, "unmet": unmet})


@dataclass
class CompiledSteps:
    """A model's program as ExecuteProgram steps (each plaintext operand one block, which
    ckks-compute repeats over the key's slots), built once and reused."""

    steps: list[ckks_pb.ProgramStep]
    output: str


def program_steps(model: Model) -> CompiledSteps:
    steps = []
    for step in model.program.steps:
        message = ckks_pb.ProgramStep(operation=step.operation, args=step.args,
                                      polynomial_coeffs=step.polynomial_coeffs,
                                      scale_stable=step.scale_stable)
        if step.plain_operand is not None:
            # One block, repeated by ckks-compute over the slots: 64 values for the digits
            # model's diagonals instead of 8192 at N=16384 (9 MB less per request).
            message.plain_operand.extend(step.plain_operand.tolist())
            message.has_plain_operand = True
            message.plain_operand_repeats = True
        if step.rotation_steps is not None:
            message.rotation_steps = step.rotation_steps
        steps.append(message)
    return CompiledSteps(steps, model.program.output)


def program_request(account_id: str, key_id: str, ciphertext_id: str, compiled: CompiledSteps,
                    run_async: bool, op_id: str) -> ckks_pb.ExecuteProgramRequest:
    return ckks_pb.ExecuteProgramRequest(
        account_id=account_id, key_id=key_id, inputs={INPUT: ciphertext_id},
        steps=compiled.steps, outputs=[compiled.output], run_async=run_async, op_id=op_id)
