"""The handler turns a VMI assigned to its node into a running guest, survives its own restart,
and leaves nothing behind when the VMI is deleted."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from handler.client import Client
from handler.launchers import LauncherClient
from handler.sandbox import netns_name
from handler.vmi import HandlerConfig, VMIHandler, stop_all
from launcher.cleanup import processes_of
from tests.integration.apiserver.process import APIProcess
from tests.integration.launcher.process import short_dir
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.qemu, pytest.mark.slow]

VMI = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
       "metadata": {"name": "tiny", "namespace": "default"},
       "spec": {"terminationGracePeriodSeconds": 30, "domain": {
           "memory": {"guest": "256Mi"},
           "firmware": {"kernelBoot": {"kernelArgs": "console=ttyS0,115200 panic=-1", "container": {
               "image": "virtnode/test-guest", "kernelPath": "/boot/vmlinuz",
               "initrdPath": "/boot/initrd.img"}}},
           "devices": {"autoattachPodInterface": False}}}}


def test_vmi_runs_survives_a_handler_restart_and_is_cleaned_up(guest_images) -> None:
    from kubernetes import client as k8s, config

    work = short_dir("vnv-")
    api = APIProcess(work / "api")
    images = work / "images" / "boot"
    images.mkdir(parents=True)
    for src, name in ((guest_images.kernel, "vmlinuz"), (guest_images.initrd, "initrd.img")):
        shutil.copy(src, images / name)
        os.chmod(images / name, 0o644)
    for d in (work / "images", images):
        os.chmod(d, 0o755)
    run_dir = Path(tempfile.mkdtemp(prefix="vn", dir="/run"))  # short: libvirt's socket paths
    cfg = HandlerConfig(node="node-a", state_dir=work / "state", run_dir=run_dir,
                        accelerator="emulation", images={"virtnode/test-guest": work / "images"})
    kube = config.new_client_from_config(config_file=str(api.kubeconfig))
    custom = k8s.CustomObjectsApi(kube)
    handler = VMIHandler(Client.from_kubeconfig(str(api.kubeconfig)), cfg)

    def vmi() -> dict:
        return custom.get_namespaced_custom_object("kubevirt.io", "v1", "default",
                                                   "virtualmachineinstances", "tiny")

    try:
        created = custom.create_namespaced_custom_object("kubevirt.io", "v1", "default",
                                                         "virtualmachineinstances", VMI)
        uid = created["metadata"]["uid"]
        # what the scheduler does: label and place it on this node
        custom.patch_namespaced_custom_object("kubevirt.io", "v1", "default", "virtualmachineinstances",
                                              "tiny", {"metadata": {"labels": {"kubevirt.io/nodeName": "node-a"}}})
        custom.patch_namespaced_custom_object_status("kubevirt.io", "v1", "default", "virtualmachineinstances",
                                                     "tiny", {"status": {"nodeName": "node-a", "phase": "Scheduled"}})
        handler.start()
        running = wait_for(lambda: vmi().get("status", {}).get("phase") == "Running" and vmi(), 120,
                           "the VMI Running")
        ready = {c["type"]: c["status"] for c in running["status"]["conditions"]}
        assert ready["Ready"] == "True"

        (record,) = handler.registry.records()
        launcher = LauncherClient(record.socket, uid)
        wait_for(lambda: b"VIRTNODE-GUEST-READY" in launcher.read_boot_log().data, 120, "the boot marker")
        qemu_pid = launcher.domain().status.qemu_pid
        assert qemu_pid > 0
        # the launcher runs in the VMI's own network namespace
        assert os.stat(f"/proc/{record.pid}/ns/net").st_ino == os.stat(f"/run/netns/{netns_name(uid)}").st_ino

        # kill the handler's loops (not its launchers), start a new handler: it adopts
        handler.stop()
        handler = VMIHandler(Client.from_kubeconfig(str(api.kubeconfig)), cfg)
        handler.start()
        assert launcher.domain().status.qemu_pid == qemu_pid  # the same guest
        assert vmi()["status"]["phase"] == "Running"

        custom.delete_namespaced_custom_object("kubevirt.io", "v1", "default", "virtualmachineinstances", "tiny")
        wait_for(lambda: not processes_of(record.directory), 90, "every process of the VM gone")
        wait_for(lambda: not handler.registry.records(), 30, "the launcher record removed")
        assert not (cfg.state_dir / "sandboxes" / uid).exists()
        assert not Path(f"/run/netns/{netns_name(uid)}").exists()
        assert not Path(record.directory).exists()
        launcher.close()
    finally:
        for log_file in (cfg.state_dir / "sandboxes").glob("*/launcher.log"):
            shutil.copy(log_file, "/tmp/launcher-debug.log")
        handler.stop()
        stop_all(cfg.state_dir, grace=0)  # whatever a failed assertion left: guests, sandboxes
        api.stop()
        kube.close()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)
