"""Who may call the embedded API, over real HTTPS: tokens, client certificates, roles, file modes.

One API process for the module, started after its token file and bindings are
written (mode 0600): `viewer` is bound to kubevirt.io:view, `editor` to
kubevirt.io:edit, the group `lab` to kubevirt.io:view. Requests use only the
standard library (http.client with a context that trusts `pki/ca.crt`), so what
is tested is the server, not a client library's handling of credentials.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import ssl
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiserver.certs import ensure_pki
from tests.integration.apiserver.process import APIProcess

VMS = "/apis/kubevirt.io/v1/namespaces/default/virtualmachines"
NODES = "/api/v1/nodes"
TOKENS = {"viewer": "viewer-token-0123456789", "editor": "editor-token-0123456789"}


def vm(name: str) -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
            "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {
                "devices": {}, "resources": {"requests": {"memory": "128Mi"}}}}}}}


NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "sneaky-node"}}


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


@pytest.fixture(scope="module")
def api() -> Iterator[APIProcess]:
    work = Path(tempfile.mkdtemp(prefix="vna-authz-"))
    state = work / "state"
    state.mkdir(mode=0o700)
    write_private(state / "tokens.csv", "".join(f"{token},{user},uid-{user}\n" for user, token in TOKENS.items()))
    write_private(state / "bindings.yaml",
                  "- role: kubevirt.io:view\n  users: [viewer]\n  groups: [lab]\n"
                  "- role: kubevirt.io:edit\n  users: [editor]\n")
    proc = APIProcess(state)
    yield proc
    proc.stop()
    shutil.rmtree(work, ignore_errors=True)


def request(api: APIProcess, method: str, path: str, body: dict | None = None, token: str | None = None,
            cert: tuple[Path, Path] | None = None) -> tuple[int, dict]:
    ctx = ssl.create_default_context(cafile=str(api.state_dir / "pki" / "ca.crt"))
    if cert is not None:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    conn = http.client.HTTPSConnection("127.0.0.1", api.port, context=ctx, timeout=10)
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def assert_status(got: tuple[int, dict], code: int, reason: str, message: str | None = None) -> None:
    status, body = got
    assert status == code, body
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == code
    assert body["reason"] == reason
    if message is not None:
        assert body["message"] == message


def test_unauthenticated_requests_are_401(api: APIProcess) -> None:
    """No credentials, or an unknown token, is 401 Unauthorized with a Status body."""
    assert_status(request(api, "GET", VMS), 401, "Unauthorized")
    assert_status(request(api, "GET", VMS, token="not-a-token"), 401, "Unauthorized")
    assert_status(request(api, "POST", VMS, vm("anon")), 401, "Unauthorized")
    assert_status(request(api, "GET", "/apis"), 401, "Unauthorized")


def test_health_and_version_need_no_credentials(api: APIProcess) -> None:
    """Health and /version are public, as in Kubernetes."""
    assert request(api, "GET", "/version")[0] == 200


def test_viewer_reads_but_cannot_write(api: APIProcess) -> None:
    """kubevirt.io:view lists VMs; its create is 403 with kube-apiserver's message."""
    status, body = request(api, "GET", VMS, token=TOKENS["viewer"])
    assert status == 200 and body["kind"] == "VirtualMachineList"
    assert_status(request(api, "POST", VMS, vm("by-viewer"), token=TOKENS["viewer"]), 403, "Forbidden",
                  'virtualmachines.kubevirt.io is forbidden: User "viewer" cannot create resource '
                  '"virtualmachines" in API group "kubevirt.io" in the namespace "default"')
    assert_status(request(api, "DELETE", VMS + "/anything", token=TOKENS["viewer"]), 403, "Forbidden",
                  'virtualmachines.kubevirt.io "anything" is forbidden: User "viewer" cannot delete '
                  'resource "virtualmachines" in API group "kubevirt.io" in the namespace "default"')


