"""The committed protobuf modules are exactly what `make protos` generates."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from protos import regenerate


def test_generated_code_matches_sources(tmp_path: Path) -> None:
    """A .proto edited without running `make protos` (or a hand-edited *_pb2.py) fails CI."""
    pytest.importorskip("grpc_tools", reason="grpcio-tools is a dev dependency; run make install")
    fresh = regenerate.generate(tmp_path)
    assert fresh, "protoc produced no files"
    committed = sorted(p for p in (regenerate.REPO_ROOT / "protos").rglob("*_pb2*.py*")
                       if p.suffix in (".py", ".pyi") and "__pycache__" not in p.parts)
    rel_fresh = {p.relative_to(tmp_path) for p in fresh}
    rel_committed = {p.relative_to(regenerate.REPO_ROOT) for p in committed}
    assert rel_fresh == rel_committed, (
        f"generated files differ from committed ones; run make protos. "
        f"missing: {sorted(map(str, rel_fresh - rel_committed))}, "
        f"stale: {sorted(map(str, rel_committed - rel_fresh))}")
    drifted = [str(rel) for rel in sorted(rel_fresh)
               if not filecmp.cmp(tmp_path / rel, regenerate.REPO_ROOT / rel, shallow=False)]
    assert not drifted, f"these generated files are out of date; run make protos: {drifted}"


def test_proto_import_paths_equal_python_paths() -> None:
    """Each generated module imports its dependencies by their real Python path."""
    for source in regenerate.proto_sources():
        text = (regenerate.REPO_ROOT / source).read_text()
        for line in text.splitlines():
            if line.startswith("import ") and "google/protobuf" not in line:
                target = line.split('"')[1]
                assert (regenerate.REPO_ROOT / target).is_file(), f"{source}: {line}"
