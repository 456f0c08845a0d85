"""Which FHE library this process evaluates with, as reported by Describe and /health."""

from __future__ import annotations

import importlib.metadata


def fhe_engine_description() -> str:
    import openfhe  # loaded here, after OMP_NUM_THREADS is set

    wheel = importlib.metadata.version("openfhe")
    return f"OpenFHE {openfhe.__version__} (openfhe-python {wheel})"
