"""Running the embedded API as a real process for tests: start, kill -9, restart."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


class APIProcess:
    def __init__(self, state_dir: Path, extra: list[str] | None = None, port: int = 0) -> None:
        self.state_dir = state_dir
        self.kubeconfig = state_dir / "kubeconfig"
        self.log_path = state_dir.parent / f"{state_dir.name}.log"
        self.extra = extra or []
        self.start(port)

    def start(self, port: int = 0) -> None:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "apiserver", "--state-dir", str(self.state_dir), "--port", str(port),
             *self.extra], cwd=REPO, stdout=subprocess.PIPE, stderr=self._log, text=True)
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline and not line.startswith("ready "):
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                raise AssertionError(f"apiserver exited: {self.log_path.read_text()[-3000:]}")
        assert line.startswith("ready "), self.log_path.read_text()[-3000:]
        self.url = line.split()[1]
        self.port = int(self.url.rsplit(":", 1)[1])

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill(signal.SIGTERM)



@contextmanager
def temporary_api(prefix: str, extra: list[str] | None = None) -> Iterator[APIProcess]:
    """An API server on a state directory of its own, stopped and removed afterwards."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    proc = APIProcess(work / "state", extra)
    try:
        yield proc
    finally:
        proc.stop()
        shutil.rmtree(work, ignore_errors=True)


def kubectl(api: APIProcess, *args: str, input: str | None = None, timeout: float = 30):
    env = {**os.environ, "KUBECONFIG": str(api.kubeconfig)}
    return subprocess.run(["kubectl", *args], input=input, capture_output=True, text=True,
                          env=env, timeout=timeout)
