"""The embedded API's TLS material: a private CA, the serving certificate, client certificates.

Owns `<state>/pki/`: the CA (EC P-256, 10 years), the serving certificate for
127.0.0.1, ::1 and localhost (1 year), and the admin client certificate
(CN virtnode-admin, O virtnode:admins). `ensure_pki` is called by whoever starts
the API (`virtctl up`) and is idempotent: material that is present, valid for
more than RENEW_BEFORE, signed by the current CA and matching its key is reused;
anything else is regenerated with a log line. A new CA re-issues every leaf.

Only the `cryptography` package is used. Private keys are written 0600,
atomically, in a 0700 directory. Nothing here serves requests or decides who
may do what (that is apiserver.auth); it never reads outside `<state>/pki/`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import logging
import os
import ssl
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger(__name__)

CA_DAYS = 3650
SERVER_DAYS = 365
CLIENT_DAYS = 365
RENEW_BEFORE = dt.timedelta(days=30)
CLOCK_SKEW = dt.timedelta(minutes=5)       # notBefore is backdated by this much

CA_NAME = "virtnode-ca"
SERVER_NAME = "virtnode-apiserver"
ADMIN_USER = "virtnode-admin"
ADMIN_GROUP = "virtnode:admins"
SERVING_HOSTS: tuple[str, ...] = ("127.0.0.1", "::1", "localhost")


class PKIError(Exception):
    """The PKI directory cannot be used (a symlink, not a directory, unreadable material)."""


@dataclass(frozen=True)
class PKI:
    """Paths of the TLS material under `<state>/pki/`, and issuing of client certificates."""

    dir: Path

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.dir / "apiserver.crt"

    @property
    def server_key(self) -> Path:
        return self.dir / "apiserver.key"

    @property
    def admin_cert(self) -> Path:
        return self.dir / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.dir / "admin.key"

    def ca_pem(self) -> bytes:
        return self.ca_cert.read_bytes()

    def issue_client_cert(self, user: str, groups: Sequence[str] = (),
                          days: int = CLIENT_DAYS) -> tuple[bytes, bytes]:
        """A client certificate for `user` (CN) in `groups` (O entries): (cert_pem, key_pem)."""
        if not user:
            raise ValueError("A client certificate needs a user name")
        if days <= 0:
            raise ValueError(f"A client certificate must be valid for at least one day, not {days}")
        ca_cert, ca_key = _load_ca(self)
        key = _new_key()
        cert = _sign_leaf(ca_cert, ca_key, key, _subject(user, groups), days, client=True)
        return _cert_pem(cert), _key_pem(key)

    def server_context(self) -> ssl.SSLContext:
        """A server-side context: serves apiserver.crt, asks for (does not require) a client
        certificate and verifies it against the CA; TLS 1.2 or later."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.server_cert, self.server_key)
        ctx.load_verify_locations(cafile=self.ca_cert)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        return ctx


def ensure_pki(state_dir: Path, hosts: Sequence[str] = SERVING_HOSTS,
               now: dt.datetime | None = None) -> PKI:
    """Create or refresh the CA, serving and admin certificates under `state_dir/pki/`.

    `hosts` are the serving certificate's SANs (IP addresses or DNS names); `now` is for tests.
    """
    pki = PKI(Path(state_dir) / "pki")
    _ensure_private_dir(pki.dir)
    now = now or _utcnow()
    with _locked(pki.dir / ".lock"):
        ca_cert, ca_key, ca_new = _ensure_ca(pki, now)
        _ensure_leaf(pki, "serving certificate", pki.server_cert, pki.server_key, ca_cert, ca_key,
                     now, force=ca_new, subject=_subject(SERVER_NAME, ()), days=SERVER_DAYS,
                     client=False, hosts=tuple(hosts))
        _ensure_leaf(pki, "admin client certificate", pki.admin_cert, pki.admin_key, ca_cert,
                     ca_key, now, force=ca_new, subject=_subject(ADMIN_USER, (ADMIN_GROUP,)),
                     days=CLIENT_DAYS, client=True, hosts=None)
    return pki


# --- what is there and whether it is still good ---------------------------------------------

