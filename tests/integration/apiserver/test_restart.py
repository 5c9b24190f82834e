"""The embedded API after kill -9: nothing it acknowledged is lost, and a watcher resumes.

Each test runs its own API process (the module fixture's process is shared by
other tests and must not be killed), SIGKILLs it with writes acknowledged,
starts it again on the same port from the same state directory, and checks
what a client sees through the official `kubernetes` client.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator

import pytest

from tests.integration.apiserver.process import APIProcess, temporary_api

GROUP, VERSION, PLURAL = "kubevirt.io", "v1", "virtualmachines"


def vm(name: str) -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
            "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {
                "devices": {}, "resources": {"requests": {"memory": "128Mi"}}}}}}}


@pytest.fixture
def api() -> Iterator[APIProcess]:
    with temporary_api("vna-restart-") as proc:
        yield proc


def custom(api: APIProcess):
    """A fresh client: connections pooled by an earlier client died with the killed process."""
    from kubernetes import client, config

    return client.CustomObjectsApi(config.new_client_from_config(config_file=str(api.kubeconfig)))


def restart(api: APIProcess) -> None:
    port = api.port
    api.kill(signal.SIGKILL)
    assert api.proc.returncode == -signal.SIGKILL
    api.start(port)
    assert api.port == port


def test_acknowledged_writes_survive_kill_9(api: APIProcess) -> None:
    """Every create, update and delete the API answered is in its state after SIGKILL and restart."""
    crd = custom(api)
    acked: dict[str, str] = {}
    for i in range(20):
        obj = crd.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, vm(f"k{i}"))
        acked[obj["metadata"]["name"]] = obj["metadata"]["resourceVersion"]
    for i in range(0, 20, 3):
        obj = crd.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, f"k{i}",
                                                 {"metadata": {"labels": {"patched": "yes"}}})
        acked[f"k{i}"] = obj["metadata"]["resourceVersion"]
    crd.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "k1")
    del acked["k1"]
    last_rv = crd.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)["metadata"]["resourceVersion"]

    restart(api)

    crd = custom(api)
    listed = crd.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    found = {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in listed["items"]}
    assert found == acked
    assert int(listed["metadata"]["resourceVersion"]) >= int(last_rv)
    for i in range(0, 20, 3):
        assert found[f"k{i}"] and crd.get_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, f"k{i}")["metadata"]["labels"] == {"patched": "yes"}
    after = crd.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, vm("after"))
    assert int(after["metadata"]["resourceVersion"]) > int(last_rv)


def test_a_watch_resumes_across_kill_9_without_gaps_or_duplicates(api: APIProcess) -> None:
    """A watcher cut off by SIGKILL resumes from its last resourceVersion and gets exactly the
    events written after it: those it missed before the kill and those written after restart."""
    from kubernetes import watch

    crd = custom(api)
    start_rv = crd.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)["metadata"]["resourceVersion"]
    seen: list[tuple[str, str, str]] = []
    three = threading.Event()
    ended: list[BaseException | None] = []

    def watcher() -> None:
        try:
            for event in watch.Watch().stream(
                    custom(api).list_namespaced_custom_object, GROUP, VERSION, "default", PLURAL,
                    resource_version=start_rv, timeout_seconds=30):
                meta = event["object"]["metadata"]
                seen.append((event["type"], meta["name"], meta["resourceVersion"]))
                if len(seen) == 3:
                    three.set()
            ended.append(None)
        except BaseException as e:  # the connection dies with the process
            ended.append(e)

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    acked = []
    for name in ("w0", "w1", "w2"):
        obj = crd.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, vm(name))
        acked.append(("ADDED", name, obj["metadata"]["resourceVersion"]))
    assert three.wait(10), f"the watcher saw only {seen}"
    assert seen == acked
    last_seen = seen[-1][2]

    # written while the watcher is still connected: it may or may not see them before the kill
    missed = []
    obj = crd.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, vm("w3"))
    missed.append(("ADDED", "w3", obj["metadata"]["resourceVersion"]))
    obj = crd.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w0",
                                             {"metadata": {"labels": {"x": "1"}}})
    missed.append(("MODIFIED", "w0", obj["metadata"]["resourceVersion"]))

    restart(api)
    thread.join(10)
    assert not thread.is_alive(), "the watch must end when its server is killed"
    assert seen[:3] == acked and seen[3:] == missed[:len(seen) - 3]

    crd = custom(api)
    after = []
    obj = crd.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, vm("w4"))
    after.append(("ADDED", "w4", obj["metadata"]["resourceVersion"]))
    obj = crd.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w1")
    deleted_rv = crd.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)["metadata"]["resourceVersion"]
    after.append(("DELETED", "w1", deleted_rv))

    expected = missed + after
    resumed: list[tuple[str, str, str]] = []
    w = watch.Watch()
    for event in w.stream(crd.list_namespaced_custom_object, GROUP, VERSION, "default", PLURAL,
                          resource_version=last_seen, timeout_seconds=5):
        meta = event["object"]["metadata"]
        resumed.append((event["type"], meta["name"], meta["resourceVersion"]))
        if len(resumed) == len(expected):
            w.stop()
    assert resumed == expected
    rvs = [int(rv) for _, _, rv in resumed]
    assert rvs == sorted(set(rvs)) and rvs[0] > int(last_seen)
