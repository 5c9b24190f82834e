"""virtctl.kubeconfig: the embedded node's kubeconfig and how virtctl finds one."""

from __future__ import annotations

import json
import os
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from apiserver.certs import ensure_pki
from virtctl import kubeconfig
from virtctl.kubeconfig import default_state_dir, find_kubeconfig, write_kubeconfig


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def pki(tmp_path: Path):
    return ensure_pki(tmp_path / "state")


def test_official_client_loads_it_and_the_file_is_private(tmp_path: Path, pki) -> None:
    """kubernetes.config.load_kube_config reads host, CA, client cert and key; file 0600, dir 0700."""
    path = tmp_path / "new" / "dir" / "kubeconfig"
    ca, cert, key = pki.ca_cert.read_bytes(), pki.admin_cert.read_bytes(), pki.admin_key.read_bytes()
    assert write_kubeconfig(path, "https://127.0.0.1:6443", ca, cert, key) == path
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(path), client_configuration=cfg)
    assert cfg.host == "https://127.0.0.1:6443"
    assert Path(cfg.ssl_ca_cert).read_bytes() == ca
    assert Path(cfg.cert_file).read_bytes() == cert
    assert Path(cfg.key_file).read_bytes() == key
    doc = yaml.safe_load(path.read_text())
    assert doc["current-context"] == "virtnode"
    assert doc["contexts"][0]["context"] == {"cluster": "virtnode", "user": "virtnode",
                                             "namespace": "default"}
    assert not list(path.parent.glob(".*.tmp"))


def test_rewrite_replaces_a_loose_file_and_keeps_context_name(tmp_path: Path) -> None:
    """Writing over an existing 0644 file leaves a 0600 one; str PEMs and custom contexts work."""
    path = tmp_path / "kubeconfig"
    path.write_text("old")
    os.chmod(path, 0o644)
    write_kubeconfig(path, "https://[::1]:6443", "CA", "CERT", "KEY", context="lab")
    assert mode(path) == 0o600
    doc = yaml.safe_load(path.read_text())
    assert doc["current-context"] == "lab"
    assert doc["clusters"][0]["cluster"]["certificate-authority-data"] == "Q0E="
    assert doc["users"][0]["user"]["client-key-data"] == "S0VZ"


class _VersionHandler(BaseHTTPRequestHandler):
    peers: list = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.peers.append(self.connection.getpeercert())
        body = json.dumps({"major": "1", "minor": "30", "gitVersion": "v1.30.0-virtnode",
                           "gitCommit": "0", "gitTreeState": "clean", "buildDate": "",
                           "goVersion": "", "compiler": "cpython",
                           "platform": "linux/amd64"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_official_client_talks_mutual_tls_with_it(tmp_path: Path, pki) -> None:
    """With the written kubeconfig the kubernetes client verifies the server and presents the
    admin certificate."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _VersionHandler)
    server.socket = pki.server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        path = write_kubeconfig(tmp_path / "kubeconfig", f"https://localhost:{server.server_port}",
                                pki.ca_cert.read_bytes(), pki.admin_cert.read_bytes(),
                                pki.admin_key.read_bytes())
        api = config.new_client_from_config(config_file=str(path))
        _VersionHandler.peers = []
        info = client.VersionApi(api).get_code(_request_timeout=5)
        assert info.git_version == "v1.30.0-virtnode"
        assert (("commonName", "virtnode-admin"),) in _VersionHandler.peers[0]["subject"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_default_state_dir(monkeypatch, tmp_path: Path) -> None:
    """root: /var/lib/virtnode; others: $XDG_STATE_HOME/virtnode, else ~/.local/state/virtnode."""
    monkeypatch.setattr(kubeconfig.os, "geteuid", lambda: 0)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == Path("/var/lib/virtnode")
    monkeypatch.setattr(kubeconfig.os, "geteuid", lambda: 1000)
    assert default_state_dir() == tmp_path / "xdg" / "virtnode"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", "relative/is/ignored")
    assert default_state_dir() == tmp_path / "home" / ".local" / "state" / "virtnode"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_state_dir() == tmp_path / "home" / ".local" / "state" / "virtnode"


def test_find_kubeconfig_order(monkeypatch, tmp_path: Path) -> None:
    """--kubeconfig, then the first existing $KUBECONFIG entry, then the embedded node's, then
    ~/.kube/config, then None."""
    home = tmp_path / "home"
    monkeypatch.setattr(kubeconfig.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    assert find_kubeconfig(None) is None

    kube = home / ".kube" / "config"
    kube.parent.mkdir(parents=True)
    kube.write_text("{}")
    assert find_kubeconfig(None) == kube

    embedded = tmp_path / "state" / "virtnode" / "kubeconfig"
    embedded.parent.mkdir(parents=True)
    embedded.write_text("{}")
    assert find_kubeconfig(None) == embedded

    first, second = tmp_path / "a", tmp_path / "b"
    second.write_text("{}")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(["", str(first), str(second)]))
    assert find_kubeconfig(None) == second
    first.write_text("{}")
    assert find_kubeconfig(None) == first

    assert find_kubeconfig(str(tmp_path / "missing")) == tmp_path / "missing"
    assert find_kubeconfig("~/x") == home / "x"
