"""Ready files: a server that bound port 0 tells its launcher which port it got."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_ready_file(path: os.PathLike[str] | str, port: int) -> None:
    # Written then renamed, so a reader never sees half a file.
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w") as handle:
        json.dump({"port": port, "pid": os.getpid()}, handle)
    os.replace(tmp, path)


def read_ready_port(path: Path) -> int | None:
    """The port a server wrote, or None while it has not written it yet."""
    try:
        return int(json.loads(path.read_text())["port"])
    except FileNotFoundError:
        return None
