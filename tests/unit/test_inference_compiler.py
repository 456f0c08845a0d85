"""The compiler: a model's program, run on plaintext slots, computes the model (with its
polynomial activations) for every sample of the batch; its requirements are what it uses;
and run on OpenFHE it agrees with the plaintext model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from wavis_sdk import inference

from services.inference import local_run
from services.inference.catalogue import BUILTIN_MODELS_DIR, describe, load_catalogue, load_model
from services.inference.compiler import INPUT, Program, compile_network
from support.onnx_models import held_out_split, relu_mlp
from wavis.fhe.ckks_params import first_mod_bits


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue([BUILTIN_MODELS_DIR])


def _slots(vector: np.ndarray, slot_count: int) -> np.ndarray:
    """A packed vector as a ciphertext's slots (zeros after it)."""
    slots = np.zeros(slot_count)
    slots[:len(vector)] = vector
    return slots


def _run(program: Program, slots: np.ndarray) -> np.ndarray:
    """The program's output slots, computed in plaintext."""
    return program.simulate(slots)[program.output]


def _slots_outputs(model, features: np.ndarray, slot_count: int) -> np.ndarray:
    entry = describe(model)
    rows = []
    per = inference.samples_per_ciphertext(entry, slot_count)
    for start, vector in zip(range(0, len(features), per),
                             inference.pack(features, entry, slot_count), strict=True):
        out = _run(model.program, _slots(vector, slot_count))
        rows.append(inference.unpack(out, entry, min(per, len(features) - start)))
    return np.concatenate(rows)


@pytest.mark.parametrize("model_id", ["breast-cancer-logreg", "digits-mlp", "diabetes-linreg"])
@pytest.mark.parametrize("slot_count", [512, 8192])
def test_program_computes_the_model_for_every_sample(catalogue, model_id: str,
                                                     slot_count: int) -> None:
    model = catalogue[model_id]
    features, _ = held_out_split(model.metadata)
    got = _slots_outputs(model, features, slot_count)
    stand_ins = dict(model.approximations)
    want = model.network.evaluate(features, stand_ins)
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) <= 1e-9 * max(1.0, np.max(np.abs(want)))


def test_an_operators_gemm_relu_model(tmp_path: Path) -> None:
    model = load_model(relu_mlp(tmp_path))
    rng = np.random.default_rng(3)
    features = rng.normal(size=(40, 5))
    got = _slots_outputs(model, features, 256)
    assert np.allclose(got, model.network.evaluate(features, dict(model.approximations)),
                       atol=1e-9)
    # The degree-8 stand-in for ReLU over [-4, 4] is close to ReLU, not equal to it.
    assert describe(model)["activations"][0]["max_error"] < 0.2


def test_requirements_are_what_the_program_uses(catalogue) -> None:
    for model in catalogue.values():
        steps = model.program.steps
        assert model.program.rotations == sorted({s.rotation_steps for s in steps
                                                  if s.operation == "rotate"})
        assert all(step.scale_stable for step in steps
                   if step.operation in ("multiply-plain", "poly-eval"))
        assert steps[0].args == (INPUT,) or any(INPUT in s.args for s in steps)
    digits = catalogue["digits-mlp"].program
    # Giant steps are multiples of the baby-step count, baby steps below it.
    baby = digits.baby_steps
    assert all(abs(r) < baby or r % baby == 0 for r in digits.rotations)
    assert catalogue["breast-cancer-logreg"].program.rotations == [1, 2, 4, 8, 16]


def test_a_key_lacking_the_requirements_is_named(catalogue) -> None:
    entry = describe(catalogue["digits-mlp"])
    assert inference.unmet_requirements(entry, 2048, 5, entry["key_requirements"]["rotations"]) \
        == []
    unmet = inference.unmet_requirements(entry, 2048, 3, [1, 2, 4])
    assert unmet[0] == "max_depth 3 < 5" and unmet[1].startswith("rotations [-32")


