"""The handler's VMI loop: every VMI assigned to this node becomes a launcher and a guest.

Owns turning the VMIs labelled `kubevirt.io/nodeName=<this node>` into running
guests, in ordered, idempotent steps — sandbox → launcher → Sync → status —
and undoing them when a VMI is deleted or finishes. Launchers are followed
through their event stream; their DomainStatus becomes the VMI's phase and
conditions (KubeVirt's mapping: running → Running, a guest that powered itself
off → Succeeded, destroyed or crashed → Failed). Records on disk
(handler/launchers.py) let a restarted handler adopt running launchers instead
of starting new ones. Not yet: networking (VMIs must not ask for the pod
network), containerDisk volumes, migrations.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from handler import errors
from handler.client import Client
from handler.launchers import (
    LauncherClient,
    LauncherRecord,
    LauncherRegistry,
    watch_forever,
)
from handler.sandbox import Sandbox
from handler.sandbox.cgroups import Limits
from launcher.cleanup import clean_up
from protos import codec, quantity
from protos.errors import APIObjectError
from protos.launcher.v1 import cmd_pb2, domain_pb2, notify_pb2

log = logging.getLogger(__name__)

NODE_LABEL = "kubevirt.io/nodeName"
FINAL = ("Succeeded", "Failed")
OVERHEAD_BYTES = 256 * 2**20  # launcher + daemon + QEMU, until the controller's formula is shared


@dataclass
class HandlerConfig:
    node: str
    state_dir: Path                      # records, sandboxes
    run_dir: Path                        # launcher directories: short paths for unix sockets
    accelerator: str = "auto"            # auto, kvm, emulation
    launcher_user: str = "virtnode"
    images: dict[str, Path] = field(default_factory=dict)   # containerDisk image -> local directory
    watch_timeout: int = 60


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def phase_of(status: domain_pb2.DomainStatus) -> tuple[str, str]:
    """(VMI phase, reason) for a domain status, as KubeVirt's handler maps them."""
    state, reason = status.state, status.reason
    if state in (domain_pb2.DOMAIN_STATE_RUNNING, domain_pb2.DOMAIN_STATE_BLOCKED,
                 domain_pb2.DOMAIN_STATE_PAUSED, domain_pb2.DOMAIN_STATE_SHUTDOWN,
                 domain_pb2.DOMAIN_STATE_PMSUSPENDED):
        return "Running", ""
    if state == domain_pb2.DOMAIN_STATE_SHUTOFF:
        if reason in ("", "unknown"):  # defined, never started yet
            return "Scheduled", ""
        if reason == "shutdown":
            return "Succeeded", "GuestShutdown"
        return "Failed", status.failure or f"Domain{reason.capitalize() or 'Stopped'}"
    if state == domain_pb2.DOMAIN_STATE_CRASHED:
        return "Failed", status.failure or "DomainCrashed"
    return "Scheduled", ""


def status_patch(vmi: dict, status: domain_pb2.DomainStatus) -> dict:
    """The VMI status merge patch for a domain status (phase, conditions, guest OS)."""
    phase, reason = phase_of(status)
    running = phase == "Running"
    paused = status.state == domain_pb2.DOMAIN_STATE_PAUSED
    now = _now()
    old = {c.get("type"): c for c in (vmi.get("status") or {}).get("conditions") or []}

    def condition(kind: str, ok: bool, why: str = "") -> dict:
        value = "True" if ok else "False"
        previous = old.get(kind) or {}
        since = previous.get("lastTransitionTime") if previous.get("status") == value else now
        return {"type": kind, "status": value, "lastProbeTime": None, "lastTransitionTime": since,
                **({"reason": why} if why else {})}

    conditions = [condition("Ready", running and not paused, "" if running else "NotRunning")]
    if paused:
        conditions.append(condition("Paused", True, "PausedByUser" if status.paused_by_user else "Paused"))
    if status.agent_connected:
        conditions.append(condition("AgentConnected", True))
    patch: dict = {"phase": phase, "conditions": conditions}
    if reason and phase in FINAL:
        patch["reason"] = reason
    transitions = list((vmi.get("status") or {}).get("phaseTransitionTimestamps") or [])
    if not transitions or transitions[-1].get("phase") != phase:
        transitions.append({"phase": phase, "phaseTransitionTimestamp": now})
        patch["phaseTransitionTimestamps"] = transitions
    if status.guest_os.name:
        patch["guestOSInfo"] = {"name": status.guest_os.name, "id": status.guest_os.id,
                                "prettyName": status.guest_os.pretty_name,
                                "kernelRelease": status.guest_os.kernel_release,
                                "version": status.guest_os.version}
    return patch


