"""VirtualMachinePool planning: which VMs and PVCs to create or delete, and the pool's status.

Owns the decision `plan(pool, vms, pvcs) -> PoolPlan` that the pool controller
acts on each time it syncs a pool: the VM manifests to create (stamped from
spec.virtualMachineTemplate), the VMs to delete when scaling down, one PVC per
VM for each of the template's dataVolumeTemplates, and the status to write.
Pure: dicts in Kubernetes JSON form in, a plan out; it never talks to the API
and never mutates its input. Refuses (PoolSelectorError) a pool whose selector
does not select its own template.

Decisions (docs/controller.md, "Scheduling and pools", says why):
- VMs are `<pool>-<index>` with the lowest indexes no VM in the namespace uses,
  owned by the pool (controller, blockOwnerDeletion); only owned VMs without a
  deletionTimestamp count as replicas. Orphans are not adopted.
- Scale down removes VMs that are not ready first, then the highest index.
- Each `spec.virtualMachineTemplate.spec.dataVolumeTemplates[]` entry `T`
  becomes a PersistentVolumeClaim `T-<vm name>` owned by the pool; the VM gets
  no dataVolumeTemplates, and its volumes that named `T` (dataVolume,
  persistentVolumeClaim, ephemeral) name the PVC as a persistentVolumeClaim.
  A deleted VM's pool-owned PVCs are deleted with it; a missing PVC that a
  live VM names is created again.
- `spec.nameGeneration.appendIndexToConfigMapRefs/appendIndexToSecretRefs`
  add `-<index>` to configMap / secret volume references, as KubeVirt does.
- A paused pool (`spec.paused`) gets its status but no creates or deletes.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from protos.errors import APIObjectError

__all__ = ["PoolPlan", "PoolSelectorError", "plan", "selector_matches", "format_selector",
           "vm_name"]

POOL_API_VERSION = "pool.kubevirt.io/v1beta1"
POOL_KIND = "VirtualMachinePool"
DEFAULT_REPLICAS = 1

# CDI's annotations on a PVC that say how to populate it (what a DataVolume's
# source becomes once CDI turns it into a claim).
ANN_IMPORT_SOURCE = "cdi.kubevirt.io/storage.import.source"
ANN_IMPORT_ENDPOINT = "cdi.kubevirt.io/storage.import.endpoint"
ANN_IMPORT_SECRET = "cdi.kubevirt.io/storage.import.secretName"
ANN_IMPORT_CERT_CONFIGMAP = "cdi.kubevirt.io/storage.import.certConfigMap"
ANN_CLONE_REQUEST = "k8s.io/CloneRequest"
ANN_UPLOAD_TARGET = "cdi.kubevirt.io/storage.upload.target"


class PoolSelectorError(APIObjectError):
    """A pool's selector is missing or does not select the labels of its own VM template."""

    def __init__(self, namespace: str, name: str, detail: str) -> None:
        self.namespace = namespace
        self.name = name
        super().__init__(f"VirtualMachinePool {namespace}/{name}: {detail}")


@dataclass(frozen=True)
class PoolPlan:
    """What to do for one pool: create these, delete those, write this status."""

    create: list[dict] = field(default_factory=list)        # VirtualMachine manifests
    create_pvcs: list[dict] = field(default_factory=list)   # PersistentVolumeClaim manifests
    delete: list[str] = field(default_factory=list)         # VM names
    delete_pvcs: list[str] = field(default_factory=list)    # PVC names
    status: dict = field(default_factory=dict)


def vm_name(pool_name: str, index: int) -> str:
    """The name of the pool's VM with `index`."""
    return f"{pool_name}-{index}"


