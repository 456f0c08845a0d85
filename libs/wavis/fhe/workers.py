"""OpenFHE calls in worker processes, so a crash in OpenFHE cannot take the service down.

Hostile bytes can segfault OpenFHE's parsers, and BinFHE gates hold the GIL: both call for
processes. Each worker is its own single-process executor and runs one call at a time, so when
a worker dies the only call lost is the one that killed it; that call raises WorkerCrashed and
the worker is replaced. (One shared ProcessPoolExecutor would instead fail every call in flight
when any worker dies, letting one hostile upload fail an honest one running beside it.)

Workers start with 'spawn' (forking after OpenMP started deadlocks children) and set
OMP_NUM_THREADS before they import OpenFHE, whose OpenMP runtime reads it once, at load.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any


class WorkerCrashed(Exception):
    """The worker process running the call died (a crash in native code, os._exit, OOM kill)."""


def _init_worker(omp_threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(omp_threads)
    import openfhe  # noqa: F401 - loaded now, after OMP_NUM_THREADS, and off the first call's clock


class FheWorkerPool:
    """`await pool.run(fn, *args)` runs fn(*args) in a worker; fn and args must be picklable."""

    def __init__(self, workers: int, omp_threads: int) -> None:
        if workers < 1 or omp_threads < 1:
            raise ValueError("workers and omp_threads must be at least 1")
        self._omp_threads = omp_threads
        self._context = multiprocessing.get_context("spawn")
        self._slots = [self._new_executor() for _ in range(workers)]
        self._idle = list(range(workers))
        self._closed = False
        # Created for the running loop on first use (a pool may outlive one event loop).
        self._free: asyncio.Semaphore | None = None
        self._free_loop: asyncio.AbstractEventLoop | None = None

    def _new_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=self._context, initializer=_init_worker,
            initargs=(self._omp_threads,))

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._free is None or self._free_loop is not loop:
            self._free = asyncio.Semaphore(len(self._idle))
            self._free_loop = loop
        return self._free

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args) in a worker; its exceptions (e.g. WavisError) arrive unchanged.

        Raises WorkerCrashed when the worker died during the call; the pool stays usable.
        """
        if self._closed:
            raise RuntimeError("FheWorkerPool is closed")
        free = self._semaphore()
        await free.acquire()
        loop = asyncio.get_running_loop()
        slot = self._idle.pop()
        try:
            future = self._slots[slot].submit(fn, *args)
        except BaseException:
            self._idle.append(slot)
            free.release()
            raise
        # The slot is free again only when the worker is done, even if this caller is
        # cancelled meanwhile: a call must never queue behind another in one worker, or that
        # worker's crash would be charged to it too.
        future.add_done_callback(lambda done: self._finish_threadsafe(loop, slot, done))
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            raise WorkerCrashed(f"the FHE worker died while running {_name(fn)}") from exc

    async def run_fresh(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args) in a new worker process of its own, which exits afterwards.

        For key generation: OpenFHE keeps parameter-dependent tables in process-global state,
        and a long-lived worker that had built other contexts was seen to fail a later
        GenCryptoContext ("EstimateLogP() failure: expected sizeP ..."). Counts against the
        pool's size like any call.
        """
        if self._closed:
            raise RuntimeError("FheWorkerPool is closed")
        free = self._semaphore()
        async with free:
            executor = self._new_executor()
            try:
                return await asyncio.wrap_future(executor.submit(fn, *args))
            except BrokenProcessPool as exc:
                raise WorkerCrashed(f"the FHE worker died while running {_name(fn)}") from exc
            finally:
                executor.shutdown(wait=False)

    def _finish_threadsafe(self, loop: asyncio.AbstractEventLoop, slot: int,
                           done: concurrent.futures.Future[Any]) -> None:
        # Runs on the executor's management thread: hand over to the thread of the loop that
        # owns the semaphore now.
        try:
            (self._free_loop or loop).call_soon_threadsafe(self._finish, slot, done)
        except RuntimeError:  # that loop is closed: nobody waits on its semaphore any more
            self._finish(slot, done, release=False)

    def _finish(self, slot: int, done: concurrent.futures.Future[Any],
                release: bool = True) -> None:
        if not done.cancelled() and isinstance(done.exception(), BrokenProcessPool):
            # Replace the dead worker before the slot is handed out again.
            broken = self._slots[slot]
            if not self._closed:
                self._slots[slot] = self._new_executor()
            broken.shutdown(wait=False, cancel_futures=True)
        self._idle.append(slot)
        if release and self._free is not None:
            self._free.release()

    def close(self) -> None:
        """Stop every worker (waits for calls in progress)."""
        self._closed = True
        for executor in self._slots:
            executor.shutdown(wait=True, cancel_futures=True)


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)
