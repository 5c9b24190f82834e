"""Where in an API object admission looks: the parts each rule scope applies to.

Owns the walk from a whole object (VirtualMachineInstance, VirtualMachine,
VirtualMachinePool, VirtualMachineInstanceMigration, DataVolume) to its parts
(object metadata, template metadata, VMI spec, VM spec, pool spec, ...) and the
JSON path at which each part sits, so that one VMI-spec rule serves a bare VMI
(`spec`), a VM (`spec.template.spec`) and a pool
(`spec.virtualMachineTemplate.spec.template.spec`) alike. Never judges content.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from google.protobuf.message import Message

from controller.admission.config import ClusterConfig
from protos.kubevirt.v1 import datavolume_pb2, migration_pb2, pool_pb2, vm_pb2, vmi_pb2

# Scopes: which message a rule reads.
METADATA = "metadata"        # ObjectMeta of an object or of a template
VMI_SPEC = "vmi-spec"        # VirtualMachineInstanceSpec
VM_SPEC = "vm-spec"          # VirtualMachineSpec
POOL_SPEC = "pool-spec"      # VirtualMachinePoolSpec
MIGRATION_SPEC = "migration-spec"
DATAVOLUME_SPEC = "datavolume-spec"
SCOPES = (METADATA, VMI_SPEC, VM_SPEC, POOL_SPEC, MIGRATION_SPEC, DATAVOLUME_SPEC)


@dataclass(frozen=True)
class Target:
    """One part of an object, the path where it sits, and what it describes."""

    scope: str
    msg: Message
    path: str
    config: ClusterConfig
    # The kind this part belongs to (for metadata: the kind it is the metadata of).
    kind: str
    # True for the metadata of a template: it names no stored object of its own.
    template: bool = False
    # The whole object, for rules that compare a part with its surroundings.
    root: Message | None = None

    def at(self, rel: str) -> str:
        """The path of `rel` inside this part (`rel` in KubeVirt's JSON names)."""
        if not rel:
            return self.path
        if not self.path:
            return rel
        return f"{self.path}{rel}" if rel.startswith("[") else f"{self.path}.{rel}"


def vmi_specs(obj: Message) -> Iterator[tuple[vmi_pb2.VirtualMachineInstanceSpec, str]]:
    """Every VMI spec inside obj with its path (the defaulter walks the same places)."""
    if isinstance(obj, vmi_pb2.VirtualMachineInstance):
        yield obj.spec, "spec"
    elif isinstance(obj, vm_pb2.VirtualMachine):
        if obj.spec.HasField("template"):
            yield obj.spec.template.spec, "spec.template.spec"
    elif isinstance(obj, pool_pb2.VirtualMachinePool):
        vmt = obj.spec.virtual_machine_template
        if obj.spec.HasField("virtual_machine_template") and vmt.spec.HasField("template"):
            yield vmt.spec.template.spec, "spec.virtualMachineTemplate.spec.template.spec"


def targets(obj: Message, config: ClusterConfig) -> list[Target]:
    """The parts of obj that rules look at, outermost first."""
    kind = type(obj).__name__
    out = [Target(METADATA, obj.metadata, "metadata", config, kind, root=obj)]

    def vm_parts(spec: vm_pb2.VirtualMachineSpec, path: str) -> None:
        out.append(Target(VM_SPEC, spec, path, config, "VirtualMachine", root=obj))
        if spec.HasField("template"):
            out.append(Target(METADATA, spec.template.metadata, f"{path}.template.metadata",
                              config, "VirtualMachineInstance", template=True, root=obj))
            out.append(Target(VMI_SPEC, spec.template.spec, f"{path}.template.spec", config,
                              "VirtualMachineInstance", root=obj))
        for i, dvt in enumerate(spec.data_volume_templates):
            out.append(Target(DATAVOLUME_SPEC, dvt.spec, f"{path}.dataVolumeTemplates[{i}].spec",
                              config, "DataVolume", root=obj))

    if isinstance(obj, vmi_pb2.VirtualMachineInstance):
        out.append(Target(VMI_SPEC, obj.spec, "spec", config, kind, root=obj))
    elif isinstance(obj, vm_pb2.VirtualMachine):
        vm_parts(obj.spec, "spec")
    elif isinstance(obj, pool_pb2.VirtualMachinePool):
        out.append(Target(POOL_SPEC, obj.spec, "spec", config, kind, root=obj))
        if obj.spec.HasField("virtual_machine_template"):
            vmt = obj.spec.virtual_machine_template
            out.append(Target(METADATA, vmt.metadata, "spec.virtualMachineTemplate.metadata",
                              config, "VirtualMachine", template=True, root=obj))
            vm_parts(vmt.spec, "spec.virtualMachineTemplate.spec")
    elif isinstance(obj, migration_pb2.VirtualMachineInstanceMigration):
        out.append(Target(MIGRATION_SPEC, obj.spec, "spec", config, kind, root=obj))
    elif isinstance(obj, datavolume_pb2.DataVolume):
        out.append(Target(DATAVOLUME_SPEC, obj.spec, "spec", config, kind, root=obj))
    return out
