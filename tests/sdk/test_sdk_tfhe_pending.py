"""The SDK waits for a server-mode session whose key is still being generated (202)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sdk_support import new_tenant, sdk_client

from wavis.devstack.stack import Stack


def test_create_session_waits_while_the_key_is_generated(
        make_stack: Callable[..., Stack], tmp_path: Path) -> None:
    stack = make_stack(env={"WAVIS_KEYGEN_SYNC_SECONDS": "0"})  # every key answers 202
    with sdk_client(stack, new_tenant(stack), tmp_path / "state") as client:
        session = client.tfhe.create_session("toy")
        assert session.status == "ready" and session.n > 0
        assert client.tfhe.get_session(session.session_id).status == "ready"
        a, b = client.tfhe.encrypt(session, [1, 0])
        assert client.tfhe.decrypt(session, [client.tfhe.gate(session, "NAND", a, b)]) == [1]
        client.tfhe.delete_session(session)
