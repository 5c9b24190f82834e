"""What the handler/storage tests share: VMIs written as users write them, disk images, ISO readers."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pycdlib

from protos import codec

VMI_HEAD = """
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {{name: {name}, namespace: tenant, uid: 6f1c9c2e-8a6b-4a57-9d7e-1a2b3c4d5e6f}}
spec:
{hostname}  domain:
    devices: {{}}
  volumes:
"""


def vmi(volumes: str, name: str = "vm1", hostname: str | None = None):
    """A VMI message whose spec.volumes is the YAML list `volumes` (indented by 2)."""
    text = VMI_HEAD.format(name=name, hostname=f"  hostname: {hostname}\n" if hostname else "")
    text += "".join(f"  {line}\n" for line in volumes.strip("\n").splitlines())
    return codec.load_documents(text)[0]


def qemu_img(*args: str) -> str:
    return subprocess.run(["qemu-img", *args], check=True, capture_output=True, text=True).stdout


def make_image(root: Path, name: str = "disk.qcow2", fmt: str = "qcow2", size: str = "16M") -> Path:
    """An image directory `root` with one disk under /disk."""
    (root / "disk").mkdir(parents=True, exist_ok=True)
    path = root / "disk" / name
    qemu_img("create", "-q", "-f", fmt, str(path), size)
    return path


def extract(iso: Path, dest: Path) -> dict[str, bytes]:
    """Every file of `iso` as xorriso (Rock Ridge names) extracts it: relative path -> bytes."""
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(iso), "-extract", "/", str(dest)],
                   check=True, capture_output=True)
    files = {}
    for folder, dirs, names in os.walk(dest):
        os.chmod(folder, 0o755)
        for name in names:
            path = Path(folder, name)
            files[str(path.relative_to(dest))] = path.read_bytes()
    return files


def volume_ids(iso: Path) -> tuple[str, str]:
    """(primary volume id, Joliet volume id) as pycdlib reads them back."""
    reader = pycdlib.PyCdlib()
    reader.open(str(iso))
    try:
        return (reader.pvd.volume_identifier.decode().rstrip(),
                reader.joliet_vd.volume_identifier.decode("utf-16-be").rstrip())
    finally:
        reader.close()


def joliet_file(iso: Path, path: str) -> bytes:
    """A file read through the Joliet tree (what Windows and a Linux without Rock Ridge see)."""
    reader = pycdlib.PyCdlib()
    reader.open(str(iso))
    try:
        out = io.BytesIO()
        reader.get_file_from_iso_fp(out, joliet_path=path)
        return out.getvalue()
    finally:
        reader.close()
