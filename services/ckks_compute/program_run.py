"""Running a checked program on the engine's threads.

The program is a graph: each step waits for the steps whose results it takes, and each
hoisted precomputation (one per operand rotated more than once) for that operand. A node is
handed to the engine's thread pool the moment its last operand exists, by the thread that
made that operand, so independent branches run side by side and nothing goes through the
event loop between steps; the loop hears once, when the program ends. Results live in
memory only, each dropped when its last reader is done, and only the outputs are serialized
(on the thread that made them). Each step holds the read side of the engine's key lock
while it runs, as single operations do (docs/decisions/0007-ckks-thread-pool-and-eval-key-
lock.md), and checks its real operands again before it runs. See
docs/decisions/0060-ckks-programs.md.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from services.ckks_compute import compute
from services.ckks_compute.engine import CkksEngine, LoadedKey
from services.ckks_compute.program import Program, Source, at_step
from wavis.fhe import ckks_levels, ckks_ops

log = logging.getLogger(__name__)


@dataclass
class RunOutput:
    """A program output, serialized (and compacted, when its bytes are to be returned)."""

    serialized: compute.Serialized
    returned: bytes | None = None


class ProgramRun:
    def __init__(self, program: Program, key: LoadedKey, inputs: dict[str, Any],
                 predicted: list[ckks_levels.Level], engine: CkksEngine, *,
                 return_data: bool = False, compact: bool = False) -> None:
        self.program, self.key, self.inputs, self.predicted = program, key, inputs, predicted
        self.engine = engine
        self.return_data, self.compact = return_data, compact
        steps = len(program.steps)
        self._nodes = steps + len(program.hoisted)  # steps, then precomputations
        needs: list[set[int]] = []
        self._uses = [0] * self._nodes  # readers left of each node's value
        for step in program.steps:
            needs.append({a for a in step.args if isinstance(a, int)})
            if step.hoist is not None:
                needs[-1].add(steps + step.hoist)
                self._uses[steps + step.hoist] += 1
            for arg in step.args:
                if isinstance(arg, int):
                    self._uses[arg] += 1
        for operand in program.hoisted:
            needs.append({operand} if isinstance(operand, int) else set())
            if isinstance(operand, int):
                self._uses[operand] += 1
        self._pending = [len(need) for need in needs]
        self._readers: list[list[int]] = [[] for _ in range(self._nodes)]
        for node, need in enumerate(needs):
            for operand_node in need:
                self._readers[operand_node].append(node)
        self._keep = set(program.outputs)
        self._values: list[Any] = [None] * self._nodes
        self.outputs: dict[int, RunOutput] = {}
        self._guard = threading.Lock()
        self._left = self._nodes
        self._in_flight = 0
        self._stopped = False
        self._error: BaseException | None = None
        self._done: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = self._ended = 0.0

    @property
    def compute_time_ms(self) -> float:
        return round(1000 * (self._ended - self._started), 3)

    async def run(self) -> dict[int, RunOutput]:
        """Evaluate every step; the outputs by step index. Cancelling stops the program
        after the steps already running."""
        self._loop = asyncio.get_running_loop()
        self._done = self._loop.create_future()
        self._started = time.perf_counter()
        with self._guard:
            ready = [node for node in range(self._nodes) if not self._pending[node]]
            self._in_flight += len(ready)
        for node in ready:
            self._submit(node)
        try:
            await self._done
        except asyncio.CancelledError:
            self.stop()
            log.info("program cancelled: %d of %d steps not run", self._left, self._nodes)
            raise
        return self.outputs

    def stop(self) -> None:
        """Start no further step (a cancelled program)."""
        with self._guard:
            self._stopped = True

    def _submit(self, node: int) -> None:
        try:
            self.engine.executor.submit(self._node, node)
        except RuntimeError as exc:  # the pool is shutting down (service stopping)
            self._finished(node, None, exc)

    def _node(self, node: int) -> None:
        """On an engine thread: evaluate one node, then hand on the nodes it made ready."""
        value, error = None, None
        if not self._stopped:
            try:
                with self.engine.lock.reading():
                    value = self._evaluate(node)
            except BaseException as exc:  # reported to the caller, which maps it
                error = exc
        self._finished(node, value, error)

    def _finished(self, node: int, value: Any, error: BaseException | None) -> None:
        ready = []
        with self._guard:
            self._in_flight -= 1
            if error is not None and self._error is None:
                self._error, self._stopped = error, True
            elif error is None and not self._stopped:
                self._values[node] = value
                self._left -= 1
                self._release(node)
                for reader in self._readers[node]:
                    self._pending[reader] -= 1
                    if not self._pending[reader]:
                        ready.append(reader)
                self._in_flight += len(ready)
            ended = not self._left or (self._stopped and not self._in_flight)
        for reader in ready:
            self._submit(reader)
        if ended:
            self._ended = time.perf_counter()
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._end)

    def _release(self, node: int) -> None:
        """Drop the values this node was the last reader of (the caller holds the guard)."""
        steps = len(self.program.steps)
        operands: list[Source] = []
        if node < steps:
            step = self.program.steps[node]
            operands = list(step.args)
            if step.hoist is not None:
                operands.append(steps + step.hoist)
        else:
            operands = [self.program.hoisted[node - steps]]
        for operand in operands:
            if isinstance(operand, int):
                self._uses[operand] -= 1
                if not self._uses[operand] and operand not in self._keep:
                    self._values[operand] = None

    def _end(self) -> None:
        assert self._done is not None
        if self._done.done():  # cancelled meanwhile
            return
        if self._error is not None:
            self._done.set_exception(self._error)
        elif self._left:
            self._done.set_exception(asyncio.CancelledError())
        else:
            self._done.set_result(None)

    def _value(self, source: Source) -> Any:
        return self.inputs[source] if isinstance(source, str) else self._values[source]

    def _evaluate(self, node: int) -> Any:
        cc, shape = self.key.context, self.key.shape
        steps = len(self.program.steps)
        if node >= steps:
            return cc.EvalFastRotationPrecompute(self._value(self.program.hoisted[node - steps]))
        step = self.program.steps[node]
        operands = [self._value(arg) for arg in step.args]
        with at_step(node):  # the real operands, checked again (a bootstrap may give less)
            ckks_levels.after(step.work.operation, [ckks_levels.level_of(ct) for ct in operands],
                              shape, scale_stable=step.work.scale_stable,
                              coefficients=step.work.polynomial_coeffs)
        if step.hoist is not None:
            result = ckks_ops.rotate_hoisted(cc, operands[0], step.work.rotation_steps, shape,
                                             self._values[steps + step.hoist])
        else:
            result = compute._evaluate(cc, step.work, shape, operands, step.matrix)
        state = ckks_levels.level_of(result)
        if state != self.predicted[node] and step.work.operation != "bootstrap":
            log.warning("program step %d (%s) is at %s, predicted %s", node,
                        step.work.operation, state, self.predicted[node])
        if node in self._keep:
            stored = compute.serialized(result, shape)
            returned = None
            if self.return_data:
                returned = compute.compact_bytes(cc, result) if self.compact else stored.data
            self.outputs[node] = RunOutput(stored, returned)
        return result
