"""Train the models shipped with the inference service, export them to ONNX and measure them.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_models.py [--out DIR] [--no-measure]

Each model is trained on a dataset that ships inside scikit-learn (nothing is downloaded),
with fixed seeds, so a run gives the same files again. Standardization is folded into the
first layer (users send raw features), and the ONNX file is the score function the encrypted
pipeline computes, exported by skl2onnx: the logistic regression's logit and the linear
regression's value (as the linear functions they are), the MLP's class scores (the
classifier's export cut before its softmax). What
turns scores into labels (a threshold, an argmax) runs on the client after decryption and is
declared by the task in the metadata. Then scripts/measure_models.py measures each model
under encryption on the held-out split and writes the figures into its metadata.
See docs/decisions/0085-models-compiled-to-ckks-programs.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
for root in (REPO_ROOT, REPO_ROOT / "libs"):
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))

from services.inference.catalogue import BUILTIN_MODELS_DIR  # noqa: E402
from services.inference.network import read_network  # noqa: E402

SEED = 0
TEST_SIZE = 0.25
DIGITS_HIDDEN = 32
DIGITS_DEGREE = 5  # the sigmoid's polynomial: depth 3, so the whole model fits depth 5


def split(loader: str, **kwargs: Any) -> tuple[np.ndarray, ...]:
    """The dataset's train/test split, as the metadata records it (the measuring script
    and the tests make the same split from it)."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    features, target = getattr(datasets, loader)(return_X_y=True, **kwargs)
    stratify = target if loader != "load_diabetes" else None
    return tuple(train_test_split(features, target, test_size=TEST_SIZE, random_state=SEED,
                                  stratify=stratify))


def training_record(loader: str, **kwargs: Any) -> dict[str, Any]:
    import sklearn

    return {"script": "scripts/train_models.py", "loader": f"sklearn.datasets.{loader}",
            "loader_kwargs": kwargs, "test_size": TEST_SIZE, "split_seed": SEED,
            "stratified": loader != "load_diabetes", "scikit_learn": sklearn.__version__}


