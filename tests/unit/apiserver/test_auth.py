"""apiserver.auth: who may call the embedded API, and what they may do."""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import threading
from pathlib import Path

import pytest

from apiserver import auth
from apiserver.auth import AuthConfigError, Authenticator, Authorizer, User
from apiserver.certs import ensure_pki
from apiserver.resources import BY_KEY

VM = BY_KEY["virtualmachines.kubevirt.io"]
VMI = BY_KEY["virtualmachineinstances.kubevirt.io"]
VMIM = BY_KEY["virtualmachineinstancemigrations.kubevirt.io"]
POOL = BY_KEY["virtualmachinepools.pool.kubevirt.io"]
DV = BY_KEY["datavolumes.cdi.kubevirt.io"]
NODE = BY_KEY["nodes"]
NS = BY_KEY["namespaces"]
EVENT = BY_KEY["events"]
LEASE = BY_KEY["leases.coordination.k8s.io"]
PVC = BY_KEY["persistentvolumeclaims"]
ALL = list(BY_KEY.values())


def token_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "tokens.csv"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def peer(cn: str | None, orgs: tuple[str, ...] = (), issuer: str = "virtnode-ca",
         not_after: str = "Jan  1 00:00:00 2999 GMT") -> dict:
    """A peer certificate in ssl.SSLSocket.getpeercert()'s form."""
    subject = tuple((("organizationName", o),) for o in orgs)
    if cn is not None:
        subject += ((("commonName", cn),),)
    return {"subject": subject, "issuer": ((("commonName", issuer),),), "notAfter": not_after,
            "notBefore": "Jan  1 00:00:00 2000 GMT"}


# --- authentication: tokens -------------------------------------------------------------------

def test_bearer_token_from_static_token_file(tmp_path: Path) -> None:
    """A token from the CSV file authenticates its user with its groups (plus system:authenticated)."""
    path = token_file(tmp_path, 'secret-one,alice,1001,"team-a,virtnode:nodes"\n'
                                "\n# a comment\nsecret-two,bob,1002\n")
    authn = Authenticator(path, None)
    assert authn.authenticate("Bearer secret-one", None) == User(
        "alice", ("team-a", "virtnode:nodes", "system:authenticated"), "1001")
    assert authn.authenticate("bearer secret-two", {}) == User("bob", ("system:authenticated",),
                                                                "1002")
    assert authn.authenticate("Bearer secret-three", None) is None
    assert authn.authenticate("Bearer secret", None) is None
    assert authn.authenticate("Basic c2VjcmV0LW9uZQ==", None) is None
    assert authn.authenticate("Bearer ", None) is None
    assert authn.authenticate(None, None) is None


def test_token_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    """A token file with mode 0644 is refused with an error that says how to fix it."""
    path = token_file(tmp_path, "t,alice,1\n", mode=0o644)
    with pytest.raises(AuthConfigError, match=r"mode 0644.*chmod 600"):
        Authenticator(path, None)


def test_malformed_token_line_names_the_line(tmp_path: Path) -> None:
    """A line with too few columns is an error naming the file and line."""
    path = token_file(tmp_path, "t,alice,1\nbroken,line\n")
    with pytest.raises(AuthConfigError, match="line 2"):
        Authenticator(path, None)


def test_duplicate_tokens_are_refused(tmp_path: Path) -> None:
    """Two users with the same token is a configuration error, not a coin toss."""
    with pytest.raises(AuthConfigError, match="duplicate token"):
        Authenticator(token_file(tmp_path, "t,alice,1\nt,bob,2\n"), None)


def test_tokens_compared_in_constant_time_over_every_entry(tmp_path: Path, monkeypatch) -> None:
    """Every entry is compared with hmac.compare_digest; a match does not stop the loop."""
    authn = Authenticator(token_file(tmp_path, "a,alice,1\nb,bob,2\nc,carol,3\n"), None)
    calls = []
    real = auth.hmac.compare_digest
    monkeypatch.setattr(auth.hmac, "compare_digest", lambda x, y: calls.append(1) or real(x, y))
    assert authn.authenticate("Bearer a", None).name == "alice"
    assert len(calls) == 3


