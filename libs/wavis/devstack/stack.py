"""Start and stop the whole mesh on this machine: the engine of `make run`, also used by tests."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from wavis.core.mesh import SERVICES
from wavis.core.ready_file import read_ready_port
from wavis.core.redis_server import RedisServer, free_ports
from wavis.core.service_auth import TOKEN_ENV, publish_dev_token, service_token
from wavis.core.settings import CommonSettings
from wavis.devstack.children import Child, die_with_parent, python_module, stop_all

STACK_FILE = "stack.json"


def read_stack_file(data_dir: Path) -> dict[str, Any] | None:
    """Where a running `make run` stack listens, as it published it; None if none runs."""
    try:
        return cast(dict[str, Any], json.loads((data_dir / STACK_FILE).read_text()))
    except (FileNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class GatewayReplica:
    child: Child
    port: int


@dataclass(frozen=True)
class ServiceReplica:
    key: str  # the service's mesh key, e.g. "ckks_compute"
    child: Child
    port: int


def replicas_target(ports: list[int]) -> str:
    """One gRPC target naming several local replicas; the channels round-robin over them."""
    return "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)


class StackError(RuntimeError):
    """The stack could not start; the message says which part and why."""


@dataclass
class Stack:
    data_dir: Path
    http_port: int = 8080
    # Services at base..base+4, Redis at base+5, the ciphertext cache's Redis at base+6;
    # None: free ports.
    port_base: int | None = None
    redis_url: str | None = None  # use this Redis instead of starting one
    env: dict[str, str] = field(default_factory=dict)  # extra environment for every child
    log_dir: Path | None = None  # None: children write to this terminal
    startup_timeout: float = 60.0
    stop_timeout: float = 9.0  # make run promises every child gone within 10 s

    redis: RedisServer | None = field(default=None, init=False)
    # The ciphertext cache: a Redis of its own, with RDB snapshots instead of an AOF.
    cache_redis: RedisServer | None = field(default=None, init=False)
    services: dict[str, Child] = field(default_factory=dict, init=False)
    service_ports: dict[str, int] = field(default_factory=dict, init=False)
    gateway: Child | None = field(default=None, init=False)
    gateway_port: int = field(default=0, init=False)
    extra_gateways: list[GatewayReplica] = field(default_factory=list, init=False)
    service_replicas: list[ServiceReplica] = field(default_factory=list, init=False)
    _gateway_env: dict[str, str] = field(default_factory=dict, init=False)
    _run_dir: Path | None = field(default=None, init=False)
    _redis_url: str = field(default="", init=False)
    _lock: IO[str] | None = field(default=None, init=False)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def _child_env(self, redis_url: str) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", "1")
        env.setdefault("WAVIS_ENVIRONMENT", "development")
        env.update({
            "PYTHONUNBUFFERED": "1",
            "WAVIS_DATA_DIR": str(self.data_dir),
            "WAVIS_REDIS_URL": redis_url,
        })
        env.update(self.env)
        # One service credential for the whole stack (and this process, whose clients call it).
        env.setdefault(TOKEN_ENV, service_token(CommonSettings(data_dir=self.data_dir)))
        publish_dev_token(self.data_dir, env[TOKEN_ENV])
        return env

    def _log_path(self, name: str) -> Path | None:
        return self.log_dir / f"{name}.log" if self.log_dir else None

    def _lock_data_dir(self) -> None:
        """One stack per data directory: two Redis servers must never share an AOF file."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.data_dir / "stack.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StackError(f"another WAVIS stack is using {self.data_dir}; stop it or set "
                             "WAVIS_DATA_DIR to another folder") from None
        self._lock = handle

    def start(self) -> Stack:
        self.data_dir = self.data_dir.resolve()
        self._lock_data_dir()
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=self.data_dir))
        redis_url = self.redis_url or self._start_redis()
        env = self._child_env(redis_url)
        if self.cache_redis is not None:
            env.setdefault("WAVIS_CIPHERTEXT_REDIS_URL", self.cache_redis.url)

        # Ports are chosen before anything starts, so every process (services call each
        # other too) is told where every service listens.
        chosen = ([self.port_base + index for index in range(len(SERVICES))]
                  if self.port_base is not None else free_ports(len(SERVICES)))
        ports = {service.key: port for service, port in zip(SERVICES, chosen, strict=True)}
        env |= {service.target_env: f"127.0.0.1:{ports[service.key]}" for service in SERVICES}
        for service in SERVICES:
            child_env = env | {"WAVIS_GRPC_PORT": str(ports[service.key]),
                               "WAVIS_READY_FILE": str(run_dir / f"{service.key}.json")}
            self.services[service.key] = Child(service.name, python_module(service.module),
                                               child_env, self._log_path(service.key))
        for service in SERVICES:
            self.service_ports[service.key] = self._wait_ready(
                self.services[service.key], run_dir / f"{service.key}.json")

        self._run_dir = run_dir
        self._gateway_env = env
        replica = self._start_gateway("gateway", self.http_port)
        self.gateway, self.gateway_port = replica.child, replica.port
        self._redis_url = redis_url
        self._publish()
        return self

    def pids(self) -> dict[str, int]:
        """The pid of every process of the stack by name: the launcher (this process), the
        Redis servers it started, the gateway and each service (by mesh key)."""
        pids = {"launcher": os.getpid()}
        for name, server in (("redis", self.redis), ("ciphertext_redis", self.cache_redis)):
            if server is not None and server.process is not None:
                pids[name] = server.process.pid
        if self.gateway is not None:
            pids["gateway"] = self.gateway.pid
        return pids | {key: child.pid for key, child in self.services.items()}

    def _publish(self) -> None:
        """Tell operator tools (wavis-admin) and tests where this stack listens and which
        processes it is (rewritten when a service is restarted)."""
        published = {"gateway_url": self.gateway_url, "redis_url": self._redis_url,
                     "services": {key: f"127.0.0.1:{port}"
                                  for key, port in self.service_ports.items()},
                     "pids": self.pids()}
        tmp = self.data_dir / f"{STACK_FILE}.tmp"
        tmp.write_text(json.dumps(published, indent=2))
        tmp.replace(self.data_dir / STACK_FILE)

    def _start_gateway(self, name: str, port: int,
                       extra_env: dict[str, str] | None = None) -> GatewayReplica:
        assert self._run_dir is not None
        ready_file = self._run_dir / f"{name}.json"
        env = self._gateway_env | (extra_env or {}) | {"WAVIS_HTTP_PORT": str(port),
                                                       "WAVIS_READY_FILE": str(ready_file)}
        child = Child(name, python_module("gateway"), env, self._log_path(name))
        replica = GatewayReplica(child, self._wait_ready(child, ready_file))
        self._wait_gateway_ready(replica.port)
        return replica

    def restart_service(self, key: str) -> int:
        """Kill the service (if still running) and start it again on the same port with the
        same environment (tests use it to check what survives a crash)."""
        assert self._run_dir is not None, "start the stack first"
        old = self.services[key]
        old.kill()
        old.process.wait()
        ready_file = self._run_dir / f"{key}.json"
        ready_file.unlink(missing_ok=True)
        module = next(service.module for service in SERVICES if service.key == key)
        env = self._gateway_env | {"WAVIS_GRPC_PORT": str(self.service_ports[key]),
                                   "WAVIS_READY_FILE": str(ready_file)}
        self.services[key] = Child(old.name, python_module(module), env, self._log_path(key))
        self.service_ports[key] = self._wait_ready(self.services[key], ready_file)
        self._publish()
        return self.service_ports[key]

    def start_extra_gateway(self, targets: dict[str, str] | None = None) -> GatewayReplica:
        """Another gateway replica on a free port, sharing the services and Redis.

        `targets` overrides where it finds services, by mesh key: e.g. {"ckks_compute":
        replicas_target([p1, p2])} puts it in front of two ckks-compute replicas.
        """
        by_key = {service.key: service for service in SERVICES}
        env = {by_key[key].target_env: target for key, target in (targets or {}).items()}
        replica = self._start_gateway(f"gateway-{len(self.extra_gateways) + 2}", 0, env)
        self.extra_gateways.append(replica)
        return replica

    def start_service_replica(self, key: str,
                              env: dict[str, str] | None = None) -> ServiceReplica:
        """Another process of service `key` on a free port, with the stack's environment (same
        Redis, same targets for the services it calls) plus `env`. The stack's gateway keeps
        calling the first one: put a gateway in front of the replicas with
        `start_extra_gateway(targets={key: replicas_target([...])})`."""
        assert self._run_dir is not None, "start the stack first"
        service = next(service for service in SERVICES if service.key == key)
        number = 2 + sum(replica.key == key for replica in self.service_replicas)
        name = f"{key}-{number}"
        ready_file = self._run_dir / f"{name}.json"
        child_env = self._gateway_env | (env or {}) | {"WAVIS_GRPC_PORT": "0",
                                                       "WAVIS_READY_FILE": str(ready_file)}
        child = Child(f"{service.name}-{number}", python_module(service.module), child_env,
                      self._log_path(name))
        try:
            replica = ServiceReplica(key, child, self._wait_ready(child, ready_file))
        except StackError:
            child.kill()
            raise
        self.service_replicas.append(replica)
        return replica

    def _start_redis(self) -> str:
        """Redis for state (AOF, as in production) and one for the ciphertext cache."""
        base = self.port_base + len(SERVICES) if self.port_base is not None else None
        self.redis = RedisServer(self.data_dir / "redis", base, persistent=True)
        self.cache_redis = RedisServer(self.data_dir / "redis-ciphertexts",
                                       base + 1 if base is not None else None,
                                       persistent=False, snapshots=True)
        for server in (self.redis, self.cache_redis):
            try:
                server.start(preexec_fn=die_with_parent())
            except (RuntimeError, TimeoutError, FileNotFoundError) as exc:
                raise StackError(f"redis did not start: {exc}") from None
        return self.redis.url

    def _wait_ready(self, child: Child, ready_file: Path) -> int:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            port = read_ready_port(ready_file)
            if port is not None:
                return port
            if not child.alive():
                raise StackError(f"{child.name} exited with code {child.process.returncode}"
                                 f" while starting\n{child.log_tail()}")
            time.sleep(0.05)
        raise StackError(f"{child.name} did not start within {self.startup_timeout:.0f} s")

    def _wait_gateway_ready(self, port: int) -> None:
        url = f"http://127.0.0.1:{port}/api/v1/health/ready"
        deadline = time.monotonic() + self.startup_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=3) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                last = exc.read().decode(errors="replace")[:500]
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise StackError(f"the gateway never became ready: {last}")

    def children(self) -> list[Child]:
        """Gateways first, so they stop taking requests before the services behind them go."""
        gateways = [self.gateway] if self.gateway else []
        gateways += [replica.child for replica in self.extra_gateways]
        replicas = [replica.child for replica in self.service_replicas]
        return gateways + list(self.services.values()) + replicas

    def exited(self) -> list[str]:
        """Names of the parts that are no longer running."""
        names = [child.name for child in self.children() if not child.alive()]
        for name, server in (("redis", self.redis), ("redis-ciphertexts", self.cache_redis)):
            if server is not None and server.process is not None \
                    and server.process.poll() is not None:
                names.append(name)
        return names

    def stop(self) -> None:
        (self.data_dir / STACK_FILE).unlink(missing_ok=True)
        stop_all(self.children(), self.stop_timeout - 1)
        # Both Redis servers stop together, within the launcher's 10 s (a cut snapshot of the
        # ciphertext cache leaves the previous one in place).
        servers = [server for server in (self.redis, self.cache_redis)
                   if server is not None and server.process is not None]
        for server in servers:
            assert server.process is not None
            server.process.terminate()
        for server in servers:
            server.stop(timeout=0.5)
        if self._lock is not None:
            self._lock.close()
            self._lock = None
