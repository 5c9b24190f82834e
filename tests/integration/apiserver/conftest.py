"""A real embedded API process per test module, reached over HTTPS on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.apiserver.process import APIProcess, temporary_api


@pytest.fixture(scope="module")
def api() -> Iterator[APIProcess]:
    with temporary_api("vna-", ["--compaction-keep", "50"]) as proc:
        yield proc


@pytest.fixture
def kube(api: APIProcess):
    """The official kubernetes client, configured from the embedded node's kubeconfig."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(api.kubeconfig))
    yield client, api_client
    api_client.close()
