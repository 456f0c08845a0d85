"""OpenFHE calls in worker processes, so a crash in OpenFHE cannot take the service down.

Each worker runs one call at a time (a worker that dies loses only the call that killed it:
WorkerCrashed, and the worker is replaced). Calls travel as pickled messages on a pipe per
worker, answered on the event loop. Workers start with 'spawn' and set OMP_NUM_THREADS before
importing OpenFHE. See docs/decisions/0006-binfhe-worker-processes.md and
docs/decisions/0008-untrusted-bytes-in-worker-processes.md.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import pickle
import resource
from collections.abc import Callable
from typing import Any

# Payloads above this are sent from a thread: a pipe holds 64 KiB, and a larger write waits
# for the worker to read it.
_INLINE_SEND_BYTES = 60 * 1024


class WorkerCrashed(Exception):
    """The worker process running the call died (a crash in native code, os._exit, OOM kill)."""


def _serve(conn: multiprocessing.connection.Connection, omp_threads: int,
           memory_limit_bytes: int | None) -> None:
    """A worker's life: answer calls until the service closes the pipe (or goes away)."""
    os.environ["OMP_NUM_THREADS"] = str(omp_threads)
    if memory_limit_bytes:
        # Hostile bytes can make OpenFHE allocate without bound (a length field read as
        # gigabytes): past the cap an allocation fails (MemoryError, or the worker dies)
        # instead of the host running out of memory. See
        # docs/decisions/0038-fhe-worker-memory-caps.md.
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
    import openfhe  # noqa: F401 - loaded now, after OMP_NUM_THREADS, and off the first call's clock

    while True:
        try:
            fn, args = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            answer: tuple[bool, Any] = (True, fn(*args))
        except BaseException as exc:  # the caller gets it, as raised
            answer = (False, exc)
        try:
            data = pickle.dumps(answer)
        except Exception as exc:  # an unpicklable result or exception
            data = pickle.dumps((False, RuntimeError(f"{_name(fn)}: {exc!r}")))
        try:
            conn.send_bytes(data)
        except (BrokenPipeError, OSError):
            return


class _Worker:
    """One worker process and the service's end of its pipe."""

    def __init__(self, context: Any, omp_threads: int, memory_limit_bytes: int | None) -> None:
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve,
                                       args=(child, omp_threads, memory_limit_bytes),
                                       daemon=True, name="wavis-fhe-worker")
        self.process.start()
        child.close()
        self.answer: asyncio.Future[Any] | None = None  # the call in progress
        self.loop: asyncio.AbstractEventLoop | None = None
        self.when_idle: Callable[[], None] | None = None  # called once the call has ended

    async def call(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        loop = asyncio.get_running_loop()
        self.answer = answer = loop.create_future()
        self.loop = loop
        data = pickle.dumps((fn, args))
        loop.add_reader(self.conn.fileno(), self._readable)
        try:
            if len(data) <= _INLINE_SEND_BYTES:
                self.conn.send_bytes(data)
            else:
                await loop.run_in_executor(None, self.conn.send_bytes, data)
        except OSError:  # the worker is gone: the reader sees EOF and fails the call
            pass
        return await answer

    def _readable(self) -> None:
        answer = self.answer
        try:
            ok, value = pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            self._stop_reading()
            if answer is not None and not answer.done():
                answer.set_exception(WorkerCrashed())
            return
        self._stop_reading()
        if answer is not None and not answer.done():
            if ok:
                answer.set_result(value)
            else:
                answer.set_exception(value)

    def _stop_reading(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.remove_reader(self.conn.fileno())
        self.answer = None
        if self.when_idle is not None:
            when_idle, self.when_idle = self.when_idle, None
            when_idle()

    @property
    def busy(self) -> bool:
        return self.answer is not None

    def alive(self) -> bool:
        return self.process.is_alive()

    def close(self, timeout: float = 5.0) -> None:
        """Close the pipe and reap the process: an idle worker is stopped at once (it may
        still be importing OpenFHE when a service stops right after starting); a busy one
        finishes its call first, for up to `timeout`."""
        busy = self.busy
        if busy:
            self._stop_reading()
        self.conn.close()
        if not busy:
            self.process.terminate()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class FheWorkerPool:
    """`await pool.run(fn, *args)` runs fn(*args) in a worker; fn and args must be picklable."""

    def __init__(self, workers: int, omp_threads: int, *,
                 memory_limit_bytes: int | None = None) -> None:
        """`memory_limit_bytes` caps each worker's address space (None: no cap)."""
        if workers < 1 or omp_threads < 1:
            raise ValueError("workers and omp_threads must be at least 1")
        self._omp_threads = omp_threads
        self._memory_limit = memory_limit_bytes
        self._context = multiprocessing.get_context("spawn")
        self._workers = [self._new_worker() for _ in range(workers)]
        self._closed = False
        # Created for the running loop on first use (a pool may outlive one event loop).
        self._free: asyncio.Semaphore | None = None
        self._free_loop: asyncio.AbstractEventLoop | None = None

    def _new_worker(self) -> _Worker:
        return _Worker(self._context, self._omp_threads, self._memory_limit)

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._free is None or self._free_loop is not loop:
            self._free = asyncio.Semaphore(sum(not w.busy for w in self._workers))
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
        index = next(i for i, worker in enumerate(self._workers) if not worker.busy)
        if not self._workers[index].alive():  # died while idle: its call never started
            self._replace(index)
        worker = self._workers[index]
        freed_later = False
        try:
            return await worker.call(fn, args)
        except WorkerCrashed:
            self._replace(index)
            raise WorkerCrashed(f"the FHE worker died while running {_name(fn)}") from None
        except asyncio.CancelledError:
            # The worker finishes the call regardless and takes no other until then (a call
            # must never queue behind another in one worker, or that worker's crash would be
            # charged to it too): its slot is free again when it answers, or dies.
            if worker.busy:
                worker.when_idle = free.release
                freed_later = True
            raise
        finally:
            if not freed_later:
                free.release()

    def _replace(self, index: int) -> None:
        dead = self._workers[index]
        self._workers[index] = self._new_worker()
        dead.close(timeout=1.0)

    async def run_fresh(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args) in a new worker process of its own, which exits afterwards (key
        generation: OpenFHE's process-global tables, see
        docs/decisions/0008-untrusted-bytes-in-worker-processes.md). Counts against the
        pool's size like any call.
        """
        if self._closed:
            raise RuntimeError("FheWorkerPool is closed")
        async with self._semaphore():
            worker = self._new_worker()
            try:
                return await worker.call(fn, args)
            except WorkerCrashed:
                raise WorkerCrashed(f"the FHE worker died while running {_name(fn)}") from None
            finally:
                await asyncio.get_running_loop().run_in_executor(None, worker.close)

    def close(self) -> None:
        """Stop every worker (each finishes the call it is running first)."""
        self._closed = True
        for worker in self._workers:
            worker.close()


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)
