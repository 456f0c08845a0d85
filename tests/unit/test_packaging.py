"""One import namespace: every package folder is listed in pyproject and maps under wavis."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]


def _config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_package_list_matches_folders() -> None:
    config = _config()
    # The mapped folders (libs/wavis, services, gateway) do not nest in one another.
    roots = {name: REPO / folder for name, folder in config["package-dir"].items()}
    on_disk = set()
    for name, root in roots.items():
        for init in root.rglob("__init__.py"):
            relative = init.parent.relative_to(root).parts
            on_disk.add(".".join((name, *relative)))
    assert set(config["packages"]) == on_disk


def test_nothing_generic_lands_in_site_packages() -> None:
    assert all(name == "wavis" or name.startswith("wavis.") for name in _config()["packages"])


def test_python_version_file_says_310() -> None:
    assert (REPO / ".python-version").read_text().strip() == "3.10"
