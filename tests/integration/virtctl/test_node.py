"""virtctl up/down: the supervisor, its files, readiness, and restarting a killed API."""

from __future__ import annotations

import json
import os
import signal
import stat
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.virtctl.conftest import ok, run_virtctl
from tests.integration.waiting import wait_for
from virtctl import node


@pytest.fixture
def state(tmp_path: Path):
    s = tmp_path / "node"
    yield s
    run_virtctl("down", "--state-dir", str(s))


def _api_pid(state: Path) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"apiserver" in cmd and str(state).encode() in cmd:
                return int(entry.name)
    raise AssertionError("no apiserver child found")


def test_up_down_idempotent_with_private_files(state: Path) -> None:
    """up returns once /readyz answers, a second up and down say so, files are 0600 in 0700."""
    out = ok(run_virtctl("up", "--state-dir", str(state), "--port", "0"))
    assert out.startswith("The node is up: API https://127.0.0.1:")
    url = node.api_url(state)
    assert node.readyz(state, url)
    assert "already running" in ok(run_virtctl("up", "--state-dir", str(state), "--port", "0"))
    pid = int((state / "node.pid").read_text())
    for d in (state, state / "logs"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    for f in (state / "kubeconfig", state / "node.pid", state / "logs" / "apiserver.log",
              state / "logs" / "supervisor.log"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert ok(run_virtctl("kubeconfig", "--state-dir", str(state))).strip() == str(state / "kubeconfig")
    choice = state / "node" / node.POD_NETWORK_FILE
    bridge = wait_for(lambda: choice.exists() and json.loads(choice.read_text())["bridge"], 60,
                      "the handler's choice of pod bridge")
    wait_for(lambda: Path(f"/sys/class/net/{bridge}").exists(), 60, f"the node's pod bridge {bridge}")
    assert "is stopped" in ok(run_virtctl("down", "--state-dir", str(state)))
    assert not Path(f"/sys/class/net/{bridge}").exists(), f"virtctl down left the bridge {bridge}"
    assert not (state / "node.pid").exists()
    assert not node.alive(pid)
    assert not node.readyz(state, url)
    assert "not running" in ok(run_virtctl("down", "--state-dir", str(state)))


def test_supervisor_restarts_a_killed_api(state: Path) -> None:
    """kill -9 of the API child: the supervisor restarts it on the same port and logs it."""
    ok(run_virtctl("up", "--state-dir", str(state), "--port", "0"))
    url = node.api_url(state)
    old = _api_pid(state)
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.3)
        try:
            if _api_pid(state) != old and node.readyz(state, url):
                break
        except AssertionError:
            continue
    else:
        raise AssertionError((state / "logs" / "supervisor.log").read_text())
    assert node.api_url(state) == url
    assert "apiserver exited with code -9; restart 1" in (state / "logs" / "supervisor.log").read_text()
    assert ok(run_virtctl("get", "ns", "--state-dir", str(state))).splitlines()[0].split()[0] == "NAME"


def test_up_reports_a_failing_api(state: Path, tmp_path: Path) -> None:
    """An API that cannot start (port taken) makes up exit 1 with the log's words."""
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        result = run_virtctl("up", "--state-dir", str(state), "--port", str(busy.getsockname()[1]))
    finally:
        busy.close()
    assert result.returncode == 1
    assert "cannot start the API" in result.stderr and "supervisor exited" in result.stderr
    assert not (state / "node.pid").exists()


def test_create_vm_output_validates_and_applies(state: Path) -> None:
    """create vm prints a manifest that validate accepts and the node stores."""
    manifest = ok(run_virtctl("create", "vm", "--name", "gen", "--memory", "1Gi", "--run-strategy",
                              "Halted", "--volume-containerdisk",
                              "src:quay.io/containerdisks/fedora:40,bootorder:1",
                              "--cloud-init-user-data", "I2Nsb3VkLWNvbmZpZwo="))
    doc = yaml.safe_load(manifest)
    spec = doc["spec"]["template"]["spec"]
    assert doc["spec"]["runStrategy"] == "Halted" and spec["domain"]["memory"]["guest"] == "1Gi"
    assert spec["volumes"][0] == {"name": "gen-containerdisk-0",
                                  "containerDisk": {"image": "quay.io/containerdisks/fedora:40"}}
    assert "is valid" in ok(run_virtctl("validate", "-f", "-", input=manifest))
    bad = run_virtctl("create", "vm", "--volume-containerdisk", "image:x")
    assert bad.returncode == 2 and "unknown parameter 'image'" in bad.stderr
    ok(run_virtctl("up", "--state-dir", str(state), "--port", "0"))
    assert "created" in ok(run_virtctl("apply", "-f", "-", "--state-dir", str(state), input=manifest))
    assert ok(run_virtctl("get", "vm", "gen", "-o", "name", "--state-dir", str(state))).strip() == \
        "virtualmachine.kubevirt.io/gen"
