"""A write the store returned survives SIGKILL of the writing process.

A child process writes in a loop and prints each write's resourceVersion only
after the store returned it (committed, fsynced). The test kills it with
SIGKILL mid-stream, reopens the database and finds every printed write, and a
database that passes SQLite's integrity check.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from apiserver.resources import BY_KEY
from apiserver.store import Store

VM = BY_KEY["virtualmachines.kubevirt.io"]
ROOT = Path(__file__).resolve().parents[3]

WRITER = """
import sys
from apiserver.resources import BY_KEY
from apiserver.store import Store

vm = BY_KEY["virtualmachines.kubevirt.io"]
store = Store(sys.argv[1], compaction_keep=50, require_namespaces=False)
i = 0
while True:
    obj = store.create(vm, {"metadata": {"name": f"vm{i}", "namespace": "default"},
                            "spec": {"i": i}})
    print(f"vm{i} {obj['metadata']['resourceVersion']}", flush=True)
    obj["spec"]["i"] = -i
    obj = store.update(vm, obj)
    print(f"vm{i} {obj['metadata']['resourceVersion']}", flush=True)
    i += 1
"""


def test_committed_writes_survive_sigkill(tmp_path: Path) -> None:
    """Every write the child reported before SIGKILL is in the reopened database."""
    path = str(tmp_path / "state.db")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    assert child.stdout is not None
    lines: list[str] = []
    try:
        while len(lines) < 300:
            line = child.stdout.readline()
            if not line:
                raise AssertionError(f"writer ended early: {child.stderr.read()}")  # type: ignore
            lines.append(line)
        assert child.poll() is None, "the writer must still be writing when it is killed"
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    lines.extend(rest.splitlines())
    last: dict[str, int] = {}
    for line in lines:
        name, rv = line.split()
        last[name] = max(last.get(name, 0), int(rv))

    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    with Store(path, compaction_keep=50, require_namespaces=False) as store:
        assert store.resource_version >= max(last.values())
        for name, rv in last.items():
            stored = store.get(VM, "default", name)
            assert int(stored["metadata"]["resourceVersion"]) >= rv
        # the store keeps working after the crash: rv continues past every committed write
        after = store.create(VM, {"metadata": {"name": "after", "namespace": "default"}})
        assert int(after["metadata"]["resourceVersion"]) > max(last.values())
