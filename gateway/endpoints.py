"""The declarative endpoint table: one entry per public operation.

Routing, authorization, the trial allowance and the OpenAPI document all read this table
(docs/decisions/0023-declarative-endpoint-table.md).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gateway.pagination import DEFAULT_LIMIT, MAX_LIMIT

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_PREFIX = "/api/v1"
PATH_PARAMETER = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class Reply:
    """One documented response of an endpoint."""

    description: str
    schema: str | None = None  # name under components/schemas; None: no body
    headers: tuple[str, ...] = ()  # names under components/headers


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # below /api/v1, aiohttp syntax: "/keys/{key_id}"
    handler: Handler
    summary: str
    tag: str
    replies: Mapping[int, Reply]
    min_role: str | None = None  # None: public (no API key)
    operation: bool = False  # counts against an operation allowance (trial accounts: 10)
    request_schema: str | None = None  # name under components/schemas
    description: str = ""
    query_parameters: tuple[dict[str, Any], ...] = ()  # OpenAPI parameter objects
    # Schemas of path parameters (default: any text); the router matches a pattern or enum
    # given here, so each concrete path belongs to one template (see add_routes).
    path_parameters: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    extra: Mapping[str, object] = field(default_factory=dict)  # more OpenAPI operation fields

    @property
    def full_path(self) -> str:
        return API_PREFIX + self.path

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    def parameters(self) -> list[dict[str, Any]]:
        """Its path parameters, then its query parameters, as OpenAPI parameter objects."""
        path = [{"name": name, "in": "path", "required": True,
                 "schema": self.path_parameters.get(name, {"type": "string"})}
                for name in PATH_PARAMETER.findall(self.path)]
        return path + list(self.query_parameters)


def add_routes(app: web.Application, endpoints: tuple[Endpoint, ...]) -> dict[str, Endpoint]:
    """Register every endpoint; return route name -> endpoint, for the access middlewares."""
    by_route: dict[str, Endpoint] = {}
    for endpoint in endpoints:
        name = f"{endpoint.method.lower()}_{endpoint.operation_id}"
        if endpoint.method == "GET":  # every GET answers HEAD too, as HTTP expects
            app.router.add_get(endpoint.full_path, endpoint.handler, name=name, allow_head=True)
        else:
            app.router.add_route(endpoint.method, endpoint.full_path, endpoint.handler, name=name)
        by_route[name] = endpoint
    return by_route


PAGE_PARAMETERS: tuple[dict[str, object], ...] = (
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "format": "int32", "minimum": 1, "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT}},
    {"name": "cursor", "in": "query", "required": False,
     "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "maxLength": 2048},
     "x-wavis-error-code": "INVALID_CURSOR",
     "description": "next_cursor of the previous page, as given; any other value answers 400 "
                    "INVALID_CURSOR (cursors are signed)."},
)
