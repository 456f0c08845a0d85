"""A server-mode TFHE session made through the API and waited for: secure presets answer 202
with a pending session (their key takes seconds), polled here until it is ready."""

from __future__ import annotations

import asyncio
from typing import Any

from support.accounts import Tenant
from support.http import Api, Reply


async def ready_session(api: Api, tenant: Tenant, preset: str,
                        timeout: float = 120.0) -> tuple[Reply, dict[str, Any]]:
    """The creation reply (201, or 202 while the key is made) and the ready session."""
    created = await api.post("/api/v1/tfhe/session", headers=tenant.auth(),
                             json={"preset": preset})
    assert created.status in (201, 202), created.text
    session = dict(created.json)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while session["status"] == "pending":
        assert loop.time() < deadline, session
        await asyncio.sleep(0.2)
        polled = await api.get(f"/api/v1/tfhe/session/{session['session_id']}",
                               headers=tenant.auth())
        assert polled.status == 200, polled.text
        session = dict(polled.json)
    assert session["status"] == "ready", session
    return created, session
