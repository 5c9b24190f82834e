"""The handler's writes against a real `python -m apiserver`: a VMI status write lands on the
VMI it was meant for and never on a successor of the same name; a repeated Event is one Event
with a count, even when the first one has gone meanwhile.

A VM restart deletes its VMI and creates a new one under the same name at once, while the node
still winds the old one down: the old launcher's last events, its exit and the health check
all want to write the old VMI's status. Written by name alone, those words used to land on the
new VMI (Failed `LauncherExited`), and the handler then stopped the new guest it had just booted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from handler import errors
from handler.events import EventRecorder
from handler.vmi import HandlerConfig, VMIHandler
from protos.launcher.v1 import domain_pb2

NODE = "node-s"
pytestmark = [pytest.mark.root]   # the handler's pod network picks a host bridge name


def create(custom, name: str, status: dict | None = None) -> dict:
    body = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"domain": {"devices": {}, "resources": {"requests": {"memory": "64Mi"}}}}}
    created = custom.create_namespaced_custom_object("kubevirt.io", "v1", "default",
                                                     "virtualmachineinstances", body)
    if status is not None:
        created = custom.patch_namespaced_custom_object_status(
            "kubevirt.io", "v1", "default", "virtualmachineinstances", name, {"status": status})
    return created


def read(custom, name: str) -> dict:
    return custom.get_namespaced_custom_object("kubevirt.io", "v1", "default", "virtualmachineinstances", name)


def replace(custom, name: str) -> tuple[dict, dict]:
    """Deletes VMI `name` and creates a new one of that name (what a VM restart does):
    (the old one as last read, the new one)."""
    old = read(custom, name)
    custom.delete_namespaced_custom_object("kubevirt.io", "v1", "default", "virtualmachineinstances", name)
    return old, create(custom, name, {"nodeName": NODE, "phase": "Scheduled"})


def test_a_status_write_sets_the_fields_it_names_and_keeps_the_others(client, custom) -> None:
    vmi = create(custom, "keep", {"nodeName": NODE, "phase": "Scheduled"})
    written = client.patch_vmi_status("default", "keep", vmi["metadata"]["uid"],
                                      {"phase": "Running", "reason": "a/b~c"})
    assert written["status"] == {"nodeName": NODE, "phase": "Running", "reason": "a/b~c"}
    assert read(custom, "keep")["status"]["phase"] == "Running"


def test_a_vmi_without_a_status_gets_a_whole_one(client, custom) -> None:
    vmi = create(custom, "bare")
    assert not vmi.get("status")
    client.patch_vmi_status("default", "bare", vmi["metadata"]["uid"], {"phase": "Scheduled"},
                            has_status=False)
    assert read(custom, "bare")["status"] == {"phase": "Scheduled"}


def test_a_write_for_a_replaced_vmi_is_not_found_and_leaves_its_successor_alone(client, custom) -> None:
    create(custom, "again", {"nodeName": NODE, "phase": "Running"})
    old, new = replace(custom, "again")
    with pytest.raises(errors.NotFoundError, match=old["metadata"]["uid"]):
        client.patch_vmi_status("default", "again", old["metadata"]["uid"],
                                {"phase": "Failed", "reason": "LauncherExited"})
    now = read(custom, "again")
    assert now["metadata"]["uid"] == new["metadata"]["uid"]
    assert now["status"] == {"nodeName": NODE, "phase": "Scheduled"}


@pytest.fixture
def handler(client, tmp_path: Path) -> Iterator[VMIHandler]:
    """A handler of NODE that is not started: its status writes are driven directly."""
    config = HandlerConfig(node=NODE, state_dir=tmp_path / "state", run_dir=tmp_path / "run",
                           accelerator="emulation", pod_bridge="vnstest0", pod_cidr="10.250.7.0/24")
    h = VMIHandler(client, config)
    yield h
    h.hub.close()


def test_the_old_vmis_last_words_never_reach_the_new_one(handler, client, custom, core) -> None:
    """The old launcher's last domain event, its exit (LauncherExited) and a silent spell
    (Unknown) arrive after the VM's VMI was replaced: the new VMI keeps its own status and gets
    no Event of the old one."""
    create(custom, "twin", {"nodeName": NODE, "phase": "Running"})
    old, new = replace(custom, "twin")
    uid = old["metadata"]["uid"]
    handler._vmis[uid] = old   # what the handler knew of the old VMI when it was replaced

    handler._write_status(uid, domain_pb2.DomainStatus(state=domain_pb2.DOMAIN_STATE_SHUTOFF,
                                                       reason="shutdown"))
    handler._launcher_lost(uid, "LauncherExited", "The launcher exited: terminated on request")
    handler._mark_unknown(uid, 12.0)

    now = read(custom, "twin")
    assert now["metadata"]["uid"] == new["metadata"]["uid"]
    assert now["status"] == {"nodeName": NODE, "phase": "Scheduled"}
    assert events_about(core, new["metadata"]["uid"]) == []


def events_about(core, uid: str) -> list:
    return [e for e in core.list_namespaced_event("default").items if e.involved_object.uid == uid]


def test_a_repeated_event_is_one_event_with_a_count_even_after_it_was_deleted(client, custom, core) -> None:
    vmi = create(custom, "noisy", {"nodeName": NODE, "phase": "Running"})
    uid = vmi["metadata"]["uid"]
    recorder = EventRecorder(client, NODE)
    for _ in range(3):
        recorder.record(vmi, "Warning", "SyncFailed", "The disk is missing.")
    [event] = events_about(core, uid)
    assert (event.reason, event.count, event.source.host) == ("SyncFailed", 3, NODE)

    core.delete_namespaced_event(event.metadata.name, "default")   # expired, or removed by hand
    recorder.record(vmi, "Warning", "SyncFailed", "The disk is missing.")
    [again] = events_about(core, uid)
    assert (again.reason, again.count, again.message) == ("SyncFailed", 4, "The disk is missing.")
