"""Generate Python code, gRPC stubs and .pyi stubs from protos/ into libs/ (or --out DIR).

The one generator: `make protos` runs it, and a test runs it into a temporary folder and
compares the result with the committed files, so stale generated code fails CI.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO_ROOT / "protos"
DEFAULT_OUT = REPO_ROOT / "libs"


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path, only: list[Path] | None = None) -> list[Path]:
    """Run protoc (from grpcio-tools) over every proto (or just `only`); return the files
    it wrote."""
    import grpc_tools
    from grpc_tools import protoc

    out_dir.mkdir(parents=True, exist_ok=True)
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    # google/rpc/status.proto ships with googleapis-common-protos (a grpcio-status dependency).
    import google.rpc.status_pb2

    googleapis = Path(google.rpc.status_pb2.__file__).parents[2]
    sources = [str(p.resolve().relative_to(PROTO_ROOT)) for p in (only or proto_files())]
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"-I{googleapis}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    written: list[Path] = []
    for source in sources:
        package_dir = out_dir / Path(source).parent
        # Generated modules import each other as wavis.<svc>.v1.*: make each level a package.
        for level in (package_dir, package_dir.parent):
            init = level / "__init__.py"
            if not init.exists():
                init.write_text('"""Generated from protos/; do not edit."""\n')
        stem = Path(source).stem
        written += [package_dir / f"{stem}_pb2.py", package_dir / f"{stem}_pb2.pyi",
                    package_dir / f"{stem}_pb2_grpc.py", package_dir / "__init__.py",
                    package_dir.parent / "__init__.py"]
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
