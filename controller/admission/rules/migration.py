"""Rules on a VirtualMachineInstanceMigration's spec.

Owns the static checks of KubeVirt's migration admitter (the VMI to migrate is
named, the priority is known). Whether that VMI exists and can migrate is
decided at creation by the API server, not here. Called with a MIGRATION_SPEC target.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.admission import syntax
from controller.admission.messages import invalid, not_supported, required
from controller.admission.targets import Target
from protos.errors import FieldCause

PRIORITIES = ("system-critical", "user-triggered", "system-maintenance")


def vmi_name_required(t: Target) -> Iterator[FieldCause]:
    name = t.msg.vmi_name
    if not name:
        yield required(t.at("vmiName"), "name the VirtualMachineInstance to migrate "
                                        "(in the migration's namespace)")
    else:
        problem = syntax.dns_subdomain(name)
        if problem:
            yield invalid(t.at("vmiName"), problem)


def priority_value(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if spec.HasField("priority") and spec.priority not in PRIORITIES:
        yield not_supported(t.at("priority"), "priority", spec.priority, PRIORITIES)
