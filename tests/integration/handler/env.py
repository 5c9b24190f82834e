"""A node for handler tests: a real embedded API, a VMIHandler of node `node-a`, the test guest
as the image `virtnode/test-guest`, and VMIs placed on the node the way the scheduler does."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import psutil

from handler.client import Client
from handler.launchers import LauncherClient, LauncherRecord
from handler.vmi import HandlerConfig, VMIHandler, stop_all
from launcher.cleanup import processes_of
from tests.integration.apiserver.process import APIProcess
from tests.integration.launcher.process import short_dir
from tests.integration.waiting import wait_for

NODE = "node-a"
VMI = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
       "metadata": {"namespace": "default"},
       "spec": {"terminationGracePeriodSeconds": 30, "domain": {
           "memory": {"guest": "256Mi"},
           "firmware": {"kernelBoot": {"kernelArgs": "console=ttyS0,115200 panic=-1", "container": {
               "image": "virtnode/test-guest", "kernelPath": "/boot/vmlinuz",
               "initrdPath": "/boot/initrd.img"}}},
           "devices": {"autoattachPodInterface": False}}}}


def image_dir(guest_images, root: Path) -> Path:
    """A containerDisk/kernelBoot image directory holding the test guest (boot/, disk/)."""
    for sub in ("boot", "disk"):
        (root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(root / sub, 0o755)
    os.chmod(root, 0o755)
    for src, dest in ((guest_images.kernel, "boot/vmlinuz"), (guest_images.initrd, "boot/initrd.img"),
                      (guest_images.disk, "disk/guest.qcow2")):
        shutil.copy(src, root / dest)
        os.chmod(root / dest, 0o644)
    return root


class HandlerNode:
    def __init__(self, guest_images, **config) -> None:
        from kubernetes import client as k8s, config as k8s_config

        self.work = short_dir("vnh-")
        self.api = APIProcess(self.work / "api")
        self.run_dir = Path(tempfile.mkdtemp(prefix="vn", dir="/run"))  # short: libvirt socket paths
        images = image_dir(guest_images, self.work / "images")
        self.config = HandlerConfig(node=NODE, state_dir=self.work / "state", run_dir=self.run_dir,
                                    accelerator="emulation", images={"virtnode/test-guest": images},
                                    **config)
        self.kube = k8s_config.new_client_from_config(config_file=str(self.api.kubeconfig))
        self.custom = k8s.CustomObjectsApi(self.kube)
        self.core = k8s.CoreV1Api(self.kube)
        self.handler: VMIHandler | None = None

    # -- the handler ---------------------------------------------------------------------------

    def start_handler(self) -> VMIHandler:
        self.handler = VMIHandler(Client.from_kubeconfig(str(self.api.kubeconfig)), self.config)
        self.handler.start()
        return self.handler

    def stop_handler(self) -> None:
        if self.handler is not None:
            self.handler.stop()
            self.handler = None

    # -- VMIs ----------------------------------------------------------------------------------

    def create_vmi(self, name: str, spec: dict | None = None) -> str:
        """Creates VMI `name` (the test guest unless `spec` says otherwise) placed on this node."""
        body = copy.deepcopy(VMI)
        body["metadata"]["name"] = name
        if spec is not None:
            body["spec"] = spec
        created = self.custom.create_namespaced_custom_object("kubevirt.io", "v1", "default",
                                                              "virtualmachineinstances", body)
        self.custom.patch_namespaced_custom_object(
            "kubevirt.io", "v1", "default", "virtualmachineinstances", name,
            {"metadata": {"labels": {"kubevirt.io/nodeName": NODE}}})
        self.custom.patch_namespaced_custom_object_status(
            "kubevirt.io", "v1", "default", "virtualmachineinstances", name,
            {"status": {"nodeName": NODE, "phase": "Scheduled"}})
        return created["metadata"]["uid"]

    def vmi(self, name: str) -> dict:
        return self.custom.get_namespaced_custom_object("kubevirt.io", "v1", "default",
                                                        "virtualmachineinstances", name)

    def phase(self, name: str) -> str:
        return (self.vmi(name).get("status") or {}).get("phase", "")

    def wait_phase(self, name: str, phase: str, timeout: float = 120) -> dict:
        return wait_for(lambda: self.phase(name) == phase and self.vmi(name), timeout,
                        f"VMI {name} {phase}")

    def delete_vmi(self, name: str) -> None:
        self.custom.delete_namespaced_custom_object("kubevirt.io", "v1", "default",
                                                    "virtualmachineinstances", name)

    def events(self, name: str) -> list[tuple[str, str, str]]:
        """(type, reason, message) of the Events about VMI `name`."""
        items = self.core.list_namespaced_event("default").items
        return [(e.type, e.reason, e.message) for e in items if e.involved_object.name == name]

    def record(self, uid: str) -> LauncherRecord:
        return wait_for(lambda: self.handler.registry.get(uid), 60, f"the launcher record of {uid}")

    def launcher(self, uid: str) -> LauncherClient:
        record = self.record(uid)
        return LauncherClient(record.socket, uid)

    def booted(self, uid: str, timeout: float = 120) -> int:
        """Waits for the guest's boot marker; returns its QEMU pid."""
        client = self.launcher(uid)
        try:
            wait_for(lambda: b"VIRTNODE-GUEST-READY" in client.read_boot_log().data, timeout,
                     "the boot marker")
            return client.domain().status.qemu_pid
        finally:
            client.close()

    # -- the end -------------------------------------------------------------------------------

    def close(self) -> None:
        self.stop_handler()
        for record_file in (self.config.state_dir / "launchers").glob("*.json"):
            try:  # a SIGSTOPped launcher would make stop_all wait for its grace period
                os.kill(json.loads(record_file.read_text())["pid"], signal.SIGCONT)
            except (KeyError, ValueError, ProcessLookupError):
                pass
        from handler.net import PodNetwork, choose

        bridge, cidr = choose(self.config.state_dir)
        network = PodNetwork(self.config.state_dir, bridge=bridge, cidr=cidr)
        stop_all(self.config.state_dir, grace=0, network=network)
        network.remove_node()
        self.api.stop()
        self.kube.close()
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def gone(directory: str) -> bool:
    return not processes_of(directory) and not Path(directory).exists()


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def http_get(url: str) -> str:
    """The body at `url` (a pod IP or loopback: never off the machine), or "" when it does not answer."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.read().decode()
    except (urllib.error.URLError, OSError):
        return ""
