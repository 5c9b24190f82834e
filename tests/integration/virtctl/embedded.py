"""An embedded node started with `virtctl up` (API, controller and handler under its supervisor),
for end-to-end tests: run virtctl against it, find its processes, read its VMIs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import yaml

from handler.launchers import LauncherClient
from tests.integration.handler.env import image_dir
from tests.integration.launcher.process import short_dir
from tests.integration.waiting import wait_for
from virtctl.node import POD_NETWORK_FILE

REPO = Path(__file__).resolve().parents[3]
TINY = (REPO / "examples/tiny-vm.yaml").read_text()


class EmbeddedNode:
    def __init__(self, guest_images) -> None:
        self.work = short_dir("vne-")
        self.state = self.work / "state"
        image = image_dir(guest_images, self.work / "image")
        up = self.virtctl("up", "--port", "0", "--accelerator", "emulation",
                          "--image", f"virtnode/test-guest={image}")
        assert up.returncode == 0, up.stdout + up.stderr

    def virtctl(self, *args: str, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "virtctl", *args, "--state-dir", str(self.state)],
                              input=input, capture_output=True, text=True, timeout=timeout, cwd=REPO)

    def ok(self, *args: str, **kw) -> str:
        result = self.virtctl(*args, **kw)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def apply_tiny(self, name: str) -> None:
        doc = yaml.safe_load(TINY)
        doc["metadata"]["name"] = name
        doc["metadata"]["labels"]["app"] = name
        self.ok("apply", "-f", "-", input=yaml.safe_dump(doc))

    def get(self, kind: str, name: str) -> dict:
        out = self.virtctl("get", kind, name, "-o", "json")
        return json.loads(out.stdout) if out.returncode == 0 else {}

    def vmi_state(self, name: str) -> tuple[str, str, str]:
        """(uid, phase, reason) of VMI `name`; empty strings when there is none."""
        vmi = self.get("vmi", name)
        status = vmi.get("status") or {}
        return (vmi.get("metadata", {}).get("uid", ""), status.get("phase", ""), status.get("reason", ""))

    def running(self, name: str, other_than: str = "", timeout: float = 240) -> str:
        """Waits for VMI `name` Running (a new one when `other_than` names the old uid); its uid."""
        uid, _, _ = wait_for(lambda: (s := self.vmi_state(name))[1] == "Running" and s[0] != other_than and s,
                             timeout, f"VMI {name} Running" + (" again, as a new VMI" if other_than else ""))
        return uid

    def launcher(self, uid: str) -> tuple[dict, LauncherClient]:
        """The handler's record of the VMI's launcher and a client to it."""
        path = self.state / "node" / "launchers" / f"{uid}.json"
        record = wait_for(lambda: path.exists() and json.loads(path.read_text()), 60, f"launcher record {uid}")
        return record, LauncherClient(record["socket"], uid)

    def booted(self, uid: str, timeout: float = 240) -> int:
        """Waits for the guest's boot marker; its QEMU pid."""
        _, client = self.launcher(uid)
        try:
            wait_for(lambda: b"VIRTNODE-GUEST-READY" in client.read_boot_log().data, timeout,
                     f"the boot marker of {uid}")
            return client.domain().status.qemu_pid
        finally:
            client.close()

    def component(self, name: str) -> psutil.Process:
        """The running `python -m <name>` of this node (apiserver, controller, handler)."""
        def find():
            for p in psutil.process_iter(["cmdline"]):
                cmd = p.info["cmdline"] or []
                if "-m" in cmd and name in cmd and any(str(self.state) in c for c in cmd):
                    return p
            return None
        return wait_for(find, 60, f"the node's {name} process")

    def supervisor(self) -> psutil.Process:
        from virtctl.node import running_pid

        return psutil.Process(running_pid(self.state))

    def close(self) -> None:
        choice = self.state / "node" / POD_NETWORK_FILE
        bridge = json.loads(choice.read_text())["bridge"] if choice.exists() else None
        down = self.virtctl("down", timeout=300)
        shutil.rmtree(self.work, ignore_errors=True)
        assert down.returncode == 0, down.stdout + down.stderr
        assert bridge is None or not Path(f"/sys/class/net/{bridge}").exists(), \
            f"virtctl down left the node's pod bridge {bridge}"
