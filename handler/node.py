"""This node's Node object: registration, capacity, labels, heartbeat, cordon.

Owns what the handler says about its node (KubeVirt's virt-handler heartbeat
and node labeller, reference §3.6-3.7, plus the registration kubelet would do
in embedded mode). `NodeAgent.register()` creates or updates the Node with
capacity/allocatable, nodeInfo, addresses, conditions and labels;
`heartbeat()` refreshes the `kubevirt.io/heartbeat` annotation, the Ready
condition's lastHeartbeatTime and the `kubevirt.io/schedulable` label (false
while the Node is cordoned: `spec.unschedulable`); `run(stop)` beats every
interval with KubeVirt's jitter and sets schedulable=false when it stops.
The pure builders (`capacity`, `labels`, `node_info`, ...) take HostInfo and
return dicts. Never deletes the Node, never touches labels it does not own,
never crashes the loop on an API failure (logged, retried next beat).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timezone

from handler import errors, hostinfo
from handler.client import Client
from handler.hostinfo import HostInfo

log = logging.getLogger(__name__)

SCHEDULABLE_LABEL = "kubevirt.io/schedulable"
HEARTBEAT_ANNOTATION = "kubevirt.io/heartbeat"
# KubeVirt has no emulation label (its labeller only varies --virttype); ours lives under our prefix.
EMULATION_LABEL = "virtnode.io/emulation"
CPU_MODEL_PREFIX = "cpu-model.node.kubevirt.io/"
CPU_VENDOR_PREFIX = "cpu-vendor.node.kubevirt.io/"
CPU_FEATURE_PREFIX = "cpu-feature.node.kubevirt.io/"
OWNED_PREFIXES = (CPU_MODEL_PREFIX, CPU_VENDOR_PREFIX, CPU_FEATURE_PREFIX)

KVM_RESOURCE = "devices.kubevirt.io/kvm"
TUN_RESOURCE = "devices.kubevirt.io/tun"
VHOST_NET_RESOURCE = "devices.kubevirt.io/vhost-net"
DEVICE_MAX = "1k"  # KubeVirt's permanent device plugins advertise 1000 fake IDs
MAX_PODS = "110"   # kubelet's default --max-pods
KUBELET_VERSION = "v1.29.0-virtnode"
JITTER = 1.2       # KubeVirt: wait.JitterUntil(beat, interval, 1.2, sliding)


def now_rfc3339(now: datetime | None = None) -> str:
    """UTC, whole seconds, `Z` suffix: what KubeVirt's heartbeat annotation holds."""
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- pure builders ------------------------------------------------------------------------------

def capacity(host: HostInfo, emulation: bool) -> dict[str, str]:
    """The Node's capacity (and allocatable): cores, memory in Ki, pods and KubeVirt's devices."""
    out = {"cpu": str(host.cpus), "memory": f"{host.memory_bytes // 1024}Ki", "pods": MAX_PODS,
           KVM_RESOURCE: DEVICE_MAX if (host.kvm or emulation) else "0",
           TUN_RESOURCE: DEVICE_MAX}
    if host.has_vhost_net:
        out[VHOST_NET_RESOURCE] = DEVICE_MAX
    return out


def labels(host: HostInfo, name: str, emulation: bool, schedulable: bool) -> dict[str, str]:
    """Every label the handler owns on its Node, with its value."""
    out = {
        SCHEDULABLE_LABEL: str(schedulable).lower(),
        EMULATION_LABEL: str(emulation).lower(),
        "kubernetes.io/hostname": hostinfo.label_safe(name),
        "kubernetes.io/arch": host.architecture,
        "kubernetes.io/os": "linux",
    }
    if host.cpu.model:
        out[CPU_MODEL_PREFIX + host.cpu.model] = "true"
    if host.cpu.vendor:
        out[CPU_VENDOR_PREFIX + host.cpu.vendor] = "true"
    for feature in sorted(host.cpu.features):
        out[CPU_FEATURE_PREFIX + feature] = "true"
    return out


def label_patch(current: dict[str, str], wanted: dict[str, str]) -> dict[str, str | None]:
    """The merge patch of labels: `wanted`, plus None for owned CPU labels the host no longer has."""
    patch: dict[str, str | None] = {k: None for k in current
                                    if k.startswith(OWNED_PREFIXES) and k not in wanted}
    patch.update(wanted)
    return patch


def node_info(host: HostInfo) -> dict[str, str]:
    return {"architecture": host.architecture, "operatingSystem": "linux", "kernelVersion": host.kernel,
            "osImage": host.os_image, "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": "",
            "containerRuntimeVersion": "virtnode://embedded", "machineID": host.machine_id,
            "systemUUID": host.machine_id, "bootID": host.boot_id}


