"""Rules on a VirtualMachine's own spec: run strategy, template, DataVolume templates.

Owns what KubeVirt's VM admitter checks outside the VMI template (the template
is VMI-spec rules' business). Called through the rule table with a VM_SPEC
target, for VMs and for the VM template of a pool.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.admission import syntax
from controller.admission.messages import duplicate, invalid, not_supported, quoted, required
from controller.admission.targets import Target
from protos.errors import FieldCause

RUN_STRATEGIES = ("Always", "RerunOnFailure", "Manual", "Halted", "Once", "WaitAsReceiver")
UPDATE_VOLUMES_STRATEGIES = ("Migration", "Replacement")


def running_and_run_strategy(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if spec.HasField("running") and spec.HasField("run_strategy"):
        yield invalid(t.at("running"),
                      "running and runStrategy are mutually exclusive; set only runStrategy "
                      "(running is deprecated: true is Always, false is Halted)")


def run_strategy_value(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if spec.HasField("run_strategy") and spec.run_strategy not in RUN_STRATEGIES:
        yield not_supported(t.at("runStrategy"), "runStrategy", spec.run_strategy, RUN_STRATEGIES)


def template_required(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if not spec.HasField("template") or not spec.template.HasField("spec"):
        yield required(t.at("template.spec"),
                       "a VirtualMachine needs a VMI template with at least spec.domain")


def update_volumes_strategy_value(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if spec.HasField("update_volumes_strategy") and \
            spec.update_volumes_strategy not in UPDATE_VOLUMES_STRATEGIES:
        yield not_supported(t.at("updateVolumesStrategy"), "updateVolumesStrategy",
                            spec.update_volumes_strategy, UPDATE_VOLUMES_STRATEGIES)


def datavolume_template_name(t: Target) -> Iterator[FieldCause]:
    seen: dict[str, int] = {}
    for i, dvt in enumerate(t.msg.data_volume_templates):
        path = t.at(f"dataVolumeTemplates[{i}].metadata.name")
        name = dvt.metadata.name
        if not name:
            yield required(path, "every DataVolume template needs a name (a DNS-1123 subdomain)")
            continue
        problem = syntax.dns_subdomain(name)
        if problem:
            yield invalid(path, problem)
        if name in seen:
            yield duplicate(path, f"dataVolumeTemplates[{seen[name]}] and dataVolumeTemplates[{i}] "
                                  f"must not have the same name {quoted(name)}; names must be unique")
        else:
            seen[name] = i


def datavolume_template_referenced(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    used = {v.data_volume.name for v in spec.template.spec.volumes if v.HasField("data_volume")}
    for i, dvt in enumerate(spec.data_volume_templates):
        name = dvt.metadata.name
        if name and name not in used:
            yield invalid(t.at(f"dataVolumeTemplates[{i}].metadata.name"),
                          f"DataVolume template {quoted(name)} is not used; reference it from a volume "
                          f"of the VMI template with dataVolume.name: {name}")
