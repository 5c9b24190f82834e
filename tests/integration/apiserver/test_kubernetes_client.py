"""The official `kubernetes` Python client against the embedded API, as against a real cluster."""

from __future__ import annotations

import copy
import json
import os
import stat
import time

import pytest
from kubernetes.client.rest import ApiException

GROUP, VERSION = "kubevirt.io", "v1"


def vm(name: str, labels: dict | None = None) -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {
                "devices": {}, "resources": {"requests": {"memory": "128Mi"}}}}}}}


def custom(kube):
    client, api_client = kube
    return client.CustomObjectsApi(api_client)


def test_create_get_list_replace_delete(kube) -> None:
    api = custom(kube)
    created = api.create_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", vm("crud"))
    assert created["metadata"]["uid"] and created["metadata"]["generation"] == 1
    # admission ran: defaults are in the stored object
    assert created["spec"]["template"]["spec"]["domain"]["machine"]["type"] == "q35"
    got = api.get_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", "crud")
    assert got == created
    listed = api.list_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines")
    assert "crud" in [i["metadata"]["name"] for i in listed["items"]]
    got["spec"]["runStrategy"] = "Always"
    replaced = api.replace_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", "crud", got)
    assert replaced["metadata"]["generation"] == 2
    assert int(replaced["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    api.delete_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", "crud")
    with pytest.raises(ApiException) as gone:
        api.get_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", "crud")
    assert gone.value.status == 404
    assert json.loads(gone.value.body)["message"] == 'virtualmachines.kubevirt.io "crud" not found'


def test_stale_update_is_a_409_conflict(kube) -> None:
    api = custom(kube)
    first = api.create_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", vm("race"))
    stale = copy.deepcopy(first)
    first["metadata"]["labels"] = {"winner": "a"}
    api.replace_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", "race", first)
    stale["metadata"]["labels"] = {"winner": "b"}
    with pytest.raises(ApiException) as conflict:
        api.replace_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", "race", stale)
    assert conflict.value.status == 409
    assert "the object has been modified" in conflict.value.body


def test_invalid_object_is_a_422_naming_each_field(kube) -> None:
    bad = vm("bad")
    bad["spec"]["running"] = True
    bad["spec"]["template"]["spec"]["domain"]["devices"] = {"disks": [{"name": "d", "disk": {"bus": "ide"}}]}
    with pytest.raises(ApiException) as invalid:
        custom(kube).create_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", bad)
    assert invalid.value.status == 422
    assert "spec.running" in invalid.value.body
    assert "spec.template.spec.domain.devices.disks[0].disk.bus" in invalid.value.body


def test_label_and_field_selectors(kube) -> None:
    api = custom(kube)
    api.create_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", vm("sel-a", {"tier": "web"}))
    api.create_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", vm("sel-b", {"tier": "db"}))
    web = api.list_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", label_selector="tier=web")
    assert [i["metadata"]["name"] for i in web["items"]] == ["sel-a"]
    some = api.list_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines",
                                             label_selector="tier in (web,db),tier!=web")
    assert [i["metadata"]["name"] for i in some["items"]] == ["sel-b"]
    named = api.list_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines",
                                              field_selector="metadata.name=sel-b")
    assert [i["metadata"]["name"] for i in named["items"]] == ["sel-b"]


def test_status_subresource(kube) -> None:
    api = custom(kube)
    api.create_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", vm("st"))
    patched = api.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", "virtualmachines", "st",
        {"status": {"printableStatus": "Stopped", "ready": False}})
    assert patched["status"]["printableStatus"] == "Stopped"
    # a write to the main resource cannot change status, nor can a status write change spec
    current = api.get_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", "st")
    current["status"] = {"printableStatus": "Running"}
    updated = api.replace_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", "st", current)
    assert updated["status"]["printableStatus"] == "Stopped"
    spec_try = api.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", "virtualmachines", "st", {"spec": {"runStrategy": "Always"}})
    assert spec_try["spec"]["runStrategy"] == "Halted"


