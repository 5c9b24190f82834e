"""The resources the embedded API serves, and how each is shaped.

Owns the registry: for every resource its group, version, kind, plural and
singular names, scope, short names, subresources, printer columns, and whether
its objects are typed (kubevirt.io kinds: decoded with protos.codec and
admitted with controller.admission on every write) or unstructured (core and
coordination kinds, kept as JSON with metadata checks only). Discovery,
routing, tables and the store all read it; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """A printer column, as a CRD's additionalPrinterColumns has it."""

    name: str
    type: str            # string, integer, date, ...
    json_path: str       # .status.phase, .metadata.creationTimestamp, or a condition filter
    priority: int = 0    # 1: only with -o wide
    description: str = ""


AGE = Column("Age", "date", ".metadata.creationTimestamp")


@dataclass(frozen=True)
class Resource:
    group: str           # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()     # "status", "scale"
    columns: tuple[Column, ...] = (AGE,)
    typed: bool = False                    # decoded and admitted through protos/controller
    list_kind: str = ""
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch",
                              "update", "watch")
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def key(self) -> str:
        """Unique name of the resource: plural.group (e.g. virtualmachines.kubevirt.io)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def list_kind_name(self) -> str:
        return self.list_kind or f"{self.kind}List"


def _ready(condition: str = "Ready", priority: int = 0, name: str = "") -> Column:
    """A column showing one condition's status, as KubeVirt's printer columns do."""
    return Column(name or condition, "string",
                  f".status.conditions[?(@.type=='{condition}')].status", priority)


RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "Namespace", "namespaces", "namespace", False, ("ns",),
             subresources=("status",), columns=(Column("Status", "string", ".status.phase"), AGE)),
    Resource("", "v1", "Node", "nodes", "node", False, ("no",), subresources=("status",),
             columns=(Column("Status", "string", ".status.conditions[?(@.type=='Ready')].status"),
                      AGE, Column("Version", "string", ".status.nodeInfo.kubeletVersion"))),
    Resource("", "v1", "Event", "events", "event", True, ("ev",),
             columns=(Column("Last Seen", "date", ".lastTimestamp"),
                      Column("Type", "string", ".type"), Column("Reason", "string", ".reason"),
                      Column("Object", "string", ".involvedObject.name"),
                      Column("Message", "string", ".message"))),
    Resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim",
             True, ("pvc",), subresources=("status",),
             columns=(Column("Status", "string", ".status.phase"),
                      Column("Capacity", "string", ".status.capacity.storage"), AGE)),
    Resource("", "v1", "Secret", "secrets", "secret", True,
             columns=(Column("Type", "string", ".type"), AGE)),
    Resource("coordination.k8s.io", "v1", "Lease", "leases", "lease", True,
             columns=(Column("Holder", "string", ".spec.holderIdentity"), AGE)),
    Resource("kubevirt.io", "v1", "VirtualMachine", "virtualmachines", "virtualmachine", True,
             ("vm", "vms"), subresources=("status",), typed=True, categories=("all",),
             columns=(AGE, Column("Status", "string", ".status.printableStatus"), _ready())),
    Resource("kubevirt.io", "v1", "VirtualMachineInstance", "virtualmachineinstances",
             "virtualmachineinstance", True, ("vmi", "vmis"), subresources=("status",), typed=True,
             categories=("all",),
             columns=(AGE, Column("Phase", "string", ".status.phase"),
                      Column("IP", "string", ".status.interfaces[0].ipAddress"),
                      Column("NodeName", "string", ".status.nodeName"), _ready(),
                      _ready("LiveMigratable", 1, "Live-Migratable"), _ready("Paused", 1))),
    Resource("kubevirt.io", "v1", "VirtualMachineInstanceMigration",
             "virtualmachineinstancemigrations", "virtualmachineinstancemigration", True,
             ("vmim", "vmims"), subresources=("status",), typed=True, categories=("all",),
             columns=(Column("Phase", "string", ".status.phase"),
                      Column("VMI", "string", ".spec.vmiName"), AGE)),
    Resource("pool.kubevirt.io", "v1beta1", "VirtualMachinePool", "virtualmachinepools",
             "virtualmachinepool", True, ("vmpool", "vmpools"), subresources=("status", "scale"),
             typed=True, categories=("all",),
             columns=(Column("Desired", "integer", ".spec.replicas"),
                      Column("Current", "integer", ".status.replicas"),
                      Column("Ready", "integer", ".status.readyReplicas"), AGE)),
    Resource("cdi.kubevirt.io", "v1beta1", "DataVolume", "datavolumes", "datavolume", True,
             ("dv", "dvs"), subresources=("status",), typed=True, categories=("all",),
             columns=(Column("Phase", "string", ".status.phase"),
                      Column("Progress", "string", ".status.progress"),
                      Column("Restarts", "integer", ".status.restartCount"), AGE)),
)

BY_KEY = {r.key: r for r in RESOURCES}
BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}


def find(group: str, version: str, plural: str) -> Resource | None:
    """The resource served at /api[s]/<group>/<version>/<plural>, or None."""
    r = BY_KEY.get(f"{plural}.{group}" if group else plural)
    return r if r is not None and r.version == version else None


def for_object(api_version: str, kind: str) -> Resource | None:
    return BY_KIND.get((api_version, kind))


def groups() -> dict[str, list[str]]:
    """Group name -> versions served, in registry order ("" is the core group)."""
    out: dict[str, list[str]] = {}
    for r in RESOURCES:
        versions = out.setdefault(r.group, [])
        if r.version not in versions:
            versions.append(r.version)
    return out
