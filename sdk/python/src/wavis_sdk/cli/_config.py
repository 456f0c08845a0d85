"""Where `wavis` finds the API key and the server: the environment, then the config file
that `wavis login` writes (readable by the user only).

The file is a flat TOML table of strings (`api_key = "..."`, `base_url = "..."`); the SDK
reads and writes that subset itself, so it needs no TOML library on Python 3.10.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from wavis_sdk._core import DEFAULT_BASE_URL
from wavis_sdk._files import write_private

CONFIG_FILE_ENV = "WAVIS_CONFIG_FILE"  # another config file (tests, several accounts)
API_KEY_ENV = "WAVIS_API_KEY"
BASE_URL_ENV = "WAVIS_BASE_URL"


def config_path() -> Path:
    """$WAVIS_CONFIG_FILE, else $XDG_CONFIG_HOME/wavis/config.toml (~/.config by default)."""
    override = os.environ.get(CONFIG_FILE_ENV)
    if override:
        return Path(override).expanduser()
    home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"),
                                                              ".config")
    return Path(home) / "wavis" / "config.toml"


def read_config(path: Path) -> dict[str, str]:
    """The file's `name = "value"` lines; a missing file is empty."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(("#", "[")):
            continue
        name, equals, value = line.partition("=")
        try:
            parsed = json.loads(value.strip()) if equals else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, str):
            raise ValueError(f"{path}:{number}: expected name = \"value\"")
        values[name.strip()] = parsed
    return values


def write_config(path: Path, values: dict[str, str]) -> None:
    """Mode 0600 (the folder 0700 when made here): the file holds an API key."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # JSON string escapes are valid TOML basic strings (ASCII only: ensure_ascii).
    lines = ["# wavis CLI settings, written by `wavis login`. Keep this file private."]
    lines += [f"{name} = {json.dumps(value, ensure_ascii=True)}"
              for name, value in sorted(values.items())]
    write_private(path, ("\n".join(lines) + "\n").encode())


@dataclass(frozen=True)
class Settings:
    """What a command runs with, and where each value came from (for `wavis login`'s report
    and error messages)."""

    api_key: str | None
    api_key_source: str  # "WAVIS_API_KEY", the config file's path, or "none"
    base_url: str
    config_file: Path


def resolve(base_url_option: str | None) -> Settings:
    """WAVIS_API_KEY wins over the file; --base-url over WAVIS_BASE_URL over the file."""
    path = config_path()
    stored = read_config(path)
    api_key, source = os.environ.get(API_KEY_ENV) or None, API_KEY_ENV
    if api_key is None:
        api_key, source = stored.get("api_key") or None, str(path)
    base_url = (base_url_option or os.environ.get(BASE_URL_ENV) or stored.get("base_url")
                or DEFAULT_BASE_URL)
    return Settings(api_key, source if api_key else "none", base_url, path)
