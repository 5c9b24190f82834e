"""A KubeVirt user's containerDisk + cloudInitNoCloud VM boots: the node prepares its volumes.

One real guest for the module: the test guest's qcow2 disk served as the
containerDisk image `virtnode/test-guest-disk` (a directory with
`disk/guest.qcow2`), a cloudInitNoCloud volume whose `#!/bin/sh` user-data
reports what the guest sees, an emptyDisk and a cloudInitConfigDrive. The
volumes are made by handler/storage.prepare_volumes and handed to a real
launcher in SyncOptions.disks; the guest boots from the disk through SeaBIOS
and syslinux (no kernelBoot). The last test stops the guest and checks that
the image was never written while the overlay kept what the guest wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from controller.admission import ClusterConfig, default
from handler.storage import ImageStore, prepare_volumes
from protos import codec
from protos.launcher.v1 import cmd_pb2
from tests.integration.launcher.process import BOOT_TIMEOUT, LauncherProcess, short_dir
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.root, pytest.mark.qemu, pytest.mark.slow]

IMAGE = "virtnode/test-guest-disk"
SCRATCH_SECTORS = 64 * 2**20 // 512
WRITTEN = b"VOLTEST-OVERLAY-WRITE"
WRITE_SECTOR = 8  # in the gap between the MBR and the first partition (sector 2048)

USER_DATA = f"""#!/bin/sh
set -e
for dev in /sys/block/vd*; do
  case "$(cat $dev/serial 2>/dev/null)" in
    scratchdisk) echo "VOLTEST-EMPTYDISK dev=${{dev##*/}} sectors=$(cat $dev/size)" ;;
    rootdisk) root=/dev/${{dev##*/}} ;;
  esac
done
printf '{WRITTEN.decode()}' | dd of=$root bs=512 seek={WRITE_SECTOR} conv=notrunc,fsync 2>/dev/null
mkdir -p /mnt/configdrive
mount -o ro "$(findfs LABEL=config-2)" /mnt/configdrive
echo "VOLTEST-CONFIGDRIVE $(cat /mnt/configdrive/openstack/latest/meta_data.json)"
echo "VOLTEST-CONFIGDRIVE-USERDATA $(cat /mnt/configdrive/openstack/latest/user_data)"
"""

VMI_YAML = """
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {{name: testguest, namespace: default, uid: "{uid}"}}
spec:
  terminationGracePeriodSeconds: 10
  domain:
    cpu: {{cores: 1}}
    memory: {{guest: 256Mi}}
    devices:
      autoattachPodInterface: false
      disks:
      - {{name: rootdisk, bootOrder: 1, serial: rootdisk, disk: {{bus: virtio}}}}
      - {{name: cloudinit, disk: {{bus: virtio}}}}
      - {{name: scratch, serial: scratchdisk, disk: {{bus: virtio}}}}
      - {{name: configdrive, disk: {{bus: virtio}}}}
  volumes:
  - name: rootdisk
    containerDisk: {{image: {image}}}
  - name: cloudinit
    cloudInitNoCloud:
      userData: {user_data}
  - name: scratch
    emptyDisk: {{capacity: 64Mi}}
  - name: configdrive
    cloudInitConfigDrive:
      userData: "configured by the config drive"
"""


@dataclass
class Booted:
    launcher: LauncherProcess
    vmi: object
    store: ImageStore
    volumes_dir: Path
    owner: pwd.struct_passwd
    base: Path
    base_digest: str
    sources: dict[str, cmd_pb2.DiskSource]
    log: str


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def boot_log(launcher: LauncherProcess) -> str:
    """Everything the guest printed on its serial console so far (the launcher's boot log)."""
    data, offset = b"", 0
    while True:
        reply = launcher.cmd.ReadBootLog(cmd_pb2.ReadBootLogRequest(
            vmi_uid=launcher.uid, offset=offset), timeout=10)
        if not reply.data:
            return data.decode(errors="replace")
        data += reply.data
        offset = reply.next_offset


@pytest.fixture(scope="module")
def booted(guest_images) -> Iterator[Booted]:
    work = short_dir("vnv-")
    launcher = None
    try:
        image = work / "image"
        (image / "disk").mkdir(parents=True)
        base = image / "disk" / "guest.qcow2"
        shutil.copy(guest_images.disk, base)
        for path in (image, image / "disk"):
            os.chmod(path, 0o755)
        os.chmod(base, 0o644)
        base_digest = digest(base)

        launcher = LauncherProcess(work / "vm", guest_images, work / "caps")
        launcher.wait_ready()
        text = VMI_YAML.format(uid=launcher.uid, image=IMAGE, user_data=json.dumps(USER_DATA))
        vmi = default(codec.load_documents(text)[0], ClusterConfig())
        store = ImageStore({IMAGE: image})
        owner = pwd.getpwnam("virtnode")
        volumes_dir = work / "volumes"
        sources = prepare_volumes(vmi, volumes_dir, store, owner.pw_uid, owner.pw_gid)
        options = cmd_pb2.SyncOptions(disks=sources)
        reply = launcher.sync(vmi, options)
        assert reply.started, reply

        seen = [""]

        def finished() -> str | None:
            seen[0] = boot_log(launcher)
            return seen[0] if "VIRTNODE-USERDATA-DONE" in seen[0] else None

        try:
            log = wait_for(finished, BOOT_TIMEOUT + 60, "the user-data finished on the console",
                           interval=1)
        except AssertionError as e:
            raise AssertionError(f"{e}; the console ends with:\n{seen[0][-3000:]}\n"
                                 f"launcher log:\n{launcher.log()}") from None
        yield Booted(launcher, vmi, store, volumes_dir, owner, base, base_digest, sources, log)
    finally:
        if launcher is not None:
            launcher.close()
        shutil.rmtree(work, ignore_errors=True)


def test_guest_boots_from_the_container_disk_and_runs_the_nocloud_user_data(booted: Booted) -> None:
    """The disk boots, the guest finds the cidata seed with its hostname and runs the script (rc=0)."""
    assert "VIRTNODE-GUEST-READY" in booted.log
    assert "VIRTNODE-SEED hostname=testguest " in booted.log
    assert "VIRTNODE-USERDATA-DONE rc=0" in booted.log, booted.log[-3000:]


def test_empty_disk_is_visible_to_the_guest(booted: Booted) -> None:
    """The emptyDisk shows up as a virtio disk of exactly its capacity."""
    match = re.search(r"VOLTEST-EMPTYDISK dev=vd[a-z]+ sectors=(\d+)", booted.log)
    assert match, booted.log[-3000:]
    assert int(match.group(1)) == SCRATCH_SECTORS


def test_config_drive_is_readable_in_the_guest(booted: Booted) -> None:
    """The config-2 disk mounts in the guest; meta_data.json names the VMI, user_data is as given."""
    match = re.search(r"VOLTEST-CONFIGDRIVE (\{.*\})", booted.log)
    assert match, booted.log[-3000:]
    assert json.loads(match.group(1)) == {"uuid": booted.launcher.uid, "hostname": "testguest",
                                          "name": "testguest"}
    assert "VOLTEST-CONFIGDRIVE-USERDATA configured by the config drive" in booted.log


def test_base_is_unchanged_and_a_restart_keeps_the_guests_writes(booted: Booted, tmp_path: Path) -> None:
    """After the guest wrote to its root disk: the image's hash is unchanged, the overlay holds the
    write, and preparing the volumes again (a handler restart) reuses the same files."""
    reply = booted.launcher.cmd.Terminate(cmd_pb2.TerminateRequest(
        vmi_uid=booted.launcher.uid, grace_period_seconds=60), timeout=120)
    assert not reply.forced  # the guest powered off: QEMU closed its disks cleanly
    assert booted.launcher.proc.wait(30) == 0, booted.launcher.log()
    assert digest(booted.base) == booted.base_digest
    overlay = Path(booted.sources["rootdisk"].path)
    inode = overlay.stat().st_ino
    raw = tmp_path / "sectors.raw"
    subprocess.run(["qemu-img", "dd", "-f", "qcow2", "-O", "raw", f"if={overlay}", f"of={raw}",
                    "bs=512", f"count={WRITE_SECTOR + 1}"], check=True, capture_output=True)
    assert raw.read_bytes()[WRITE_SECTOR * 512:WRITE_SECTOR * 512 + len(WRITTEN)] == WRITTEN

    again = prepare_volumes(booted.vmi, booted.volumes_dir, booted.store, booted.owner.pw_uid,
                            booted.owner.pw_gid)
    assert again == booted.sources
    assert overlay.stat().st_ino == inode
    subprocess.run(["qemu-img", "dd", "-f", "qcow2", "-O", "raw", f"if={overlay}", f"of={raw}",
                    "bs=512", f"count={WRITE_SECTOR + 1}"], check=True, capture_output=True)
    assert raw.read_bytes()[WRITE_SECTOR * 512:WRITE_SECTOR * 512 + len(WRITTEN)] == WRITTEN
    assert digest(booted.base) == booted.base_digest