def test_watch_resumes_from_a_resource_version(kube) -> None:
    from kubernetes import watch

    api = custom(kube)
    start = api.list_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines")
    rv = start["metadata"]["resourceVersion"]
    api.create_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", vm("w1"))
    api.create_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", vm("w2"))
    seen = []
    w = watch.Watch()
    for event in w.stream(api.list_namespaced_custom_object, GROUP, VERSION, "default",
                          "virtualmachines", resource_version=rv, timeout_seconds=5):
        seen.append((event["type"], event["object"]["metadata"]["name"]))
        if len(seen) == 2:
            last_rv = event["object"]["metadata"]["resourceVersion"]
            w.stop()
    assert seen == [("ADDED", "w1"), ("ADDED", "w2")]
    api.delete_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", "w1")
    resumed = []
    w = watch.Watch()
    for event in w.stream(api.list_namespaced_custom_object, GROUP, VERSION, "default",
                          "virtualmachines", resource_version=last_rv, timeout_seconds=5):
        resumed.append((event["type"], event["object"]["metadata"]["name"]))
        w.stop()
    assert resumed == [("DELETED", "w1")]


def test_watch_from_a_compacted_version_is_410_gone(kube) -> None:
    api = custom(kube)
    for i in range(60):  # the module's API keeps 50 writes
        api.create_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", vm(f"churn-{i}"))
    with pytest.raises(ApiException) as gone:
        from kubernetes import watch

        for _ in watch.Watch().stream(api.list_namespaced_custom_object, GROUP, VERSION, "default",
                                      "virtualmachines", resource_version="2", timeout_seconds=5):
            pass
    assert gone.value.status == 410


def test_cascading_delete_removes_dependents(kube) -> None:
    api = custom(kube)
    owner = api.create_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", vm("owner"))
    vmi = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
           "metadata": {"name": "owner", "ownerReferences": [{
               "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "name": "owner",
               "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]},
           "spec": {"domain": {"devices": {}, "resources": {"requests": {"memory": "128Mi"}}}}}
    api.create_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachineinstances", vmi)
    api.delete_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", "owner")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        names = [i["metadata"]["name"] for i in api.list_namespaced_custom_object(
            GROUP, VERSION, "default", "virtualmachineinstances")["items"]]
        if "owner" not in names:
            break
        time.sleep(0.1)
    assert "owner" not in names


def test_core_kinds_namespaces_nodes_events(kube) -> None:
    client, api_client = kube
    core = client.CoreV1Api(api_client)
    assert "default" in [n.metadata.name for n in core.list_namespace().items]
    node = core.create_node({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a",
                             "labels": {"kubevirt.io/schedulable": "true"}}})
    assert node.metadata.name == "node-a"
    core.patch_node("node-a", {"spec": {"unschedulable": True}})  # what kubectl cordon sends
    assert core.read_node("node-a").spec.unschedulable is True
    core.create_namespaced_event("default", {"apiVersion": "v1", "kind": "Event",
                                             "metadata": {"name": "e1"}, "reason": "Created",
                                             "involvedObject": {"kind": "VirtualMachine", "name": "x"}})
    assert [e.reason for e in core.list_namespaced_event("default").items] == ["Created"]


def test_unauthenticated_requests_get_401(api) -> None:
    import ssl
    import urllib.request

    ctx = ssl.create_default_context(cafile=str(api.state_dir / "pki" / "ca.crt"))
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(f"{api.url}/apis/kubevirt.io/v1/virtualmachines", context=ctx, timeout=10)
    assert denied.value.code == 401
    assert urllib.request.urlopen(f"{api.url}/healthz", context=ctx, timeout=10).read() == b"ok"


def test_state_files_are_private(api) -> None:
    assert stat.S_IMODE(os.stat(api.state_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(api.kubeconfig).st_mode) == 0o600
    for name in ("state.db", "tokens.csv"):
        assert stat.S_IMODE(os.stat(api.state_dir / name).st_mode) & 0o077 == 0, name
