"""The handler's VMI loop: every VMI assigned to this node becomes a launcher and a guest.

Owns turning the VMIs labelled `kubevirt.io/nodeName=<this node>` into running
guests, in ordered, idempotent steps — sandbox → network → volumes → launcher →
Sync → status — and undoing them when a VMI is deleted or finishes. Work is
keyed by VMI uid in a deduplicating queue served by a few workers: one VMI is
never handled by two workers at once, and a step that failed for a passing
reason (the API is down, a launcher is busy) is retried with backoff, so the
VMI's status catches up once the API returns.

Launchers are followed through their event stream; their DomainStatus becomes
the VMI's phase and conditions (KubeVirt's mapping: running → Running, a guest
that powered itself off → Succeeded, destroyed or crashed → Failed). A health
check pings every launcher: one whose process is gone makes its VMI Failed
(`LauncherExited`) at once; one that lives but does not answer makes it
`Unknown` after `unreachable_after` seconds and Failed (`LauncherUnresponsive`,
its processes killed) only after `unreachable_grace` — a handler that cannot
reach a launcher for a moment never fails a running guest. Records on disk
(handler/launchers.py) let a restarted handler adopt running launchers instead
of starting new ones. Events carry KubeVirt's reasons (handler/events.py).
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psutil

from controller.workqueue import ShutDown, WorkQueue
from handler import errors
from handler import events as ev
from handler.client import Client
from handler.events import EventRecorder
from handler.launchers import (
    EventHub,
    Following,
    LauncherClient,
    LauncherRecord,
    LauncherRefusedError,
    LauncherRegistry,
    LauncherUnavailableError,
    launcher_alive,
)
from handler.metrics import VMISample
from handler.net import PodNetwork
from handler.net import choose as choose_pod_network
from handler.sandbox import Sandbox, netns_name
from handler.sandbox.cgroups import Limits
from handler.sandbox.devices import grant_devices
from handler.storage import ImageStore, kernel_boot_files, prepare_volumes
from launcher.cleanup import clean_up
from protos import codec, quantity
from protos.errors import APIObjectError
from protos.launcher.v1 import cmd_pb2, domain_pb2, notify_pb2

log = logging.getLogger(__name__)

NODE_LABEL = "kubevirt.io/nodeName"
FINAL = ("Succeeded", "Failed")
PAUSE_ANNOTATION = "virtnode.io/pause-requested"   # set by the pause/unpause subresources
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
    workers: int = 16
    ping_period: float = 2.0          # how often every launcher is pinged
    unreachable_after: float = 10.0   # a live launcher silent this long: VMI Unknown
    unreachable_grace: float = 300.0  # ... and this long: VMI Failed, its processes killed
    pod_bridge: str = "auto"          # the node's pod network bridge (auto: chosen once, kept)
    pod_cidr: str = "auto"            # its IPv4 subnet (auto: a free 10.244.N.0/24)
    egress: bool = False              # NAT the pod network out of the host
    socket_dir: Path | None = None    # Kubernetes mode: launchers kubelet started serve <uid>.sock here


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
        self.events = EventRecorder(client, config.node)
        self.images = ImageStore(config.images)
        bridge, cidr = choose_pod_network(config.state_dir, config.pod_bridge, config.pod_cidr)
        self.network = PodNetwork(config.state_dir, bridge=bridge, cidr=cidr, egress=config.egress)
        self._interfaces: dict[str, list[dict]] = {}     # uid -> status.interfaces from the network
        self._prepared: dict[str, list] = {}              # uid -> the PreparedInterfaces for Sync
        self.queue = WorkQueue()
        self._stop = threading.Event()
        self._latest: dict[str, tuple[str, dict]] = {}   # uid -> (action, VMI) the next work on it uses
        self._vmis: dict[str, dict] = {}                  # uid -> the VMI as last read or written
        self._clients: dict[str, LauncherClient] = {}
        self.hub = EventHub()
        self._followers: dict[str, Following] = {}
        self._unreachable: dict[str, float] = {}          # uid -> monotonic time it stopped answering
        self._unknown: set[str] = set()                   # uids whose VMI this handler made Unknown
        self._health_lock = threading.Lock()
        # One status writer per VMI at a time (worker, event dispatcher, health check): each
        # computes its patch and its transition Events from the copy the previous one wrote.
        self._status_locks = [threading.Lock() for _ in range(16)]
        self._threads: list[threading.Thread] = []

    @property
    def clients(self) -> dict[str, LauncherClient]:
        """The launchers this handler follows, by VMI uid."""
        return dict(self._clients)

    def vmi(self, uid: str) -> dict | None:
        return self._vmis.get(uid)

    def samples(self) -> list[VMISample]:
        """What a metrics scrape reports: each followed VMI with its launcher's stats now."""
        out = []
        for uid, launcher in list(self._clients.items()):
            vmi = self._vmis.get(uid) or {}
            meta = vmi.get("metadata") or {}
            annotations, labels = meta.get("annotations") or {}, meta.get("labels") or {}
            try:
                stats = launcher.stats() if uid not in self._unreachable else None
            except errors.HandlerError:
                stats = None
            out.append(VMISample(
                namespace=meta.get("namespace", ""), name=meta.get("name", ""), node=self.config.node,
                phase=(vmi.get("status") or {}).get("phase", ""), stats=stats,
                os=annotations.get("vm.kubevirt.io/os", ""),
                workload=annotations.get("vm.kubevirt.io/workload", ""),
                flavor=annotations.get("vm.kubevirt.io/flavor", ""),
                instance_type=labels.get("kubevirt.io/instancetype-name", ""),
                preference=labels.get("kubevirt.io/preference-name", ""),
                machine_type=((vmi.get("status") or {}).get("machine") or {}).get("type", "")))
        return out

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        # QEMU's user reaches its files (volumes, sockets) through the launcher directories.
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.config.run_dir, 0o711)
        try:
            grant_devices(self._owner().pw_uid)   # QEMU (as the launcher user) opens its tap
        except (KeyError, errors.HandlerError, OSError) as e:
            log.warning("launcher user %r cannot be granted /dev/net/tun and /dev/kvm: %s",
                        self.config.launcher_user, e)
        self.network.ensure_node()
        self.adopt()
        loops = [(self._watch_loop, "vmi-watch"), (self._health_loop, "launcher-health")]
        loops += [(self._work_loop, f"vmi-worker-{i}") for i in range(self.config.workers)]
        for target, name in loops:
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        """Stops following; launchers and guests keep running (a handler restart adopts them)."""
        self._stop.set()
        self.queue.shut_down()
        self.hub.close()
        for t in self._threads:
            t.join(10)
        for c in self._clients.values():
            c.close()

    def adopt(self) -> None:
        """Takes over the launchers of a previous handler from their records."""
        for record in self.registry.records():
            client = LauncherClient(record.socket, record.vmi_uid)
            try:
                if not launcher_alive(record):
                    raise LauncherUnavailableError(f"its process {record.pid} is gone")
                client.handshake(wait=2)
            except errors.HandlerError as e:
                log.warning("launcher of VMI %s is gone (%s); cleaning up", record.vmi_uid, e)
                client.close()
                self._clean(record.vmi_uid, record)
                continue
            log.info("adopted the launcher of VMI %s (pid %d)", record.vmi_uid, record.pid)
            self._clients[record.vmi_uid] = client
            self._follow(record.vmi_uid, record.namespace, record.name, client)

    def _enqueue(self, action: str, vmi: dict) -> None:
        uid = vmi["metadata"]["uid"]
        if action == "sync" and self._latest.get(uid, ("",))[0] == "delete":
            return  # a delete already waits: nothing older than it matters
        self._latest[uid] = (action, vmi)
        self.queue.add(uid)

    def _watch_loop(self) -> None:
        selector = f"{NODE_LABEL}={self.config.node}"
        rv = ""
        while not self._stop.is_set():
            try:
                if not rv:
                    items, rv = self.client.list_vmis(selector)
                    for vmi in items:
                        self._enqueue("sync", vmi)
                    # A launcher whose VMI is gone (deleted while no handler watched): stop it.
                    listed = {vmi["metadata"]["uid"] for vmi in items}
                    for record in self.registry.records():
                        if record.vmi_uid not in listed:
                            log.info("VMI %s/%s is gone; stopping its launcher", record.namespace, record.name)
                            self._enqueue("delete", {"metadata": {
                                "uid": record.vmi_uid, "namespace": record.namespace, "name": record.name},
                                "spec": {}})
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
                    if kind == "MODIFIED" and self._own_echo(vmi):
                        continue
                    self._enqueue("delete" if kind == "DELETED" else "sync", vmi)
            except errors.HandlerError as e:
                log.warning("watching VMIs failed (%s); listing again", e)
                rv = ""
                self._stop.wait(1)

    def _own_echo(self, vmi: dict) -> bool:
        """Is this event the handler's own status write coming back, with nothing else new?
        Then a sync would only redo what was just done; the newest copy is kept for the next one.
        A final phase still goes through: the worker cleans up after it."""
        uid = vmi["metadata"]["uid"]
        known = self._vmis.get(uid)
        if known is None or known["metadata"].get("resourceVersion") != vmi["metadata"]["resourceVersion"]:
            return False
        if (vmi.get("status") or {}).get("phase") in FINAL:
            return False
        if self._latest.get(uid, ("",))[0] == "sync":
            self._latest[uid] = ("sync", vmi)
        return True

    def _work_loop(self) -> None:
        while True:
            try:
                uid = self.queue.get()
            except ShutDown:
                return
            if uid is None:
                continue
            item = self._latest.get(uid)
            try:
                if item is not None:
                    self._process(uid, *item)
                    if self._latest.get(uid) is item and item[0] == "delete":
                        del self._latest[uid]
                self.queue.forget(uid)
            except Exception:
                log.exception("reconciling VMI %s failed", uid)
                self.queue.add_rate_limited(uid)
            finally:
                self.queue.done(uid)

    def _process(self, uid: str, action: str, vmi: dict) -> None:
        meta = vmi["metadata"]
        try:
            if action == "delete" or meta.get("deletionTimestamp"):
                self._delete(vmi)
            else:
                self._sync(vmi)
        except (errors.HandlerError, APIObjectError, OSError) as e:
            if isinstance(e, LauncherUnavailableError) or getattr(e, "transient", False):
                # Passing: the API is down or busy, a launcher is starting or unreachable, a
                # Secret is not there yet. Retry with backoff; the health check, not this
                # loop, decides that a launcher is lost.
                log.info("VMI %s/%s: %s; retrying", meta.get("namespace"), meta["name"], e)
                if isinstance(e, errors.VolumeError):
                    self.events.record(vmi, ev.WARNING, ev.SYNC_FAILED, str(e))
                self.queue.add_rate_limited(uid)
                return
            if isinstance(e, errors.APIRequestError):
                raise   # the API refused us (403, 404...): logged and retried, not the VMI's fault
            log.warning("VMI %s/%s cannot run on this node: %s", meta.get("namespace"), meta["name"], e)
            self.events.record(vmi, ev.WARNING, ev.SYNC_FAILED, str(e))
            self._set_failed(vmi, "SyncFailed", str(e))

    # -- the steps -----------------------------------------------------------------------------

    def _sync(self, vmi: dict) -> None:
        uid = vmi["metadata"]["uid"]
        self._vmis[uid] = vmi
        phase = (vmi.get("status") or {}).get("phase", "")
        if phase in FINAL:
            if self._owns(uid):
                self._terminate(uid, vmi, graceful=uid in self._clients and uid not in self._unreachable)
            return
        if uid in self._unreachable:
            return  # the health check owns it until the launcher answers again
        message = codec.decode(vmi)
        client = self._clients.get(uid) or self._adopt_socket(vmi)
        record = self.registry.get(uid)
        sandbox = None
        if record is None or record.directory:   # ours to plumb (not a launcher kubelet started)
            sandbox = self._sandbox(uid, message)
            attachment = self.network.setup(uid, netns_name(uid), message, self._owner().pw_uid)
            self._interfaces[uid] = attachment.status
            self._prepared[uid] = attachment.interfaces
        options = self._options(message, uid)
        options.interfaces.extend(self._prepared.get(uid, ()))
        if client is not None:
            try:
                current = client.domain().status
            except LauncherRefusedError as e:
                if e.code != "NOT_FOUND":
                    raise
            else:
                if phase_of(current)[0] in FINAL:  # the guest ended: report it, never boot it again
                    self._write_status(uid, current)
                    return
        else:
            client = self._start_launcher(vmi, message, sandbox)
        reply = client.sync(message, options)
        if reply.defined:
            self.events.record(vmi, ev.NORMAL, ev.CREATED, "VirtualMachineInstance defined.")
        if reply.started:
            self.events.record(vmi, ev.NORMAL, ev.STARTED, "VirtualMachineInstance started.")
        self._write_status(uid, self._pause_as_asked(vmi, client, reply.status))

    def _pause_as_asked(self, vmi: dict, client: LauncherClient,
                        status: domain_pb2.DomainStatus) -> domain_pb2.DomainStatus:
        """`virtctl pause/unpause` leave their wish in an annotation; the domain follows it."""
        wish = ((vmi["metadata"].get("annotations") or {}).get(PAUSE_ANNOTATION) or "").lower()
        if wish == "true" and status.state == domain_pb2.DOMAIN_STATE_RUNNING:
            return client.pause().status
        if wish == "false" and status.state == domain_pb2.DOMAIN_STATE_PAUSED and status.paused_by_user:
            return client.unpause().status
        return status

    def _sandbox(self, uid: str, message) -> Sandbox:
        """The VMI's netns, cgroup (guest memory + overhead) and directory; idempotent."""
        guest = quantity.to_bytes(message.spec.domain.memory.guest) \
            if message.spec.domain.memory.HasField("guest") \
            else quantity.to_bytes(message.spec.domain.resources.requests["memory"])
        sandbox = Sandbox(uid, self.sandbox_root)
        sandbox.create(Limits.for_guest(guest, OVERHEAD_BYTES))
        return sandbox

    def _owner(self) -> pwd.struct_passwd:
        return pwd.getpwnam(self.config.launcher_user)

    def _options(self, vmi, uid: str) -> cmd_pb2.SyncOptions:
        """What the node resolves for the launcher: kernel files and volumes."""
        options = cmd_pb2.SyncOptions()
        files = kernel_boot_files(vmi, self.images)
        if files is not None:
            options.kernel_boot.CopyFrom(files)
        owner = self._owner()
        vm_dir = self._vm_dir(uid)
        vm_dir.mkdir(mode=0o711, exist_ok=True)
        os.chmod(vm_dir, 0o711)   # QEMU's user passes through to its volumes, whatever the umask
        for name, source in prepare_volumes(vmi, self._vm_dir(uid) / "volumes", self.images, owner.pw_uid,
                                            owner.pw_gid, secrets=self._secret).items():
            options.disks[name].CopyFrom(source)
        return options

    def _secret(self, namespace: str, name: str) -> dict:
        return self.client.get_secret(namespace, name)

    def _vm_dir(self, uid: str) -> Path:
        return self.config.run_dir / uid[:8]  # libvirt's socket paths must stay under 108 bytes

    def _adopt_socket(self, vmi: dict) -> LauncherClient | None:
        """Kubernetes mode: a launcher that kubelet started (in the VMI's launcher pod) serves
        `<socket_dir>/<vmi uid>.sock`; adopt it instead of starting one. Its pod is its sandbox:
        the handler records it without a directory and never removes its processes."""
        if self.config.socket_dir is None:
            return None
        uid, meta = vmi["metadata"]["uid"], vmi["metadata"]
        socket = self.config.socket_dir / f"{uid}.sock"
        if not socket.exists():
            return None
        client = LauncherClient(socket, uid)
        try:
            hello = client.handshake(wait=5)
        except errors.HandlerError as e:
            client.close()
            raise LauncherUnavailableError(f"The launcher at {socket} did not answer: {e}") from None
        try:
            started = psutil.Process(hello.pid).create_time()
        except psutil.Error:
            started = 0.0
        self.registry.save(LauncherRecord(uid, meta["namespace"], meta["name"], str(socket), "",
                                          hello.pid, time.time(), started))
        self._clients[uid] = client
        self._follow(uid, meta["namespace"], meta["name"], client)
        log.info("adopted the launcher of VMI %s/%s at %s (pid %d)", meta["namespace"], meta["name"],
                 socket, hello.pid)
        return client

    def _start_launcher(self, vmi: dict, message, sandbox: Sandbox | None) -> LauncherClient:
        uid, meta = vmi["metadata"]["uid"], vmi["metadata"]
        sandbox = sandbox or self._sandbox(uid, message)
        vm_dir = self._vm_dir(uid)
        socket = vm_dir / "launcher.sock"
        log_file = open(sandbox.dir / "launcher.log", "ab")
        try:
            process = sandbox.run(
                [sys.executable, "-m", "launcher", "--vmi-uid", uid, "--namespace", meta["namespace"],
                 "--name", meta["name"], "--dir", str(vm_dir), "--socket", str(socket),
                 "--accelerator", self.config.accelerator, "--user", self.config.launcher_user,
                 "--caps-cache", str(self.config.state_dir / "qemu-caps")],
                # a private tmpfs as the launcher's (and its libvirtd's and QEMU's) TMPDIR
                env={**os.environ, "TMPDIR": str(sandbox.dir / "tmp")},
                runtime_dir=sandbox.dir / "tmp", runtime_mode=0o1777,
                stdout=log_file, stderr=log_file)
        finally:
            log_file.close()
        try:
            started = psutil.Process(process.pid).create_time()
        except psutil.Error:
            started = 0.0
        record = LauncherRecord(uid, meta["namespace"], meta["name"], str(socket), str(vm_dir),
                                process.pid, time.time(), started)
        self.registry.save(record)
        client = LauncherClient(socket, uid)
        try:
            client.handshake(wait=60)
        except LauncherUnavailableError as e:
            client.close()
            raise errors.HandlerError(f"The launcher did not come up: {e}; its log is "
                                      f"{sandbox.dir / 'launcher.log'}") from None
        self._clients[uid] = client
        self._follow(uid, meta["namespace"], meta["name"], client)
        log.info("launcher for VMI %s/%s started (pid %d)", meta["namespace"], meta["name"], process.pid)
        return client

    def _follow(self, uid: str, namespace: str, name: str, client: LauncherClient) -> None:
        def on_event(event: notify_pb2.Event) -> None:
            if event.type != notify_pb2.EVENT_TYPE_DELETED:
                self._write_status(uid, event.status)

        def on_gone(reason: str) -> None:
            self._launcher_lost(uid, "LauncherExited", f"The launcher exited: {reason}")

        previous = self._followers.pop(uid, None)
        if previous is not None:
            previous.stop()
        self._followers[uid] = self.hub.follow(client, on_event, on_gone=on_gone,
                                               on_break=lambda: self._check(uid))

    # -- status --------------------------------------------------------------------------------

    def _patch_status(self, vmi: dict, fields: dict) -> dict:
        """Writes `fields` into the status of this very VMI (by uid: never a successor of the
        same name); NotFoundError when it is gone."""
        meta = vmi["metadata"]
        return self.client.patch_vmi_status(meta["namespace"], meta["name"], meta["uid"], fields,
                                            has_status=isinstance(vmi.get("status"), dict))

    def _status_lock(self, uid: str) -> threading.Lock:
        return self._status_locks[hash(uid) % len(self._status_locks)]

    def _write_status(self, uid: str, status: domain_pb2.DomainStatus) -> None:
        """The VMI's status from its domain's; events for what changed. A write the API
        refuses for a passing reason is retried by the work queue (which re-reads the domain)."""
        with self._status_lock(uid):
            vmi = self._vmis.get(uid)
            if vmi is None:
                return
            meta = vmi["metadata"]
            if meta.get("deletionTimestamp"):
                return
            before = vmi.get("status") or {}
            patch = status_patch(vmi, status)
            if self._interfaces.get(uid):
                patch["interfaces"] = self._interfaces[uid]
            try:
                patched = self._patch_status(vmi, patch)
            except errors.NotFoundError:
                return
            except errors.HandlerError as e:
                log.info("status of VMI %s/%s not written (%s); retrying", meta["namespace"], meta["name"], e)
                self.queue.add_rate_limited(uid)
                return
            self._vmis[uid] = patched
            self._unknown.discard(uid)
            self._transition_events(patched, before, patched.get("status") or {})

    def _transition_events(self, vmi: dict, before: dict, after: dict) -> None:
        old, new = before.get("phase"), after.get("phase")
        if new != old and new == "Succeeded":
            self.events.record(vmi, ev.NORMAL, ev.STOPPED, "The VirtualMachineInstance was shut down.")
        elif new != old and new == "Failed":
            self.events.record(vmi, ev.WARNING, ev.STOPPED,
                               f"The VirtualMachineInstance crashed: {after.get('reason', 'unknown reason')}.")

        def paused(status: dict) -> bool:
            return any(c.get("type") == "Paused" and c.get("status") == "True"
                       for c in status.get("conditions") or [])

        if paused(after) and not paused(before):
            self.events.record(vmi, ev.NORMAL, ev.PAUSED, "The VirtualMachineInstance was paused.")
        elif paused(before) and not paused(after) and new == "Running":
            self.events.record(vmi, ev.NORMAL, ev.RESUMED, "The VirtualMachineInstance was resumed.")

    def _set_failed(self, vmi: dict, reason: str, message: str) -> None:
        uid = vmi["metadata"]["uid"]
        with self._status_lock(uid):
            vmi = self._vmis.get(uid) or vmi
            patched = self._write_verdict(vmi, "Failed", reason, message, reason=reason)
            if patched is not None:
                self._transition_events(patched, vmi.get("status") or {}, patched.get("status") or {})

    def _write_verdict(self, vmi: dict, phase: str, why: str, message: str, **fields) -> dict | None:
        """The handler's own verdict on the VMI (not its domain's): `phase`, with Ready False
        saying why. The written VMI, or None when the API refused it (logged). Callers hold
        the VMI's status lock."""
        meta = vmi["metadata"]
        transitions = list((vmi.get("status") or {}).get("phaseTransitionTimestamps") or [])
        transitions.append({"phase": phase, "phaseTransitionTimestamp": _now()})
        try:
            patched = self._patch_status(vmi, {
                "phase": phase, **fields, "phaseTransitionTimestamps": transitions,
                "conditions": [{"type": "Ready", "status": "False", "reason": why, "message": message,
                                "lastProbeTime": None, "lastTransitionTime": _now()}]})
        except errors.HandlerError as e:
            log.info("could not mark VMI %s/%s %s: %s", meta["namespace"], meta["name"], phase, e)
            return None
        self._vmis[meta["uid"]] = patched
        return patched

    # -- launcher health -----------------------------------------------------------------------

    def _health_loop(self) -> None:
        while not self._stop.wait(self.config.ping_period):
            for uid in list(self._clients):
                try:
                    self._check(uid)
                except Exception:
                    log.exception("health check of the launcher of VMI %s failed", uid)

    def _check(self, uid: str) -> None:
        """Is the VMI's launcher alive and answering? Dead: Failed now. Silent: Unknown, then Failed."""
        with self._health_lock:
            client = self._clients.get(uid)
            record = self.registry.get(uid)
            if client is None or record is None or self._stop.is_set():
                return
            lost = None
            if not launcher_alive(record):
                lost = ("LauncherExited", f"The launcher process (pid {record.pid}) exited unexpectedly.")
            else:
                try:
                    client.ping(timeout=min(2.0, self.config.ping_period))
                except LauncherUnavailableError:
                    lost = self._silent(uid)
                    if lost is None:
                        return
                except LauncherRefusedError:
                    pass  # an error is an answer
                if lost is None:
                    self._answered(uid, client)
                    return
        self._launcher_lost(uid, *lost)

    def _silent(self, uid: str) -> tuple[str, str] | None:
        now = time.monotonic()
        since = self._unreachable.setdefault(uid, now)
        silent = now - since
        if silent >= self.config.unreachable_grace:
            return ("LauncherUnresponsive", f"The launcher did not answer for {silent:.0f} s "
                                            f"(grace period {self.config.unreachable_grace:.0f} s).")
        if silent >= self.config.unreachable_after and uid not in self._unknown:
            self._mark_unknown(uid, silent)
        return None

    def _answered(self, uid: str, client: LauncherClient) -> None:
        if self._unreachable.pop(uid, None) is None:
            return
        vmi = self._vmis.get(uid)
        if uid in self._unknown and vmi is not None:
            log.info("the launcher of VMI %s/%s answers again", vmi["metadata"]["namespace"],
                     vmi["metadata"]["name"])
            self.events.record(vmi, ev.NORMAL, ev.LAUNCHER_REACHABLE, "The launcher answers again.")
        try:
            self._write_status(uid, client.domain().status)
        except errors.HandlerError as e:
            log.info("status of VMI %s not refreshed: %s", uid, e)

    def _mark_unknown(self, uid: str, silent: float) -> None:
        with self._status_lock(uid):
            vmi = self._vmis.get(uid)
            if vmi is None:
                return
            meta = vmi["metadata"]
            message = (f"The launcher has not answered for {silent:.0f} s; the guest is left alone until "
                       f"{self.config.unreachable_grace:.0f} s have passed.")
            if self._write_verdict(vmi, "Unknown", "LauncherUnreachable", message) is None:
                return
            self._unknown.add(uid)
            log.warning("VMI %s/%s: %s", meta["namespace"], meta["name"], message)
            self.events.record(vmi, ev.WARNING, ev.LAUNCHER_UNREACHABLE, message)

    def _launcher_lost(self, uid: str, reason: str, message: str) -> None:
        """The launcher is dead or silent past the grace period: the VMI is Failed, its remains go."""
        vmi = self._vmis.get(uid)
        if vmi is None or vmi["metadata"].get("deletionTimestamp"):
            return
        self._unreachable[uid] = self._unreachable.get(uid, time.monotonic())  # no graceful calls now
        if (vmi.get("status") or {}).get("phase") not in FINAL:
            log.warning("VMI %s/%s: %s", vmi["metadata"]["namespace"], vmi["metadata"]["name"], message)
            self._set_failed(vmi, reason, message)
        self._enqueue("sync", self._vmis.get(uid, vmi))   # a Failed VMI: the worker cleans up

    # -- stopping ------------------------------------------------------------------------------

    def _owns(self, uid: str) -> bool:
        return (uid in self._clients or self.registry.get(uid) is not None
                or (self.sandbox_root / uid).exists() or self._vm_dir(uid).exists())

    def _delete(self, vmi: dict) -> None:
        uid = vmi["metadata"]["uid"]
        if self._owns(uid):
            self._terminate(uid, vmi, graceful=uid not in self._unreachable)
        self._vmis.pop(uid, None)

    def _terminate(self, uid: str, vmi: dict, graceful: bool = True) -> None:
        client = self._clients.pop(uid, None)
        follower = self._followers.pop(uid, None)
        if follower is not None:
            follower.stop()
        grace = (vmi.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        record = self.registry.get(uid)
        if client is not None:
            if graceful:
                self.events.record(vmi, ev.NORMAL, ev.SHUTTING_DOWN, "Signaled Graceful Shutdown")
                try:
                    client.terminate(grace)
                except errors.HandlerError as e:
                    log.info("terminate of VMI %s: %s", uid, e)
                else:
                    self._let_exit(record)
            client.close()
        self._clean(uid, record)
        self._unreachable.pop(uid, None)
        self._unknown.discard(uid)

    @staticmethod
    def _let_exit(record: LauncherRecord | None, timeout: float = 10.0) -> None:
        """A launcher that answered Terminate exits on its own (its libvirt daemon first):
        give it that moment before cleaning up kills whatever is left."""
        deadline = time.monotonic() + timeout
        while record is not None and launcher_alive(record) and time.monotonic() < deadline:
            time.sleep(0.05)

    def _clean(self, uid: str, record: LauncherRecord | None) -> None:
        """Leaves nothing of the VMI: processes, sandbox, launcher directory, record."""
        if record is None or record.directory:   # a launcher kubelet started is its pod's to clean
            directory = record.directory if record is not None else str(self._vm_dir(uid))
            clean_up(directory, timeout=20)
            shutil.rmtree(directory, ignore_errors=True)
        self.network.teardown(uid, netns_name(uid))   # before the netns goes: its links go at once
        Sandbox(uid, self.sandbox_root).destroy()
        shutil.rmtree(self._vm_dir(uid), ignore_errors=True)   # volumes exist even if no launcher ran
        self.registry.remove(uid)
        self._interfaces.pop(uid, None)
        self._prepared.pop(uid, None)


def stop_all(state_dir: Path, grace: int = 30, network: PodNetwork | None = None) -> list[str]:
    """Stops every guest this node's handler started (a node going down): Terminate each
    launcher within `grace`, then remove its processes, pod network links, sandbox, directory
    and record. Returns the VMI uids it stopped."""
    if network is None:
        bridge, cidr = choose_pod_network(state_dir)
        network = PodNetwork(state_dir, bridge=bridge, cidr=cidr)
    registry = LauncherRegistry(state_dir)
    stopped = []
    for record in registry.records():
        client = LauncherClient(record.socket, record.vmi_uid)
        try:
            if launcher_alive(record):
                client.terminate(grace)
        except errors.HandlerError as e:
            log.info("terminate of VMI %s: %s", record.vmi_uid, e)
        finally:
            client.close()
        if record.directory:   # empty: a launcher kubelet started, its pod's to clean
            clean_up(record.directory, timeout=20)
            shutil.rmtree(record.directory, ignore_errors=True)
        network.teardown(record.vmi_uid, netns_name(record.vmi_uid))
        Sandbox(record.vmi_uid, Path(state_dir) / "sandboxes").destroy()
        registry.remove(record.vmi_uid)
        stopped.append(record.vmi_uid)
    return stopped
