"""Regenerates the committed protobuf modules from the .proto sources.

Owns: the one command behind `make protos`, and the function the drift test
calls to regenerate into a scratch folder. The .proto import paths equal the
Python import paths (protoc runs with the repository root as its only include
path), so the generated imports need no fix-ups. Never edits a .proto file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "protos"

# Protos that define gRPC services get *_pb2_grpc.py modules too.
_SERVICE_MARKER = "\nservice "


def proto_sources() -> list[Path]:
    """Every .proto file under protos/, sorted, relative to the repository root."""
    return sorted(p.relative_to(REPO_ROOT) for p in PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Runs protoc over every source into out_dir; returns the files written."""
    from grpc_tools import protoc  # the generator is a dev dependency only
    import grpc_tools

    out_dir.mkdir(parents=True, exist_ok=True)
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    sources = proto_sources()
    plain = [str(s) for s in sources if _SERVICE_MARKER not in (REPO_ROOT / s).read_text()]
    services = [str(s) for s in sources if str(s) not in plain]
    for batch, grpc in ((plain, False), (services, True)):
        if not batch:
            continue
        args = ["protoc", f"-I{REPO_ROOT}", f"-I{well_known}",
                f"--python_out={out_dir}", f"--pyi_out={out_dir}"]
        if grpc:
            args.append(f"--grpc_python_out={out_dir}")
        status = protoc.main(args + batch)
        if status != 0:
            raise RuntimeError(f"protoc failed with status {status} on {', '.join(batch)}")
    return sorted((out_dir / "protos").rglob("*_pb2*.py*"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT,
                        help="where the generated tree is written (default: in place)")
    args = parser.parse_args(argv)
    written = generate(args.out)
    print(f"protos: generated {len(written)} files from {len(proto_sources())} sources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
