"""make run's supervisor: crashed services start again; a crash loop, Redis or the gateway
ending stops the stack."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wavis.devstack.supervisor import MAX_RESTARTS, Supervisor


@dataclass
class _Process:
    returncode: int | None = None


@dataclass
class _Child:
    name: str
    process: _Process = field(default_factory=_Process)

    def alive(self) -> bool:
        return self.process.returncode is None


@dataclass
class _Stack:
    services: dict[str, _Child]
    gone: list[str] = field(default_factory=list)  # parts other than services that exited
    restarted: list[str] = field(default_factory=list)

    def exited(self) -> list[str]:
        return [c.name for c in self.services.values() if not c.alive()] + self.gone

    def restart_service(self, key: str) -> int:
        self.restarted.append(key)
        self.services[key] = _Child(self.services[key].name)
        return 1


def _crash(stack: _Stack, key: str) -> None:
    stack.services[key].process.returncode = -11


def test_a_crashed_service_is_restarted_until_it_crash_loops() -> None:
    stack = _Stack({"ckks_compute": _Child("ckks-compute"), "keys": _Child("keys")})
    supervisor = Supervisor(stack)  # type: ignore[arg-type]
    assert supervisor.check() == []
    for _ in range(MAX_RESTARTS):
        _crash(stack, "ckks_compute")
        assert supervisor.check() == []
    assert stack.restarted == ["ckks_compute"] * MAX_RESTARTS
    _crash(stack, "ckks_compute")
    assert supervisor.check() == ["ckks-compute"]  # one crash too many within the window


def test_redis_or_the_gateway_exiting_stops_the_stack() -> None:
    stack: Any = _Stack({"keys": _Child("keys")}, gone=["redis"])
    assert Supervisor(stack).check() == ["redis"]
    assert stack.restarted == []
