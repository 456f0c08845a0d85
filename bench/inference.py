"""Encrypted inference: per model, one encrypted batch (a ciphertext full of samples, at the
model's recommended 128-bit key) through the service, against plaintext scikit-learn and
against the same CKKS program run directly on OpenFHE in this process.

Starts its own stack, retrains the scikit-learn models (scripts/train_models.py, into a
temporary folder, for the plaintext column), makes each model's key with the SDK and uploads
it (blind). Columns, each a median over the rounds, with samples per second beside it:

- sklearn: the fitted estimator's predict on the batch's samples (plaintext).
- raw: the model's compiled program (services.inference.local_run: the operations
  ckks-compute runs, rotations hoisted the same way) on the encrypted batch, one thread.
- service: POST /models/{model_id}/predict on the stored ciphertext, keep-alive client, end
  to end (the gateway, the inference service, ckks-compute, metering). Goal:
  raw / service >= 0.9.
- sdk: client.models.predict on the batch's raw features, end to end from this process:
  packing, encryption, upload, prediction, download, decryption.

Raw and service take turns round by round, who goes first alternating, so both see the same
machine. The load average is printed: figures on a shared machine are noted as such.

    .venv/bin/python bench/inference.py [--rounds 5] [--models digits-mlp,...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from benchlib import bench_account, bench_stack

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

from wavis_sdk import Client, inference  # noqa: E402

from services.inference import local_run  # noqa: E402
from services.inference.catalogue import BUILTIN_MODELS_DIR, describe, load_catalogue  # noqa: E402

MODEL_IDS = ("breast-cancer-logreg", "digits-mlp", "diabetes-linreg")


def plaintext_estimators() -> dict[str, Any]:
    """The scikit-learn estimators of raw features, trained again as the models were."""
    import train_models  # scripts/: the training script's functions
    from threadpoolctl import threadpool_limits

    with tempfile.TemporaryDirectory() as folder, threadpool_limits(limits=1):
        return {model_id: train(Path(folder))[1]
                for model_id, train in train_models.MODELS.items()}


def batch(model: Any, samples: int) -> np.ndarray:
    """`samples` rows of the model's held-out split (repeated as needed)."""
    from measure_models import held_out_split

    features, _ = held_out_split(model.metadata)
    return np.resize(features, (samples, features.shape[1]))


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def timed(work: Any, repeat: int = 1) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        work()
    return (time.perf_counter() - started) / repeat


def bench_model(model_id: str, model: Any, estimator: Any, client: Client, http: httpx.Client,
                rounds: int) -> dict[str, Any]:
    import openfhe

    entry = describe(model)
    keys = inference.keys_for_model(entry)
    client.keys.upload(keys)
    per_ciphertext = inference.samples_per_ciphertext(entry, keys.slot_count)
    features = batch(model, per_ciphertext)
    (vector,) = inference.pack(features, entry, keys.slot_count)
    local = keys.encrypt(vector)
    ciphertext = openfhe.DeserializeCiphertextString(local.data, openfhe.BINARY)
    shape = local_run.key_shape(keys.context, keys.rotations)
    uploaded = client.ciphertexts.upload(local, keys.key_id)
    body = {"key_id": keys.key_id, "ciphertext_id": uploaded.ciphertext_id}

    def raw() -> None:
        local_run.run_program(keys.context, model.program, ciphertext, shape)

    answers: list[dict[str, Any]] = []
    compute_ms: list[float] = []

    def service() -> None:
        response = http.post(f"/models/{model_id}/predict", json=body)
        response.raise_for_status()
        answers.append(response.json())
        compute_ms.append(answers[-1]["compute_time_ms"])

    def clean_up() -> None:  # untimed: the stored outputs of the predictions
        while answers[1:]:
            http.delete(f"/ciphertexts/{answers.pop(0)['result_ciphertext_id']}")

    raw(), service()  # warm: keys loaded, the program compiled
    raw_s, service_s = [], []
    for index in range(rounds):
        for which in ((raw, service) if index % 2 else (service, raw)):
            (raw_s if which is raw else service_s).append(timed(which))
            clean_up()
    sklearn_s = timed(lambda: estimator.predict(features), repeat=200)
    sdk_s = [timed(lambda: client.models.predict(model_id, features, keys=keys))
             for _ in range(max(1, rounds // 2))]
    predicted = client.models.predict(model_id, features, keys=keys)
    plain = estimator.predict(features)
    if model.task == "regression":
        agree = float(np.mean(np.abs(predicted - plain) <= 1e-3 * np.ptp(plain)))
    else:
        agree = float(np.mean(predicted.astype(str) == np.asarray(entry["classes"])[
            plain.astype(int)] if model.task == "binary-classification"
            else predicted.astype(str) == plain.astype(str)))
    return {"model": model_id, "N": keys.params.poly_degree, "depth": keys.params.max_depth,
            "samples": per_ciphertext, "steps": len(model.program.steps),
            "fcu": answers[-1]["cost_units"], "sklearn_ms": 1000 * sklearn_s,
            "raw_ms": median_ms(raw_s), "service_ms": median_ms(service_s),
            "compute_ms": statistics.median(compute_ms),
            "sdk_ms": median_ms(sdk_s), "agreement": agree}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--models", default=",".join(MODEL_IDS))
    args = parser.parse_args()
    catalogue = load_catalogue([BUILTIN_MODELS_DIR])
    estimators = plaintext_estimators()
    load_before = os.getloadavg()[0]
    rows = []
    with bench_stack() as stack:
        import asyncio

        _, headers = asyncio.run(bench_account(stack))
        api = stack.gateway_url + "/api/v1"
        with Client(headers["Authorization"].split()[-1], stack.gateway_url) as client, \
                httpx.Client(base_url=api, headers=headers, timeout=600) as http:
            for model_id in args.models.split(","):
                rows.append(bench_model(model_id, catalogue[model_id], estimators[model_id],
                                        client, http, args.rounds))
    print(f"Encrypted inference, one batch per model, {args.rounds} rounds; OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', '?')}; load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after")
    print("| model | N | depth | samples/ct | steps | FCU | sklearn ms (samples/s) | raw ms "
          "(samples/s) | service ms (samples/s) | raw/service | ckks-compute ms | sdk ms "
          "(samples/s) | agreement |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        def rate(ms: float, row: dict[str, Any] = row) -> str:
            return f"{ms:.2f} ({row['samples'] / ms * 1000:,.0f})"

        print(f"| {row['model']} | {row['N']} | {row['depth']} | {row['samples']} | "
              f"{row['steps']} | {row['fcu']} | {rate(row['sklearn_ms'])} | "
              f"{rate(row['raw_ms'])} | {rate(row['service_ms'])} | "
              f"{row['raw_ms'] / row['service_ms']:.2f} | {row['compute_ms']:.1f} | "
              f"{rate(row['sdk_ms'])} | {row['agreement']:.2%} |")


if __name__ == "__main__":
    main()