def plan(pool: dict, vms: list[dict], pvcs: list[dict]) -> PoolPlan:
    """The plan for `pool`, given the VMs and PVCs of its namespace (others are ignored)."""
    meta = pool.get("metadata") or {}
    name, namespace = meta.get("name", ""), meta.get("namespace") or "default"
    spec = pool.get("spec") or {}
    template = spec.get("virtualMachineTemplate") or {}
    selector = spec.get("selector")
    _check_selector(namespace, name, selector, template)

    vms = [v for v in vms if _namespace(v) == namespace]
    pvcs = [p for p in pvcs if _namespace(p) == namespace]
    active = [v for v in vms if _owned_by(v, pool) and not _meta(v).get("deletionTimestamp")]
    ready = sum(1 for v in active if _is_ready(v))
    status = {"replicas": len(active), "readyReplicas": ready,
              "labelSelector": format_selector(selector)}
    if spec.get("paused"):
        return PoolPlan(status=status)

    replicas = spec.get("replicas")
    replicas = DEFAULT_REPLICAS if replicas is None else int(replicas)
    pvc_names = {_meta(p).get("name") for p in pvcs}
    create, create_pvcs, delete, delete_pvcs = [], [], [], []

    if len(active) < replicas:
        taken = {_meta(v).get("name") for v in vms}
        index = 0
        while len(create) < replicas - len(active):
            candidate = vm_name(name, index)
            if candidate not in taken:
                create.append(_vm_manifest(pool, template, candidate, index))
            index += 1
    elif len(active) > replicas:
        victims = sorted(active, key=lambda v: (_is_ready(v), -_index(name, v)))
        victims = victims[:len(active) - replicas]
        delete = [_meta(v)["name"] for v in victims]
        owned_pvcs = {_meta(p)["name"] for p in pvcs if _owned_by(p, pool)}
        delete_pvcs = sorted(c for v in victims for c in _claim_names(v) & owned_pvcs)

    keep = [v for v in active if _meta(v).get("name") not in delete]
    for vm in keep:  # missing claims of live VMs, for the templates they still name
        vm_pvcs = _claim_names(vm)
        for dvt in _dv_templates(template):
            claim = f"{_meta(dvt).get('name')}-{_meta(vm).get('name')}"
            if claim in vm_pvcs and claim not in pvc_names:
                create_pvcs.append(_pvc_manifest(pool, dvt, claim))
    for vm in create:
        for dvt in _dv_templates(template):
            claim = f"{_meta(dvt).get('name')}-{vm['metadata']['name']}"
            if claim not in pvc_names:
                create_pvcs.append(_pvc_manifest(pool, dvt, claim))
    return PoolPlan(create, create_pvcs, delete, delete_pvcs, status)


# --- selectors -----------------------------------------------------------------------------

def _check_selector(namespace: str, name: str, selector: dict | None, template: dict) -> None:
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        raise PoolSelectorError(namespace, name, "spec.selector must not be empty; it would "
                                "select every VirtualMachine in the namespace")
    labels = _meta(template).get("labels") or {}
    if not selector_matches(selector, labels):
        raise PoolSelectorError(
            namespace, name, f"spec.selector ({format_selector(selector)}) does not match "
            f"spec.virtualMachineTemplate.metadata.labels ({_format_labels(labels)})")


def selector_matches(selector: dict, labels: dict[str, str]) -> bool:
    """Whether a metav1.LabelSelector selects `labels` (an empty selector selects everything)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for req in selector.get("matchExpressions") or []:
        key, op, values = req.get("key", ""), req.get("operator"), req.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def format_selector(selector: dict | None) -> str:
    """metav1.FormatLabelSelector: `app=db,tier in (a,b)`, requirements sorted by key."""
    if selector is None:
        return "<none>"
    reqs: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        reqs.append((key, f"{key}={value}"))
    for req in selector.get("matchExpressions") or []:
        key, op = req.get("key", ""), req.get("operator")
        values = ",".join(sorted(req.get("values") or []))
        text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                "Exists": key, "DoesNotExist": f"!{key}"}.get(op, f"{key} {op} ({values})")
        reqs.append((key, text))
    text = ",".join(t for _, t in sorted(reqs, key=lambda r: r[0]))
    return text or "<none>"


def _format_labels(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


# --- object helpers ------------------------------------------------------------------------

def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _namespace(obj: dict) -> str:
    return _meta(obj).get("namespace") or "default"


def _owned_by(obj: dict, pool: dict) -> bool:
    pool_meta = _meta(pool)
    for ref in _meta(obj).get("ownerReferences") or []:
        if not ref.get("controller") or ref.get("kind") != POOL_KIND:
            continue
        if pool_meta.get("uid"):
            return ref.get("uid") == pool_meta["uid"]
        return ref.get("name") == pool_meta.get("name")
    return False


def _is_ready(vm: dict) -> bool:
    status = vm.get("status") or {}
    if status.get("ready") is True:
        return True
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in status.get("conditions") or [])


_INDEX = re.compile(r"[0-9]+")


def _index(pool_name: str, vm: dict) -> int:
    """The VM's index in its name; a name without one sorts above every index."""
    suffix = _meta(vm).get("name", "").removeprefix(f"{pool_name}-")
    return int(suffix) if _INDEX.fullmatch(suffix) else 1 << 62


def _owner_reference(pool: dict) -> dict:
    meta = _meta(pool)
    ref = {"apiVersion": pool.get("apiVersion") or POOL_API_VERSION, "kind": POOL_KIND,
           "name": meta.get("name", ""), "controller": True, "blockOwnerDeletion": True}
    if meta.get("uid"):
        ref["uid"] = meta["uid"]
    return ref