def folded(scaler: Any, weights: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(W', b') with W' x + b' = W (x - mean) / scale + b: weights as in x out."""
    scaled = weights / scaler.scale_[:, None]
    return scaled, bias - scaler.mean_ @ scaled


def export(estimator: Any, n_features: int, path: Path) -> None:
    """skl2onnx's export of the estimator; for a classifier, cut where its scores are (the
    input of its Softmax, else of its ArgMax): the rest turns scores into labels and runs
    on the client after decryption."""
    import onnx
    from onnx.utils import Extractor
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    onnx_model = convert_sklearn(estimator, initial_types=[("features", DoubleTensorType(
        [None, n_features]))], target_opset=17, options={id(estimator): {"zipmap": False}}
        if hasattr(estimator, "classes_") else None)
    if hasattr(estimator, "classes_"):
        nodes = onnx_model.graph.node
        scores = next((node.input[0] for node in nodes if node.op_type == "Softmax"),
                      next(node.input[0] for node in nodes if node.op_type == "ArgMax"))
        inferred = onnx.shape_inference.infer_shapes(onnx_model)
        onnx_model = Extractor(inferred).extract_model(["features"], [scores])
        onnx_model.producer_name = "skl2onnx"
    onnx_model.graph.name = path.stem  # skl2onnx names graphs at random
    onnx.checker.check_model(onnx_model)
    path.write_bytes(onnx_model.SerializeToString())


def linear_shell(weights: np.ndarray, bias: float) -> Any:
    """A LinearRegression computing weights . x + bias (skl2onnx: MatMul and Add)."""
    from sklearn.linear_model import LinearRegression

    shell = LinearRegression()
    shell.coef_ = weights.reshape(-1)
    shell.intercept_ = np.array([float(bias)])
    shell.n_features_in_ = weights.size
    return shell


def make_pipeline(scaler: Any, model: Any) -> Any:
    """The fitted scaler and model as one estimator of raw features (its predict is the
    plaintext model's)."""
    from sklearn.pipeline import Pipeline

    return Pipeline([("scaler", scaler), ("model", model)])


def breast_cancer(out: Path) -> tuple[dict[str, Any], Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x_train, x_test, y_train, _ = split("load_breast_cancer")
    scaler = StandardScaler().fit(x_train)
    model = LogisticRegression(C=1.0, max_iter=10_000, random_state=SEED).fit(
        scaler.transform(x_train), y_train)
    weights, bias = folded(scaler, model.coef_.T, model.intercept_)
    path = out / "breast-cancer-logreg.onnx"
    # skl2onnx gives a binary classifier two score columns (-logit, logit); the model's
    # score is the logit itself: exported as the linear function it is, on raw features.
    export(linear_shell(weights[:, 0], bias[0]), 30, path)
    reference = model.decision_function(scaler.transform(x_test))
    _check_export(path, x_test, reference[:, None])
    metadata = {"name": "Breast cancer (logistic regression)", "version": "1.0.0",
                "task": "binary-classification",
                "dataset": "Breast Cancer Wisconsin (Diagnostic), scikit-learn load_breast_cancer",
                "description": "Logistic regression on the 30 raw features of a cell nucleus "
                               "image; the output is the logit, positive for benign.",
                "classes": ["malignant", "benign"], "approximations": {},
                "training": training_record("load_breast_cancer")}
    return metadata, make_pipeline(scaler, model)


def digits(out: Path) -> tuple[dict[str, Any], Any]:
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    x_train, x_test, y_train, _ = split("load_digits")
    scaler = StandardScaler().fit(x_train)
    model = MLPClassifier(hidden_layer_sizes=(DIGITS_HIDDEN,), activation="logistic",
                          alpha=0.1, max_iter=3000, random_state=SEED).fit(
        scaler.transform(x_train), y_train)
    first, first_bias = folded(scaler, model.coefs_[0], model.intercepts_[0])
    # The sigmoid's range: what the training set puts into it, rounded up.
    hidden_inputs = x_train @ first + first_bias
    bound = float(math.ceil(np.abs(hidden_inputs).max()))
    reference = _mlp_scores(model, scaler.transform(x_test))
    model.coefs_[0], model.intercepts_[0] = first, first_bias  # the same model, raw pixels
    path = out / "digits-mlp.onnx"
    export(model, 64, path)
    _check_export(path, x_test, reference)
    network = read_network(path)
    metadata = {"name": "Handwritten digits (MLP)", "version": "1.0.0", "task": "multiclass",
                "dataset": "Optical recognition of handwritten digits (8x8), scikit-learn "
                           "load_digits",
                "description": f"Multilayer perceptron 64-{DIGITS_HIDDEN}-10 on raw pixel "
                               f"intensities (0-16); the sigmoid runs as a degree-{DIGITS_DEGREE} "
                               f"polynomial over [-{bound:g}, {bound:g}]; the outputs are the ten "
                               "class scores (the prediction is the largest).",
                "classes": [str(c) for c in model.classes_],
                "approximations": {network.activations[0].node: {"range": [-bound, bound],
                                                                 "degree": DIGITS_DEGREE}},
                "training": training_record("load_digits")}
    return metadata, model


def _mlp_scores(model: Any, x: np.ndarray) -> np.ndarray:
    hidden = 1.0 / (1.0 + np.exp(-(x @ model.coefs_[0] + model.intercepts_[0])))
    return hidden @ model.coefs_[1] + model.intercepts_[1]


def diabetes(out: Path) -> tuple[dict[str, Any], Any]:
    from sklearn.linear_model import LinearRegression
    from sklearn.preprocessing import StandardScaler

    x_train, x_test, y_train, _ = split("load_diabetes", scaled=False)
    scaler = StandardScaler().fit(x_train)
    model = LinearRegression().fit(scaler.transform(x_train), y_train)
    reference = model.predict(scaler.transform(x_test))[:, None]
    weights, bias = folded(scaler, model.coef_[:, None], np.array([model.intercept_]))
    path = out / "diabetes-linreg.onnx"
    export(linear_shell(weights[:, 0], bias[0]), 10, path)
    _check_export(path, x_test, reference)
    metadata = {"name": "Diabetes progression (linear regression)", "version": "1.0.0",
                "task": "regression",
                "dataset": "Diabetes (Efron et al.), scikit-learn load_diabetes(scaled=False)",
                "description": "Linear regression of disease progression one year after baseline "
                               "from 10 raw measurements (age, sex, BMI, blood pressure, six "
                               "serum values).",
                "approximations": {}, "training": training_record("load_diabetes", scaled=False)}
    return metadata, make_pipeline(scaler, model)


def _check_export(path: Path, x_test: np.ndarray, reference: np.ndarray) -> None:
    """The ONNX file, read as the service reads it, computes what scikit-learn did."""
    got = read_network(path).evaluate(x_test)
    error = float(np.max(np.abs(got - reference)))
    if error > 1e-6:
        raise SystemExit(f"{path.name}: the exported model differs from scikit-learn "
                         f"by {error}")


# Model id -> training function: (metadata, the fitted scikit-learn estimator of raw features).
MODELS = {"breast-cancer-logreg": breast_cancer, "digits-mlp": digits,
          "diabetes-linreg": diabetes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=BUILTIN_MODELS_DIR)
    parser.add_argument("--no-measure", action="store_true",
                        help="skip the encrypted measurement (accuracy stays as it was)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from threadpoolctl import threadpool_limits

    for model_id, train in MODELS.items():
        with threadpool_limits(limits=1):  # BLAS on several threads sums in another order
            metadata, _ = train(args.out)
        meta_path = args.out / f"{model_id}.json"
        # The last measurement stays until the model is measured again.
        metadata["accuracy"] = (json.loads(meta_path.read_text()).get("accuracy")
                                if meta_path.exists() else None)
        meta_path.write_text(json.dumps(metadata, indent=2) + "\n")
        print(f"{model_id}: {(args.out / f'{model_id}.onnx').stat().st_size} bytes of ONNX")
    if not args.no_measure:
        from measure_models import measure_all  # scripts/ is on the path when run

        measure_all(args.out, list(MODELS))


if __name__ == "__main__":
    main()
