"""launcher.virt drives the test guest through a private libvirt daemon, and reads QEMU logs right.

One daemon and one guest for the module (TCG): the tests run in file order
and follow one life: undefined → defined → booted (agent, info, stats,
pause/resume) → ACPI shutdown → a second boot destroyed → undefined. A second
daemon is killed to see the connection-lost callback. The log-parsing tests at
the end need neither root nor QEMU.
"""

from __future__ import annotations

import os
import pwd
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from launcher.daemon import PrivateDaemon
from launcher.errors import (
    AgentUnavailableError,
    ConnectionLostError,
    DomainNotFoundError,
    DomainStateError,
    InvalidRequestError,
    KVMInternalError,
    MissingResourceError,
)
from launcher.virt import Hypervisor, kvm_internal_error
from tests.guest.build import GuestImages
from tests.integration.launcher import (
    domain_xml,
    guest_io_dir,
    make_vm_dir,
    remove_vm_dir,
    wait_for_text,
    wait_until,
)

NAME = "vm1"
BOOT_TIMEOUT = 120  # seconds; about 5 on an idle two-core machine under TCG
needs_qemu = [pytest.mark.root, pytest.mark.qemu]


class Recorder:
    """Collects callback arguments from the libvirt event thread; tests wait on them."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._changed = threading.Condition()

    def __call__(self, *args: Any) -> None:
        with self._changed:
            self.items.append(args if len(args) > 1 else args[0])
            self._changed.notify_all()

    def wait_for(self, item: Any, timeout: float) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: item in self.items, timeout):
                raise AssertionError(f"no {item!r} within {timeout:g} s; got {self.items}")


class Rig:
    def __init__(self, vm_dir: Path, daemon: PrivateDaemon, hypervisor: Hypervisor, io: Path,
                 events: Recorder, agent: Recorder) -> None:
        self.vm_dir, self.daemon, self.hypervisor, self.io = vm_dir, daemon, hypervisor, io
        self.events, self.agent = events, agent

    @property
    def serial(self) -> Path:
        return self.io / "serial.log"


@pytest.fixture(scope="module")
def rig(guest_images: GuestImages) -> Iterator[Rig]:
    """A private daemon, a connection with event recorders, and the guest's io directory."""
    vm_dir = make_vm_dir()
    entry = pwd.getpwnam("virtnode")
    daemon = PrivateDaemon(vm_dir)
    hypervisor = None
    try:
        io = guest_io_dir(vm_dir, guest_images, entry.pw_uid, entry.pw_gid)
        uri = daemon.start(timeout=30)
        hypervisor = Hypervisor.connect(uri, NAME, paths=daemon.paths)
        events, agent = Recorder(), Recorder()
        hypervisor.on_lifecycle(events)
        hypervisor.on_agent_lifecycle(agent)
        yield Rig(vm_dir, daemon, hypervisor, io, events, agent)
    finally:
        if hypervisor is not None:
            hypervisor.close()
        daemon.stop()
        remaining = [p for p in psutil.process_iter(["cmdline"])
                     if any(str(vm_dir) in arg for arg in p.info["cmdline"] or [])]
        remove_vm_dir(vm_dir)
    assert remaining == [], f"processes left behind: {remaining}"


@pytest.mark.root
@pytest.mark.qemu
def test_an_undefined_domain_is_not_found(rig: Rig) -> None:
    """Acting on the domain before it is defined raises DomainNotFoundError."""
    with pytest.raises(DomainNotFoundError, match=f"domain {NAME}: no such domain is defined"):
        rig.hypervisor.state()
    with pytest.raises(DomainNotFoundError):
        rig.hypervisor.start()


@pytest.mark.root
@pytest.mark.qemu
def test_invalid_domain_xml_is_an_invalid_request_with_libvirts_words(rig: Rig) -> None:
    """Schema errors come back as InvalidRequestError carrying libvirt's message."""
    with pytest.raises(InvalidRequestError, match="Element domain has extra content: bogus"):
        rig.hypervisor.define(f"<domain type='qemu'><name>{NAME}</name><memory>1024</memory><bogus/></domain>")
    with pytest.raises(InvalidRequestError, match="does not parse"):
        rig.hypervisor.define("<domain")
    with pytest.raises(InvalidRequestError, match="names 'other'"):
        rig.hypervisor.define("<domain type='qemu'><name>other</name></domain>")


@pytest.mark.root
@pytest.mark.qemu
def test_a_missing_kernel_is_a_missing_resource(rig: Rig, guest_images: GuestImages) -> None:
    """Starting with a kernel file that is not there raises MissingResourceError; redefining fixes it."""
    broken = domain_xml(NAME, rig.io, guest_images).replace(str(rig.io / guest_images.kernel.name),
                                                           str(rig.io / "no-such-vmlinuz"))
    rig.hypervisor.define(broken)
    with pytest.raises(MissingResourceError, match="no-such-vmlinuz"):
        rig.hypervisor.start()
    assert rig.hypervisor.state() == ("shutoff", "failed")
    rig.hypervisor.define(domain_xml(NAME, rig.io, guest_images))  # a redefinition without a uuid
    assert str(rig.io / guest_images.kernel.name) in rig.hypervisor.domain_xml()


