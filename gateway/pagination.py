"""The one pagination helper of every list endpoint.

`?limit=1..100` (default 20) and `?cursor=` (both checked by gateway/parameters.py against
PAGE_PARAMETERS): the service's position, in a cursor bound to the list and the account and
signed with HMAC-SHA256 (400 INVALID_CURSOR otherwise). See
docs/decisions/0031-signed-pagination-cursors.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from wavis.core.errors import WavisError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_SIGNATURE_BYTES = 16


@dataclass(frozen=True)
class PageRequest:
    limit: int
    position: str  # the service's position to continue after; "" for the first page


class CursorSigner:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"wavis-cursor-v1:" + secret.encode()).digest()

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]

    def encode(self, list_name: str, account_id: str, position: str) -> str:
        payload = json.dumps([list_name, account_id, position], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(self._sign(payload) + payload).decode().rstrip("=")

    def decode(self, cursor: str, list_name: str, account_id: str) -> str:
        invalid = WavisError("INVALID_CURSOR", "The cursor is not one this list gave out.")
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (ValueError, TypeError):
            raise invalid from None
        signature, payload = raw[:_SIGNATURE_BYTES], raw[_SIGNATURE_BYTES:]
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise invalid
        try:
            bound_list, bound_account, position = json.loads(payload)
        except ValueError:
            raise invalid from None
        if (bound_list, bound_account) != (list_name, account_id):
            raise invalid
        return str(position)

    def page_request(self, checked: dict[str, Any], list_name: str,
                     account_id: str) -> PageRequest:
        """The page asked for by `checked`, the query parameters as gateway/parameters.py
        checked them against PAGE_PARAMETERS."""
        limit = checked.get("limit", DEFAULT_LIMIT)
        cursor = checked.get("cursor", "")
        position = self.decode(cursor, list_name, account_id) if cursor else ""
        return PageRequest(limit, position)

    def page(self, items: list[dict[str, Any]], has_more: bool, next_position: str,
             list_name: str, account_id: str) -> dict[str, Any]:
        next_cursor = (self.encode(list_name, account_id, next_position)
                       if has_more and next_position else None)
        return {"data": items, "has_more": bool(next_cursor), "next_cursor": next_cursor}
