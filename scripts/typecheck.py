"""Run mypy on the `wavis` namespace as Python imports it.

The package maps three folders (libs/wavis, services, gateway) into one namespace, which mypy
cannot see from file paths; so this builds a tree of symlinks with that shape under
build/typecheck and type-checks `-p wavis` there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
TREE = REPO / "build" / "typecheck"


def build_tree() -> None:
    mapping = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"]
    shutil.rmtree(TREE, ignore_errors=True)
    root = TREE / "wavis"
    root.mkdir(parents=True)
    for child in (REPO / mapping["wavis"]).iterdir():
        if child.name != "__pycache__":
            (root / child.name).symlink_to(child)
    for name, folder in mapping.items():
        if name != "wavis":
            (root / name.split(".", 1)[1]).symlink_to(REPO / folder)


def main() -> int:
    build_tree()
    command = [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"),
               "-p", "wavis", *sys.argv[1:]]
    return subprocess.call(command, cwd=TREE)


if __name__ == "__main__":
    raise SystemExit(main())
