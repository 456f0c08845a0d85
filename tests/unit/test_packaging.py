"""Packaging: every package folder is listed in pyproject, and import names follow the file
paths (docs/decisions/0001-import-names-follow-file-paths.md)."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
# The installed top-level packages: the shared libraries (with generated code), the services,
# the gateway. Nothing else of this repository lands in site-packages.
TOP_LEVEL = {"wavis": REPO / "libs" / "wavis", "services": REPO / "services",
             "gateway": REPO / "gateway"}


def _config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_package_list_matches_folders() -> None:
    on_disk = set()
    for name, root in TOP_LEVEL.items():
        for init in root.rglob("__init__.py"):
            relative = init.parent.relative_to(root).parts
            on_disk.add(".".join((name, *relative)))
    assert set(_config()["packages"]) == on_disk


def test_each_package_lives_at_the_path_of_its_name() -> None:
    """The folder of every package is its dotted name under its root, so editors, mypy and
    coverage find modules without any mapping of their own."""
    config = _config()
    assert config["package-dir"] == {"wavis": "libs/wavis"}
    for package in config["packages"]:
        top, *rest = package.split(".")
        assert (TOP_LEVEL[top].joinpath(*rest) / "__init__.py").is_file(), package


def test_generated_code_is_in_one_folder() -> None:
    generated = {p.relative_to(REPO) for p in REPO.glob("**/*_pb2*.py*")
                 if ".venv" not in p.parts and "build" not in p.parts}
    assert generated
    assert all(p.parts[:3] == ("libs", "wavis", "generated") for p in generated), generated


def test_python_version_file_says_310() -> None:
    assert (REPO / ".python-version").read_text().strip() == "3.10"