def _ensure_ca(pki: PKI, now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, bool]:
    why = None
    try:
        cert, key = _load_ca(pki)
    except FileNotFoundError:
        why, cert, key = "missing", None, None
    except (ValueError, PKIError) as e:
        why, cert, key = f"unreadable ({e})", None, None
    if why is None:
        why = _stale(cert, now) or _key_mismatch(cert, key)
    if why is None:
        return cert, key, False
    if why != "missing":
        log.info("Regenerating the API's CA in %s: %s; every certificate it signed is re-issued",
                 pki.dir, why)
    key = _new_key()
    name = _subject(CA_NAME, ())
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (_builder(name, name, key.public_key(), now, CA_DAYS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    _write_private(pki.ca_key, _key_pem(key))
    _write_public(pki.ca_cert, _cert_pem(cert))
    return cert, key, True


def _ensure_leaf(pki: PKI, what: str, cert_path: Path, key_path: Path, ca_cert: x509.Certificate,
                 ca_key: ec.EllipticCurvePrivateKey, now: dt.datetime, *, force: bool,
                 subject: x509.Name, days: int, client: bool, hosts: tuple[str, ...] | None) -> None:
    why = None
    if force:  # a new CA: re-issue, and say so only when a certificate existed before
        why = "signed by a CA that was replaced" if cert_path.exists() else "missing"
    if why is None:
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except FileNotFoundError:
            why = "missing"
        except ValueError as e:
            why = f"unreadable ({e})"
        else:
            why = (_stale(cert, now) or _key_mismatch(cert, key) or _not_signed_by(cert, ca_cert)
                   or (None if cert.subject == subject else "subject changed")
                   or (None if hosts is None else _san_changed(cert, hosts)))
    if why is None:
        return
    if why != "missing":
        log.info("Regenerating the API's %s %s: %s", what, cert_path, why)
    key = _new_key()
    cert = _sign_leaf(ca_cert, ca_key, key, subject, days, client=client, hosts=hosts, now=now)
    _write_private(key_path, _key_pem(key))
    _write_public(cert_path, _cert_pem(cert))


def _stale(cert: x509.Certificate, now: dt.datetime) -> str | None:
    not_after, not_before = _validity(cert)
    if not_after <= now:
        return f"expired on {not_after:%Y-%m-%d}"
    if not_after - now <= RENEW_BEFORE:
        return f"expires on {not_after:%Y-%m-%d}, within {RENEW_BEFORE.days} days"
    if not_before > now + CLOCK_SKEW:
        return f"not valid before {not_before:%Y-%m-%d %H:%M}"
    return None


def _validity(cert: x509.Certificate) -> tuple[dt.datetime, dt.datetime]:
    """(notAfter, notBefore) as aware UTC datetimes (cryptography 41 has only naive ones)."""
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_after_utc, cert.not_valid_before_utc
    utc = dt.timezone.utc
    return cert.not_valid_after.replace(tzinfo=utc), cert.not_valid_before.replace(tzinfo=utc)


def _key_mismatch(cert: x509.Certificate, key) -> str | None:
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if cert.public_key().public_bytes(enc, pub) != key.public_key().public_bytes(enc, pub):
        return "its private key does not match"
    return None


def _not_signed_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> str | None:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return "not signed by the current CA"
    return None


def _san_changed(cert: x509.Certificate, hosts: tuple[str, ...]) -> str | None:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "it has no subject alternative names"
    have = {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    have |= set(san.get_values_for_type(x509.DNSName))
    want = {str(n.value) for n in _san_entries(hosts)}
    if have != want:
        return f"SAN list changed ({', '.join(sorted(have))} -> {', '.join(sorted(want))})"
    return None


# --- making certificates --------------------------------------------------------------------

def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _subject(common_name: str, groups: Sequence[str]) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    return x509.Name(attrs + [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san_entries(hosts: Sequence[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for host in hosts:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            out.append(x509.DNSName(host))
    return out


def _builder(subject: x509.Name, issuer: x509.Name, public_key, now: dt.datetime,
             days: int) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + dt.timedelta(days=days)))


def _sign_leaf(ca_cert: x509.Certificate, ca_key, key, subject: x509.Name, days: int, *,
               client: bool, hosts: Sequence[str] | None = None,
               now: dt.datetime | None = None) -> x509.Certificate:
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (_builder(subject, ca_cert.subject, key.public_key(), now or _utcnow(), days)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=False,
                                            crl_sign=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                              critical=False))
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(_san_entries(hosts)),
                                        critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _load_ca(pki: PKI) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PKIError(f"CA key {pki.ca_key} is not an EC key")
    try:
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound as e:
        raise PKIError(f"CA certificate {pki.ca_cert} lacks an extension: {e}") from None
    if not bc.ca or ski is None:
        raise PKIError(f"CA certificate {pki.ca_cert} is not a CA")
    return cert, key


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# --- files ------------------------------------------------------------------------------------

def _ensure_private_dir(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise PKIError(f"PKI directory {path} is not a directory (a symlink or a file)")
    if st.st_uid != os.geteuid():
        raise PKIError(f"PKI directory {path} belongs to uid {st.st_uid}, not to uid {os.geteuid()}")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_private(path: Path, data: bytes) -> None:
    _write_atomic(path, data, 0o600)


def _write_public(path: Path, data: bytes) -> None:
    _write_atomic(path, data, 0o644)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write `data` to a new file beside `path` with `mode`, fsync it, and rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)             # left by a crashed process that had our pid
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)                 # the umask does not get a say
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
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
