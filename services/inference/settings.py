"""The inference service's settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wavis.core.settings import ServiceSettings, parse_path, setting


@dataclass(frozen=True)
class InferenceSettings(ServiceSettings):
    models_dir: Path | None = setting(
        "WAVIS_MODELS_DIR", None, parse_path,
        doc="a folder of further models (<id>.onnx and <id>.json each) served beside the "
            "shipped ones; a model outside the supported subset is left out with a log line "
            "naming why")