def test_token_file_is_reloaded_when_it_changes(tmp_path: Path, caplog) -> None:
    """Editing the token file takes effect; a broken edit serves no tokens and logs an error."""
    path = token_file(tmp_path, "old-token,alice,1\n")
    authn = Authenticator(path, None)
    assert authn.authenticate("Bearer old-token", None) is not None
    path.write_text("new-token-longer,alice,1\n")
    assert authn.authenticate("Bearer old-token", None) is None
    assert authn.authenticate("Bearer new-token-longer", None).name == "alice"
    os.chmod(path, 0o644)
    with caplog.at_level(logging.ERROR, logger="apiserver.auth"):
        assert authn.authenticate("Bearer new-token-longer", None) is None
    assert "chmod 600" in caplog.text


def test_no_token_file_means_no_tokens(tmp_path: Path) -> None:
    """Without a token file (None or not yet created) only certificates authenticate."""
    assert Authenticator(None, None).authenticate("Bearer x", None) is None
    assert Authenticator(tmp_path / "absent.csv", None).authenticate("Bearer x", None) is None


# --- authentication: client certificates ------------------------------------------------------

def test_client_certificate_user_is_cn_and_groups_are_o(tmp_path: Path) -> None:
    """The peer certificate's CN is the user and its O entries the groups."""
    pki = ensure_pki(tmp_path)
    authn = Authenticator(None, pki.ca_cert)
    user = authn.authenticate(None, peer("virtnode-admin", ("virtnode:admins", "ops")))
    assert user == User("virtnode-admin", ("virtnode:admins", "ops", "system:authenticated"))


def test_unusable_client_certificates_do_not_authenticate(tmp_path: Path) -> None:
    """No CN, a foreign issuer or an expired certificate: no user."""
    authn = Authenticator(None, ensure_pki(tmp_path).ca_pem())      # PEM works as well as a path
    assert authn.authenticate(None, peer("ok")) is not None
    assert authn.authenticate(None, peer(None, ("virtnode:admins",))) is None
    assert authn.authenticate(None, peer("mallory", issuer="someone-else")) is None
    assert authn.authenticate(None, peer("old", not_after="Jan  1 00:00:00 2001 GMT")) is None


def test_valid_certificate_wins_over_a_bad_token(tmp_path: Path) -> None:
    """As in kube-apiserver, any authenticator that succeeds decides."""
    authn = Authenticator(token_file(tmp_path, "t,alice,1\n"), ensure_pki(tmp_path).ca_cert)
    assert authn.authenticate("Bearer wrong", peer("bob")).name == "bob"
    assert authn.authenticate("Bearer t", peer(None)).name == "alice"


def test_real_peer_certificate_from_a_tls_handshake(tmp_path: Path) -> None:
    """getpeercert() of a certificate issued by the PKI authenticates as its user and groups."""
    pki = ensure_pki(tmp_path)
    cert_pem, key_pem = pki.issue_client_cert("node-1", ["virtnode:nodes"], days=1)
    (tmp_path / "c.crt").write_bytes(cert_pem)
    (tmp_path / "c.key").write_bytes(key_pem)
    client_ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    client_ctx.load_cert_chain(tmp_path / "c.crt", tmp_path / "c.key")
    a, b = socket.socketpair()
    a.settimeout(5)
    b.settimeout(5)
    seen: dict = {}

    def serve() -> None:
        try:
            with pki.server_context().wrap_socket(a, server_side=True) as tls:
                seen["peer"] = tls.getpeercert()
        except (OSError, ssl.SSLError) as e:
            seen["error"] = e

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with client_ctx.wrap_socket(b, server_hostname="localhost"):
        pass
    thread.join(5)
    assert "error" not in seen, seen
    user = Authenticator(None, pki.ca_cert).authenticate(None, seen["peer"])
    assert user == User("node-1", ("virtnode:nodes", "system:authenticated"))


# --- authorization ----------------------------------------------------------------------------

def bound(tmp_path: Path, role: str) -> tuple[Authorizer, User]:
    path = tmp_path / "bindings.yaml"
    path.write_text(f"- role: {role}\n  users: [alice]\n")
    os.chmod(path, 0o644)
    return Authorizer(path), User("alice", ("system:authenticated",))


