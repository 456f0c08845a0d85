"""The SDK README's code runs as written: every `python` block, in a fresh interpreter with
WAVIS_API_KEY and WAVIS_BASE_URL set, prints exactly the `text` block that follows it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support.accounts import Tenant
from wavis.devstack.stack import Stack

README = Path(__file__).resolve().parents[2] / "sdk" / "python" / "README.md"
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)


def runnable_blocks() -> list[tuple[str, str]]:
    """(code, expected output) of each python block; each must be followed by a text block."""
    blocks = BLOCK.findall(README.read_text())
    pairs = []
    for index, (language, code) in enumerate(blocks):
        if language != "python":
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
        assert following[0] == "text", f"python block {len(pairs) + 1} has no text block after"
        pairs.append((code, following[1]))
    return pairs


def test_the_readme_has_the_quickstarts() -> None:
    codes = [code for code, _ in runnable_blocks()]
    assert len(codes) >= 3
    assert "CkksKeys.generate" in codes[0] and "client.compute.multiply" in codes[0]
    assert "create_eval_session" in codes[1] and "client.tfhe.batch" in codes[1]


@pytest.mark.parametrize("number", range(len(runnable_blocks())))
def test_readme_block_runs_as_written(number: int, mesh: Stack, tenant: Tenant) -> None:
    code, expected = runnable_blocks()[number]
    env = os.environ | {"WAVIS_API_KEY": tenant.api_key, "WAVIS_BASE_URL": mesh.gateway_url,
                        "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected, (done.stdout, done.stderr)
