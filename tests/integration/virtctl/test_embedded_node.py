"""The main job: `virtctl up`, apply tiny-vm, the guest boots and its console is seen, `virtctl down`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from launcher.cleanup import processes_of
from tests.integration.handler.env import http_get, image_dir
from tests.integration.launcher.process import short_dir
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.qemu, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
VIRTCTL = [sys.executable, "-m", "virtctl"]


def virtctl(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*VIRTCTL, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO)


def test_up_apply_boot_console_logs_down(guest_images) -> None:
    work = short_dir("vne-")
    state = work / "state"
    image = image_dir(guest_images, work / "image")
    up = virtctl("up", "--state-dir", str(state), "--port", "0", "--accelerator", "emulation",
                 "--image", f"virtnode/test-guest={image}")
    assert up.returncode == 0, up.stdout + up.stderr
    run_dirs = []
    try:
        applied = virtctl("apply", "--state-dir", str(state), "-f", str(REPO / "examples/tiny-vm.yaml"))
        assert applied.returncode == 0, applied.stderr

        def phase() -> str:
            out = virtctl("get", "vmi", "tiny", "--state-dir", str(state), "-o", "yaml")
            return yaml.safe_load(out.stdout).get("status", {}).get("phase", "") if out.returncode == 0 else ""

        wait_for(lambda: phase() == "Running", 180, "VMI tiny Running")
        table = virtctl("get", "vms", "--state-dir", str(state)).stdout
        assert "tiny" in table and "Running" in table
        logs = wait_for(lambda: (out := virtctl("logs", "tiny", "--state-dir", str(state)).stdout)
                        and "VIRTNODE-GUEST-READY" in out and out, 120, "the boot marker in virtctl logs")
        assert "Linux version" in logs

        # the pod network: the host reaches the guest's web server on the VMI's pod IP
        vmi = yaml.safe_load(virtctl("get", "vmi", "tiny", "--state-dir", str(state), "-o", "yaml").stdout)
        ip = vmi["status"]["interfaces"][0]["ipAddress"]
        assert ip in virtctl("get", "vmis", "--state-dir", str(state)).stdout   # the IP column
        page = wait_for(lambda: http_get(f"http://{ip}/"), 60, "the guest's web page on its pod IP")
        assert "Hello from tiny, a virtnode guest" in page

        # the serial console: what we type reaches the guest's shell, its answer comes back
        try:
            subprocess.run([*VIRTCTL, "console", "tiny", "--state-dir", str(state)],
                           input="\necho vn-$((6*7))\n", capture_output=True, text=True,
                           timeout=15, cwd=REPO)
            raise AssertionError("virtctl console returned although the console stayed open")
        except subprocess.TimeoutExpired as e:  # a console stays attached until Ctrl+] or the VM stops
            seen = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        assert "vn-42" in seen, seen[-500:]

        records = list((state / "node" / "launchers").glob("*.json"))
        assert len(records) == 1
        run_dirs = [yaml.safe_load(r.read_text())["directory"] for r in records]
    finally:
        down = virtctl("down", "--state-dir", str(state), timeout=180)
        assert down.returncode == 0, down.stdout + down.stderr
        for directory in run_dirs:
            assert processes_of(directory) == [], directory
            assert not Path(directory).exists()
        assert not list((state / "node" / "launchers").glob("*.json"))
        shutil.rmtree(work, ignore_errors=True)

