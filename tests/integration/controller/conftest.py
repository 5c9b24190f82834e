"""A real embedded API process per test module and `python -m controller` processes against it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.apiserver.process import REPO, APIProcess, temporary_api

GROUP, VERSION = "kubevirt.io", "v1"
FAST_ELECTION = ["--lease-duration", "3", "--renew-deadline", "2", "--retry-period", "0.5"]


class ControllerProcess:
    """One `python -m controller` with its log beside the API's state directory."""

    def __init__(self, api: APIProcess, identity: str, extra: list[str]) -> None:
        self.identity = identity
        self.log_path = api.state_dir.parent / f"controller-{identity}.log"
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "controller", "--kubeconfig", str(api.kubeconfig), "--identity", identity,
             *extra], cwd=REPO, stdout=subprocess.DEVNULL, stderr=self._log)

    def kill(self, sig: int = signal.SIGKILL) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(15)
        self._log.close()
        return rc

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for(fn: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = "") -> Any:
    """Poll fn until it returns something truthy; fail with `what` after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except Exception as exc:  # noqa: BLE001 - an object that is not there yet
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what or fn}: last={last!r}")


@pytest.fixture(scope="module")
def api() -> Iterator[APIProcess]:
    with temporary_api("vnc-") as proc:
        yield proc


@pytest.fixture(scope="module")
def custom(api: APIProcess):
    """The official client's CustomObjectsApi, for what a user or the node's handler would write."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(api.kubeconfig))
    yield client.CustomObjectsApi(api_client)
    api_client.close()


@pytest.fixture(scope="module")
def core(api: APIProcess):
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(api.kubeconfig))
    yield client.CoreV1Api(api_client), client.CoordinationV1Api(api_client)
    api_client.close()


def vm_manifest(name: str, strategy: str | None = "Always", **spec) -> dict:
    if strategy:
        spec["runStrategy"] = strategy
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": name, "labels": {"test": name}},
            "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": {"domain": {
                "devices": {}, "resources": {"requests": {"memory": "128Mi"}}}}}, **spec}}
