"""`python -m launcher`: the per-VM process.

Owns the launcher's process lifecycle: it starts the private libvirt daemon,
connects to it, starts the console relay, the guest's DHCP responders (served
from the first Sync that brings DHCP settings, stopped at Terminate) and the
gRPC server, and then waits.
It exits 0 after a Terminate request (the guest shut down within its grace
period, or destroyed after it), and non-zero, saying why, when its libvirt
daemon or connection is lost (crash-only: the handler decides what happens
next). SIGTERM behaves like Terminate with the VMI's grace period.

    python -m launcher --vmi-uid UID --namespace NS --name NAME --dir DIR --socket SOCK
"""

from __future__ import annotations

import argparse
import logging
import os
import pwd
import signal
import sys
import threading
from pathlib import Path

from launcher import accel, logs
from launcher.daemon import DEFAULT_USER, PrivateDaemon
from launcher.errors import LauncherError

# grpc, libvirt and the domain conversion take most of the launcher's start-up
# time to import; run() imports them while the private daemon initialises.

log = logging.getLogger("launcher")

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CONNECTION_LOST = 3
EXIT_STARTUP_FAILED = 4
CLEANUP_TIMEOUT = 20  # seconds for stopping the server, the daemon and the console relay

OVMF_DIR = Path("/usr/share/OVMF")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m launcher",
                                description="Run one VM's launcher: a private libvirt daemon, its "
                                            "domain, the console relay and the command server.")
    p.add_argument("--vmi-uid", required=True, help="the uid of the VMI this launcher serves")
    p.add_argument("--namespace", default="default", help="the VMI's namespace")
    p.add_argument("--name", required=True, help="the VMI's name")
    p.add_argument("--dir", required=True, type=Path,
                   help="the VM's private directory (created if missing; everything goes under it)")
    p.add_argument("--socket", required=True, type=Path, help="the unix socket to serve gRPC on")
    p.add_argument("--accelerator", choices=("auto", "kvm", "emulation"), default="auto",
                   help="kvm, TCG emulation, or auto: KVM when /dev/kvm works (default)")
    p.add_argument("--user", default=DEFAULT_USER,
                   help=f"the unprivileged user the libvirt daemon and QEMU run as (default {DEFAULT_USER})")
    p.add_argument("--caps-cache", type=Path,
                   help="a node-wide QEMU capabilities cache shared by all launchers")
    p.add_argument("--daemon-timeout", type=float, default=30.0,
                   help="seconds to wait for the private libvirt daemon (default 30)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.add_argument("--log-format", default="logfmt", choices=("logfmt", "json"))
    return p.parse_args(argv)


def firmware_files(guest):
    """Debian's OVMF files, when the ovmf package is installed."""
    from launcher.domain import FirmwareFiles

    code, vars_ = OVMF_DIR / "OVMF_CODE_4M.fd", OVMF_DIR / "OVMF_VARS_4M.fd"
    if not (code.exists() and vars_.exists()):
        return None
    secure_code, secure_vars = OVMF_DIR / "OVMF_CODE_4M.ms.fd", OVMF_DIR / "OVMF_VARS_4M.ms.fd"
    return FirmwareFiles(code=str(code), vars_template=str(vars_), nvram=str(guest.nvram),
                         secure_code=str(secure_code) if secure_code.exists() else None,
                         secure_vars_template=str(secure_vars) if secure_vars.exists() else None)


class StopFlag(threading.Event):
    """Set when the launcher must exit; carries the exit code and reason."""

    code = 0
    reason = ""

    def trigger(self, code: int, reason: str) -> None:
        if not self.is_set():
            self.code, self.reason = code, reason
            self.set()


class Launcher:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stop = StopFlag()
        self.exiting = threading.Event()
        self.versions: dict[str, str] = {}
        self.manager = None
        self.daemon: PrivateDaemon | None = None
        self.hypervisor = None
        self.relay = None
        self.bootlog = None
        self.server = None
        self.dhcp = None
        self._terminating = threading.Lock()
        self.forced = False

    # called by launcher/server.py
    def read_boot_log(self, offset: int, limit: int) -> tuple[bytes, int, int]:
        chunk = self.bootlog.read(offset, limit) if offset else self.bootlog.read(
            self.bootlog.oldest_offset, limit)
        return chunk.data, chunk.start, chunk.next_offset

    def terminate(self, grace: int | None):
        with self._terminating:
            status, forced = self.manager.terminate(grace)
            self.dhcp.stop()  # the guest is off: nobody left to answer
            self.forced = self.forced or forced
            self.exiting.set()
            # Exit a moment later, so that this reply leaves before the server stops.
            threading.Timer(0.3, self.stop.trigger, (EXIT_OK, "terminated on request")).start()
            return status, forced

    def run(self) -> int:
        args = self.args
        vm_dir: Path = args.dir
        try:
            user = pwd.getpwnam(args.user)
        except KeyError:
            log.error("user %r does not exist; run make install (it creates %s) or pass --user",
                      args.user, DEFAULT_USER)
            return EXIT_USAGE
        try:
            accelerator = accel.choose(args.accelerator)
            vm_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(vm_dir, 0o711)  # the daemon's uid traverses it to reach its own folders
            self.daemon = PrivateDaemon(vm_dir, uid=user.pw_uid, gid=user.pw_gid,
                                        caps_cache=args.caps_cache)
            self.daemon.spawn()
            from launcher.bootlog import BootLog
            from launcher.console import ConsoleRelay
            from launcher.dhcp import Responders
            from launcher.manager import DomainManager, GuestPaths
            from launcher.server import serve
            from launcher.virt import Hypervisor

            guest = GuestPaths(vm_dir / "guest")
            guest.folder.mkdir(exist_ok=True)
            os.chown(guest.folder, user.pw_uid, user.pw_gid)
            os.chmod(guest.folder, 0o700)
            self.bootlog = BootLog(vm_dir / "boot.log")
            self.relay = ConsoleRelay(guest.serial_socket, vm_dir / "console.sock", self.bootlog)
            self.relay.start()
            uri = self.daemon.wait_ready(timeout=args.daemon_timeout)
            domain = f"{args.namespace}_{args.name}"
            self.hypervisor = Hypervisor.connect(uri, domain, paths=self.daemon.paths,
                                                 on_connection_lost=self._connection_lost)
            self.versions = self.hypervisor.versions()
            self.dhcp = Responders()
            self.manager = DomainManager(args.vmi_uid, self.hypervisor, self.relay, self.bootlog,
                                         accelerator, guest, firmware_files(guest), dhcp=self.dhcp)
            self.server = serve(self, args.socket)
        except (LauncherError, OSError) as e:
            log.error("launcher failed to start: %s", e)
            self._cleanup()
            return EXIT_STARTUP_FAILED
        log.info("launcher ready: domain %s, accelerator %s, socket %s", domain, accelerator, args.socket)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        saved_caps = False
        while not self.stop.wait(0.5):
            if not self.daemon.alive():
                self._connection_lost(f"the private libvirt daemon exited "
                                      f"({self.daemon.log_tail(3).strip() or 'no log'})")
            elif not saved_caps and args.caps_cache is not None and self.manager.status().qemu_pid:
                saved_caps = self.daemon.save_capabilities() or True
        code, reason = self.stop.code, self.stop.reason
        if code == EXIT_OK:
            log.info("launcher exiting: %s", reason)
        else:
            log.error("launcher exiting with status %d: %s", code, reason)
            self.manager.report_error(reason)
        self.exiting.set()
        self.manager.close("LauncherExiting", reason)
        # Crash-only to the end: a cleanup step that hangs must not keep the launcher alive.
        cleaner = threading.Thread(target=self._cleanup, name="cleanup", daemon=True)
        cleaner.start()
        cleaner.join(CLEANUP_TIMEOUT)
        if cleaner.is_alive():
            log.error("cleanup did not finish in %d s; killing the daemon and exiting", CLEANUP_TIMEOUT)
            if self.daemon is not None and self.daemon.pid:
                try:
                    os.killpg(self.daemon.pid, signal.SIGKILL)
                except OSError:
                    pass
            logging.shutdown()
            os._exit(code or EXIT_CONNECTION_LOST)
        return code

    def _on_signal(self, signum: int, frame) -> None:
        log.info("received %s: shutting the guest down within its grace period",
                 signal.Signals(signum).name)
        threading.Thread(target=self._terminate_quietly, name="signal-terminate", daemon=True).start()

    def _terminate_quietly(self) -> None:
        try:
            self.terminate(None)
        except LauncherError as e:
            self.stop.trigger(EXIT_CONNECTION_LOST, f"shutdown on signal failed: {e}")

    def _connection_lost(self, reason: str) -> None:
        self.stop.trigger(EXIT_CONNECTION_LOST, f"lost the connection to the private libvirt daemon: {reason}")

    def _cleanup(self) -> None:
        if self.server is not None:
            self.server.stop(grace=2).wait(5)
        if self.dhcp is not None:
            self.dhcp.stop()
        if self.hypervisor is not None:
            self.hypervisor.close()
        if self.daemon is not None:
            self.daemon.stop()
        if self.relay is not None:
            self.relay.stop()
        if self.bootlog is not None:
            self.bootlog.close()
        if self.args.socket.exists():
            self.args.socket.unlink()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logs.configure(args.log_level, args.vmi_uid, args.log_format == "json")
    return Launcher(args).run()


if __name__ == "__main__":
    sys.exit(main())
