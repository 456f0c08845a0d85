"""docs/api.md and the served OpenAPI document describe the same API: the same endpoints
(method and path, both ways), each with the same minimum role and operation flag, and the
error table lists every code of libs/wavis/core/errors.py with its HTTP status.

docs/api.md gives each endpoint a heading `### <METHOD> /api/v1/<path>` (the path exactly as
in the OpenAPI document), followed by a line "Role: `<role>`", with " · counts as an
operation" for the endpoints a trial's operations count."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.app import ENDPOINTS
from gateway.openapi import build_openapi
from wavis.core.errors import ERROR_CODES

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
HEADING = re.compile(rf"^### ({'|'.join(METHODS)}) (/\S*)\s*$", re.M)
ROLE = re.compile(r"^Role: `(\w+)`( · counts as an operation)?$")
ERROR_ROW = re.compile(r"^\| `([A-Z0-9_]+)` \| (\d{3}) \| (.+) \|$", re.M)


def documented_endpoints(text: str) -> list[tuple[str, str, str, bool]]:
    """(method, path, role, counts as an operation) of each endpoint heading, in order."""
    found = []
    for match in HEADING.finditer(text):
        following = text[match.end():].lstrip("\n").split("\n", 1)[0]
        role = ROLE.match(following)
        assert role, f"{match.group(1)} {match.group(2)}: the line after the heading must be " \
                     f"\"Role: `<role>`\", not {following!r}"
        found.append((match.group(1), match.group(2), role.group(1), bool(role.group(2))))
    return found


def served_endpoints() -> dict[tuple[str, str], tuple[str, bool]]:
    """(method, path) -> (minimum role, counts as an operation), from the OpenAPI document."""
    document = build_openapi(ENDPOINTS)
    return {(method.upper(), path): (operation["x-wavis-min-role"],
                                      bool(operation.get("x-wavis-counts-as-operation")))
            for path, operations in document["paths"].items()
            for method, operation in operations.items() if method.upper() in METHODS}


def test_api_doc_and_openapi_list_the_same_endpoints() -> None:
    documented = [(method, path) for method, path, _, _ in documented_endpoints(
        API_DOC.read_text())]
    served = set(served_endpoints())
    assert len(documented) == len(set(documented)), "an endpoint has two headings in api.md"
    missing = sorted(served - set(documented))
    extra = sorted(set(documented) - served)
    assert not missing, f"served but not in docs/api.md: {missing}"
    assert not extra, f"in docs/api.md but not served: {extra}"


def test_api_doc_gives_each_endpoint_its_role() -> None:
    served = served_endpoints()
    wrong = [(method, path, (role, counts), served[(method, path)])
             for method, path, role, counts in documented_endpoints(API_DOC.read_text())
             if (method, path) in served and served[(method, path)] != (role, counts)]
    assert not wrong, f"(documented role, counts) differs from the OpenAPI document: {wrong}"


def test_api_doc_lists_every_error_code_with_its_status() -> None:
    rows = {code: int(status) for code, status, _ in ERROR_ROW.findall(API_DOC.read_text())}
    table = {code: entry.http_status for code, entry in ERROR_CODES.items()}
    assert rows == table


def test_the_parsers_see_what_they_must() -> None:
    # The format above, and two ways of getting it wrong that must not pass unnoticed.
    text = ("### POST /api/v1/things\n\nRole: `trial` · counts as an operation\n\n"
            "### GET /api/v1/things/{thing_id}\n\nRole: `viewer`\n\n"
            "#### GET /api/v1/not-an-endpoint-heading\n\n| `SOME_CODE` | 409 | Taken. |\n")
    assert documented_endpoints(text) == [("POST", "/api/v1/things", "trial", True),
                                          ("GET", "/api/v1/things/{thing_id}", "viewer", False)]
    assert ERROR_ROW.findall(text) == [("SOME_CODE", "409", "Taken.")]
    try:
        documented_endpoints("### DELETE /api/v1/things/{thing_id}\n\nDeletes a thing.\n")
    except AssertionError as exc:
        assert "Role:" in str(exc)
    else:
        raise AssertionError("a heading without its Role line was accepted")
