"""Kubeconfig files: writing the embedded node's, and finding the one to use.

Owns the kubeconfig virtctl writes for the embedded API (`<state>/kubeconfig`: the CA and the
admin client certificate inlined as base64 `*-data`, mode 0600, written atomically) and the
lookup order every virtctl command uses, kubectl's plus the embedded node:
`--kubeconfig`, then the first existing entry of `$KUBECONFIG`, then `<state>/kubeconfig`, then
`~/.kube/config`. Nothing here talks to an API server or reads certificates' contents.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import yaml

KUBECONFIG = "kubeconfig"
ROOT_STATE_DIR = Path("/var/lib/virtnode")


def default_state_dir() -> Path:
    """The embedded node's state directory for the user running this.

    root: /var/lib/virtnode; others: $XDG_STATE_HOME/virtnode (when set to an absolute path, as
    the XDG spec requires) or ~/.local/state/virtnode.
    """
    if os.geteuid() == 0:
        return ROOT_STATE_DIR
    xdg = os.environ.get("XDG_STATE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "virtnode"
    return Path.home() / ".local" / "state" / "virtnode"


def find_kubeconfig(explicit: str | None) -> Path | None:
    """The kubeconfig to use, like kubectl, or None when there is none.

    An explicit path (--kubeconfig) is returned even when it does not exist, so that the caller
    reports that file rather than silently talking to another cluster.
    """
    if explicit:
        return Path(explicit).expanduser()
    for entry in os.environ.get("KUBECONFIG", "").split(os.pathsep):
        if entry and Path(entry).expanduser().is_file():
            return Path(entry).expanduser()
    for candidate in (default_state_dir() / KUBECONFIG, Path.home() / ".kube" / "config"):
        if candidate.is_file():
            return candidate
    return None


def render_kubeconfig(server_url: str, ca_pem: bytes | str, client_cert_pem: bytes | str,
                      client_key_pem: bytes | str, context: str = "virtnode") -> dict:
    """The kubeconfig document: one cluster, one user and one context, all named `context`."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": context, "cluster": {
            "server": server_url,
            "certificate-authority-data": _b64(ca_pem),
        }}],
        "users": [{"name": context, "user": {
            "client-certificate-data": _b64(client_cert_pem),
            "client-key-data": _b64(client_key_pem),
        }}],
        "contexts": [{"name": context, "context": {
            "cluster": context, "user": context, "namespace": "default",
        }}],
        "current-context": context,
    }


def write_kubeconfig(path: Path | str, server_url: str, ca_pem: bytes | str,
                     client_cert_pem: bytes | str, client_key_pem: bytes | str,
                     context: str = "virtnode") -> Path:
    """Write a kubeconfig for `server_url` atomically, mode 0600; its directory is created 0700.

    A directory that already exists keeps its mode. Returns the path written.
    """
    path = Path(path).expanduser()
    if not path.parent.is_dir():
        path.parent.mkdir(mode=0o700, parents=True)
        os.chmod(path.parent, 0o700)         # the umask does not get a say
    doc = render_kubeconfig(server_url, ca_pem, client_cert_pem, client_key_pem, context)
    _write_atomic(path, yaml.safe_dump(doc, sort_keys=False).encode(), 0o600)
    return path


def _b64(pem: bytes | str) -> str:
    data = pem.encode() if isinstance(pem, str) else pem
    return base64.b64encode(data).decode("ascii")


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write `data` to a new file beside `path` with `mode`, fsync it, and rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