class VMIHandler:
    def __init__(self, client: Client, config: HandlerConfig) -> None:
        self.client = client
        self.config = config
        self.registry = LauncherRegistry(config.state_dir)
        self.sandbox_root = config.state_dir / "sandboxes"
        self._work: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._vmis: dict[str, dict] = {}           # uid -> last seen VMI
        self._clients: dict[str, LauncherClient] = {}
        self._followers: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    @property
    def clients(self) -> dict[str, LauncherClient]:
        """The launchers this handler follows, by VMI uid."""
        return dict(self._clients)

    def vmi(self, uid: str) -> dict | None:
        return self._vmis.get(uid)

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        self.adopt()
        for target, name in ((self._watch_loop, "vmi-watch"), (self._work_loop, "vmi-worker")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        """Stops following; launchers and guests keep running (a handler restart adopts them)."""
        self._stop.set()
        self._work.put(None)
        for event in self._followers.values():
            event.set()
        for t in self._threads:
            t.join(10)
        for c in self._clients.values():
            c.close()

    def adopt(self) -> None:
        """Takes over the launchers of a previous handler from their records."""
        for record in self.registry.records():
            client = LauncherClient(record.socket, record.vmi_uid)
            try:
                client.handshake(wait=2)
            except errors.HandlerError as e:
                log.warning("launcher of VMI %s is gone (%s); cleaning up", record.vmi_uid, e)
                client.close()
                self._clean(record.vmi_uid, record)
                continue
            log.info("adopted the launcher of VMI %s (pid %d)", record.vmi_uid, record.pid)
            self._clients[record.vmi_uid] = client
            self._follow(record.vmi_uid, record.namespace, record.name, client)

    def _watch_loop(self) -> None:
        selector = f"{NODE_LABEL}={self.config.node}"
        rv = ""
        while not self._stop.is_set():
            try:
                if not rv:
                    items, rv = self.client.list_vmis(selector)
                    for vmi in items:
                        self._work.put(("sync", vmi))
                    # A launcher whose VMI is gone (deleted while no handler watched): stop it.
                    listed = {vmi["metadata"]["uid"] for vmi in items}
                    for record in self.registry.records():
                        if record.vmi_uid not in listed:
                            log.info("VMI %s/%s is gone; stopping its launcher", record.namespace, record.name)
                            self._work.put(("delete", {"metadata": {
                                "uid": record.vmi_uid, "namespace": record.namespace, "name": record.name},
                                "spec": {}}))
                for kind, vmi in self.client.watch_vmis(selector, rv, self.config.watch_timeout):
                    if self._stop.is_set():
                        return
                    if kind == "BOOKMARK":
                        rv = vmi["metadata"]["resourceVersion"]
                        continue
                    if kind == "ERROR":
                        rv = ""
                        break
                    rv = vmi["metadata"]["resourceVersion"]
                    self._work.put(("delete" if kind == "DELETED" else "sync", vmi))
            except errors.HandlerError as e:
                log.warning("watching VMIs failed (%s); listing again", e)
                rv = ""
                self._stop.wait(1)

    def _work_loop(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            action, vmi = item
            uid = vmi["metadata"]["uid"]
            try:
                if action == "delete" or vmi["metadata"].get("deletionTimestamp"):
                    self._delete(vmi)
                else:
                    self._sync(vmi)
            except (errors.HandlerError, APIObjectError, OSError) as e:
                log.warning("VMI %s/%s: %s", vmi["metadata"].get("namespace"), vmi["metadata"]["name"], e)
                self._set_failed(vmi, str(e))
            except Exception:
                log.exception("reconciling VMI %s failed", uid)

    # -- the steps -----------------------------------------------------------------------------

    def _sync(self, vmi: dict) -> None:
        uid = vmi["metadata"]["uid"]
        self._vmis[uid] = vmi
        phase = (vmi.get("status") or {}).get("phase", "")
        if phase in FINAL:
            if uid in self._clients:
                self._terminate(uid, vmi)
            return
        message = codec.decode(vmi)
        options = self._options(message)
        client = self._clients.get(uid) or self._start_launcher(vmi, message)
        reply = client.sync(message, options)
        self.client.patch_vmi_status(vmi["metadata"]["namespace"], vmi["metadata"]["name"],
                                     {"status": status_patch(vmi, reply.status)})

    def _options(self, vmi) -> cmd_pb2.SyncOptions:
        options = cmd_pb2.SyncOptions()
        fw = vmi.spec.domain.firmware
        if fw.HasField("kernel_boot") and fw.kernel_boot.HasField("container"):
            image = fw.kernel_boot.container.image
            root = self.config.images.get(image)
            if root is None:
                raise errors.HandlerError(
                    f"Image {image!r} is not available on node {self.config.node}; known images: "
                    f"{', '.join(sorted(self.config.images)) or 'none'}")
            c = fw.kernel_boot.container
            options.kernel_boot.kernel = str(root / c.kernel_path.lstrip("/")) if c.kernel_path else ""
            options.kernel_boot.initrd = str(root / c.initrd_path.lstrip("/")) if c.initrd_path else ""
        for volume in vmi.spec.volumes:
            raise errors.HandlerError(f"Volume {volume.name!r} cannot be provided yet: this node "
                                      f"does not prepare volumes")
        for iface in vmi.spec.domain.devices.interfaces:
            raise errors.HandlerError(f"Interface {iface.name!r} cannot be provided yet: this node "
                                      f"does not plumb networks (set autoattachPodInterface: false)")
        return options

    def _start_launcher(self, vmi: dict, message) -> LauncherClient:
        uid, meta = vmi["metadata"]["uid"], vmi["metadata"]
        guest = quantity.to_bytes(message.spec.domain.memory.guest) \
            if message.spec.domain.memory.HasField("guest") \
            else quantity.to_bytes(message.spec.domain.resources.requests["memory"])
        sandbox = Sandbox(uid, self.sandbox_root)
        sandbox.create(Limits.for_guest(guest, OVERHEAD_BYTES))
        vm_dir = self.config.run_dir / uid[:8]  # libvirt's socket paths must stay under 108 bytes
        vm_dir.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(vm_dir.parent, 0o711)
        socket = vm_dir / "launcher.sock"
        log_file = open(sandbox.dir / "launcher.log", "ab")
        try:
            process = sandbox.run(
                [sys.executable, "-m", "launcher", "--vmi-uid", uid, "--namespace", meta["namespace"],
                 "--name", meta["name"], "--dir", str(vm_dir), "--socket", str(socket),
                 "--accelerator", self.config.accelerator, "--user", self.config.launcher_user,
                 "--caps-cache", str(self.config.state_dir / "qemu-caps")],
                env={**os.environ}, stdout=log_file, stderr=log_file)
        finally:
            log_file.close()
        record = LauncherRecord(uid, meta["namespace"], meta["name"], str(socket), str(vm_dir),
                                process.pid, time.time())
        self.registry.save(record)
        client = LauncherClient(socket, uid)
        client.handshake(wait=60)
        self._clients[uid] = client
        self._follow(uid, meta["namespace"], meta["name"], client)
        log.info("launcher for VMI %s/%s started (pid %d)", meta["namespace"], meta["name"], process.pid)
        return client

    def _follow(self, uid: str, namespace: str, name: str, client: LauncherClient) -> None:
        stop = threading.Event()
        self._followers[uid] = stop

        def on_event(event: notify_pb2.Event) -> None:
            vmi = self._vmis.get(uid)
            if vmi is None or event.type == notify_pb2.EVENT_TYPE_DELETED:
                return
            try:
                patched = self.client.patch_vmi_status(namespace, name,
                                                       {"status": status_patch(vmi, event.status)})
                self._vmis[uid] = patched
            except errors.HandlerError as e:
                log.info("status of VMI %s/%s not written: %s", namespace, name, e)

        def on_gone(reason: str) -> None:
            vmi = self._vmis.get(uid)
            if vmi is not None and not vmi["metadata"].get("deletionTimestamp") and \
                    (vmi.get("status") or {}).get("phase") not in FINAL:
                self._set_failed(vmi, f"LauncherExited: {reason}")

        watch_forever(client, on_event, stop, on_gone=on_gone)

    def _set_failed(self, vmi: dict, reason: str) -> None:
        try:
            self.client.patch_vmi_status(vmi["metadata"]["namespace"], vmi["metadata"]["name"],
                                         {"status": {"phase": "Failed", "reason": reason}})
        except errors.HandlerError as e:
            log.info("could not mark VMI %s failed: %s", vmi["metadata"]["name"], e)

    def _delete(self, vmi: dict) -> None:
        uid = vmi["metadata"]["uid"]
        self._terminate(uid, vmi)
        self._vmis.pop(uid, None)

    def _terminate(self, uid: str, vmi: dict) -> None:
        client = self._clients.pop(uid, None)
        grace = (vmi.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        if client is not None:
            try:
                client.terminate(grace)
            except errors.HandlerError as e:
                log.info("terminate of VMI %s: %s", uid, e)
            client.close()
        follower = self._followers.pop(uid, None)
        if follower is not None:
            follower.set()
        self._clean(uid, self.registry.get(uid))

    def _clean(self, uid: str, record: LauncherRecord | None) -> None:
        """Leaves nothing of the VMI: processes, sandbox, launcher directory, record."""
        if record is not None:
            clean_up(record.directory, timeout=20)
        Sandbox(uid, self.sandbox_root).destroy()
        if record is not None:
            import shutil

            shutil.rmtree(record.directory, ignore_errors=True)
        self.registry.remove(uid)


def stop_all(state_dir: Path, grace: int = 30) -> list[str]:
    """Stops every guest this node's handler started (a node going down): Terminate each
    launcher within `grace`, then remove its processes, sandbox, directory and record.
    Returns the VMI uids it stopped."""
    import shutil

    registry = LauncherRegistry(state_dir)
    stopped = []
    for record in registry.records():
        client = LauncherClient(record.socket, record.vmi_uid)
        try:
            client.terminate(grace)
        except errors.HandlerError as e:
            log.info("terminate of VMI %s: %s", record.vmi_uid, e)
        finally:
            client.close()
        clean_up(record.directory, timeout=20)
        Sandbox(record.vmi_uid, Path(state_dir) / "sandboxes").destroy()
        shutil.rmtree(record.directory, ignore_errors=True)
        registry.remove(record.vmi_uid)
        stopped.append(record.vmi_uid)
    return stopped
