"""apiserver.certs: the embedded API's CA, serving and client certificates."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from apiserver import certs
from apiserver.certs import ensure_pki

TIMEOUT = 5.0


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def snapshot(pki: certs.PKI) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (pki.ca_cert, pki.ca_key, pki.server_cert,
                                             pki.server_key, pki.admin_cert, pki.admin_key)}


def sans(cert: x509.Certificate) -> set[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(
        san.get_values_for_type(x509.DNSName))


def test_creates_ca_server_and_admin_material_with_private_modes(tmp_path: Path) -> None:
    """A first call makes the CA, serving and admin certificates; keys 0600, directory 0700."""
    pki = ensure_pki(tmp_path)
    assert pki.dir == tmp_path / "pki"
    assert mode(pki.dir) == 0o700
    for key in (pki.ca_key, pki.server_key, pki.admin_key):
        assert mode(key) == 0o600
    ca = load(pki.ca_cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert certs._validity(ca)[0] - dt.datetime.now(dt.timezone.utc) > dt.timedelta(days=3600)
    server = load(pki.server_cert)
    assert sans(server) == {"127.0.0.1", "::1", "localhost"}
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    server.verify_directly_issued_by(ca)
    admin = load(pki.admin_cert)
    assert admin.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "virtnode-admin"
    assert [a.value for a in admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "virtnode:admins"]
    assert ExtendedKeyUsageOID.CLIENT_AUTH in admin.extensions.get_extension_for_class(
        x509.ExtendedKeyUsage).value
    admin.verify_directly_issued_by(ca)
    assert not list(pki.dir.glob(".*.tmp"))


def test_second_call_reuses_everything(tmp_path: Path) -> None:
    """ensure_pki is idempotent: valid material is reused byte for byte."""
    before = snapshot(ensure_pki(tmp_path))
    assert snapshot(ensure_pki(tmp_path)) == before


def test_leaves_renewed_within_30_days_of_expiry_ca_kept(tmp_path: Path, caplog) -> None:
    """Certificates within 30 days of expiry are re-issued, with a log line; the CA stays."""
    before = snapshot(ensure_pki(tmp_path))
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=340)
    with caplog.at_level(logging.INFO, logger="apiserver.certs"):
        pki = ensure_pki(tmp_path, now=later)
    after = snapshot(pki)
    assert after["ca.crt"] == before["ca.crt"] and after["ca.key"] == before["ca.key"]
    assert after["apiserver.crt"] != before["apiserver.crt"]
    assert after["admin.crt"] != before["admin.crt"]
    assert "within 30 days" in caplog.text
    assert certs._validity(load(pki.server_cert))[0] > later + dt.timedelta(days=300)


def test_expired_ca_regenerated_and_every_leaf_reissued(tmp_path: Path, caplog) -> None:
    """An expired CA is replaced and both leaves are re-signed by the new one."""
    before = snapshot(ensure_pki(tmp_path))
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3660)
    with caplog.at_level(logging.INFO, logger="apiserver.certs"):
        pki = ensure_pki(tmp_path, now=later)
    after = snapshot(pki)
    assert all(after[name] != before[name] for name in before)
    assert "expired" in caplog.text
    ca = load(pki.ca_cert)
    load(pki.server_cert).verify_directly_issued_by(ca)
    load(pki.admin_cert).verify_directly_issued_by(ca)


def test_san_change_reissues_only_the_serving_certificate(tmp_path: Path, caplog) -> None:
    """A different SAN list re-issues the serving certificate and nothing else."""
    before = snapshot(ensure_pki(tmp_path))
    hosts = (*certs.SERVING_HOSTS, "virtnode.test", "10.0.0.5")
    with caplog.at_level(logging.INFO, logger="apiserver.certs"):
        pki = ensure_pki(tmp_path, hosts=hosts)
    after = snapshot(pki)
    assert after["apiserver.crt"] != before["apiserver.crt"]
    assert {k: v for k, v in after.items() if not k.startswith("apiserver")} == {
        k: v for k, v in before.items() if not k.startswith("apiserver")}
    assert sans(load(pki.server_cert)) == set(hosts)
    assert "SAN list changed" in caplog.text


def test_mismatched_or_corrupt_material_is_replaced(tmp_path: Path) -> None:
    """A key that does not match its certificate, or garbage, is regenerated."""
    pki = ensure_pki(tmp_path)
    pki.server_key.write_bytes(pki.admin_key.read_bytes())
    pki.admin_cert.write_bytes(b"not a certificate")
    ensure_pki(tmp_path)
    assert certs._key_mismatch(load(pki.server_cert), certs.serialization.load_pem_private_key(
        pki.server_key.read_bytes(), None)) is None
    load(pki.admin_cert).verify_directly_issued_by(load(pki.ca_cert))


def test_loose_directory_mode_is_tightened(tmp_path: Path) -> None:
    """A pki directory left 0755 is set back to 0700."""
    (tmp_path / "pki").mkdir(mode=0o755)
    os.chmod(tmp_path / "pki", 0o755)
    assert mode(ensure_pki(tmp_path).dir) == 0o700


def test_symlinked_pki_directory_is_refused(tmp_path: Path) -> None:
    """The pki directory must not be a symlink to somewhere else."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "pki").symlink_to(elsewhere)
    with pytest.raises(certs.PKIError, match="not a directory"):
        ensure_pki(tmp_path / "state")


