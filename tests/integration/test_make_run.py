"""`make run` as a user runs it: prints the URL once ready; SIGTERM leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from wavis.core.redis_server import free_port

REPO = Path(__file__).resolve().parents[2]


def processes_with_env(name: str, value: str) -> list[int]:
    """PIDs of live processes whose environment holds name=value."""
    needle = f"{name}={value}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().split(") ")[-1][0]
        except OSError:
            continue
        if needle in environ and state != "Z":
            pids.append(int(entry.name))
    return pids


def _start(command: list[str], data_dir: Path, port: int,
           new_session: bool = False) -> subprocess.Popen[str]:
    env = os.environ | {"WAVIS_HTTP_PORT": str(port), "WAVIS_DATA_DIR": str(data_dir),
                        "OMP_NUM_THREADS": "1"}
    env.pop("WAVIS_REDIS_URL", None)
    env.pop("WAVIS_PORT_BASE", None)
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=new_session)


def _wait_for_ready_line(process: subprocess.Popen[str], timeout: float = 90) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            pytest.fail("exited before ready:\n" + "".join(lines))
        lines.append(line)
        if line.startswith("WAVIS is ready"):
            return lines
    pytest.fail("not ready in time:\n" + "".join(lines))


def _ctrl_c(process: subprocess.Popen[str]) -> None:
    """What a terminal does on Ctrl-C: SIGINT to the whole foreground process group."""
    os.killpg(process.pid, signal.SIGINT)


@pytest.mark.parametrize(("command", "stop"), [
    pytest.param(["make", "--no-print-directory", "run"], "SIGTERM", id="make-run-sigterm"),
    pytest.param(["make", "--no-print-directory", "run"], "ctrl-c", id="make-run-ctrl-c"),
    pytest.param([sys.executable, "-m", "wavis.devstack"], "SIGTERM", id="devstack-sigterm"),
])
def test_run_serves_then_stops_everything(command: list[str], stop: str,
                                          tmp_path: Path) -> None:
    port = free_port()
    process = _start(command, tmp_path / "var", port, new_session=True)
    try:
        lines = _wait_for_ready_line(process)
        assert f"http://127.0.0.1:{port}/api/v1" in lines[-1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as r:
            health = json.loads(r.read())
        assert health["status"] == "healthy"
        assert [d["name"] for d in health["dependencies"]] == [
            "redis", "keys", "tfhe-eval", "ckks-compute", "metering", "webhooks", "inference"]
        family = processes_with_env("WAVIS_DATA_DIR", str(tmp_path / "var"))
        assert len(family) >= 7  # launcher, redis, five services, gateway

        started = time.monotonic()
        if stop == "ctrl-c":
            _ctrl_c(process)
        else:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        while processes_with_env("WAVIS_DATA_DIR", str(tmp_path / "var")):
            assert time.monotonic() - started < 10, "children still running after 10 s"
            time.sleep(0.1)
        # The data stayed (Redis append-only file) for the next run.
        assert (tmp_path / "var" / "redis").is_dir()
    finally:
        for pid in processes_with_env("WAVIS_DATA_DIR", str(tmp_path / "var")):
            os.kill(pid, signal.SIGKILL)


def _health(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as reply:
        return dict(json.loads(reply.read()))


def _service_pid(data_dir: Path, module: str) -> int:
    for pid in processes_with_env("WAVIS_DATA_DIR", str(data_dir)):
        try:
            if module.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    raise AssertionError(f"no {module} process")


def _published_pids(data_dir: Path) -> dict[str, int]:
    return dict(json.loads((data_dir / "stack.json").read_text())["pids"])


def test_a_crashed_service_is_started_again(tmp_path: Path) -> None:
    """SIGKILL (as a native crash would) of ckks-compute: the stack starts it again on its
    port and serves; only a service that keeps crashing stops the stack. stack.json names
    every process's pid, the new one after a restart."""
    port, data_dir = free_port(), tmp_path / "var"
    process = _start([sys.executable, "-m", "wavis.devstack"], data_dir, port,
                     new_session=True)
    try:
        _wait_for_ready_line(process)
        crashed = _service_pid(data_dir, "services.ckks_compute")
        pids = _published_pids(data_dir)
        assert set(pids) == {"launcher", "redis", "ciphertext_redis", "gateway", "keys",
                             "tfhe_eval", "ckks_compute", "metering", "webhooks", "inference"}
        assert pids["launcher"] == process.pid and pids["ckks_compute"] == crashed
        assert pids["gateway"] == _service_pid(data_dir, "gateway")
        family = set(processes_with_env("WAVIS_DATA_DIR", str(data_dir)))
        assert set(pids.values()) <= family | {pids["redis"], pids["ciphertext_redis"]}
        os.kill(crashed, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "the stack stopped"
            try:
                replaced = _service_pid(data_dir, "services.ckks_compute")
                if replaced != crashed and _health(port)["status"] == "healthy":
                    break
            except (AssertionError, OSError):
                pass
            assert time.monotonic() < deadline, "ckks-compute did not come back"
            time.sleep(0.2)
        assert _published_pids(data_dir)["ckks_compute"] == replaced
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
        assert "ckks-compute exited (-9); starting it again" in output
    finally:
        for pid in processes_with_env("WAVIS_DATA_DIR", str(data_dir)):
            os.kill(pid, signal.SIGKILL)


def test_bad_setting_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    env = os.environ | {"WAVIS_HTTP_PORT": "eighty", "WAVIS_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "wavis.devstack"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "WAVIS_HTTP_PORT='eighty'" in result.stderr
    assert "whole number" in result.stderr


@pytest.mark.parametrize("module", ["gateway", "services.keys"])
def test_each_process_validates_its_settings(module: str) -> None:
    env = os.environ | {"OTEL_TRACES_EXPORTER": "zipkin", "WAVIS_REDIS_URL": "localhost:6379"}
    result = subprocess.run([sys.executable, "-m", module], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "OTEL_TRACES_EXPORTER='zipkin'" in result.stderr
    assert "WAVIS_REDIS_URL='localhost:6379'" in result.stderr


def test_two_stacks_cannot_share_a_data_dir_but_run_side_by_side(tmp_path: Path) -> None:
    first = _start([sys.executable, "-m", "wavis.devstack"], tmp_path / "a", free_port())
    try:
        _wait_for_ready_line(first)
        clash = subprocess.run(
            [sys.executable, "-m", "wavis.devstack"], cwd=REPO, capture_output=True, text=True,
            env=os.environ | {"WAVIS_DATA_DIR": str(tmp_path / "a"),
                              "WAVIS_HTTP_PORT": str(free_port())}, timeout=30)
        assert clash.returncode == 1
        assert "another WAVIS stack is using" in clash.stderr
        second = _start([sys.executable, "-m", "wavis.devstack"], tmp_path / "b", free_port())
        try:
            _wait_for_ready_line(second)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=10) == 0
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=10) == 0


@pytest.mark.parametrize(("module", "secret"), [
    ("gateway", "WAVIS_CURSOR_SECRET"),
    ("services.metering", "WAVIS_API_KEY_PEPPER"),
    ("services.tfhe_eval", "WAVIS_TFHE_CIPHERTEXT_SECRET"),
])
def test_production_refuses_to_start_without_secrets(module: str, secret: str,
                                                     tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAVIS_")}
    env |= {"WAVIS_ENVIRONMENT": "production", "WAVIS_DATA_DIR": str(tmp_path),
            "WAVIS_HTTP_PORT": "0", "WAVIS_GRPC_PORT": "0"}
    result = subprocess.run([sys.executable, "-m", module], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"{secret} is required in production" in result.stderr
    assert not (tmp_path / "secrets").exists()