@pytest.mark.parametrize("model_id", ["breast-cancer-logreg", "digits-mlp", "diabetes-linreg"])
def test_the_last_level_holds_values_the_stated_scale_ceiling_fits(catalogue,
                                                                  model_id: str) -> None:
    """The values the program leaves at its last level (garbage slots included) are scaled
    so that their mean magnitude, which bounds every coefficient CKKS decodes, stays within
    the measured figure; the scale ceiling leaves the first modulus room for it."""
    model = catalogue[model_id]
    entry = describe(model)
    features, _ = held_out_split(model.metadata)
    assert model.program.output in model.program.last_level_refs()
    batches = [_slots(vector, 1024) for vector in inference.pack(features, entry, 1024)]
    worst = model.program.last_level_magnitude(batches)
    magnitude = model.metadata["last_level_magnitude"]
    assert 0 < worst <= magnitude <= 4
    ceiling = entry["key_requirements"]["max_scale_bits"]
    assert first_mod_bits(ceiling) - ceiling >= np.log2(magnitude) + 2
    assert first_mod_bits(ceiling + 1) - (ceiling + 1) < np.log2(magnitude) + 2 or \
        ceiling == 60
    unscaled = compile_network(model.network, model.approximations)
    scale = entry["output_layout"]["scale"]
    assert np.allclose(_run(unscaled, batches[0]), scale * _run(model.program, batches[0]),
                       atol=1e-9)


def test_a_key_above_the_scale_ceiling_is_named(catalogue) -> None:
    entry = describe(catalogue["breast-cancer-logreg"])
    needs = entry["key_requirements"]
    assert needs["max_scale_bits"] == 56 and entry["output_layout"]["scale"] == 32
    assert inference.unmet_requirements(entry, 2048, 1, needs["rotations"], 56) == []
    assert inference.unmet_requirements(entry, 2048, 1, needs["rotations"], 59) == [
        "scale_bits 59 > 56"]


@pytest.mark.parametrize("model_id", ["digits-mlp", "breast-cancer-logreg"])
def test_encrypted_run_agrees_with_the_plaintext_model(catalogue, model_id: str) -> None:
    """The test split through OpenFHE (testing parameters, N=2048, to be quick): the
    predictions agree with the plaintext model's on at least 99% of the samples, and the
    outputs are the polynomial model's to CKKS precision."""
    import openfhe
    from wavis_sdk.ckks import CkksKeys

    model = catalogue[model_id]
    entry = describe(model)
    features, _ = held_out_split(model.metadata)
    keys = CkksKeys.generate(2048, 40, entry["key_requirements"]["min_depth"], "testing",
                             rotations=entry["key_requirements"]["rotations"])
    shape = local_run.key_shape(keys.context, keys.rotations)
    rows = []
    per = inference.samples_per_ciphertext(entry, keys.slot_count)
    for start, vector in zip(range(0, len(features), per),
                             inference.pack(features, entry, keys.slot_count), strict=True):
        ciphertext = openfhe.DeserializeCiphertextString(keys.encrypt(vector).data,
                                                         openfhe.BINARY)
        result = local_run.run_program(keys.context, model.program, ciphertext, shape)
        slots = keys.decrypt(openfhe.Serialize(result, openfhe.BINARY))
        rows.append(inference.unpack(slots, entry, min(per, len(features) - start)))
    encrypted = np.concatenate(rows)
    with_stand_ins = model.network.evaluate(features, dict(model.approximations))
    assert np.max(np.abs(encrypted - with_stand_ins)) < 1e-3
    agree = np.mean(inference.predictions(encrypted, entry)
                    == inference.predictions(model.network.evaluate(features), entry))
    assert agree >= 0.99


def test_ckks_compute_repeats_a_plain_block_over_the_slots() -> None:
    """The inference service sends each weight vector once, as one block
    (ProgramStep.plain_operand_repeats); ckks-compute repeats it over the key's slots and
    refuses a block whose length does not divide them."""
    from services.ckks_compute.compute import ComputeInput, check_operands
    from wavis.core.errors import WavisError
    from wavis.fhe.ckks_ops import KeyShape

    shape = KeyShape(slot_count=1024, max_depth=3, rotations=frozenset(), manual_scaling=False)
    step = ComputeInput("acct", "multiply-plain", "key", [], plain_operand=[1.0, 2.0, 3.0, 4.0],
                        plain_repeats=True)
    check_operands(step, shape)
    assert step.plain_operand == [1.0, 2.0, 3.0, 4.0] * 256
    odd = ComputeInput("acct", "add-plain", "key", [], plain_operand=[1.0, 2.0, 3.0],
                       plain_repeats=True)
    with pytest.raises(WavisError) as refused:
        check_operands(odd, shape)
    assert refused.value.code == "INVALID_PLAIN_OPERAND"
