"""Rules on a DataVolume spec, standalone or in a VM's dataVolumeTemplates.

Owns CDI's shape checks that admission can make offline: one source, one
storage description. Called with a DATAVOLUME_SPEC target.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.admission.messages import invalid
from controller.admission.targets import Target
from protos.errors import FieldCause

SOURCES = ("http", "registry", "pvc", "s3", "blank", "upload", "snapshot")


def source_count(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    kinds = [f"source.{f.json_name}" for f, _ in spec.source.ListFields()]
    if spec.HasField("source_ref"):
        kinds.append("sourceRef")
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else "none"
        yield invalid(t.at("source"),
                      f"a DataVolume needs exactly one source (found: {found}); set one of: "
                      f"{', '.join('source.' + s for s in SOURCES)}, sourceRef")


def storage_count(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    has_pvc, has_storage = spec.HasField("pvc"), spec.HasField("storage")
    if has_pvc == has_storage:
        what = "both" if has_pvc else "neither"
        yield invalid(t.at("storage"),
                      f"a DataVolume needs exactly one of pvc and storage, {what} is set; "
                      f"prefer storage, which lets CDI fill in access and volume modes")
