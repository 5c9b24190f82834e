"""VirtualMachinePool planning: naming, scale up and down, PVC per VM, status, selector checks."""

from __future__ import annotations

import copy

import pytest

from controller.pool import PoolSelectorError, format_selector, plan, selector_matches

UID = "pool-uid"


def pool(replicas: int | None = 3, *, dvts: list | None = None, volumes: list | None = None,
         selector: dict | None = None, labels: dict | None = None, **spec) -> dict:
    template_spec = {"runStrategy": "Always",
                     "template": {"metadata": {"labels": {"kubevirt.io/domain": "web"}},
                                  "spec": {"domain": {"devices": {}},
                                           "volumes": volumes or []}}}
    if dvts is not None:
        template_spec["dataVolumeTemplates"] = dvts
    obj = {"apiVersion": "pool.kubevirt.io/v1beta1", "kind": "VirtualMachinePool",
           "metadata": {"name": "web", "namespace": "ns", "uid": UID},
           "spec": {"selector": selector if selector is not None else {"matchLabels": {"app": "web"}},
                    "virtualMachineTemplate": {
                        "metadata": {"labels": labels if labels is not None else
                                     {"app": "web", "tier": "front"},
                                     "annotations": {"note": "x"}},
                        "spec": template_spec},
                    **spec}}
    if replicas is not None:
        obj["spec"]["replicas"] = replicas
    return obj