def test_issue_client_cert_names_user_and_groups(tmp_path: Path) -> None:
    """issue_client_cert: CN is the user, O entries are the groups, signed by the CA."""
    pki = ensure_pki(tmp_path)
    cert_pem, key_pem = pki.issue_client_cert("alice", ["team-a", "virtnode:nodes"], days=7)
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "team-a", "virtnode:nodes"]
    cert.verify_directly_issued_by(load(pki.ca_cert))
    assert certs._validity(cert)[0] - dt.datetime.now(dt.timezone.utc) < dt.timedelta(days=8)
    assert b"PRIVATE KEY" in key_pem
    with pytest.raises(ValueError):
        pki.issue_client_cert("", [])


# --- the chain as Python's ssl module sees it -------------------------------------------------

def serve_once(ctx: ssl.SSLContext) -> tuple[int, threading.Thread, dict]:
    """Accept one TLS connection on 127.0.0.1; record the peer certificate or the error."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    result: dict = {}

    def run() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(TIMEOUT)
            with ctx.wrap_socket(conn, server_side=True) as tls:
                result["peer"] = tls.getpeercert()
                tls.sendall(b"ok")
        except (OSError, ssl.SSLError) as e:
            result["error"] = e
        finally:
            listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread, result


def client_context(pki: certs.PKI, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


def connect(ctx: ssl.SSLContext, port: int, server_hostname: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
            return tls.recv(2)


@pytest.mark.parametrize("hostname", ["127.0.0.1", "localhost"])
def test_mutual_tls_with_the_ssl_module(tmp_path: Path, hostname: str) -> None:
    """A client trusting the CA verifies the server; the server sees the admin client cert."""
    pki = ensure_pki(tmp_path)
    port, thread, result = serve_once(pki.server_context())
    assert connect(client_context(pki, pki.admin_cert, pki.admin_key), port, hostname) == b"ok"
    thread.join(TIMEOUT)
    assert "error" not in result, result
    peer = result["peer"]
    assert (("commonName", "virtnode-admin"),) in peer["subject"]
    assert (("organizationName", "virtnode:admins"),) in peer["subject"]
    assert (("commonName", "virtnode-ca"),) in peer["issuer"]


def test_tls_without_client_certificate_is_accepted(tmp_path: Path) -> None:
    """The client certificate is optional (tokens work too); the server sees no peer cert."""
    pki = ensure_pki(tmp_path)
    port, thread, result = serve_once(pki.server_context())
    assert connect(client_context(pki, None, None), port, "localhost") == b"ok"
    thread.join(TIMEOUT)
    assert result.get("peer") in ({}, None) and "error" not in result


def test_client_certificate_from_another_ca_is_refused(tmp_path: Path) -> None:
    """A client certificate not signed by our CA fails the handshake on the server."""
    pki = ensure_pki(tmp_path / "ours")
    other = ensure_pki(tmp_path / "theirs")
    port, thread, result = serve_once(pki.server_context())
    ctx = client_context(pki, other.admin_cert, other.admin_key)
    try:
        reply = connect(ctx, port, "localhost")    # TLS 1.3: the client learns on its first read
    except (ssl.SSLError, OSError):
        reply = b""
    thread.join(TIMEOUT)
    assert reply != b"ok"
    assert isinstance(result.get("error"), ssl.SSLError), result


def test_server_not_trusted_by_a_client_of_another_ca(tmp_path: Path) -> None:
    """A client that trusts a different CA refuses our serving certificate."""
    pki = ensure_pki(tmp_path / "ours")
    other = ensure_pki(tmp_path / "theirs")
    port, thread, _ = serve_once(pki.server_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(client_context(other, None, None), port, "localhost")
    thread.join(TIMEOUT)
