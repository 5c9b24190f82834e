"""virtctl against a real embedded API process: `api` per module, `virtctl(...)` runs the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.apiserver.process import REPO, APIProcess, temporary_api

Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="module")
def api() -> Iterator[APIProcess]:
    with temporary_api("vnctl-") as proc:
        yield proc


def run_virtctl(*args: str, kubeconfig: Path | None = None, input: str | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return subprocess.run([sys.executable, "-m", "virtctl", *args], input=input, capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=timeout)


@pytest.fixture
def virtctl(api: APIProcess) -> Run:
    """Runs `virtctl ARGS` with KUBECONFIG pointing at the module's API."""
    return lambda *args, **kw: run_virtctl(*args, kubeconfig=api.kubeconfig, **kw)


@pytest.fixture
def conn(api: APIProcess):
    """virtctl's own cluster client, for arranging objects and reading what commands stored."""
    from virtctl.cluster import connect

    with connect(str(api.kubeconfig)) as c:
        yield c


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout
