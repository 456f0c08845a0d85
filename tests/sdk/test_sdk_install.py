"""The SDK installs alone: its wheel into a fresh venv brings openfhe, httpx, numpy, click and
rich and none of the server's dependencies, and it works there (a local CKKS round trip; the
`wavis` command, making a local key)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_ONLY = ("grpcio", "redis", "aiohttp", "stripe", "protobuf", "wavis")
CHECK = """
import json, wavis_sdk
from wavis_sdk.ckks import CkksKeys
keys = CkksKeys.generate(1024, 30, 1, "testing", rotations=[])
print(json.dumps({"version": wavis_sdk.__version__, "agent": wavis_sdk.USER_AGENT,
                  "value": round(float(keys.decrypt(keys.encrypt([1.5]), 1)[0]), 3)}))
"""


def _run(*command: str | Path, cwd: Path | None = None) -> str:
    env = os.environ | {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=540)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


@pytest.mark.timeout(600)
def test_the_wheel_installs_alone_into_a_fresh_venv(tmp_path: Path) -> None:
    source = tmp_path / "sdk"  # a copy: building writes metadata next to the sources
    shutil.copytree(ROOT / "sdk" / "python", source,
                    ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"))
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", tmp_path / "dist", source)
    (wheel,) = (tmp_path / "dist").glob("wavis_sdk-*.whl")
    assert wheel.name.startswith("wavis_sdk-0.1.0-py3-none-any")
    assert "wavis_sdk/py.typed" in zipfile.ZipFile(wheel).namelist()
    # The dependencies at the versions the project pins (the pip cache serves repeats).
    _run(python, "-m", "pip", "install", "--quiet", "-c", ROOT / "requirements.lock", wheel,
         cwd=tmp_path)
    installed = {re.split(r"[=@ ]", line)[0].lower() for line in
                 _run(python, "-m", "pip", "freeze").splitlines()}
    assert {"wavis-sdk", "openfhe", "httpx", "numpy", "click", "rich"} <= installed
    assert not installed & set(SERVER_ONLY), installed & set(SERVER_ONLY)
    report = _run(python, "-c", CHECK, cwd=tmp_path)
    assert report.strip() == ('{"version": "0.1.0", "agent": "wavis-sdk/0.1.0", '
                              '"value": 1.5}')

    # The console script is there and runs without the server's packages.
    wavis = venv / "bin" / "wavis"
    assert _run(wavis, "--version").strip() == "wavis 0.1.0 (wavis-sdk)"
    made = json.loads(_run(wavis, "--json", "keys", "generate", "ckks", "--local", "--out",
                           tmp_path / "key", "--poly-degree", "1024", "--scale-bits", "30",
                           "--security-level", "testing", "--rotations", "", cwd=tmp_path))
    assert made["secret_key_mode"] == "0o600" and made["poly_degree"] == 1024
