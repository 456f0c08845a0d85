"""wavis-admin against a running stack, found the way `make run` publishes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from support.http import Api
from wavis.devstack.stack import Stack


def admin(stack: Stack, *args: str, via_stack_file: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "WAVIS_METERING_TARGET"}
    env["WAVIS_DATA_DIR"] = str(stack.data_dir)
    if not via_stack_file:
        env["WAVIS_DATA_DIR"] = "/nonexistent"
        env["WAVIS_METERING_TARGET"] = f"127.0.0.1:{stack.service_ports['metering']}"
    return subprocess.run([sys.executable, "-m", "wavis.admin", *args], env=env,
                          capture_output=True, text=True, timeout=30)


async def test_create_account_prints_a_working_admin_key(api: Api, mesh: Stack) -> None:
    result = admin(mesh, "create-account", "--plan", "starter", "--email", "ops@example.com")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"account_id", "api_key"}
    assert created["api_key"].startswith("wvs_live_")
    auth = {"Authorization": f"Bearer {created['api_key']}"}
    listed = await api.get("/api/v1/api-keys", headers=auth)
    assert listed.status == 200
    assert listed.json["data"][0]["role"] == "account_admin"
    assert listed.headers["X-RateLimit-Daily-Limit"] == "20000"  # the starter plan

    accounts = json.loads(admin(mesh, "list-accounts").stdout)
    mine = next(a for a in accounts if a["account_id"] == created["account_id"])
    assert mine["plan"] == "starter" and mine["email"] == "ops@example.com"

    moved = admin(mesh, "set-plan", "--account", created["account_id"], "--plan", "scale",
                  via_stack_file=False)
    assert moved.returncode == 0 and json.loads(moved.stdout)["plan"] == "scale"

    revoked = admin(mesh, "revoke-key", "--prefix", created["api_key"][:16])
    assert revoked.returncode == 0, revoked.stderr
    assert (await api.get("/api/v1/api-keys", headers=auth)).status == 401


def test_errors_are_clear(mesh: Stack) -> None:
    bad_plan = admin(mesh, "create-account", "--plan", "gold", "--email", "a@b.co")
    assert bad_plan.returncode == 1
    assert "VALIDATION_ERROR: Unknown plan 'gold'" in bad_plan.stderr
    bad_email = admin(mesh, "create-account", "--plan", "free", "--email", "nope")
    assert bad_email.returncode == 1 and "email" in bad_email.stderr
    missing = admin(mesh, "revoke-key", "--prefix", "wvs_live_missing")
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr
