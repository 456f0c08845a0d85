"""Server secrets: from the environment; in development, generated once into the data dir.

Production refuses to start without them. See
docs/decisions/0029-secrets-generated-in-development.md.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from wavis.core.settings import SettingsError, accepting

MIN_SECRET_CHARS = 32


def parse_secret(raw: str) -> str:
    value = raw.strip()
    if value.upper().startswith("REPLACE_ME"):
        raise ValueError("is still the placeholder; supply the real secret")
    if len(value) < MIN_SECRET_CHARS:
        raise ValueError(f"must be at least {MIN_SECRET_CHARS} characters")
    return value


accepting("secret", parse_secret)


def dev_secret(data_dir: Path, name: str,
               generate: Callable[[], str] = lambda: secrets.token_urlsafe(48)) -> str:
    """Read <data_dir>/secrets/<name>, creating it (0600) if no process has yet."""
    path = data_dir / "secrets" / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of the stack made it first
        return _read_when_written(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def _read_when_written(path: Path) -> str:
    for _ in range(100):
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.01)
    raise SettingsError(f"{path} stays empty")


def require_secret(value: str | None, env_name: str, file_name: str, *, production: bool,
                   data_dir: Path,
                   generate: Callable[[], str] = lambda: secrets.token_urlsafe(48)) -> str:
    """The configured secret, or (development only) the generated one."""
    if value:
        return value
    if production:
        raise SettingsError(f"{env_name} is required in production")
    return dev_secret(data_dir, file_name, generate)