# --- VM manifests --------------------------------------------------------------------------

def _dv_templates(template: dict) -> list[dict]:
    return (template.get("spec") or {}).get("dataVolumeTemplates") or []


def _claim_names(vm: dict) -> set[str]:
    volumes = ((((vm.get("spec") or {}).get("template") or {}).get("spec") or {})
               .get("volumes") or [])
    return {(v.get("persistentVolumeClaim") or {}).get("claimName") for v in volumes} - {None}


def _vm_manifest(pool: dict, template: dict, name: str, index: int) -> dict:
    tmeta = _meta(template)
    metadata = {"name": name, "namespace": _namespace(pool),
                "labels": dict(tmeta.get("labels") or {}),
                "ownerReferences": [_owner_reference(pool)]}
    if tmeta.get("annotations"):
        metadata["annotations"] = dict(tmeta["annotations"])
    naming = (pool.get("spec") or {}).get("nameGeneration") or {}
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": metadata,
            "spec": _indexed_spec(template.get("spec") or {}, name, index, naming)}


def _indexed_spec(spec: dict, vm: str, index: int, naming: dict) -> dict:
    """The template's VM spec for one VM: claims renamed per VM, refs indexed if asked."""
    spec = copy.deepcopy(spec)
    claims = {_meta(t).get("name"): f"{_meta(t).get('name')}-{vm}"
              for t in spec.pop("dataVolumeTemplates", None) or []}
    volumes = ((spec.get("template") or {}).get("spec") or {}).get("volumes") or []
    for volume in volumes:
        if "dataVolume" in volume and volume["dataVolume"].get("name") in claims:
            source = volume.pop("dataVolume")
            pvc = {"claimName": claims[source["name"]]}
            if "hotpluggable" in source:
                pvc["hotpluggable"] = source["hotpluggable"]
            volume["persistentVolumeClaim"] = pvc
        elif "persistentVolumeClaim" in volume:
            pvc = volume["persistentVolumeClaim"]
            pvc["claimName"] = claims.get(pvc.get("claimName"), pvc.get("claimName"))
        elif "ephemeral" in volume:
            pvc = volume["ephemeral"].get("persistentVolumeClaim") or {}
            if pvc.get("claimName") in claims:
                pvc["claimName"] = claims[pvc["claimName"]]
        elif "configMap" in volume and naming.get("appendIndexToConfigMapRefs"):
            volume["configMap"]["name"] = f"{volume['configMap'].get('name', '')}-{index}"
        elif "secret" in volume and naming.get("appendIndexToSecretRefs"):
            volume["secret"]["secretName"] = f"{volume['secret'].get('secretName', '')}-{index}"
    return spec


# --- PVC manifests -------------------------------------------------------------------------

def _pvc_manifest(pool: dict, dvt: dict, name: str) -> dict:
    dmeta = _meta(dvt)
    dspec = dvt.get("spec") or {}
    metadata = {"name": name, "namespace": _namespace(pool),
                "labels": dict(dmeta.get("labels") or {}),
                "ownerReferences": [_owner_reference(pool)]}
    annotations = dict(dmeta.get("annotations") or {})
    annotations.update(_source_annotations(dspec.get("source") or {}, _namespace(pool)))
    if annotations:
        metadata["annotations"] = annotations
    if "pvc" in dspec:
        pvc_spec = copy.deepcopy(dspec["pvc"])
    else:
        pvc_spec = copy.deepcopy(dspec.get("storage") or {})
        pvc_spec.setdefault("accessModes", ["ReadWriteOnce"])
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata,
            "spec": pvc_spec}


def _source_annotations(source: dict, namespace: str) -> dict[str, str]:
    """CDI's annotations for a DataVolume source (an empty dict for none)."""
    for kind in ("http", "registry", "s3"):
        if kind in source:
            src = source[kind] or {}
            out = {ANN_IMPORT_SOURCE: kind, ANN_IMPORT_ENDPOINT: src.get("url", "")}
            if src.get("secretRef"):
                out[ANN_IMPORT_SECRET] = src["secretRef"]
            if src.get("certConfigMap"):
                out[ANN_IMPORT_CERT_CONFIGMAP] = src["certConfigMap"]
            return out
    if "blank" in source:
        return {ANN_IMPORT_SOURCE: "none"}
    if "pvc" in source:
        src = source["pvc"] or {}
        return {ANN_CLONE_REQUEST: f"{src.get('namespace') or namespace}/{src.get('name', '')}"}
    if "upload" in source:
        return {ANN_UPLOAD_TARGET: ""}
    return {}
