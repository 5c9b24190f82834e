"""Running a real launcher process for tests: its VMI, its socket, its processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import grpc
import psutil

from controller.admission import ClusterConfig, default
from protos import codec
from protos.launcher.v1 import cmd_pb2, cmd_pb2_grpc

REPO = Path(__file__).resolve().parents[3]
BOOT_TIMEOUT = 120  # seconds for the test guest to boot under TCG

VMI_YAML = """
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: testguest
  namespace: default
  uid: "{uid}"
spec:
  terminationGracePeriodSeconds: 60
  domain:
    cpu: {{cores: 1}}
    memory: {{guest: 256Mi}}
    firmware:
      kernelBoot:
        kernelArgs: "{args}"
        container:
          image: virtnode/test-guest
          kernelPath: /boot/vmlinuz
          initrdPath: /boot/initrd.img
    devices:
      autoattachPodInterface: false
"""


def make_vmi(uid: str, args: str = "console=ttyS0,115200 panic=-1"):
    vmi = codec.load_documents(VMI_YAML.format(uid=uid, args=args))[0]
    return default(vmi, ClusterConfig())


class LauncherProcess:
    def __init__(self, vm_dir: Path, images, caps_cache: Path) -> None:
        self.uid = str(uuid.uuid4())
        self.vm_dir = vm_dir
        self.socket = vm_dir / "launcher.sock"
        self.log_path = vm_dir.parent / f"{vm_dir.name}-launcher.log"
        image_dir = vm_dir.parent / f"{vm_dir.name}-images"
        image_dir.mkdir(exist_ok=True)
        os.chmod(image_dir, 0o755)
        self.kernel = image_dir / "vmlinuz"
        self.initrd = image_dir / "initrd.img"
        shutil.copy(images.kernel, self.kernel)
        shutil.copy(images.initrd, self.initrd)
        for f in (self.kernel, self.initrd):
            os.chmod(f, 0o644)
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "launcher", "--vmi-uid", self.uid, "--namespace", "default",
             "--name", "testguest", "--dir", str(vm_dir), "--socket", str(self.socket),
             "--accelerator", "emulation", "--caps-cache", str(caps_cache), "--log-level", "debug"],
            cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.channel = None
        self.cmd: cmd_pb2_grpc.CmdStub | None = None

    def wait_ready(self, timeout: float = 60) -> cmd_pb2.HandshakeResponse:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"launcher exited with {self.proc.returncode}:\n{self.log()}")
            if self.socket.exists():
                self.channel = grpc.insecure_channel(f"unix:{self.socket}")
                self.cmd = cmd_pb2_grpc.CmdStub(self.channel)
                try:
                    return self.cmd.Handshake(cmd_pb2.HandshakeRequest(
                        vmi_uid=self.uid, supported_versions=[1]), timeout=5)
                except grpc.RpcError:
                    pass
            time.sleep(0.2)
        raise AssertionError(f"launcher not ready within {timeout} s:\n{self.log()}")

    def options(self) -> cmd_pb2.SyncOptions:
        return cmd_pb2.SyncOptions(kernel_boot=cmd_pb2.KernelBootFiles(
            kernel=str(self.kernel), initrd=str(self.initrd)))

    def sync(self, vmi=None, options=None, uid=None) -> cmd_pb2.SyncResponse:
        return self.cmd.Sync(cmd_pb2.SyncRequest(
            vmi_uid=uid or self.uid, vmi=vmi if vmi is not None else make_vmi(self.uid),
            options=options if options is not None else self.options()), timeout=60)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def related_processes(self) -> list[psutil.Process]:
        """libvirtd and QEMU processes that belong to this VM's directory."""
        found = []
        for p in psutil.process_iter(["pid", "cmdline", "environ"]):
            try:
                cmdline = " ".join(p.info["cmdline"] or [])
                env = p.info.get("environ") or {}
            except (psutil.Error, TypeError):
                continue
            if p.pid == self.proc.pid:
                continue
            if str(self.vm_dir) in cmdline or str(self.vm_dir) in env.get("XDG_RUNTIME_DIR", ""):
                found.append(p)
        return found

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        for p in self.related_processes():
            p.kill()
        self._log.close()


def short_dir(prefix: str) -> Path:
    """A fresh directory under /tmp: unix socket paths are limited to 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(path, 0o755)
    return path
