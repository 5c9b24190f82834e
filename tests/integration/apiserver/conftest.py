"""A real embedded API process per test module, reached over HTTPS on 127.0.0.1."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.apiserver.process import APIProcess


@pytest.fixture(scope="module")
def api() -> Iterator[APIProcess]:
    work = Path(tempfile.mkdtemp(prefix="vna-"))
    proc = APIProcess(work / "state", ["--compaction-keep", "50"])
    yield proc
    proc.stop()
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def kube(api: APIProcess):
    """The official kubernetes client, configured from the embedded node's kubeconfig."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(api.kubeconfig))
    yield client, api_client
    api_client.close()
