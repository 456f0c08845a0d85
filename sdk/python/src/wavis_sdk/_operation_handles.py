"""Handles of asynchronous CKKS operations (`Operation`, `AsyncOperation`): poll, wait for
the result, cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wavis_sdk._models import ComputeResult, OperationStatus, ProgramResult

if TYPE_CHECKING:
    from wavis_sdk._async_client import AsyncClient
    from wavis_sdk._client import Client


class Operation:
    """An asynchronous CKKS operation."""

    def __init__(self, client: Client, status: OperationStatus) -> None:
        self._client = client
        self.status = status

    @property
    def op_id(self) -> str:
        return self.status.op_id

    def refresh(self) -> OperationStatus:
        self.status = self._client.run(self._client._ops.get_operation(self.op_id))
        return self.status

    def wait(self, timeout: float | None = 600.0, *,
             cancel_on_timeout: bool = False) -> ComputeResult:
        """Poll with growing waits until completed (the result), failed or cancelled
        (OperationFailedError), or `timeout` (WaitTimeoutError). Ctrl-C stops waiting."""
        return self._client.run(self._client._ops.wait_operation(self.op_id, timeout,
                                                                 cancel_on_timeout))

    def wait_program(self, timeout: float | None = 600.0, *,
                     cancel_on_timeout: bool = False) -> ProgramResult:
        """wait, for an asynchronous program."""
        return self._client.run(self._client._ops.wait_program(self.op_id, timeout,
                                                               cancel_on_timeout))

    def cancel(self) -> OperationStatus:
        self.status = self._client.run(self._client._ops.cancel_operation(self.op_id))
        return self.status

    def __repr__(self) -> str:
        return f"Operation({self.op_id!r}, status={self.status.status!r})"


class AsyncOperation:
    def __init__(self, client: AsyncClient, status: OperationStatus) -> None:
        self._client = client
        self.status = status

    @property
    def op_id(self) -> str:
        return self.status.op_id

    async def refresh(self) -> OperationStatus:
        self.status = await self._client.run(self._client._ops.get_operation(self.op_id))
        return self.status

    async def wait(self, timeout: float | None = 600.0, *,
                   cancel_on_timeout: bool = False) -> ComputeResult:
        """As Operation.wait; cancelling the awaiting task stops waiting."""
        return await self._client.run(self._client._ops.wait_operation(
            self.op_id, timeout, cancel_on_timeout))

    async def wait_program(self, timeout: float | None = 600.0, *,
                           cancel_on_timeout: bool = False) -> ProgramResult:
        return await self._client.run(self._client._ops.wait_program(
            self.op_id, timeout, cancel_on_timeout))

    async def cancel(self) -> OperationStatus:
        self.status = await self._client.run(self._client._ops.cancel_operation(self.op_id))
        return self.status

    def __repr__(self) -> str:
        return f"AsyncOperation({self.op_id!r}, status={self.status.status!r})"
