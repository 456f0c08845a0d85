"""List methods follow the cursors to the last page: every item exactly once, newest first."""

from __future__ import annotations

from pathlib import Path

import wavis_sdk
from sdk_support import new_tenant, sdk_client
from wavis_sdk.ckks import CkksKeys

from wavis.devstack.stack import Stack


async def test_async_lists_page_too(mesh: Stack, tmp_path: Path) -> None:
    from support.accounts import create_account

    tenant = await create_account(mesh)
    async with wavis_sdk.AsyncClient(tenant.api_key, mesh.gateway_url,
                                     state_dir=str(tmp_path)) as client:
        for number in range(4):
            await client.api_keys.create("viewer", name=f"async-{number}")
        names = [k.name async for k in client.api_keys.list(limit=3)]
    assert names[:4] == [f"async-{n}" for n in (3, 2, 1, 0)] and len(names) == 5


def test_every_item_exactly_once(mesh: Stack, tmp_path: Path) -> None:
    tenant = new_tenant(mesh)
    with sdk_client(mesh, tenant, tmp_path) as client:
        made = [client.api_keys.create("developer", "test", name=f"k{n}").prefix
                for n in range(12)]
        listed = [k.prefix for k in client.api_keys.list(limit=5)]  # pages of 5, 5, 3
        assert len(listed) == len(set(listed)) == 13  # the 12 and the account's own
        assert listed[:12] == made[::-1]
        keys = CkksKeys.generate(1024, 30, 1, "testing", rotations=[])
        uploaded = []
        for _ in range(3):
            uploaded.append(client.keys.upload(keys).key_id)
        assert [k.key_id for k in client.keys.list(limit=1)] == uploaded[::-1]
        assert list(client.webhooks.list()) == []
        invoices = list(client.billing.invoices())  # this month's, still open
        assert [(i.period, i.status) for i in invoices] == [
            (client.billing.usage().period, "open")]