@pytest.mark.root
@pytest.mark.qemu
def test_the_guest_boots_as_virtnode(rig: Rig) -> None:
    """start() boots the guest to its ready marker; QEMU runs as virtnode with the pid libvirt wrote."""
    rig.hypervisor.start()
    wait_for_text(rig.serial, "VIRTNODE-GUEST-READY", BOOT_TIMEOUT)
    assert rig.hypervisor.state() == ("running", "booted")
    rig.events.wait_for(("started", "booted"), 5)
    pid = rig.hypervisor.qemu_pid()
    assert pid is not None
    qemu = psutil.Process(pid)
    assert "qemu-system-x86_64" in qemu.name()
    assert qemu.uids().real == pwd.getpwnam("virtnode").pw_uid
    assert "tcg" in " ".join(qemu.cmdline())
    assert rig.hypervisor.last_failure() is None


@pytest.mark.root
@pytest.mark.qemu
def test_the_guest_agent_answers_ping(rig: Rig) -> None:
    """Once the agent-connected event fires, guest-ping answers {"return": {}}."""
    rig.agent.wait_for((True, "channel"), BOOT_TIMEOUT)
    assert rig.hypervisor.agent_command({"execute": "guest-ping"}, timeout_s=10) == {"return": {}}
    with pytest.raises(AgentUnavailableError, match="guest-no-such-command"):
        rig.hypervisor.agent_command({"execute": "guest-no-such-command"}, timeout_s=10)


@pytest.mark.root
@pytest.mark.qemu
def test_guest_info_has_the_hostname_and_os(rig: Rig) -> None:
    """guest_info() reports the hostname, the OS and interface addresses through the agent."""
    info = rig.hypervisor.guest_info()
    assert info.hostname
    assert info.os.get("id") == "virtnode-guest"
    assert any(address["address"] == "127.0.0.1" for interface in info.interfaces
               for address in interface["addresses"])


@pytest.mark.root
@pytest.mark.qemu
def test_stats_show_cpu_time_and_memory(rig: Rig) -> None:
    """stats() has non-zero CPU time and the balloon's memory figures."""
    stats = rig.hypervisor.stats()
    assert stats.cpu_time_ns > 0
    assert stats.memory["current"] == 256 * 1024
    assert stats.blocks == [] and stats.nets == []  # the test guest has neither


@pytest.mark.root
@pytest.mark.qemu
def test_suspend_and_resume_change_state_and_fire_events(rig: Rig) -> None:
    """Pausing and resuming show in state() and as suspended/resumed lifecycle events."""
    rig.hypervisor.suspend()
    assert rig.hypervisor.state() == ("paused", "user")
    rig.events.wait_for(("suspended", "paused"), 5)
    with pytest.raises(DomainStateError, match="already running"):
        rig.hypervisor.start()
    rig.hypervisor.resume()
    assert rig.hypervisor.state() == ("running", "unpaused")
    rig.events.wait_for(("resumed", "unpaused"), 5)


@pytest.mark.root
@pytest.mark.qemu
def test_acpi_shutdown_powers_the_guest_off(rig: Rig) -> None:
    """The ACPI power button makes the guest power off: shutoff, reason shutdown, within a bound."""
    wait_for_text(rig.serial, "VIRTNODE-ACPI-READY", BOOT_TIMEOUT)
    started = time.monotonic()
    rig.hypervisor.shutdown()
    wait_until(lambda: rig.hypervisor.state()[0] == "shutoff", 60, "the guest to power off")
    print(f"\nACPI shutdown took {time.monotonic() - started:.1f} s")
    assert rig.hypervisor.state() == ("shutoff", "shutdown")
    rig.events.wait_for(("stopped", "shutdown"), 5)
    assert "VIRTNODE-POWER-BUTTON" in rig.serial.read_text(errors="replace")
    assert rig.hypervisor.qemu_pid() is None
    assert rig.hypervisor.last_failure() is None


@pytest.mark.root
@pytest.mark.qemu
def test_destroy_stops_a_second_boot_at_once(rig: Rig) -> None:
    """A second start works, and destroy() stops QEMU: shutoff, reason destroyed."""
    rig.hypervisor.start()
    pid = rig.hypervisor.qemu_pid()
    assert pid is not None and psutil.pid_exists(pid)
    rig.hypervisor.destroy()
    assert rig.hypervisor.state() == ("shutoff", "destroyed")
    rig.events.wait_for(("stopped", "destroyed"), 5)
    wait_until(lambda: not psutil.pid_exists(pid), 10, f"QEMU {pid} to exit")


