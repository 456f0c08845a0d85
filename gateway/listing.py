"""The one shape of every list endpoint: the caller's account, a signed cursor, one page from
the owning service's List RPC (account_id, limit, cursor -> items, has_more, next_cursor)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gateway import state
from gateway.parameters import PARAMETERS


async def paged_list(request: web.Request, list_name: str,
                     rpc: Callable[[Any], Awaitable[Any]], request_type: Callable[..., Any],
                     items_field: str, to_json: Callable[[Any], dict[str, Any]]) -> web.Response:
    account_id = request[state.CALLER].account_id
    cursors = request.app[state.CURSORS]
    page = cursors.page_request(request[PARAMETERS], list_name, account_id)
    reply = await rpc(request_type(account_id=account_id, limit=page.limit,
                                   cursor=page.position))
    items = [to_json(item) for item in getattr(reply, items_field)]
    return web.json_response(cursors.page(items, reply.has_more, reply.next_cursor, list_name,
                                          account_id))
