"""Debian's kubectl (package kubernetes-client), unpacked for the tests, never installed.

Owns one thing: a copy of the kubectl that Debian bookworm ships (1.20) under
`.cache/kubectl/<package version>/kubectl`, fetched with `apt-get download` and
unpacked with `dpkg-deb -x`, so the kubectl tests run against it even on a
machine whose PATH has another kubectl (these machines carry Google Cloud SDK's
1.29 at /usr/bin/kubectl, which a `kubernetes-client` install would conflict
with). `make install` runs `python -m tests.debian_kubectl`; tests call ensure().
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "kubectl"
PACKAGE = "kubernetes-client"


class KubectlUnavailable(RuntimeError):
    """Debian's kubectl could not be fetched (no apt index, no network)."""


def candidate_version() -> str:
    out = subprocess.run(["apt-cache", "policy", PACKAGE], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith("Candidate:"):
            version = line.split(":", 1)[1].strip()
            if version and version != "(none)":
                return version
    raise KubectlUnavailable(f"apt knows no candidate for {PACKAGE}; run apt-get update")


def ensure() -> Path:
    """The path of Debian's kubectl, fetching and unpacking it once."""
    version = candidate_version()
    target = CACHE / version.replace(":", "_") / "kubectl"
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory(prefix="kubectl-") as work:
        fetched = subprocess.run(["apt-get", "download", f"{PACKAGE}={version}"], cwd=work,
                                 capture_output=True, text=True)
        if fetched.returncode != 0:
            raise KubectlUnavailable(f"apt-get download {PACKAGE}={version} failed: "
                                     f"{fetched.stderr.strip()[-300:]}")
        deb = next(Path(work).glob("*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(Path(work) / "root")], check=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copy2(Path(work) / "root" / "usr" / "bin" / "kubectl", partial)
        partial.rename(target)
    return target


def main() -> int:
    try:
        path = ensure()
    except KubectlUnavailable as e:
        print(f"install: {e}", file=sys.stderr)
        return 1
    print(f"install: Debian's kubectl at {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
