"""Gates and batches: validation, the batch DAG, and its evaluation across worker processes.

A gate input is a ciphertext or "$k", the output of an earlier gate k (a reference to itself
or a later gate is INVALID_BATCH, so there are no cycles). Each gate's level is one more than
the highest level of the gates it reads; levels run one after the other, and within a level
the gates are dealt to every worker (largest bootstrap counts first, each to the least loaded
worker), one call per worker. A worker that crashes on untrusted bytes costs only its share:
INVALID_CIPHERTEXT (docs/decisions/0006-binfhe-worker-processes.md). A "$k" input must come
from a gate whose output has the plaintext modulus this gate takes
(docs/decisions/0045-three-input-tfhe-presets.md). On a server-mode session every ciphertext
input must be one the session issued (`open_ciphertext`, checked while parsing, before any
work); "$k" inputs are outputs of the same batch, which never left the service, and need no
such check (docs/decisions/0090-server-mode-tfhe-ciphertexts-are-authenticated.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from wavis.core.errors import WavisError
from wavis.core.limits import MAX_BATCH_GATES, MAX_CIPHERTEXT_BYTES, megabytes
from wavis.core.tfhe_catalog import (
    GATE_BOOTSTRAPS,
    GATE_BY_OP,
    GATE_OPS,
    gates_for_preset,
    presets_for_gate,
)
from wavis.fhe.tfhe_gates import GateJob, evaluate_gates
from wavis.fhe.workers import FheWorkerPool, WorkerCrashed
from wavis.generated.tfhe_eval.v1 import tfhe_eval_pb2 as pb

CIPHERTEXT_TOO_LARGE = f"A ciphertext is larger than {megabytes(MAX_CIPHERTEXT_BYTES)}."
INPUT_FIELDS = ("a", "b", "sel", "c")

Input = bytes | int  # a ciphertext, or the index of an earlier gate of the batch
# Runs evaluate_gates for one worker's share: (ref, keep) are bound by the caller.
RunShare = Callable[[list[GateJob]], Awaitable[tuple[list[bytes], int, float]]]
# A server-mode session's check of an input it must have issued: (bytes, where) -> OpenFHE's.
OpenCiphertext = Callable[[bytes, dict[str, Any]], bytes]


@dataclass(frozen=True)
class ParsedGate:
    op: str
    inputs: dict[str, Input]


def parse_gates(gates: list[pb.Gate], preset: str, *, batch: bool,
                open_ciphertext: OpenCiphertext | None = None) -> list[ParsedGate]:
    if not 1 <= len(gates) <= MAX_BATCH_GATES:
        raise WavisError("INVALID_BATCH", f"A batch holds 1 to {MAX_BATCH_GATES} gates, not "
                         f"{len(gates)}.", {"gates": len(gates)})
    allowed = gates_for_preset(preset)
    parsed: list[ParsedGate] = []
    for index, gate in enumerate(gates):
        where: dict[str, Any] = {"gate": index} if batch else {}
        op = gate.op.upper()
        if op not in GATE_OPS:
            raise WavisError("INVALID_OPERATION", f"Unknown gate {gate.op!r}; one of "
                             f"{', '.join(GATE_OPS)}.", where | {"field": "op"})
        if op not in allowed:
            raise WavisError("INVALID_OPERATION", f"{op} needs a three-input preset ("
                             f"{', '.join(presets_for_gate(op))}); the {preset} preset "
                             f"supports {', '.join(allowed)}.", where | {"field": "op"})
        needed = GATE_BY_OP[op].inputs
        inputs: dict[str, Input] = {}
        for name in INPUT_FIELDS:
            present = gate.HasField(name)
            if present != (name in needed):
                verb = "needs" if name in needed else "takes no"
                raise WavisError("VALIDATION_ERROR", f"{op} {verb} input {name}.",
                                 where | {"field": name})
            if present:
                inputs[name] = _input(getattr(gate, name), index, batch, where | {"input": name},
                                      open_ciphertext)
                _check_modulus(op, inputs[name], parsed, where | {"input": name})
        _check_independent(op, inputs, where)
        parsed.append(ParsedGate(op, inputs))
    return parsed


def _check_modulus(op: str, value: Input, earlier: list[ParsedGate],
                   where: dict[str, Any]) -> None:
    """A gate reference must carry the plaintext modulus op takes (ciphertexts are checked
    when the worker reads them)."""
    if not isinstance(value, int):
        return
    wanted = GATE_BY_OP[op].plaintext_modulus
    source = earlier[value].op
    given = GATE_BY_OP[source].plaintext_modulus
    if given != wanted:
        raise WavisError("INVALID_BATCH", f"{op} takes ciphertexts of plaintext modulus "
                         f"{wanted}, but gate {value} ({source}) gives modulus {given}.",
                         where | {"ref": value})


def _input(value: pb.GateInput, index: int, batch: bool, where: dict[str, Any],
           open_ciphertext: OpenCiphertext | None) -> Input:
    if value.WhichOneof("source") == "gate_ref":
        ref = int(value.gate_ref)
        if not batch:
            raise WavisError("VALIDATION_ERROR", "Gate references ($k) exist only in batches.",
                             where)
        if not 0 <= ref < index:
            raise WavisError("INVALID_BATCH", f"Gate {index} refers to gate {ref}: inputs may "
                             "only refer to earlier gates.", where | {"ref": ref})
        return ref
    data = bytes(value.ciphertext)
    if len(data) > MAX_CIPHERTEXT_BYTES:
        raise WavisError("PAYLOAD_TOO_LARGE", CIPHERTEXT_TOO_LARGE, where)
    if not data:
        raise WavisError("INVALID_CIPHERTEXT", "A ciphertext is empty.", where)
    return open_ciphertext(data, where) if open_ciphertext else data


def _pairs(op: str) -> list[tuple[str, str]]:
    if op == "MUX":  # a and b may be equal; the selector must differ from both
        return [("sel", "a"), ("sel", "b")]
    names = GATE_BY_OP[op].inputs
    return [(x, y) for i, x in enumerate(names) for y in names[i + 1:]]


def _check_independent(op: str, inputs: dict[str, Any], where: dict[str, Any]) -> None:
    for x, y in _pairs(op):
        if inputs[x] == inputs[y]:
            raise WavisError("DEPENDENT_INPUTS", f"{op}'s inputs {x} and {y} are the same "
                             "ciphertext.", where | {"inputs": [x, y]})


def levels(gates: list[ParsedGate]) -> list[int]:
    result: list[int] = []
    for gate in gates:
        refs = [v for v in gate.inputs.values() if isinstance(v, int)]
        result.append(1 + max((result[r] for r in refs), default=-1))
    return result


def bootstraps_of(gates: list[ParsedGate]) -> int:
    return sum(GATE_BOOTSTRAPS[gate.op] for gate in gates)


@dataclass
class BatchOutcome:
    outputs: list[bytes]
    bootstraps: int
    levels: int
    seconds: float


async def evaluate(gates: list[ParsedGate], run_share: RunShare, workers: int,
                   ) -> BatchOutcome:
    started = time.perf_counter()
    gate_levels = levels(gates)
    outputs: list[bytes | None] = [None] * len(gates)
    bootstraps = 0
    depth = max(gate_levels) + 1
    for level in range(depth):
        members = [i for i, lv in enumerate(gate_levels) if lv == level]
        jobs: list[GateJob] = []
        for index in members:
            gate = gates[index]
            resolved = {name: (outputs[v] if isinstance(v, int) else v)
                        for name, v in gate.inputs.items()}
            _check_independent(gate.op, resolved, {"gate": index})
            jobs.append((index, gate.op, resolved))  # type: ignore[arg-type]
        shares = [share for share in _deal(jobs, workers) if share]
        results = await asyncio.gather(*(run_share(share) for share in shares))
        for share, (share_outputs, share_bootstraps, _) in zip(shares, results, strict=True):
            bootstraps += share_bootstraps
            for (index, _, _), output in zip(share, share_outputs, strict=True):
                outputs[index] = output
    return BatchOutcome([o for o in outputs if o is not None], bootstraps, depth,
                        time.perf_counter() - started)


def _deal(jobs: list[GateJob], workers: int) -> list[list[GateJob]]:
    """Split a level's gates into one share per worker, balancing bootstraps."""
    shares: list[list[GateJob]] = [[] for _ in range(min(workers, len(jobs)))]
    loads = [0] * len(shares)
    for job in sorted(jobs, key=lambda j: -max(1, GATE_BOOTSTRAPS[j[1]])):
        target = loads.index(min(loads))
        shares[target].append(job)
        loads[target] += max(1, GATE_BOOTSTRAPS[job[1]])
    for share in shares:
        share.sort(key=lambda j: j[0])
    return shares


def share_runner(pool: FheWorkerPool, ref: Any, keep: frozenset[str]) -> RunShare:
    async def run(share: list[GateJob]) -> tuple[list[bytes], int, float]:
        try:
            result: tuple[list[bytes], int, float] = await pool.run(
                evaluate_gates, ref, keep, share)
            return result
        except WorkerCrashed:
            raise WavisError("INVALID_CIPHERTEXT", "A ciphertext could not be evaluated (it "
                             "made the evaluator fail).",
                             {"gates": [job[0] for job in share]}) from None
    return run
