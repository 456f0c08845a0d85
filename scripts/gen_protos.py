"""Generate Python code, gRPC stubs and .pyi stubs from protos/ into libs/wavis/generated/
(or --out DIR).

The one generator: `make protos` runs it, and a test runs it into a temporary folder and
compares the result with the committed files, so stale generated code fails CI. protoc names
modules after the proto paths (`wavis.keys.v1`); the output is moved under one package whose
name says it is generated (`wavis.generated.keys.v1`) and its imports are rewritten to match.
See docs/decisions/0001-import-names-follow-file-paths.md.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO_ROOT / "protos"
DEFAULT_OUT = REPO_ROOT / "libs" / "wavis" / "generated"
INIT_TEXT = '"""Generated from protos/; do not edit (run `make protos`)."""\n'
# `from wavis.keys.v1 import keys_pb2` -> `from wavis.generated.keys.v1 import keys_pb2`
_IMPORT = re.compile(r"^(from|import) wavis\.(?=\w+\.v1\b)", re.MULTILINE)


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def _protoc(out_dir: Path, sources: list[str]) -> None:
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    # google/rpc/status.proto ships with googleapis-common-protos (a grpcio-status dependency).
    import google.rpc.status_pb2

    googleapis = Path(google.rpc.status_pb2.__file__).parents[2]
    args = ["protoc", f"-I{PROTO_ROOT}", f"-I{well_known}", f"-I{googleapis}",
            f"--python_out={out_dir}", f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}",
            *sources]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def generate(out_dir: Path, only: list[Path] | None = None) -> list[Path]:
    """Run protoc over every proto (or just `only`); return the files it wrote."""
    sources = [str(p.resolve().relative_to(PROTO_ROOT)) for p in (only or proto_files())]
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as scratch:
        _protoc(Path(scratch), sources)
        produced = Path(scratch) / "wavis"
        for path in sorted(produced.rglob("*.py*")):
            target = out_dir / path.relative_to(produced)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_IMPORT.sub(r"\1 wavis.generated.", path.read_text()))
            written.append(target)
    # Each level is a package: wavis.generated, wavis.generated.<svc>, wavis.generated.<svc>.v1.
    for folder in {out_dir, *(p.parent for p in written), *(p.parent.parent for p in written)}:
        init = folder / "__init__.py"
        init.write_text(INIT_TEXT)
        written.append(init)
    shutil.rmtree(out_dir / "__pycache__", ignore_errors=True)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("protos", nargs="*", type=Path,
                        help="only these .proto files (default: all)")
    args = parser.parse_args()
    files = generate(args.out, args.protos or None)
    print(f"generated {len(set(files))} files from {len(proto_files())} protos into {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
