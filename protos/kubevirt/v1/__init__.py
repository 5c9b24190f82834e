"""kubevirt.io/v1 objects plus the pool.kubevirt.io and cdi.kubevirt.io kinds virtnode serves."""

import functools


@functools.cache
def volume_sources() -> tuple[tuple[str, str], ...]:
    """Every source a Volume can have, in schema order: (proto field, KubeVirt's JSON name)."""
    from protos.kubevirt.v1 import schema_pb2

    return tuple((f.name, f.json_name) for f in schema_pb2.Volume.DESCRIPTOR.fields if f.name != "name")