def owned_vm(name: str, ready: bool = True, deleting: bool = False, owner_uid: str = UID,
             claims: tuple[str, ...] = ()) -> dict:
    meta = {"name": name, "namespace": "ns",
            "ownerReferences": [{"apiVersion": "pool.kubevirt.io/v1beta1",
                                 "kind": "VirtualMachinePool", "name": "web", "uid": owner_uid,
                                 "controller": True, "blockOwnerDeletion": True}]}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    volumes = [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims]
    return {"metadata": meta, "spec": {"template": {"spec": {"volumes": volumes}}},
            "status": {"ready": ready,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def pvc(name: str, owner_uid: str | None = UID) -> dict:
    meta = {"name": name, "namespace": "ns"}
    if owner_uid:
        meta["ownerReferences"] = [{"kind": "VirtualMachinePool", "name": "web", "uid": owner_uid,
                                    "controller": True}]
    return {"metadata": meta}


def names(objs: list[dict]) -> list[str]:
    return [o["metadata"]["name"] for o in objs]


def test_scale_up_from_nothing_names_from_zero() -> None:
    """A new pool of 3 creates web-0, web-1, web-2 and deletes nothing."""
    p = plan(pool(3), [], [])
    assert names(p.create) == ["web-0", "web-1", "web-2"]
    assert p.delete == [] and p.create_pvcs == [] and p.delete_pvcs == []


def test_replicas_default_to_one() -> None:
    """Without spec.replicas the pool wants one VM."""
    assert names(plan(pool(None), [], []).create) == ["web-0"]


def test_lowest_free_indexes_fill_gaps() -> None:
    """With web-1 and web-3 present, scaling to 4 creates web-0 and web-2."""
    vms = [owned_vm("web-1"), owned_vm("web-3")]
    assert names(plan(pool(4), vms, []).create) == ["web-0", "web-2"]


def test_names_of_foreign_and_deleting_vms_are_skipped() -> None:
    """A name used by any VM (not ours, or ours and being deleted) is not reused; deleting VMs do not count."""
    foreign = owned_vm("web-0", owner_uid="other")
    orphan = {"metadata": {"name": "web-2", "namespace": "ns"}}
    deleting = owned_vm("web-1", deleting=True)
    p = plan(pool(2), [foreign, orphan, deleting], [])
    assert names(p.create) == ["web-3", "web-4"]
    assert p.status["replicas"] == 0


def test_other_namespaces_are_ignored() -> None:
    """VMs in another namespace neither count nor take names."""
    elsewhere = owned_vm("web-0")
    elsewhere["metadata"]["namespace"] = "other"
    assert names(plan(pool(1), [elsewhere], []).create) == ["web-0"]


def test_steady_state_does_nothing() -> None:
    """Exactly `replicas` owned VMs: no creates, no deletes."""
    p = plan(pool(2), [owned_vm("web-0"), owned_vm("web-1")], [])
    assert (p.create, p.delete, p.create_pvcs, p.delete_pvcs) == ([], [], [], [])


@pytest.mark.parametrize("vms,replicas,deleted", [
    ([("web-0", True), ("web-1", True), ("web-2", True)], 1, ["web-2", "web-1"]),
    ([("web-0", True), ("web-1", False), ("web-2", True)], 2, ["web-1"]),
    ([("web-0", False), ("web-1", True), ("web-2", False)], 1, ["web-2", "web-0"]),
    ([("web-0", True), ("web-10", True), ("web-9", True)], 2, ["web-10"]),
    ([("web-0", True), ("web-1", True)], 0, ["web-1", "web-0"]),
])
def test_scale_down_prefers_not_ready_then_highest_index(vms: list, replicas: int,
                                                          deleted: list[str]) -> None:
    """Scale down deletes VMs that are not ready first, then the highest indexes (numerically)."""
    p = plan(pool(replicas), [owned_vm(n, ready=r) for n, r in vms], [])
    assert p.delete == deleted and p.create == []


def test_vm_manifest_shape() -> None:
    """A created VM carries the template's labels, annotations and spec and a controller ownerReference."""
    vm = plan(pool(1), [], []).create[0]
    assert vm["apiVersion"] == "kubevirt.io/v1" and vm["kind"] == "VirtualMachine"
    assert vm["metadata"]["namespace"] == "ns"
    assert vm["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert vm["metadata"]["annotations"] == {"note": "x"}
    assert vm["metadata"]["ownerReferences"] == [{
        "apiVersion": "pool.kubevirt.io/v1beta1", "kind": "VirtualMachinePool", "name": "web",
        "uid": UID, "controller": True, "blockOwnerDeletion": True}]
    assert vm["spec"]["runStrategy"] == "Always"
    assert vm["spec"]["template"]["metadata"]["labels"] == {"kubevirt.io/domain": "web"}


ROOT_DVT = {"metadata": {"name": "root", "labels": {"disk": "root"}},
            "spec": {"source": {"http": {"url": "http://img/disk.qcow2", "secretRef": "creds"}},
                     "storage": {"resources": {"requests": {"storage": "10Gi"}}}}}
DATA_DVT = {"metadata": {"name": "data"},
            "spec": {"source": {"blank": {}},
                     "pvc": {"accessModes": ["ReadWriteMany"],
                             "resources": {"requests": {"storage": "1Gi"}}}}}
VOLUMES = [{"name": "rootdisk", "dataVolume": {"name": "root"}},
           {"name": "datadisk", "persistentVolumeClaim": {"claimName": "data", "readOnly": True}},
           {"name": "scratch", "ephemeral": {"persistentVolumeClaim": {"claimName": "root"}}},
           {"name": "shared", "persistentVolumeClaim": {"claimName": "shared-claim"}}]


def test_one_pvc_per_vm_per_data_volume_template() -> None:
    """Each dataVolumeTemplate becomes PVC `<template>-<vm>` owned by the pool; volumes name it."""
    p = plan(pool(2, dvts=[ROOT_DVT, DATA_DVT], volumes=VOLUMES), [], [])
    assert names(p.create_pvcs) == ["root-web-0", "data-web-0", "root-web-1", "data-web-1"]
    vm = p.create[1]
    assert "dataVolumeTemplates" not in vm["spec"]
    assert vm["spec"]["template"]["spec"]["volumes"] == [
        {"name": "rootdisk", "persistentVolumeClaim": {"claimName": "root-web-1"}},
        {"name": "datadisk", "persistentVolumeClaim": {"claimName": "data-web-1", "readOnly": True}},
        {"name": "scratch", "ephemeral": {"persistentVolumeClaim": {"claimName": "root-web-1"}}},
        {"name": "shared", "persistentVolumeClaim": {"claimName": "shared-claim"}}]


def test_pvc_manifest_from_storage_and_pvc_specs() -> None:
    """storage gets ReadWriteOnce by default, pvc is copied; the source becomes CDI's annotations."""
    root, data = plan(pool(1, dvts=[ROOT_DVT, DATA_DVT], volumes=VOLUMES), [], []).create_pvcs
    assert root == {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "root-web-0", "namespace": "ns", "labels": {"disk": "root"},
                     "ownerReferences": [{"apiVersion": "pool.kubevirt.io/v1beta1",
                                          "kind": "VirtualMachinePool", "name": "web", "uid": UID,
                                          "controller": True, "blockOwnerDeletion": True}],
                     "annotations": {"cdi.kubevirt.io/storage.import.source": "http",
                                     "cdi.kubevirt.io/storage.import.endpoint": "http://img/disk.qcow2",
                                     "cdi.kubevirt.io/storage.import.secretName": "creds"}},
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "10Gi"}}}}
    assert data["spec"] == DATA_DVT["spec"]["pvc"]
    assert data["metadata"]["annotations"] == {"cdi.kubevirt.io/storage.import.source": "none"}