def test_editor_writes_vms_but_not_nodes(api: APIProcess) -> None:
    """kubevirt.io:edit creates VMs; creating a Node is 403 at the cluster scope."""
    status, body = request(api, "POST", VMS, vm("by-editor"), token=TOKENS["editor"])
    assert status == 201, body
    assert body["metadata"]["name"] == "by-editor"
    assert_status(request(api, "POST", NODES, NODE, token=TOKENS["editor"]), 403, "Forbidden",
                  'nodes is forbidden: User "editor" cannot create resource "nodes" in API group "" '
                  'at the cluster scope')


def test_client_certificate_from_our_ca_authenticates_its_user(api: APIProcess, tmp_path: Path) -> None:
    """A certificate issued by the API's CA is its CN (user) and O (groups)."""
    pki = ensure_pki(api.state_dir)
    for user, groups in (("carol", ()), ("dave", ("lab",))):
        crt, key = pki.issue_client_cert(user, groups, days=1)
        (tmp_path / f"{user}.crt").write_bytes(crt)
        write_private(tmp_path / f"{user}.key", key.decode())
    carol = (tmp_path / "carol.crt", tmp_path / "carol.key")
    # authenticated (not 401) as carol, who has no binding
    assert_status(request(api, "GET", VMS, cert=carol), 403, "Forbidden",
                  'virtualmachines.kubevirt.io is forbidden: User "carol" cannot list resource '
                  '"virtualmachines" in API group "kubevirt.io" in the namespace "default"')
    dave = (tmp_path / "dave.crt", tmp_path / "dave.key")
    assert request(api, "GET", VMS, cert=dave)[0] == 200       # group lab → view
    assert_status(request(api, "POST", VMS, vm("by-dave"), cert=dave), 403, "Forbidden")
    # the admin certificate the API wrote works the same way
    admin = (api.state_dir / "pki" / "admin.crt", api.state_dir / "pki" / "admin.key")
    assert request(api, "POST", NODES, NODE, cert=admin)[0] == 201


def test_client_certificate_from_a_foreign_ca_is_refused(api: APIProcess, tmp_path: Path) -> None:
    """A look-alike admin certificate (same names, another CA) gets no access at all."""
    foreign = ensure_pki(tmp_path / "elsewhere")
    cert = (foreign.admin_cert, foreign.admin_key)
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)) as refused:
        request(api, "GET", VMS, cert=cert)
    # TLS 1.3: the server's alert arrives on the client's first read, or the socket is reset
    if isinstance(refused.value, ssl.SSLError):
        assert "UNKNOWN_CA" in str(refused.value), refused.value
    # the server still serves everyone else
    assert request(api, "GET", VMS, token=TOKENS["viewer"])[0] == 200


def test_token_file_changes_apply_and_a_loose_one_fails_closed(api: APIProcess) -> None:
    """A token added later works without a restart; a token file readable by others disables
    every token until it is 0600 again."""
    tokens = api.state_dir / "tokens.csv"
    original = tokens.read_text()
    try:
        write_private(tokens, original + "late-token-0123456789,late,uid-late,lab\n")
        assert request(api, "GET", VMS, token="late-token-0123456789")[0] == 200
        os.chmod(tokens, 0o644)
        assert_status(request(api, "GET", VMS, token=TOKENS["viewer"]), 401, "Unauthorized")
        os.chmod(tokens, 0o600)
        assert request(api, "GET", VMS, token=TOKENS["viewer"])[0] == 200
    finally:
        write_private(tokens, original)


def test_state_files_are_private(api: APIProcess) -> None:
    """The state directory is 0700 and nothing in it is readable by group or others."""
    state = api.state_dir
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "kubeconfig").stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "tokens.csv").stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "pki").stat().st_mode) == 0o700
    for key in ("ca.key", "apiserver.key", "admin.key"):
        assert stat.S_IMODE((state / "pki" / key).stat().st_mode) == 0o600, key
    loose = []
    for root, dirs, files in os.walk(state):
        for name in dirs + files:
            path = Path(root) / name
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & 0o077 and not name.endswith(".crt"):    # certificates are public
                loose.append(f"{path.relative_to(state)} {mode:04o}")
    assert not loose, loose
