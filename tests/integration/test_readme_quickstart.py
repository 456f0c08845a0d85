"""The README's quickstart runs as written: its `sh` blocks, in order, in one bash process
against the test stack, each printing exactly the `text` block that follows it (or nothing).

Only where the stack is differs from a reader's `make run`: the gateway URL, the data folder
wavis-admin reads, and the interpreter (this test's, for `.venv/bin/...`). curl also sends an
X-Forwarded-For of its own (through CURL_HOME's .curlrc), so the burst window it counts in is
not shared with other tests."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from wavis_sdk.cli import cli

from support.accounts import fresh_ip
from support.deploy import missing_tool
from wavis.devstack.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)
SEPARATOR = "=== next block ==="
README_URL = "http://127.0.0.1:8080"


def quickstart_blocks() -> list[tuple[str, str]]:
    """(shell code, expected output) of each `sh` block of the Quickstart section."""
    text = README.read_text()
    start = text.index("\n## Quickstart\n")
    section = text[start:text.index("\n## ", start + 1)]
    blocks = BLOCK.findall(section)
    pairs = []
    for index, (language, code) in enumerate(blocks):
        if language != "sh":
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
        pairs.append((code, following[1] if following[0] == "text" else ""))
    return pairs


def test_the_quickstart_covers_server_mode_tfhe_and_blind_mode() -> None:
    code = "".join(code for code, _ in quickstart_blocks())
    for step in ("wavis-admin create-account", "/keys/generate", "/ciphertexts/encrypt",
                 "/compute/multiply", "/decrypt", "/tfhe/session", "/tfhe/gate",
                 "wavis_sdk", "client.keys.upload"):
        assert step in code, step


def test_the_quickstart_runs_as_written(mesh: Stack, tmp_path: Path) -> None:
    run_quickstart(mesh, tmp_path)


def test_the_quickstart_waits_for_a_key_generated_in_the_background(
        make_stack: Callable[..., Stack], tmp_path: Path) -> None:
    # On a slow or busy machine key generation outlasts WAVIS_KEYGEN_SYNC_SECONDS and answers
    # 202 pending; here every generation does.
    stack = make_stack(env={"WAVIS_KEYGEN_SYNC_SECONDS": "0"})
    try:
        run_quickstart(stack, tmp_path)
    finally:
        stack.stop()


def run_quickstart(stack: Stack, tmp_path: Path) -> None:
    for tool in ("curl", "jq", "bash"):
        if not shutil.which(tool):
            missing_tool(tool, "the README quickstart needs curl and jq (apt-get install curl jq)")
    blocks = quickstart_blocks()
    assert README_URL in "".join(code for code, _ in blocks)
    script = f"\necho '{SEPARATOR}'\n".join(
        code.replace(README_URL, stack.gateway_url)
            .replace(".venv/bin/python", sys.executable)
            .replace(".venv/bin/wavis-admin", f"{sys.executable} -m wavis.admin")
        for code, _ in blocks)
    (tmp_path / ".curlrc").write_text(f'header = "X-Forwarded-For: {fresh_ip()}"\n')
    env = os.environ | {"WAVIS_DATA_DIR": str(stack.data_dir), "CURL_HOME": str(tmp_path),
                        "WAVIS_BASE_URL": stack.gateway_url, "OMP_NUM_THREADS": "1"}
    env.pop("WAVIS_METERING_TARGET", None)
    env.pop("WAVIS_API_KEY", None)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout, done.stderr)
    printed = done.stdout.split(SEPARATOR + "\n")
    assert printed == [expected for _, expected in blocks], done.stderr


def test_the_readmes_wavis_commands_parse() -> None:
    """Each `wavis ...` line the README shows names real commands and options: with --help
    appended, click parses it all (exit 0) where a wrong option or command fails with 2."""
    blocks = re.findall(r"```console\n(.*?)```", README.read_text(), re.S)
    lines = [line.split(" #")[0].strip() for block in blocks for line in block.splitlines()]
    commands = [shlex.split(line) for line in lines if line.startswith("wavis ")]
    assert len(commands) >= 5
    for command in commands:
        result = CliRunner().invoke(cli, [*command[1:], "--help"], prog_name="wavis")
        assert result.exit_code == 0, (command, result.output)