def test_unbound_user_gets_kubernetes_forbidden_message(tmp_path: Path) -> None:
    """A user with no binding is denied with kube-apiserver's exact sentence."""
    ok, why = Authorizer().allowed(User("alice"), "create", VM, None, "default")
    assert not ok
    assert why == ('virtualmachines.kubevirt.io is forbidden: User "alice" cannot create resource '
                   '"virtualmachines" in API group "kubevirt.io" in the namespace "default"')


def test_forbidden_message_cluster_scope_subresource_and_name() -> None:
    """Cluster-scoped requests say "at the cluster scope"; a subresource and a name show up."""
    authz = Authorizer()
    assert authz.allowed(User("bob"), "list", NODE, None, None)[1] == (
        'nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the '
        'cluster scope')
    assert authz.allowed(User("bob"), "update", VMI, "status", "ns1", name="vm1")[1] == (
        'virtualmachineinstances.kubevirt.io "vm1" is forbidden: User "bob" cannot update '
        'resource "virtualmachineinstances/status" in API group "kubevirt.io" in the namespace '
        '"ns1"')


def test_view_reads_everything_and_writes_nothing(tmp_path: Path) -> None:
    """kubevirt.io:view: get, list, watch on every served resource but Secrets; no writes."""
    authz, alice = bound(tmp_path, "kubevirt.io:view")
    for res in ALL:
        for verb in auth.READ:
            allowed = authz.allowed(alice, verb, res, None, "default")[0]
            assert allowed == (res.key != "secrets"), (verb, res.key)
        for verb in auth.WRITE:
            assert not authz.allowed(alice, verb, res, None, "default")[0], (verb, res.key)
    assert not authz.allowed(alice, "update", VM, "status", "default")[0]


def test_edit_writes_kubevirt_kinds_but_not_cluster_objects(tmp_path: Path) -> None:
    """kubevirt.io:edit: view plus writes on kubevirt kinds and subresources, events create."""
    authz, alice = bound(tmp_path, "kubevirt.io:edit")
    for res in (VM, VMI, VMIM, POOL, DV):
        for verb in auth.WRITE:
            assert authz.allowed(alice, verb, res, None, "default")[0], (verb, res.key)
        assert authz.allowed(alice, "update", res, "status", "default")[0]
    assert authz.allowed(alice, "patch", POOL, "scale", "default")[0]
    assert authz.allowed(alice, "create", EVENT, None, "default")[0]
    assert authz.allowed(alice, "list", NODE, None, None)[0]
    secret = BY_KEY["secrets"]
    assert authz.allowed(alice, "create", secret, None, "default")[0]
    assert authz.allowed(alice, "get", secret, None, "default")[0]
    for res, verb, sub in ((NS, "create", None), (NODE, "update", None), (NODE, "patch", "status"),
                           (LEASE, "create", None), (EVENT, "delete", None), (PVC, "create", None)):
        assert not authz.allowed(alice, verb, res, sub, "default")[0], (verb, res.key, sub)


def test_admin_may_do_everything(tmp_path: Path) -> None:
    """kubevirt.io:admin: every verb on every resource, including core kinds' status."""
    authz, alice = bound(tmp_path, "kubevirt.io:admin")
    for res in ALL:
        for verb in auth.VERBS:
            assert authz.allowed(alice, verb, res, None, "default")[0], (verb, res.key)
    assert authz.allowed(alice, "update", NODE, "status", None)[0]
    assert authz.allowed(alice, "patch", NS, "status", None)[0]


def test_builtin_admins_group() -> None:
    """The admin client certificate's group virtnode:admins is bound to kubevirt.io:admin."""
    ok, why = Authorizer().allowed(User("virtnode-admin", ("virtnode:admins",)), "create", NS)
    assert ok and "kubevirt.io:admin" in why and 'group "virtnode:admins"' in why