@pytest.mark.parametrize("source,annotations", [
    ({"registry": {"url": "docker://quay.io/x"}},
     {"cdi.kubevirt.io/storage.import.source": "registry",
      "cdi.kubevirt.io/storage.import.endpoint": "docker://quay.io/x"}),
    ({"pvc": {"name": "golden"}}, {"k8s.io/CloneRequest": "ns/golden"}),
    ({"pvc": {"namespace": "images", "name": "golden"}}, {"k8s.io/CloneRequest": "images/golden"}),
    ({"upload": {}}, {"cdi.kubevirt.io/storage.upload.target": ""}),
])
def test_pvc_source_annotations(source: dict, annotations: dict) -> None:
    """Registry imports, clones and uploads get CDI's annotations."""
    dvt = {"metadata": {"name": "d"}, "spec": {"source": source, "storage": {}}}
    claim = plan(pool(1, dvts=[dvt]), [], []).create_pvcs[0]
    assert claim["metadata"]["annotations"] == annotations


def test_existing_pvcs_are_reused_and_missing_ones_recreated() -> None:
    """A PVC that exists is not created again; a live VM's missing claim is created."""
    vms = [owned_vm("web-0", claims=("root-web-0",)), owned_vm("web-1", claims=("root-web-1",))]
    p = plan(pool(3, dvts=[ROOT_DVT], volumes=VOLUMES[:1]), vms,
             [pvc("root-web-0"), pvc("root-web-2")])
    assert names(p.create) == ["web-2"]
    assert names(p.create_pvcs) == ["root-web-1"]


def test_scale_down_deletes_the_pool_owned_claims_of_deleted_vms() -> None:
    """The deleted VM's claims that the pool owns go with it; foreign claims stay."""
    vms = [owned_vm("web-0", claims=("root-web-0",)),
           owned_vm("web-1", claims=("root-web-1", "data-web-1", "shared-claim"))]
    pvcs = [pvc("root-web-0"), pvc("root-web-1"), pvc("data-web-1"),
            pvc("shared-claim", owner_uid=None)]
    p = plan(pool(1, dvts=[ROOT_DVT, DATA_DVT]), vms, pvcs)
    assert p.delete == ["web-1"]
    assert p.delete_pvcs == ["data-web-1", "root-web-1"]
    assert p.create_pvcs == []


def test_name_generation_indexes_config_map_and_secret_refs() -> None:
    """appendIndexToConfigMapRefs/SecretRefs add `-<index>` to those volume references only when set."""
    volumes = [{"name": "cm", "configMap": {"name": "conf"}},
               {"name": "sec", "secret": {"secretName": "keys"}}]
    both = {"appendIndexToConfigMapRefs": True, "appendIndexToSecretRefs": True}
    vm = plan(pool(3, volumes=volumes, nameGeneration=both), [owned_vm("web-0"), owned_vm("web-1")],
              []).create[0]
    assert vm["spec"]["template"]["spec"]["volumes"] == [
        {"name": "cm", "configMap": {"name": "conf-2"}},
        {"name": "sec", "secret": {"secretName": "keys-2"}}]
    plain = plan(pool(1, volumes=volumes), [], []).create[0]
    assert plain["spec"]["template"]["spec"]["volumes"] == volumes


