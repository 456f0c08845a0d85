"""What the deployment-file tests share: where the files are, the processes they deploy, YAML
loading, and how a missing validation tool is reported (fail in CI, skip on a laptop)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
BASE = K8S / "base"
DEV = K8S / "overlays" / "dev"

# name -> (python module, gRPC port or None for the HTTP gateway)
PROCESSES: dict[str, tuple[str, int | None]] = {
    "keys": ("services.keys", 50051),
    "tfhe-eval": ("services.tfhe_eval", 50052),
    "ckks-compute": ("services.ckks_compute", 50053),
    "metering": ("services.metering", 50054),
    "webhooks": ("services.webhooks", 50055),
    "inference": ("services.inference", 50056),
    "gateway": ("gateway", None),
}
GRPC_SERVICES = {name: port for name, (_, port) in PROCESSES.items() if port is not None}
SECRET_KEYS = {
    "WAVIS_API_KEY_PEPPER",
    "WAVIS_CURSOR_SECRET",
    "WAVIS_KEY_ENCRYPTION_KEY",
    "WAVIS_SERVICE_TOKEN",
    "WAVIS_STRIPE_API_KEY",
    "WAVIS_STRIPE_WEBHOOK_SECRET",
    "WAVIS_TFHE_CIPHERTEXT_SECRET",
}


def yaml_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*") if p.suffix in (".yaml", ".yml"))


def load_docs(path: Path) -> list[dict[str, Any]]:
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def base_objects(kind: str) -> dict[str, dict[str, Any]]:
    """Objects of `kind` in k8s/base, by metadata.name."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(BASE.glob("*.yaml")):
        for doc in load_docs(path):
            if doc.get("kind") == kind:
                found[doc["metadata"]["name"]] = doc
    return found


def config_data() -> dict[str, str]:
    return base_objects("ConfigMap")["wavis-config"]["data"]


# ---------------------------------------------------------------------------------- YAML


KUBERNETES_VERSION = "1.37.0"  # the schemas kubernetes-validate 1.37.0 ships
VENV_BIN = Path(sys.executable).parent  # tools installed with the dev extras live here


def missing_tool(what: str, hint: str) -> NoReturn:
    message = f"{what} is not available: {hint}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
