"""NoCloud seed ISOs for the test guest (and any cloud-init guest).

`make_seed(path, hostname, user_data)` writes an ISO 9660 image with volume id
`cidata` holding `meta-data` (instance-id, local-hostname) and `user-data`,
using xorriso. The test guest's init mounts it and runs a `#!` user-data.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.guest import hosttools
from tests.guest.errors import ImageAssemblyError


def meta_data(hostname: str, instance_id: str | None = None) -> str:
    """NoCloud meta-data (YAML) naming the instance and its hostname."""
    return f"instance-id: {instance_id or hostname}\nlocal-hostname: {hostname}\n"


def make_seed(
    path: Path | str,
    hostname: str,
    user_data: str,
    *,
    instance_id: str | None = None,
    network_config: str | None = None,
) -> Path:
    """Writes a NoCloud seed ISO (volume id cidata) to `path` and returns it."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="nocloud-") as tmp:
        staging = Path(tmp)
        (staging / "meta-data").write_text(meta_data(hostname, instance_id))
        (staging / "user-data").write_text(user_data)
        if network_config is not None:
            (staging / "network-config").write_text(network_config)
        path.unlink(missing_ok=True)
        hosttools.run(
            [
                "xorriso", "-as", "mkisofs",
                "-quiet", "-volid", "cidata", "-joliet", "-rock",
                "-output", str(path), str(staging),
            ],
            failure=f"Could not write the NoCloud seed {path} with xorriso",
            error=ImageAssemblyError,
        )
    return path


def volume_id(path: Path | str) -> str:
    """The ISO 9660 volume id of an image (from its primary volume descriptor)."""
    with Path(path).open("rb") as iso:
        iso.seek(16 * 2048)
        descriptor = iso.read(2048)
    if descriptor[1:6] != b"CD001":
        raise ImageAssemblyError(f"{path} has no ISO 9660 primary volume descriptor")
    return descriptor[40:72].decode("ascii").rstrip()
