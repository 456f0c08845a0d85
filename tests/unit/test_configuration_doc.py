"""docs/configuration.md is generated from the settings classes; it must be exactly what
`make docs` would write, and every setting must say what it means."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from wavis.core.settings import CommonSettings, ServiceSettings, describe_settings

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "scripts" / "gen_config_doc.py"
DOC = REPO / "docs" / "configuration.md"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_doc", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


GEN = load_generator()
CLASSES = [CommonSettings, ServiceSettings, *(process.settings for process in GEN.processes())]


def test_configuration_doc_is_current(tmp_path: Path) -> None:
    out = tmp_path / "configuration.md"
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out)], check=True,
                   capture_output=True)
    assert DOC.is_file(), "docs/configuration.md is missing: run `make docs`"
    assert DOC.read_text() == out.read_text(), "docs/configuration.md is stale: run `make docs`"


def test_every_process_has_its_table() -> None:
    text = GEN.render()
    for heading in ("## Every process", "## Every gRPC service", "## gateway", "## keys",
                    "## tfhe-eval", "## ckks-compute", "## metering", "## webhooks",
                    "## make run"):
        assert f"\n{heading}" in text


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_every_variable_is_documented_with_its_meaning(cls: type) -> None:
    text = GEN.render()
    for row in describe_settings(cls):
        assert row.doc.strip(), f"{row.env} has no doc="
        assert f"| `{row.env}` |" in text


def test_rows_show_what_a_variable_accepts_and_its_default() -> None:
    text = GEN.render()
    assert "| `WAVIS_PORT_BASE` | integer 1024-65527 | `unset` |" in text
    assert "| `WAVIS_MAX_REQUEST_BYTES` | integer 1024-1073741824 | `41943040 (40 MiB)` |" \
        in text
    assert "| `WAVIS_LOG_FORMAT` | json \\| text | `json` |" in text
    # A default computed from the machine is described in words, so the committed file does
    # not depend on where it was generated.
    assert "| `WAVIS_TFHE_WORKERS` | integer 1-256 | `one per core` |" in text
