"""FheWorkerPool: calls run in worker processes, one at a time each; a crash fails only the
call that caused it and the worker is replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import pytest

from support import worker_calls
from wavis.core.errors import WavisError
from wavis.fhe.workers import FheWorkerPool, WorkerCrashed


@pytest.fixture(scope="module")
def pool() -> Iterator[FheWorkerPool]:
    workers = FheWorkerPool(workers=2, omp_threads=1)
    yield workers
    workers.close()


async def test_results_and_errors_come_back_unchanged(pool: FheWorkerPool) -> None:
    assert await pool.run(worker_calls.echo, b"abc") == b"abc"
    big = os.urandom(3 * 1024 * 1024)  # larger than a pipe holds, both ways
    assert await pool.run(worker_calls.echo, big) == big
    with pytest.raises(WavisError) as refused:
        await pool.run(worker_calls.refuse, "INVALID_CIPHERTEXT")
    assert refused.value.code == "INVALID_CIPHERTEXT"
    assert refused.value.details == {"where": "worker"}
    assert await pool.run(worker_calls.omp_threads) == "1"
    assert await pool.run(worker_calls.pid) != os.getpid()


async def test_workers_run_calls_side_by_side(pool: FheWorkerPool) -> None:
    started = time.perf_counter()
    pids = await asyncio.gather(*(pool.run(worker_calls.sleep_then_pid, 0.4)
                                  for _ in range(2)))
    assert time.perf_counter() - started < 0.75
    assert len(set(pids)) == 2


async def test_a_crash_fails_only_its_call_and_the_worker_is_replaced(
        pool: FheWorkerPool) -> None:
    before = set(await asyncio.gather(*(pool.run(worker_calls.sleep_then_pid, 0.2)
                                        for _ in range(2))))
    honest = asyncio.ensure_future(pool.run(worker_calls.sleep_then_pid, 0.3))
    with pytest.raises(WorkerCrashed):
        await pool.run(worker_calls.crash)
    assert await honest in before  # the call beside it finished normally
    after = set(await asyncio.gather(*(pool.run(worker_calls.sleep_then_pid, 0.2)
                                       for _ in range(2))))
    assert len(after) == 2 and len(after - before) == 1  # one new worker


async def test_a_worker_that_died_idle_is_replaced_before_its_next_call(
        pool: FheWorkerPool) -> None:
    pids = set(await asyncio.gather(*(pool.run(worker_calls.sleep_then_pid, 0.2)
                                      for _ in range(2))))
    victim = pids.pop()
    os.kill(victim, signal.SIGKILL)
    await asyncio.sleep(0.2)
    results = await asyncio.gather(*(pool.run(worker_calls.sleep_then_pid, 0.2)
                                     for _ in range(2)))
    assert victim not in results and len(set(results)) == 2


async def test_a_cancelled_call_keeps_its_worker_until_it_ends() -> None:
    single = FheWorkerPool(workers=1, omp_threads=1)
    try:
        first = asyncio.ensure_future(single.run(worker_calls.sleep_then_pid, 0.5))
        await asyncio.sleep(0.1)
        first.cancel()
        started = time.perf_counter()
        await single.run(worker_calls.pid)  # waits for the cancelled call to finish
        assert time.perf_counter() - started > 0.3
        with pytest.raises(asyncio.CancelledError):
            await first
    finally:
        single.close()


async def test_run_fresh_uses_a_new_process_each_time(pool: FheWorkerPool) -> None:
    first = await pool.run_fresh(worker_calls.pid)
    second = await pool.run_fresh(worker_calls.pid)
    assert first != second
    with pytest.raises(WorkerCrashed):
        await pool.run_fresh(worker_calls.crash)


async def test_a_worker_cannot_take_more_memory_than_its_limit() -> None:
    """Hostile bytes can make OpenFHE allocate without bound; a worker's address space is
    capped, so such a call fails (MemoryError, or the worker dies) instead of the machine
    running out of memory, and the worker goes on serving."""
    limited = FheWorkerPool(workers=1, omp_threads=1, memory_limit_bytes=1024 * 1024 * 1024)
    try:
        assert await limited.run(worker_calls.allocate, 64) == 64 * 1024 * 1024
        with pytest.raises(MemoryError):
            await limited.run(worker_calls.allocate, 2048)
        assert await limited.run(worker_calls.allocate, 64) == 64 * 1024 * 1024
        with pytest.raises(MemoryError):
            await limited.run_fresh(worker_calls.allocate, 2048)
    finally:
        limited.close()
