"""Settings come from the environment, typed, and bad values fail fast with every reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import GatewaySettings
from wavis.core.settings import ServiceSettings, SettingsError, load_settings


def test_defaults_without_environment() -> None:
    settings = load_settings(GatewaySettings, {})
    assert settings.http_port == 8080
    assert settings.data_dir == Path("var")
    assert settings.environment == "development"
    assert settings.max_request_bytes == 40 * 1024 * 1024
    assert settings.health_probe_timeout_seconds == 2.0
    assert settings.service_targets == {
        "keys": "127.0.0.1:50051", "tfhe_eval": "127.0.0.1:50052",
        "ckks_compute": "127.0.0.1:50053", "metering": "127.0.0.1:50054",
        "webhooks": "127.0.0.1:50055", "inference": "127.0.0.1:50056"}


def test_values_are_parsed_to_their_types() -> None:
    settings = load_settings(ServiceSettings, {
        "WAVIS_GRPC_PORT": "0", "WAVIS_SHUTDOWN_GRACE_SECONDS": "2.5",
        "WAVIS_DATA_DIR": "/srv/wavis", "WAVIS_ENVIRONMENT": "Production",
        "OMP_NUM_THREADS": "2", "WAVIS_READY_FILE": "/tmp/x.json"})
    assert settings.grpc_port == 0
    assert settings.shutdown_grace_seconds == 2.5
    assert settings.data_dir == Path("/srv/wavis")
    assert settings.is_production
    assert settings.omp_num_threads == 2
    assert settings.ready_file == Path("/tmp/x.json")


def test_every_bad_value_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(GatewaySettings, {
            "WAVIS_HTTP_PORT": "70000", "WAVIS_ENVIRONMENT": "staging",
            "WAVIS_KEYS_TARGET": "keys", "WAVIS_REDIS_URL": "http://redis"})
    message = str(caught.value)
    assert "WAVIS_HTTP_PORT='70000': expected a whole number from 0 to 65535" in message
    assert "WAVIS_ENVIRONMENT='staging': expected one of development, production" in message
    assert "WAVIS_KEYS_TARGET='keys'" in message
    assert "WAVIS_REDIS_URL='http://redis'" in message


@pytest.mark.parametrize(("name", "value"), [
    ("OMP_NUM_THREADS", "0"), ("WAVIS_SHUTDOWN_GRACE_SECONDS", "-1"),
    ("WAVIS_GRPC_PORT", "eighty"), ("WAVIS_LOG_FORMAT", "xml"), ("WAVIS_DATA_DIR", " "),
])
def test_out_of_range_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(ServiceSettings, {name: value})


def test_secrets_refuse_placeholders_and_short_values() -> None:
    from gateway.settings import GatewaySettings as Gateway

    for value in ("REPLACE_ME_cursor_secret_with_enough_characters!", "short"):
        with pytest.raises(SettingsError, match="WAVIS_CURSOR_SECRET"):
            load_settings(Gateway, {"WAVIS_CURSOR_SECRET": value})


def test_production_requires_its_secrets(tmp_path: Path) -> None:
    from wavis.core.secrets import require_secret

    with pytest.raises(SettingsError, match="WAVIS_CURSOR_SECRET is required in production"):
        require_secret(None, "WAVIS_CURSOR_SECRET", "cursor_secret", production=True,
                       data_dir=tmp_path)
    first = require_secret(None, "WAVIS_CURSOR_SECRET", "cursor_secret", production=False,
                           data_dir=tmp_path)
    again = require_secret(None, "WAVIS_CURSOR_SECRET", "cursor_secret", production=False,
                           data_dir=tmp_path)
    assert first == again and len(first) >= 32  # generated once, kept for restarts
    assert oct((tmp_path / "secrets" / "cursor_secret").stat().st_mode & 0o777) == "0o600"
