"""Generated protobuf code is committed; it must be exactly what `make protos` would write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_generated_code_is_current(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(REPO / "scripts" / "gen_protos.py"), "--out",
                    str(tmp_path)], check=True, capture_output=True)
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert fresh, "the generator wrote nothing"
    committed_dir = REPO / "libs" / "wavis" / "generated"
    stale = [str(path) for path, content in fresh.items()
             if not (committed_dir / path).is_file()
             or (committed_dir / path).read_bytes() != content]
    assert not stale, f"generated code is stale, run `make protos`: {stale}"
    # And nothing generated is left over from a proto that no longer exists.
    committed = {p.relative_to(committed_dir) for p in committed_dir.rglob("*_pb2*.py*")}
    assert committed <= set(fresh), f"left over: {committed - set(fresh)}"


def test_every_proto_has_its_package_and_comments() -> None:
    for proto in (REPO / "protos").rglob("*.proto"):
        service = proto.parent.parent.name
        text = proto.read_text()
        assert f"package wavis.{service}.v1;" in text, proto
        # One file per service of the package (metering has three: decision 0070).
        assert proto.parent.name == "v1" and proto.parent.parent.parent.name == "wavis", proto
        lines = text.splitlines()
        for index, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith(("message ", "service ", "rpc ")) or (
                    stripped.endswith(";") and "=" in stripped and not stripped.startswith(
                        ("syntax", "option"))):
                assert lines[index - 1].strip().startswith("//"), f"{proto}:{index + 1} uncommented"
