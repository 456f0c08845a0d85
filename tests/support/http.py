"""A small HTTP client for tests: every response is checked against the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from support.openapi_check import assert_matches_openapi


@dataclass
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


class Api:
    """Calls the gateway at `base_url` and validates each JSON answer against `openapi`."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str,
                 openapi: dict[str, Any]) -> None:
        self.session = session
        self.base_url = base_url
        self.openapi = openapi

    async def request(self, method: str, path: str, *, check_schema: bool = True,
                      **kwargs: Any) -> Reply:
        async with self.session.request(method, self.base_url + path, **kwargs) as response:
            text = await response.text()
            reply = Reply(response.status, response.headers, text)
        if check_schema and method != "HEAD" and reply.status not in (204, 429):
            assert_matches_openapi(self.openapi, method, path.split("?")[0], reply.status,
                                   reply.json)
        return reply

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("POST", path, **kwargs)


@asynccontextmanager
async def stack_api(gateway_url: str) -> AsyncIterator[Api]:
    """An Api on a stack's gateway, checking answers against the document that stack serves."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway_url}/api/v1/openapi.json") as reply:
            doc = await reply.json()
        yield Api(session, gateway_url, doc)