def test_status_counts_owned_live_vms_and_ready_ones() -> None:
    """status.replicas counts owned VMs not being deleted; readyReplicas those ready; labelSelector is formatted."""
    vms = [owned_vm("web-0"), owned_vm("web-1", ready=False), owned_vm("web-2", deleting=True),
           owned_vm("web-3", owner_uid="other")]
    p = plan(pool(2), vms, [])
    assert p.status == {"replicas": 2, "readyReplicas": 1, "labelSelector": "app=web"}


def test_paused_pool_gets_status_only() -> None:
    """spec.paused: nothing is created or deleted, the status is still computed."""
    p = plan(pool(5, paused=True), [owned_vm("web-0")], [])
    assert (p.create, p.delete) == ([], [])
    assert p.status["replicas"] == 1


@pytest.mark.parametrize("selector,text", [
    ({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2"),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}],
      "matchLabels": {"app": "web"}}, "app=web,tier in (a,b)"),
    ({"matchExpressions": [{"key": "x", "operator": "NotIn", "values": ["1"]},
                           {"key": "w", "operator": "Exists"},
                           {"key": "z", "operator": "DoesNotExist"}]}, "w,x notin (1),!z"),
    ({}, "<none>"),
    (None, "<none>"),
])
def test_format_selector(selector: dict | None, text: str) -> None:
    """labelSelector is metav1.FormatLabelSelector's text, requirements sorted by key."""
    assert format_selector(selector) == text


@pytest.mark.parametrize("selector,labels,matches", [
    ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "y"}, True),
    ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
    ({"matchExpressions": [{"key": "t", "operator": "In", "values": ["a"]}]}, {"t": "a"}, True),
    ({"matchExpressions": [{"key": "t", "operator": "In", "values": ["a"]}]}, {}, False),
    ({"matchExpressions": [{"key": "t", "operator": "NotIn", "values": ["a"]}]}, {}, True),
    ({"matchExpressions": [{"key": "t", "operator": "NotIn", "values": ["a"]}]}, {"t": "a"}, False),
    ({"matchExpressions": [{"key": "t", "operator": "Exists"}]}, {"t": ""}, True),
    ({"matchExpressions": [{"key": "t", "operator": "DoesNotExist"}]}, {"t": ""}, False),
])
def test_selector_matches(selector: dict, labels: dict, matches: bool) -> None:
    """metav1.LabelSelector semantics for matchLabels and each matchExpressions operator."""
    assert selector_matches(selector, labels) is matches


@pytest.mark.parametrize("selector,labels", [
    ({"matchLabels": {"app": "db"}}, None),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["back"]}]}, None),
    ({"matchLabels": {"app": "web"}}, {}),
    ({}, None),
    ({"matchLabels": {}}, None),
])
def test_selector_must_select_the_template(selector: dict, labels: dict | None) -> None:
    """A pool whose selector is empty or misses its template's labels is refused with a typed error."""
    with pytest.raises(PoolSelectorError, match=r"^VirtualMachinePool ns/web: spec.selector"):
        plan(pool(1, selector=selector, labels=labels), [], [])


def test_selector_error_names_both_sides() -> None:
    """The refusal quotes the selector and the template labels."""
    with pytest.raises(PoolSelectorError) as err:
        plan(pool(1, selector={"matchLabels": {"app": "db"}}), [], [])
    assert str(err.value) == ("VirtualMachinePool ns/web: spec.selector (app=db) does not match "
                              "spec.virtualMachineTemplate.metadata.labels (app=web,tier=front)")


def test_inputs_are_not_mutated() -> None:
    """plan() leaves the pool, VMs and PVCs as they were, and created VMs share nothing with the template."""
    args = (pool(3, dvts=[ROOT_DVT], volumes=VOLUMES, nameGeneration={"appendIndexToSecretRefs": True}),
            [owned_vm("web-5", claims=("root-web-5",))], [pvc("root-web-5")])
    before = copy.deepcopy(args)
    p = plan(*args)
    assert args == before
    p.create[0]["metadata"]["labels"]["changed"] = "1"
    p.create[0]["spec"]["template"]["spec"]["volumes"].clear()
    assert args == before
