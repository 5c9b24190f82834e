"""Fixtures of the handler tests that talk to a real `python -m apiserver` without a node:
one API per test module, the handler's own client to it, and the official client's APIs for
what an administrator or user (kubectl) would do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from handler.client import Client
from tests.integration.apiserver.process import APIProcess, temporary_api


@pytest.fixture(scope="module")
def api() -> Iterator[APIProcess]:
    with temporary_api("vnh-") as proc:
        yield proc


@pytest.fixture(scope="module")
def client(api: APIProcess) -> Iterator[Client]:
    c = Client.from_kubeconfig(str(api.kubeconfig))
    yield c
    c.close()


@pytest.fixture(scope="module")
def kube(api: APIProcess):
    from kubernetes import config

    api_client = config.new_client_from_config(config_file=str(api.kubeconfig))
    yield api_client
    api_client.close()


@pytest.fixture(scope="module")
def core(kube):
    """The official client's CoreV1Api."""
    from kubernetes import client as k8s

    return k8s.CoreV1Api(kube)


@pytest.fixture(scope="module")
def custom(kube):
    """The official client's CustomObjectsApi (VMIs as a user writes them)."""
    from kubernetes import client as k8s

    return k8s.CustomObjectsApi(kube)