def test_builtin_nodes_group_has_what_a_handler_needs() -> None:
    """virtnode:nodes: its Node and VMIs (with status), events, leases; nothing more."""
    authz, node = Authorizer(), User("node-1", ("virtnode:nodes",))
    for verb, res, sub in (("get", NODE, None), ("watch", NODE, None), ("update", NODE, None),
                           ("patch", NODE, "status"), ("update", NODE, "status"),
                           ("list", VMI, None), ("patch", VMI, None), ("update", VMI, "status"),
                           ("create", EVENT, None), ("patch", EVENT, None),
                           ("create", LEASE, None), ("delete", LEASE, None)):
        assert authz.allowed(node, verb, res, sub, "default")[0], (verb, res.key, sub)
    for verb, res, sub in (("create", VM, None), ("update", VM, None), ("delete", VMI, None),
                           ("create", VMI, None), ("delete", NODE, None), ("create", NS, None),
                           ("delete", EVENT, None), ("create", PVC, None)):
        assert not authz.allowed(node, verb, res, sub, "default")[0], (verb, res.key, sub)


def test_builtin_controllers_group_has_what_the_controller_needs() -> None:
    """virtnode:controllers: all kubevirt kinds, events, leases, PVCs, node updates; no node deletes."""
    authz, ctrl = Authorizer(), User("controller", ("virtnode:controllers",))
    for res in (VM, VMI, VMIM, POOL, DV, EVENT, LEASE, PVC):
        for verb in auth.VERBS:
            assert authz.allowed(ctrl, verb, res, None, "default")[0], (verb, res.key)
    assert authz.allowed(ctrl, "update", VMI, "status", "default")[0]
    assert authz.allowed(ctrl, "patch", NODE, None, None)[0]
    assert not authz.allowed(ctrl, "delete", NODE, None, None)[0]
    assert not authz.allowed(ctrl, "update", NODE, "status", None)[0]
    assert not authz.allowed(ctrl, "create", NS, None, None)[0]


def test_bindings_file_groups_json_and_reload(tmp_path: Path) -> None:
    """bindings.yaml binds groups too, may be JSON, and is re-read when it changes."""
    path = tmp_path / "bindings.yaml"
    path.write_text(json.dumps([{"role": "kubevirt.io:edit", "groups": ["devs"]}]))
    authz = Authorizer(path)
    dev = User("carol", ("devs",))
    assert authz.allowed(dev, "create", VM, None, "default")[0]
    path.write_text(json.dumps({"bindings": [{"role": "kubevirt.io:view", "groups": ["devs"],
                                              "users": []}]}))
    assert not authz.allowed(dev, "create", VM, None, "default")[0]
    assert authz.allowed(dev, "get", VM, None, "default")[0]
    path.unlink()
    assert not authz.allowed(dev, "get", VM, None, "default")[0]


@pytest.mark.parametrize("text, message", [
    ("- role: kubevirt.io:owner\n  users: [a]\n", r"bindings\[0\]\.role: unknown role"),
    ("- role: kubevirt.io:view\n", "to nobody"),
    ("- role: kubevirt.io:view\n  users: a\n", r"bindings\[0\]\.users: expected a list"),
    ("- role: kubevirt.io:view\n  user: [a]\n", "unknown field 'user'"),
    ("role: [unclosed\n", "not valid YAML"),
])
def test_bad_bindings_file_is_refused_with_its_path(tmp_path: Path, text: str, message: str) -> None:
    """A bindings file with a mistake is refused with the entry and field that is wrong."""
    path = tmp_path / "bindings.yaml"
    path.write_text(text)
    with pytest.raises(AuthConfigError, match=message):
        Authorizer(path)


def test_bindings_file_writable_by_others_is_refused(tmp_path: Path) -> None:
    """Anyone who can write the bindings file could grant themselves admin: refused."""
    path = tmp_path / "bindings.yaml"
    path.write_text("- role: kubevirt.io:admin\n  users: [alice]\n")
    os.chmod(path, 0o666)
    with pytest.raises(AuthConfigError, match="chmod go-w"):
        Authorizer(path)


def test_non_resource_paths() -> None:
    """Discovery is open to any authenticated user; other paths need admin."""
    authz = Authorizer()
    alice, admin = User("alice", ("system:authenticated",)), User("root", ("virtnode:admins",))
    assert authz.allowed_path(alice, "get", "/apis/kubevirt.io/v1")[0]
    assert authz.allowed_path(alice, "get", "/openapi/v2")[0]
    ok, why = authz.allowed_path(alice, "get", "/metrics")
    assert not ok and why == 'forbidden: User "alice" cannot get path "/metrics"'
    assert authz.allowed_path(admin, "get", "/metrics")[0]
    assert not authz.allowed_path(None, "get", "/api")[0]
