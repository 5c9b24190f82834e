"""Minimal valid manifests (as dicts) and a path setter to break them one field at a time."""

from __future__ import annotations

import copy
import re
from typing import Any

from controller.admission import ClusterConfig, admit
from protos import codec

DELETE = object()
DOM = "spec.domain"
DEV = "spec.domain.devices"
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def vmi() -> dict:
    """The smallest VMI admission accepts: memory, one containerDisk."""
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": {"name": "vm1", "namespace": "default"},
        "spec": {
            "domain": {
                "resources": {"requests": {"memory": "128Mi"}},
                "devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]},
            },
            "volumes": [{"name": "root",
                         "containerDisk": {"image": "quay.io/kubevirt/cirros-container-disk-demo"}}],
        },
    }


def vm() -> dict:
    """A VirtualMachine around the minimal VMI spec."""
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": "vm1", "namespace": "default"},
        "spec": {"runStrategy": "Always",
                 "template": {"metadata": {"labels": {"app": "vm1"}}, "spec": vmi()["spec"]}},
    }


def pool() -> dict:
    """A VirtualMachinePool of the minimal VM."""
    vm_spec = vm()["spec"]
    return {
        "apiVersion": "pool.kubevirt.io/v1beta1",
        "kind": "VirtualMachinePool",
        "metadata": {"name": "pool1", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "pool1"}},
                 "virtualMachineTemplate": {"metadata": {"labels": {"app": "pool1"}},
                                            "spec": vm_spec}},
    }


def migration() -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration",
            "metadata": {"name": "mig1"}, "spec": {"vmiName": "vm1"}}


def datavolume() -> dict:
    return {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
            "metadata": {"name": "dv1"},
            "spec": {"source": {"http": {"url": "https://example.org/disk.qcow2"}},
                     "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}


BASES = {"vmi": vmi, "vm": vm, "pool": pool, "migration": migration, "dv": datavolume}


def setpath(doc: dict, path: str, value: Any) -> None:
    """Sets doc at a dotted path with [i] indices, creating objects on the way (DELETE removes)."""
    keys: list[str | int] = [name if name else int(index) for name, index in _TOKEN.findall(path)]
    node: Any = doc
    for key, nxt in zip(keys, keys[1:]):
        if isinstance(key, int):
            while len(node) <= key:
                node.append({})
            node = node[key]
        else:
            if key not in node:
                node[key] = [] if isinstance(nxt, int) else {}
            node = node[key]
    last = keys[-1]
    if value is DELETE:
        del node[last]
    elif isinstance(last, int):
        while len(node) <= last:
            node.append({})
        node[last] = copy.deepcopy(value)
    else:
        node[last] = copy.deepcopy(value)


def build(base: str, patches: dict[str, Any] | None = None) -> dict:
    doc = BASES[base]()
    for path, value in (patches or {}).items():
        setpath(doc, path, value)
    return doc


def decode(doc: dict):
    return codec.decode(doc, source="test")


def findings(doc_or_msg, config: ClusterConfig | None = None) -> list[tuple[str, str, str]]:
    """(rule id, path, message) for every cause admit finds."""
    msg = decode(doc_or_msg) if isinstance(doc_or_msg, dict) else doc_or_msg
    result = admit(msg, config or ClusterConfig())
    return [(rule, c.field, c.message) for rule, c in zip(result.rules, result.causes)]
