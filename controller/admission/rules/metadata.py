"""Rules on object and template metadata: names, label and annotation keys.

Owns what Kubernetes' ObjectMeta validation checks for virtnode's kinds, plus
KubeVirt's reserved kubevirt.io/ labels on VMIs. Called through the rule table
with a METADATA target; never looks at a spec.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.admission import syntax
from controller.admission.messages import invalid, quoted, required
from controller.admission.targets import Target
from protos.errors import FieldCause

# Labels KubeVirt's controllers set on VMIs; a user may not set them at creation.
RESERVED_VMI_LABELS = (
    "kubevirt.io/created-by",
    "kubevirt.io/migrationJobUID",
    "kubevirt.io/nodeName",
    "kubevirt.io/migrationTargetNodeName",
    "kubevirt.io/schedulable",
    "kubevirt.io/install-strategy",
)


def name_required(t: Target) -> Iterator[FieldCause]:
    meta = t.msg
    if t.template:
        return
    if not meta.name and not meta.generate_name:
        yield required(t.at("name"), "set metadata.name (or metadata.generateName for a "
                                     "server-chosen name)")


def name_format(t: Target) -> Iterator[FieldCause]:
    meta = t.msg
    if meta.name:
        problem = syntax.dns_subdomain(meta.name)
        if problem:
            yield invalid(t.at("name"), problem)
    if meta.generate_name and not meta.name:
        # The server appends 5 characters; the prefix must leave a valid name.
        problem = syntax.dns_subdomain(meta.generate_name.rstrip("-") or "-")
        if problem or len(meta.generate_name) > 248:
            yield invalid(t.at("generateName"),
                          f"prefix {quoted(meta.generate_name)} cannot start a DNS-1123 subdomain; "
                          f"use at most 248 characters of {syntax.SUBDOMAIN_RULE}")


def label_keys(t: Target) -> Iterator[FieldCause]:
    for key in sorted(t.msg.labels):
        problem = syntax.qualified_name(key)
        if problem:
            yield invalid(t.at(f"labels[{key}]"), problem)


def label_values(t: Target) -> Iterator[FieldCause]:
    for key, value in sorted(t.msg.labels.items()):
        problem = syntax.label_value(value)
        if problem:
            yield invalid(t.at(f"labels[{key}]"), problem)


def annotation_keys(t: Target) -> Iterator[FieldCause]:
    for key in sorted(t.msg.annotations):
        problem = syntax.qualified_name(key)
        if problem:
            yield invalid(t.at(f"annotations[{key}]"), problem)


def reserved_labels(t: Target) -> Iterator[FieldCause]:
    if t.kind != "VirtualMachineInstance":
        return
    for key in sorted(t.msg.labels):
        if key in RESERVED_VMI_LABELS:
            yield invalid(t.at(f"labels[{key}]"),
                          f"label {quoted(key)} is reserved for KubeVirt's controllers; a VMI may not "
                          f"be created with any of: {', '.join(RESERVED_VMI_LABELS)}")
