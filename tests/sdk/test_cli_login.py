"""`wavis login`: the key checked and stored 0600, used by later commands, overridden by
WAVIS_API_KEY; errors print their code and request id and exit with their family's code."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from cli_support import Wavis
from sdk_support import new_tenant
from wavis_sdk.cli._config import read_config

from wavis.devstack.stack import Stack


def test_version_and_help(tmp_path: Path) -> None:
    wavis = Wavis("http://127.0.0.1:9", None, tmp_path)
    assert wavis.run("--version").stdout.strip() == "wavis 0.1.0 (wavis-sdk)"
    listing = wavis.run("--help").stdout
    for group in ("login", "keys", "ckks", "tfhe", "usage", "webhooks"):
        assert f"  {group} " in listing


def test_login_stores_the_key_privately_and_the_environment_wins(mesh: Stack,
                                                                 tmp_path: Path) -> None:
    tenant = new_tenant(mesh, plan="enterprise")
    wavis = Wavis(mesh.gateway_url, None, tmp_path)
    config = tmp_path / "config" / "wavis" / "config.toml"

    # Not logged in: an authentication error, exit 3, no request reached the server.
    refused = wavis.run("keys", "list", expect=3)
    assert "UNAUTHORIZED" in refused.stderr and "wavis login" in refused.stderr

    # A wrong key is checked with the server and not stored.
    wrong = wavis.run("login", "--api-key", "wvs_live_" + "x" * 40, expect=3)
    assert "UNAUTHORIZED" in wrong.stderr and "request_id req_" in wrong.stderr
    assert not config.exists()

    # The key typed at the prompt (hidden), the URL from --base-url.
    logged = wavis.run("--base-url", mesh.gateway_url, "login", "--json",
                       input=tenant.api_key + "\n")
    report = json.loads(logged.stdout)  # the prompt went to stderr
    assert report == {"config_file": str(config), "base_url": mesh.gateway_url,
                      "key_prefix": tenant.api_key[:16], "verified": True}
    assert tenant.api_key not in logged.stdout
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert read_config(config) == {"api_key": tenant.api_key, "base_url": mesh.gateway_url}

    # Later commands use the stored key and URL (no WAVIS_BASE_URL either).
    assert wavis.json("keys", "list", env={"WAVIS_BASE_URL": None}) == []

    # WAVIS_API_KEY wins over the file: a revoked-looking key is refused, with its request id.
    bad = wavis.run("keys", "list", expect=3, env={"WAVIS_API_KEY": "wvs_live_" + "y" * 40})
    assert "UNAUTHORIZED" in bad.stderr and "HTTP 401" in bad.stderr
    assert "request_id req_" in bad.stderr
    as_json = json.loads(wavis.run("keys", "list", "--json", expect=3,
                                   env={"WAVIS_API_KEY": "wvs_live_" + "y" * 40}).stdout)
    assert as_json["exit_code"] == 3 and as_json["error"]["code"] == "UNAUTHORIZED"
    assert as_json["error"]["request_id"].startswith("req_")
    assert as_json["error"]["http_status"] == 401

    # Logging in again keeps the file private even if someone loosened it.
    config.chmod(0o644)
    wavis.run("login", "--api-key", tenant.api_key, "--no-verify")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert wavis.json("logout") == {"config_file": str(config), "removed": True}
    assert "api_key" not in read_config(config)