@pytest.mark.root
@pytest.mark.qemu
def test_commands_on_a_stopped_guest_are_state_errors(rig: Rig) -> None:
    """Pausing, destroying or asking the agent of a stopped guest raise DomainStateError."""
    for command in (rig.hypervisor.suspend, rig.hypervisor.destroy, rig.hypervisor.shutdown,
                    lambda: rig.hypervisor.agent_command({"execute": "guest-ping"}, 2)):
        with pytest.raises(DomainStateError, match="not running"):
            command()


@pytest.mark.root
@pytest.mark.qemu
def test_undefine_removes_the_domain(rig: Rig) -> None:
    """After undefine() the domain is gone and an undefined event fired."""
    rig.hypervisor.undefine()
    rig.events.wait_for(("undefined", "removed"), 5)
    with pytest.raises(DomainNotFoundError):
        rig.hypervisor.state()


@pytest.mark.root
@pytest.mark.qemu
def test_a_killed_daemon_fires_connection_lost() -> None:
    """SIGKILL to the daemon calls on_connection_lost within seconds; later calls raise ConnectionLostError."""
    vm_dir = make_vm_dir()
    daemon = PrivateDaemon(vm_dir)
    lost = Recorder()
    try:
        hypervisor = Hypervisor.connect(daemon.start(timeout=30), NAME, paths=daemon.paths,
                                        on_connection_lost=lost)
        assert hypervisor.alive()
        os.kill(daemon.pid, signal.SIGKILL)
        started = time.monotonic()
        lost.wait_for("eof", 10)
        print(f"\nconnection loss reported {time.monotonic() - started:.2f} s after SIGKILL")
        assert not hypervisor.alive()
        with pytest.raises(ConnectionLostError, match="connection to the private libvirt daemon is lost"):
            hypervisor.state()
        hypervisor.close()
    finally:
        daemon.stop()
        remove_vm_dir(vm_dir)
    assert not daemon.alive()


# -- QEMU log parsing: no root, no QEMU --------------------------------------------------

HEADER = ("2026-11-23 15:51:08.205+0000: starting up libvirt version: 9.0.0, package: 9.0.0-4+deb12u2 "
          "(Debian), qemu version: 7.2.22, kernel: 6.1.0, hostname: vm\n"
          "LC_ALL=C \\\n/usr/bin/qemu-system-x86_64 \\\n-name guest=vm1,debug-threads=on \\\n-accel kvm\n")
# The order QEMU 7.2's kvm_handle_internal_error() prints in.
KVM_FAILURE = ("KVM internal error. Suberror: 1\n"
               "extra data[0]: 0x0000000000000000\n"
               "extra data[1]: 0x0000000000000030\n"
               "emulation failure\n"
               "RAX=0000000000000000 RBX=ffffffff8a000000 RCX=0000000000000000 RDX=0000000000000000\n"
               "2026-11-23T15:51:09.001+0000: shutting down, reason=crashed\n")


def test_a_kvm_internal_error_in_the_qemu_log_is_reported_with_the_hint() -> None:
    """The log of a run that hit a KVM internal error yields KVMInternalError with suberror and hint."""
    error = kvm_internal_error(HEADER + "char device redirected to /dev/pts/3\n" + KVM_FAILURE, "vm1")
    assert isinstance(error, KVMInternalError)
    assert str(error).startswith("The guest vm1 stopped with a KVM internal error (Suberror: 1, emulation failure)")
    assert KVMInternalError.HINT in str(error)


def test_only_the_latest_run_counts() -> None:
    """A KVM failure of an earlier run, followed by a clean start, is not reported."""
    assert kvm_internal_error(HEADER + KVM_FAILURE + HEADER + "clean run\n") is None
    assert kvm_internal_error(HEADER + "clean run\n" + HEADER + KVM_FAILURE) is not None


def test_a_clean_or_empty_log_has_no_failure() -> None:
    """Ordinary QEMU output and an empty log are not failures."""
    assert kvm_internal_error("") is None
    assert kvm_internal_error(HEADER + "2026-11-23T15:51:09.001+0000: shutting down, reason=shutdown\n") is None


def test_a_bare_kvm_internal_error_line_is_enough() -> None:
    """The marker alone, without suberror or a following line, is still detected."""
    error = kvm_internal_error(HEADER + "KVM internal error\n")
    assert error is not None and "KVM internal error;" in str(error)


def test_other_suberrors_name_only_the_number() -> None:
    """A suberror other than emulation failure is reported by its number."""
    error = kvm_internal_error(HEADER + "KVM internal error. Suberror: 3\nextra data[0]: 0x1\nRAX=0 RBX=0\n")
    assert error is not None and "KVM internal error (Suberror: 3);" in str(error)