def addresses(name: str) -> list[dict[str, str]]:
    return [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": name}]


_PRESSURES = (("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
              ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
              ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))


def conditions(previous: list[dict], stamp: str) -> list[dict]:
    """kubelet's node conditions, beating now; lastTransitionTime kept while the status holds."""
    before = {c.get("type"): c for c in previous or []}
    wanted = [(kind, "False", reason, message) for kind, reason, message in _PRESSURES]
    wanted.append(("Ready", "True", "KubeletReady", "virtnode handler is posting ready status"))
    out = []
    for kind, status, reason, message in wanted:
        old = before.get(kind) or {}
        since = old.get("lastTransitionTime") if old.get("status") == status else None
        out.append({"type": kind, "status": status, "reason": reason, "message": message,
                    "lastHeartbeatTime": stamp, "lastTransitionTime": since or stamp})
    return out


def cordoned(node: dict) -> bool:
    return bool((node.get("spec") or {}).get("unschedulable"))


# -- the agent ----------------------------------------------------------------------------------

class NodeAgent:
    """The handler's view of its own Node; one per handler process."""

    def __init__(self, client: Client, name: str | None = None, *, emulation: bool,
                 heartbeat_interval: float = 60.0, labels: dict[str, str] | None = None,
                 host: Callable[[], HostInfo] = hostinfo.probe) -> None:
        self.client = client
        self._probe = host
        self.host = host()
        self.name = name or self.host.hostname
        self.emulation = emulation
        self.heartbeat_interval = heartbeat_interval
        self.extra_labels = dict(labels or {})
        self._cordoned = False

    def schedulable(self) -> bool:
        """Whether this node takes new VMIs: not cordoned and able to run a guest (KVM or emulation)."""
        return not self._cordoned and (self.host.kvm or self.emulation)

    def _labels(self) -> dict[str, str]:
        return {**self.extra_labels, **labels(self.host, self.name, self.emulation, self.schedulable())}

    def _status(self, previous: dict, stamp: str) -> dict:
        resources = capacity(self.host, self.emulation)
        return {"capacity": resources, "allocatable": dict(resources), "nodeInfo": node_info(self.host),
                "addresses": addresses(self.name),
                "conditions": conditions(previous.get("conditions") or [], stamp)}

    def register(self) -> dict:
        """Create the Node, or bring an existing one up to date (status through /status)."""
        self.host = self._probe()
        stamp = now_rfc3339()
        try:
            node = self.client.get_node(self.name)
        except errors.NotFoundError:
            body = {"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": self.name, "labels": self._labels(),
                                 "annotations": {HEARTBEAT_ANNOTATION: stamp}},
                    "spec": {}, "status": self._status({}, stamp)}
            try:
                node = self.client.create_node(body)
                log.info("Registered node %s (%s CPUs, %s, %s)", self.name, self.host.cpus,
                         body["status"]["capacity"]["memory"],
                         "KVM" if self.host.kvm else f"emulation={self.emulation}")
                return node
            except errors.AlreadyExistsError:
                node = self.client.get_node(self.name)
        return self._update(node, stamp)

    def heartbeat(self) -> dict:
        """One beat: schedulable label (cordon aware), heartbeat annotation, Ready's lastHeartbeatTime."""
        return self._update(self.client.get_node(self.name), now_rfc3339())

    def _update(self, node: dict, stamp: str) -> dict:
        was = self.schedulable()
        self._cordoned = cordoned(node)
        if self.schedulable() != was:
            log.info("Node %s is %s", self.name, "schedulable" if self.schedulable()
                     else "cordoned; it takes no new VMIs" if self._cordoned else "not schedulable")
        current = (node.get("metadata") or {}).get("labels") or {}
        self.client.patch_node(self.name, {"metadata": {
            "labels": label_patch(current, self._labels()),
            "annotations": {HEARTBEAT_ANNOTATION: stamp}}})
        return self.client.patch_node_status(
            self.name, {"status": self._status(node.get("status") or {}, stamp)})

    def unschedulable(self) -> None:
        """Mark the node unschedulable (the handler is stopping); best effort."""
        try:
            self.client.patch_node(self.name, {"metadata": {"labels": {SCHEDULABLE_LABEL: "false"}}})
        except errors.APIRequestError as exc:
            log.warning("Could not mark node %s unschedulable on stop: %s", self.name, exc)

    def next_delay(self, rng: Callable[[], float] = random.random) -> float:
        """KubeVirt's sliding JitterUntil: interval plus up to JITTER times interval."""
        return self.heartbeat_interval * (1.0 + JITTER * rng())

    def run(self, stop: threading.Event) -> None:
        """Register, then beat until `stop` is set; API failures are logged and retried."""
        registered = False
        delay = 0.0
        while not stop.wait(delay):
            try:
                if registered:
                    self.heartbeat()
                else:
                    self.register()
                    registered = True
                delay = self.next_delay()
            except errors.APIRequestError as exc:
                level = logging.WARNING if exc.transient or isinstance(exc, errors.NotFoundError) \
                    else logging.ERROR
                log.log(level, "Heartbeat of node %s failed: %s; retrying", self.name, exc)
                if isinstance(exc, errors.NotFoundError):
                    registered = False  # someone deleted the Node: register it again
                delay = min(self.heartbeat_interval, 5.0)
            except Exception:  # noqa: BLE001 - the heartbeat loop must outlive any bug in one beat
                log.exception("Heartbeat of node %s failed unexpectedly; retrying", self.name)
                delay = min(self.heartbeat_interval, 5.0)
        self.unschedulable()
