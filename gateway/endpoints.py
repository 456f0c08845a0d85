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
# In a parameter object: the code of its refusal when not VALIDATION_ERROR.
PARAMETER_ERROR_CODE = "x-wavis-error-code"


@dataclass(frozen=True)
class Reply:
    """One documented response of an endpoint."""

    description: str
    schema: str | None = None  # name under components/schemas; None: no body
    headers: tuple[str, ...] = ()  # names under components/headers
    # Error codes of this status for a request the schemas accept: refusals that depend on
    # stored state or on the content of bytes, which no schema can state
    # (docs/decisions/0076-the-openapi-document-states-every-rule.md).
    codes: tuple[str, ...] = ()


def refusal(status: int, *codes: str, why: str) -> dict[int, Reply]:
    """A documented refusal of requests the schemas accept, for an endpoint's replies."""
    return {status: Reply(f"{why} ({', '.join(codes)})", "Error", codes=codes)}


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


def _claim(segment: str, endpoint: Endpoint) -> str | None:
    """The regex of the segments `segment` (of `endpoint`'s path) stands for, if it is a
    literal or a parameter with a pattern; None for a parameter matching any text."""
    name = PATH_PARAMETER.fullmatch(segment)
    if name is None:
        return re.escape(segment)
    pattern = endpoint.path_parameters.get(name.group(1), {}).get("pattern")
    return pattern.removeprefix("^").removesuffix("$") if pattern else None


def _overlaps(mine: list[str], other: list[str], index: int) -> bool:
    """Whether two paths of the same length could match one URL, but for segment `index`."""
    return all(a == b or "{" in a or "{" in b
               for position, (a, b) in enumerate(zip(mine, other, strict=True))
               if position != index)


def route_path(endpoint: Endpoint, endpoints: tuple[Endpoint, ...]) -> str:
    """The endpoint's path for the router, so that each concrete path belongs to one path of
    the table, as OpenAPI matches them: a parameter with a pattern matches only that; one
    without matches any segment except those a sibling path claims there (its literal, or its
    parameter's pattern): GET /ciphertexts/encrypt is not GET /ciphertexts/{ciphertext_id},
    and a 405 lists the methods of the right path
    (docs/decisions/0076-the-openapi-document-states-every-rule.md)."""
    segments = endpoint.full_path.split("/")
    siblings = {other.full_path: other for other in endpoints
                if other.full_path != endpoint.full_path
                and len(other.full_path.split("/")) == len(segments)}
    routed = []
    for index, segment in enumerate(segments):
        name = PATH_PARAMETER.fullmatch(segment)
        if name is None:
            routed.append(segment)
            continue
        own = _claim(segment, endpoint)
        if own is not None:
            routed.append(f"{{{name.group(1)}:{own}}}")
            continue
        claimed = set()
        for path, other in siblings.items():
            theirs = path.split("/")
            if _overlaps(segments, theirs, index):
                claim = _claim(theirs[index], other)
                if claim is None:
                    raise ValueError(f"{endpoint.full_path} and {path} match the same paths: "
                                     f"give one of their parameters a pattern")
                claimed.add(claim)
        routed.append(f"{{{name.group(1)}:(?!(?:{'|'.join(sorted(claimed))})(?![^/]))[^/]+}}"
                      if claimed else segment)
    return "/".join(routed)


def add_routes(app: web.Application, endpoints: tuple[Endpoint, ...]) -> dict[str, Endpoint]:
    """Register every endpoint; return route name -> endpoint, for the access middlewares."""
    by_route: dict[str, Endpoint] = {}
    for endpoint in endpoints:
        name = f"{endpoint.method.lower()}_{endpoint.operation_id}"
        path = route_path(endpoint, endpoints)
        if endpoint.method == "GET":  # every GET answers HEAD too, as HTTP expects
            app.router.add_get(path, endpoint.handler, name=name, allow_head=True)
        else:
            app.router.add_route(endpoint.method, path, endpoint.handler, name=name)
        by_route[name] = endpoint
    return by_route


PAGE_PARAMETERS: tuple[dict[str, object], ...] = (
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "format": "int32", "minimum": 1, "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT}},
    {"name": "cursor", "in": "query", "required": False,
     "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "maxLength": 2048},
     PARAMETER_ERROR_CODE: "INVALID_CURSOR",
     "description": "next_cursor of the previous page, as given; any other value answers 400 "
                    "INVALID_CURSOR (cursors are signed)."},
)
