"""Following the keys service's key deletions (ckks-compute, tfhe-eval).

    await follow_key_deletions(keys_stub, dropped=drop, in_use=held_keys)

runs for as long as the service does: `dropped(key_id)` for every key deleted, and, each time
the watch (re)starts, for every key `in_use()` ({key_id: account_id}) that GetKey no longer
finds. See docs/decisions/0014-key-deletions-followed-on-every-resubscribe.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import grpc

from wavis.core.errors import WavisError, error_from_rpc
from wavis.generated.keys.v1 import keys_pb2, keys_pb2_grpc

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0


async def follow_key_deletions(keys: keys_pb2_grpc.KeysServiceStub, *,
                               dropped: Callable[[str], Awaitable[None]],
                               in_use: Callable[[], Awaitable[dict[str, str]]]) -> None:
    while True:
        try:
            async for event in keys.WatchKeyDeletions(keys_pb2.WatchKeyDeletionsRequest()):
                if event.key_id:
                    await dropped(event.key_id)
                else:  # subscribed: catch up with deletions made while we were not
                    await _drop_deleted_meanwhile(keys, dropped, await in_use())
        except asyncio.CancelledError:
            raise
        except (grpc.RpcError, WavisError, OSError) as exc:
            log.debug("key deletion watch interrupted: %s", exc)
        await asyncio.sleep(RETRY_SECONDS)


async def _drop_deleted_meanwhile(keys: keys_pb2_grpc.KeysServiceStub,
                                  dropped: Callable[[str], Awaitable[None]],
                                  held: dict[str, str]) -> None:
    for key_id, account_id in held.items():
        try:
            await keys.GetKey(keys_pb2.GetKeyRequest(account_id=account_id, key_id=key_id))
        except grpc.RpcError as exc:
            if error_from_rpc(exc).code == "KEY_NOT_FOUND":
                await dropped(key_id)
            else:
                raise
