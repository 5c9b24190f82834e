"""The test guest boots under QEMU (TCG) and does what docs/guest.md promises.

Two boots in all, to keep the file well under three minutes on two cores:

- one direct kernel+initrd boot with a NIC (user-mode, restrict=on, port 80
  forwarded from 127.0.0.1), a guest-agent channel and a NoCloud seed; the
  readiness, DHCP/HTTP, agent, seed and power-button tests all look at it, and
  the power-button test, last, ends it;
- one boot of disk.qcow2 through SeaBIOS and syslinux, with the seed as an IDE
  cdrom this time.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.guest import nocloud
from tests.guest.boot import AgentConnection, Guest, GuestTimeout
from tests.guest.build import GuestImages

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

BOOT_TIMEOUT = 120  # seconds; a TCG boot takes about 5 on an idle 2-core machine
HOSTNAME = "vm-integration-1"
USER_DATA = """#!/bin/sh
echo "user-data ran on $(hostname)" >/var/www/userdata.txt
echo "VIRTNODE-TEST user-data says hello from $(hostname)"
"""


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("seed")
    return nocloud.make_seed(folder / "seed.iso", HOSTNAME, USER_DATA)


@pytest.fixture(scope="module")
def guest(guest_images: GuestImages, seed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guest]:
    """The direct-boot guest with network, HTTP forward, agent and seed; booted
    once for the module and stopped (and reaped) after its last test."""
    console = tmp_path_factory.mktemp("console") / "direct.log"
    with Guest(guest_images, seed=seed, http=True, agent=True, console_log=console) as booted:
        booted.wait_for("VIRTNODE-GUEST-READY", timeout=BOOT_TIMEOUT)
        yield booted
    assert not booted.running


def test_direct_boot_reports_ready_with_uptime(guest: Guest) -> None:
    line = guest.wait_for("VIRTNODE-GUEST-READY", timeout=BOOT_TIMEOUT)
    match = re.search(r"VIRTNODE-GUEST-READY uptime=(\d+\.\d+)", line)
    assert match, line
    assert 0 < float(match.group(1)) < BOOT_TIMEOUT


def test_dhcp_lease_and_http_through_hostfwd(guest: Guest) -> None:
    line = guest.wait_for("VIRTNODE-GUEST-IP", timeout=60)
    assert re.search(r"VIRTNODE-GUEST-IP 10\.0\.2\.\d+$", line.strip()), line
    guest.wait_for("VIRTNODE-HTTP-READY port=80", timeout=30)
    page = http_get(guest, "/")
    assert "virtnode test guest" in page
    assert f"hostname: {HOSTNAME}" in page


def test_guest_agent_sync_ping_and_info(guest: Guest) -> None:
    guest.wait_for("VIRTNODE-AGENT-READY", timeout=60)
    assert guest.agent_path is not None
    deadline = time.monotonic() + 30
    with AgentConnection(guest.agent_path, deadline) as conn:
        assert conn.sync(deadline, id=4242) == 4242
        assert conn.sync(deadline, id=917) == 917  # a second round trip on the same connection
    assert guest.agent("guest-ping") == {}
    info = guest.agent("guest-info")
    assert info["version"]
    supported = {entry["name"] for entry in info["supported_commands"] if entry["enabled"]}
    assert {"guest-sync", "guest-ping", "guest-info", "guest-get-host-name"} <= supported
    assert guest.agent("guest-get-host-name") == {"host-name": HOSTNAME}


def test_nocloud_seed_sets_hostname_and_runs_user_data(guest: Guest) -> None:
    line = guest.wait_for("VIRTNODE-SEED", timeout=60)
    assert f"hostname={HOSTNAME}" in line
    assert guest.wait_for("VIRTNODE-USERDATA-DONE", timeout=60).strip().endswith("rc=0")
    guest.wait_for(f"VIRTNODE-TEST user-data says hello from {HOSTNAME}", timeout=5)
    assert http_get(guest, "/userdata.txt").strip() == f"user-data ran on {HOSTNAME}"


def test_acpi_power_button_powers_the_guest_off(guest: Guest) -> None:
    """Last in the file: it ends the module's guest."""
    guest.wait_for("VIRTNODE-ACPI-READY", timeout=60)
    guest.powerdown()
    guest.wait_for("VIRTNODE-POWER-BUTTON", timeout=30)
    assert guest.wait_exit(timeout=60) == 0
    assert not guest.running


def test_disk_boots_through_seabios_and_syslinux(guest_images: GuestImages, seed: Path) -> None:
    with Guest(guest_images, disk_boot=True, seed=seed, seed_as="cdrom") as booted:
        booted.wait_for("SYSLINUX", timeout=BOOT_TIMEOUT)
        line = booted.wait_for("VIRTNODE-GUEST-READY", timeout=BOOT_TIMEOUT)
        assert re.search(r"uptime=\d+\.\d+", line), line
        seed_line = booted.wait_for("VIRTNODE-SEED", timeout=60)
        assert f"hostname={HOSTNAME}" in seed_line and "/dev/sr0" in seed_line
        assert booted.wait_for("VIRTNODE-USERDATA-DONE", timeout=60).strip().endswith("rc=0")
        with pytest.raises(GuestTimeout) as timed_out:
            booted.wait_for("VIRTNODE-NEVER-PRINTED", timeout=1)
        assert "VIRTNODE-NEVER-PRINTED" in str(timed_out.value)
        assert "VIRTNODE-USERDATA-DONE" in str(timed_out.value)  # the message quotes the console
    assert not booted.running
    assert not booted.workdir.exists()  # the overlay disk went with it


def test_qemu_is_stopped_and_reaped_when_the_block_raises(guest_images: GuestImages) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with Guest(guest_images) as booted:
            pid = booted.proc.pid
            raise RuntimeError("boom")
    assert booted.proc.returncode is not None  # reaped: no zombie, no orphan
    try:
        assert "qemu" not in Path(f"/proc/{pid}/cmdline").read_text()
    except FileNotFoundError:
        pass  # gone, as it should be
    assert not booted.workdir.exists()


def http_get(guest: Guest, path: str, timeout: float = 30) -> str:
    """GET http://127.0.0.1:<forwarded port><path>, retrying for `timeout` s
    while the guest's side is not up yet."""
    url = f"http://127.0.0.1:{guest.http_port}{path}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    deadline = time.monotonic() + timeout
    while True:
        try:
            with opener.open(url, timeout=5) as response:
                return response.read().decode()
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            if time.monotonic() >= deadline:
                raise AssertionError(f"{url} did not answer within {timeout:g} s: {exc}\n{guest.console_tail()}")
            time.sleep(0.5)
