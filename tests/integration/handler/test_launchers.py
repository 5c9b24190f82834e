"""The handler's launcher client and records: follow a launcher, lose the handler, adopt it again."""

from __future__ import annotations

import shutil
import time

import pytest

from handler.launchers import (
    EventHub,
    LauncherClient,
    LauncherRecord,
    LauncherRegistry,
    LauncherRefusedError,
    WrongLauncherError,
)
from protos.launcher.v1 import domain_pb2
from tests.integration.launcher.process import LauncherProcess, make_vmi, short_dir
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.root, pytest.mark.qemu, pytest.mark.slow]


def test_follow_adopt_and_terminate_a_launcher(guest_images, tmp_path) -> None:
    work = short_dir("vnh-")
    proc = LauncherProcess(work / "vm", guest_images, work / "caps")
    registry = LauncherRegistry(tmp_path / "state")
    hub = EventHub()
    try:
        client = LauncherClient(proc.socket, proc.uid)
        hello = client.handshake(wait=60)
        assert hello.vmi_uid == proc.uid and hello.version == 1
        registry.save(LauncherRecord(proc.uid, "default", "testguest", str(proc.socket),
                                     str(proc.vm_dir), hello.pid, time.time()))

        seen, gone = [], []
        first_watch = hub.follow(client, seen.append)
        started = client.sync(make_vmi(proc.uid), proc.options())
        assert started.started
        wait_for(lambda: any(e.reason == "Started" for e in seen), 30, "a Started event")
        assert seen[0].reason == "Snapshot"

        # The handler restarts: all it has is the record on disk.
        first_watch.stop()
        client.close()
        (record,) = registry.records()
        adopted = LauncherClient(record.socket, record.vmi_uid)
        assert adopted.handshake().pid == record.pid
        hub.follow(adopted, seen.append, on_gone=gone.append)
        status = adopted.domain().status
        assert status.state == domain_pb2.DOMAIN_STATE_RUNNING
        assert status.qemu_pid == started.status.qemu_pid  # the same guest, untouched

        with pytest.raises(WrongLauncherError):
            LauncherClient(record.socket, "another-vmi").handshake()
        assert adopted.pause().status.paused_by_user
        assert adopted.unpause().status.state == domain_pb2.DOMAIN_STATE_RUNNING
        with pytest.raises(LauncherRefusedError) as refused:
            adopted.sync(make_vmi("not-this-vmi"), proc.options())
        assert refused.value.code == "INVALID_ARGUMENT"  # the VMI's uid is not the launcher's

        reply = adopted.terminate(grace=30)
        assert reply.status.state == domain_pb2.DOMAIN_STATE_SHUTOFF
        wait_for(lambda: gone, 30, "the DELETED event after Terminate")
        assert proc.proc.wait(30) == 0
        registry.remove(record.vmi_uid)
        assert registry.records() == []
    finally:
        hub.close()
        proc.close()
        shutil.rmtree(work, ignore_errors=True)
