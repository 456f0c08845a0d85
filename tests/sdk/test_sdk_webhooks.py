"""wavis_sdk.webhooks.verify on a real delivery from the webhooks service to a loopback
receiver: accepted as sent, refused with a tampered body, a wrong secret or an old
timestamp."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import wavis_sdk
from wavis_sdk.webhooks import verify

from support.accounts import create_account
from support.receiver import running_receiver
from wavis.devstack.stack import Stack


async def test_verify_a_real_delivery(own_stack: Stack, tmp_path: Path) -> None:
    tenant = await create_account(own_stack)
    async with running_receiver() as receiver, \
            wavis_sdk.AsyncClient(tenant.api_key, own_stack.gateway_url,
                                  state_dir=str(tmp_path)) as client:
        hook = await client.webhooks.create(receiver.endpoint())
        assert hook.secret and hook.signature_info["header"] == "X-WAVIS-Signature"
        sent = await client.webhooks.send_test()
        (delivery,) = await receiver.wait_for(1)
        history = [e async for e in client.webhooks.events()]
    assert history and history[0].event_id == sent.event_id

    event = verify(delivery.body, delivery.headers, hook.secret)
    assert event.id == sent.event_id and event.type == "test"
    assert event["data"] == json.loads(delivery.body)["data"]
    assert verify(delivery.body.decode(), delivery.headers, hook.secret).id == event.id

    tampered = delivery.body.replace(b'"type":"test"', b'"type":"tset"')
    assert tampered != delivery.body
    for body, secret in ((tampered, hook.secret), (delivery.body, "whsec_" + "x" * 40)):
        with pytest.raises(wavis_sdk.SignatureVerificationError) as refused:
            verify(body, delivery.headers, secret)
        assert refused.value.code == "INVALID_SIGNATURE"

    stamp = int(delivery.headers["X-WAVIS-Timestamp"])
    with pytest.raises(wavis_sdk.SignatureVerificationError) as stale:
        verify(delivery.body, delivery.headers, hook.secret, now=stamp + 301)
    assert "old" in stale.value.message
    assert verify(delivery.body, delivery.headers, hook.secret, now=stamp + 299).id == event.id
    with pytest.raises(wavis_sdk.SignatureVerificationError):
        verify(delivery.body, delivery.headers, hook.secret, tolerance=5, now=time.time() + 60)
    headers = {k: v for k, v in delivery.headers.items() if k != "X-WAVIS-Signature"}
    with pytest.raises(wavis_sdk.SignatureVerificationError):
        verify(delivery.body, headers, hook.secret)
