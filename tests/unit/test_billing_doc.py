"""docs/billing.md lists each event type with exactly the fields of its schema."""

from __future__ import annotations

import re
from pathlib import Path

from wavis.core.event_schemas import EVENT_SCHEMAS

DOC = Path(__file__).resolve().parents[2] / "docs" / "billing.md"


def test_the_event_table_matches_the_schemas() -> None:
    rows = {}
    for line in DOC.read_text().splitlines():
        found = re.fullmatch(r"\| `(\w+)` \| (.*?) \| (.*) \|", line)
        if found:
            rows[found[1]] = re.findall(r"`(\w+)`", found[2])
    assert rows == {name: list(schema.properties) for name, schema in EVENT_SCHEMAS.items()}
