"""The pool controller keeps a VirtualMachinePool's VMs and their PVCs, against a real API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.controller.conftest import FAST_ELECTION, ControllerProcess, wait_for

NS = "default"
POOL_GROUP, POOL_VERSION = "pool.kubevirt.io", "v1beta1"


@pytest.fixture(scope="module", autouse=True)
def controller(api) -> Iterator[ControllerProcess]:
    proc = ControllerProcess(api, "pools", [*FAST_ELECTION, "--scheduler", "off"])
    yield proc
    assert proc.kill(15) == 0, proc.log()[-3000:]


def pool_manifest(name: str, replicas: int, labels: dict | None = None) -> dict:
    labels = labels or {"app": name}
    return {"apiVersion": f"{POOL_GROUP}/{POOL_VERSION}", "kind": "VirtualMachinePool",
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "virtualMachineTemplate": {
                         "metadata": {"labels": labels},
                         "spec": {"runStrategy": "Halted",
                                  "dataVolumeTemplates": [{"metadata": {"name": "root"}, "spec": {
                                      "source": {"blank": {}},
                                      "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}],
                                  "template": {"spec": {
                                      "domain": {"devices": {"disks": [{"name": "root", "disk": {}}]},
                                                 "resources": {"requests": {"memory": "128Mi"}}},
                                      "volumes": [{"name": "root", "dataVolume": {"name": "root"}}]}}}}}}


def vm_names(custom, pool: str) -> list[str]:
    items = custom.list_namespaced_custom_object("kubevirt.io", "v1", NS, "virtualmachines")["items"]
    return sorted(v["metadata"]["name"] for v in items if v["metadata"]["name"].startswith(pool + "-")
                  and not v["metadata"].get("deletionTimestamp"))


def pvc_names(core, pool: str) -> list[str]:
    nodes, _ = core
    return sorted(p.metadata.name for p in nodes.list_namespaced_persistent_volume_claim(NS).items
                  if p.metadata.name.startswith(f"root-{pool}-"))


def pool_status(custom, name: str) -> dict:
    return custom.get_namespaced_custom_object(POOL_GROUP, POOL_VERSION, NS, "virtualmachinepools",
                                               name).get("status") or {}


def test_pool_keeps_its_replicas_and_their_pvcs(custom, core) -> None:
    """3 replicas: 3 VMs with a PVC each; a deleted VM comes back under the lowest free name; scale to 1."""
    custom.create_namespaced_custom_object(POOL_GROUP, POOL_VERSION, NS, "virtualmachinepools",
                                           pool_manifest("web", 3))
    want = ["web-0", "web-1", "web-2"]
    wait_for(lambda: vm_names(custom, "web") == want, what="3 VMs")
    wait_for(lambda: pvc_names(core, "web") == ["root-web-0", "root-web-1", "root-web-2"], what="3 PVCs")
    vm = custom.get_namespaced_custom_object("kubevirt.io", "v1", NS, "virtualmachines", "web-1")
    assert vm["metadata"]["ownerReferences"][0]["kind"] == "VirtualMachinePool"
    assert vm["spec"]["template"]["spec"]["volumes"] == [
        {"name": "root", "persistentVolumeClaim": {"claimName": "root-web-1"}}]
    status = wait_for(lambda: (s := pool_status(custom, "web")).get("replicas") == 3 and s, what="status")
    assert status["readyReplicas"] == 0 and status["labelSelector"] == "app=web"

    old_uid = vm["metadata"]["uid"]
    custom.delete_namespaced_custom_object("kubevirt.io", "v1", NS, "virtualmachines", "web-1")
    wait_for(lambda: custom.get_namespaced_custom_object("kubevirt.io", "v1", NS, "virtualmachines", "web-1")
             ["metadata"]["uid"] != old_uid, what="web-1 recreated")
    assert vm_names(custom, "web") == want

    custom.patch_namespaced_custom_object(POOL_GROUP, POOL_VERSION, NS, "virtualmachinepools", "web",
                                          {"spec": {"replicas": 1}})
    wait_for(lambda: vm_names(custom, "web") == ["web-0"], what="scaled down to web-0")
    wait_for(lambda: pvc_names(core, "web") == ["root-web-0"], what="PVCs of the deleted VMs gone")
    wait_for(lambda: pool_status(custom, "web").get("replicas") == 1, what="status replicas 1")
    events, _ = core
    reasons = {e.reason for e in events.list_namespaced_event(NS).items if e.involved_object.name == "web"}
    assert {"SuccessfulCreate", "SuccessfulDelete"} <= reasons


def test_selector_mismatch_is_reported_not_retried(api, custom, core) -> None:
    """A selector that misses the template's labels: Warning InvalidSelector and ReplicaFailure, no VMs.

    The embedded API's admission refuses such a pool, so the pool reaches the controller (as it
    could on a cluster without our admission) through its cache, changed in place.
    """
    from controller.client import Client
    from controller.events import Recorder
    from controller.poolcontroller import PoolController

    custom.create_namespaced_custom_object(POOL_GROUP, POOL_VERSION, NS, "virtualmachinepools",
                                           pool_manifest("odd", 0))
    wait_for(lambda: pool_status(custom, "odd").get("labelSelector"), what="the running controller's status")
    created = custom.get_namespaced_custom_object(POOL_GROUP, POOL_VERSION, NS, "virtualmachinepools", "odd")
    client = Client.from_kubeconfig(str(api.kubeconfig))
    try:
        ctl = PoolController(client, Recorder(client, host="test"))
        bad = pool_manifest("odd", 2, labels={"app": "other"})
        bad["metadata"] = created["metadata"]
        ctl.pools.get = lambda key: bad if key == f"{NS}/odd" else None
        assert ctl.sync(f"{NS}/odd") is None
    finally:
        client.close()
    status = pool_status(custom, "odd")
    cond = status["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("ReplicaFailure", "True", "InvalidSelector")
    assert "does not match" in cond["message"]
    assert vm_names(custom, "odd") == []
    events, _ = core
    assert "InvalidSelector" in [e.reason for e in events.list_namespaced_event(NS).items
                                 if e.involved_object.name == "odd"]
