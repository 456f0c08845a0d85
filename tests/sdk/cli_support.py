"""Running `wavis` in-process through click's test runner, as a user of one account would:
its own config file, upload journal folder and API key in the environment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from wavis_sdk.cli import cli


@dataclass
class Wavis:
    """`wavis` with an environment: WAVIS_API_KEY (unless None), WAVIS_BASE_URL, a config
    file and a cache folder of the test's own."""

    base_url: str
    api_key: str | None
    home: Path

    def env(self, **extra: str | None) -> dict[str, str | None]:
        return {"WAVIS_API_KEY": self.api_key, "WAVIS_BASE_URL": self.base_url,
                "WAVIS_CONFIG_FILE": str(self.home / "config" / "wavis" / "config.toml"),
                "XDG_CACHE_HOME": str(self.home / "cache"), "COLUMNS": "120", **extra}

    def run(self, *args: str, expect: int = 0, input: str | None = None,
            env: dict[str, str | None] | None = None) -> Result:
        result = CliRunner().invoke(cli, list(args), env=self.env(**(env or {})),
                                    input=input, prog_name="wavis")
        if result.exit_code != expect:
            raise AssertionError(
                f"wavis {' '.join(args)} exited {result.exit_code}, expected {expect}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}") from result.exception
        return result

    def json(self, *args: str, **options: Any) -> Any:
        """The command with --json: stdout must be exactly one JSON document."""
        return json.loads(self.run(*args, "--json", **options).stdout)
