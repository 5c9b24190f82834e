"""Who is calling the embedded API (authentication) and what they may do (authorization).

Owns the two decisions the HTTP layer asks about every request:
- `Authenticator.authenticate(authorization_header, peer_cert) -> User | None`: a client
  certificate verified by the TLS layer against our CA (user = CN, groups = O), or a bearer
  token from a static token file in Kubernetes' format. None means 401.
- `Authorizer.allowed(user, verb, resource, subresource, namespace) -> (bool, reason)`: RBAC
  with KubeVirt's cluster roles (`kubevirt.io:view`, `:edit`, `:admin`) and virtnode's
  built-in roles for nodes and the controller, bound to users and groups by built-in bindings
  and `bindings.yaml`. False carries kube-apiserver's forbidden message; the caller answers 403.

Called by apiserver.http only. Nothing here does network I/O; it reads two small files,
re-reading them when they change. Token files readable by others and bindings files writable
by others are refused: either would hand out the API.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import logging
import os
import ssl
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generic, Iterable, Sequence, TypeVar

import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from apiserver.resources import Resource

log = logging.getLogger(__name__)

AUTHENTICATED = "system:authenticated"     # every authenticated user is in it, as in Kubernetes
ADMINS = "virtnode:admins"
NODES = "virtnode:nodes"
CONTROLLERS = "virtnode:controllers"

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete", "deletecollection")
KUBEVIRT_GROUPS = ("kubevirt.io", "pool.kubevirt.io", "cdi.kubevirt.io", "subresources.kubevirt.io")
# Discovery and health: any authenticated user, like Kubernetes' system:discovery role.
DISCOVERY_PATHS = ("/api", "/apis", "/version", "/healthz", "/readyz", "/livez", "/openapi")


class AuthConfigError(Exception):
    """A token or bindings file that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""


# --- authentication ------------------------------------------------------------------------

T = TypeVar("T")


class _WatchedFile(Generic[T]):
    """A small config file parsed on first use and again whenever its mtime, size or inode changes.

    A file that cannot be used (a parse error, loose permissions) raises at construction; later,
    a broken edit is logged and `empty` is served until it is fixed: fail closed, loudly.
    """

    def __init__(self, path: Path | None, parse: Callable[[Path], T], empty: T) -> None:
        self.path = Path(path) if path is not None else None
        self._parse, self._empty = parse, empty
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._value = empty
        if self.path is not None and self.path.exists():
            self._value, self._stamp = parse(self.path), self._stat()

    def _stat(self) -> tuple | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size, st.st_mode)

    def get(self) -> T:
        if self.path is None:
            return self._empty
        stamp = self._stat()
        if stamp == self._stamp:
            return self._value
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._value = self._empty if stamp is None else self._parse(self.path)
                    if stamp is not None:
                        log.info("Reloaded %s", self.path)
                except AuthConfigError as e:
                    log.error("%s; serving none of its entries until it is fixed", e)
                    self._value = self._empty
                self._stamp = stamp
        return self._value


def load_token_file(path: Path) -> list[tuple[bytes, User]]:
    """Parse a static token file: `token,user,uid[,"group1,group2"]` per line.

    Returns (sha256(token), User) pairs. The file must not be readable or writable by group or
    others. Blank lines and lines starting with '#' are skipped.
    """
    st = os.stat(path)
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise AuthConfigError(
            f"Token file {path} has mode {stat.S_IMODE(st.st_mode):04o}; it holds credentials "
            f"and must be readable by its owner only (chmod 600 {path})")
    entries: list[tuple[bytes, User]] = []
    seen: set[bytes] = set()
    with open(path, newline="", encoding="utf-8") as f:
        for lineno, row in enumerate(csv.reader(f), start=1):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if len(row) < 3:
                raise AuthConfigError(f"Token file {path} line {lineno}: expected at least 3 "
                                      f"columns (token,user,uid), found {len(row)}")
            token, name, uid = (c.strip() for c in row[:3])
            if not token or not name:
                raise AuthConfigError(f"Token file {path} line {lineno}: token and user must "
                                      f"not be empty")
            groups = tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
            digest = hashlib.sha256(token.encode()).digest()
            if digest in seen:
                raise AuthConfigError(f"Token file {path} line {lineno}: duplicate token")
            seen.add(digest)
            entries.append((digest, User(name, groups, uid)))
    return entries


class Authenticator:
    """Client certificates (verified by the TLS layer against `ca_cert`) and bearer tokens."""

    def __init__(self, tokens_file: Path | None, ca_cert: Path | bytes | None = None) -> None:
        self._tokens = _WatchedFile(tokens_file, load_token_file, [])
        self._ca_subject = _ca_subject(ca_cert) if ca_cert is not None else None

    def authenticate(self, authorization: str | None, peer_cert: dict | None) -> User | None:
        """The user making a request, or None (the caller answers 401).

        `authorization` is the Authorization header; `peer_cert` is what
        `ssl.SSLSocket.getpeercert()` returned ({} or None without a client certificate).
        A valid client certificate wins, as in kube-apiserver's authenticator chain.
        """
        user = self.from_certificate(peer_cert) if peer_cert else None
        if user is None and authorization:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                user = self.from_token(token.strip())
        return user

    def from_token(self, token: str) -> User | None:
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for candidate, user in self._tokens.get():      # no early exit: constant time per entry
            if hmac.compare_digest(candidate, digest):
                found = user
        return _authenticated(found) if found is not None else None

    def from_certificate(self, peer_cert: dict) -> User | None:
        subject = _rdns(peer_cert.get("subject", ()))
        names = [v for k, v in subject if k == "commonName"]
        if len(names) != 1 or not names[0]:
            return None
        if self._ca_subject is not None and _rdns(peer_cert.get("issuer", ())) != self._ca_subject:
            return None
        try:
            if ssl.cert_time_to_seconds(peer_cert["notAfter"]) < time.time():
                return None
        except (KeyError, ValueError):
            return None
        groups = tuple(v for k, v in subject if k == "organizationName")
        return _authenticated(User(names[0], groups))


def _authenticated(user: User) -> User:
    if AUTHENTICATED in user.groups:
        return user
    return User(user.name, (*user.groups, AUTHENTICATED), user.uid)


def _rdns(name: Iterable) -> list[tuple[str, str]]:
    return [(k, v) for rdn in name for k, v in rdn]


def _ca_subject(ca_cert: Path | bytes) -> list[tuple[str, str]]:
    """The CA's subject in getpeercert()'s form, for matching a peer certificate's issuer.

    `ca_cert` is the CA certificate's path or its PEM."""
    names = {NameOID.COMMON_NAME: "commonName", NameOID.ORGANIZATION_NAME: "organizationName",
             NameOID.ORGANIZATIONAL_UNIT_NAME: "organizationalUnitName",
             NameOID.COUNTRY_NAME: "countryName", NameOID.LOCALITY_NAME: "localityName",
             NameOID.STATE_OR_PROVINCE_NAME: "stateOrProvinceName"}
    pem = ca_cert if isinstance(ca_cert, bytes) else Path(ca_cert).read_bytes()
    cert = x509.load_pem_x509_certificate(pem)
    return [(names.get(a.oid, a.oid.dotted_string), str(a.value))
            for rdn in cert.subject.rdns for a in rdn]


# --- authorization ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """An RBAC PolicyRule: API groups, resources ("plural" or "plural/subresource"), verbs.

    "*" matches anything in its list; "*/status" any resource's status; "plural/*" any
    subresource of plural. A plain "plural" does not cover its subresources, as in RBAC.
    """

    groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    exclude: tuple[str, ...] = ()   # resources a wildcard does not reach (view never reads secrets)

    def matches(self, verb: str, group: str, resource: str, subresource: str) -> bool:
        if "*" not in self.verbs and verb not in self.verbs:
            return False
        if resource in self.exclude:
            return False
        if "*" not in self.groups and group not in self.groups:
            return False
        target = f"{resource}/{subresource}" if subresource else resource
        for r in self.resources:
            if r == "*" or r == target:
                return True
            if subresource and r in (f"*/{subresource}", f"{resource}/*", "*/*"):
                return True
        return False


@dataclass(frozen=True)
class Role:
    name: str
    rules: tuple[Rule, ...]


_SUBS = ("*", "*/status", "*/scale")
VIEW = Role("kubevirt.io:view", (Rule(("*",), _SUBS, READ, exclude=("secrets",)),))
EDIT = Role("kubevirt.io:edit", (
    *VIEW.rules,
    Rule(KUBEVIRT_GROUPS, ("*", "*/*"), ("*",)),
    Rule(("",), ("events",), ("create",)),
    Rule(("",), ("secrets",), ("*",)),   # cloud-init user data and credentials
))
ADMIN = Role("kubevirt.io:admin", (Rule(("*",), ("*", "*/*"), ("*",)),))
NODE = Role("virtnode:node", (
    Rule(("",), ("nodes", "nodes/status"), (*READ, "create", "update", "patch")),
    Rule(("kubevirt.io",), ("virtualmachineinstances", "virtualmachineinstances/status"),
         (*READ, "update", "patch")),
    Rule(("kubevirt.io",), ("virtualmachineinstancemigrations",), READ),
    Rule(("",), ("persistentvolumeclaims", "namespaces"), READ),
    Rule(("",), ("secrets",), ("get",)),   # cloud-init secretRef volumes of the VMIs it runs
    Rule(("",), ("events",), ("create", "patch")),
    Rule(("coordination.k8s.io",), ("leases",), ("*",)),
))
CONTROLLER = Role("virtnode:controller", (
    Rule(KUBEVIRT_GROUPS, ("*", "*/*"), ("*",)),
    Rule(("",), ("events",), ("*",)),
    Rule(("coordination.k8s.io",), ("leases",), ("*",)),
    Rule(("",), ("nodes",), (*READ, "update", "patch")),
    Rule(("",), ("persistentvolumeclaims", "persistentvolumeclaims/status"), ("*",)),
    Rule(("",), ("namespaces",), READ),
))
ROLES: dict[str, Role] = {r.name: r for r in (VIEW, EDIT, ADMIN, NODE, CONTROLLER)}


@dataclass(frozen=True)
class Binding:
    role: str
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    source: str = "built-in"

    def subject_of(self, user: User) -> str | None:
        if user.name in self.users:
            return f'user "{user.name}"'
        for g in self.groups:
            if g in user.groups:
                return f'group "{g}"'
        return None


BUILTIN_BINDINGS: tuple[Binding, ...] = (
    Binding(ADMIN.name, groups=(ADMINS,)),
    Binding(NODE.name, groups=(NODES,)),
    Binding(CONTROLLER.name, groups=(CONTROLLERS,)),
)


def load_bindings(path: Path) -> list[Binding]:
    """Parse bindings.yaml (YAML or JSON): a list of {role, users: [], groups: []}, or a mapping
    with that list under `bindings`. The file must not be writable by group or others."""
    st = os.stat(path)
    if stat.S_IMODE(st.st_mode) & 0o022:
        raise AuthConfigError(
            f"Bindings file {path} has mode {stat.S_IMODE(st.st_mode):04o}; it grants access to "
            f"the API and must be writable by its owner only (chmod go-w {path})")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise AuthConfigError(f"Bindings file {path} is not valid YAML: {e}") from None
    if isinstance(doc, dict):
        doc = doc.get("bindings")
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise AuthConfigError(f"Bindings file {path}: expected a list of bindings")
    out = []
    for i, entry in enumerate(doc):
        where = f"Bindings file {path}: bindings[{i}]"
        if not isinstance(entry, dict):
            raise AuthConfigError(f"{where}: expected a mapping with role, users, groups")
        unknown = set(entry) - {"role", "users", "groups"}
        if unknown:
            raise AuthConfigError(f"{where}: unknown field {sorted(unknown)[0]!r}")
        role = entry.get("role")
        if role not in ROLES:
            raise AuthConfigError(f"{where}.role: unknown role {role!r} (known: "
                                  f"{', '.join(sorted(ROLES))})")
        lists = {}
        for key in ("users", "groups"):
            value = entry.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise AuthConfigError(f"{where}.{key}: expected a list of names")
            lists[key] = tuple(value)
        if not lists["users"] and not lists["groups"]:
            raise AuthConfigError(f"{where}: binds role {role!r} to nobody (no users, no groups)")
        out.append(Binding(role, lists["users"], lists["groups"], source=str(path)))
    return out


class Authorizer:
    """RBAC over ROLES, with BUILTIN_BINDINGS plus those in `bindings_file` (re-read on change)."""

    def __init__(self, bindings_file: Path | None = None,
                 extra_bindings: Sequence[Binding] = ()) -> None:
        self._file = _WatchedFile(bindings_file, load_bindings, [])
        self._extra = tuple(extra_bindings)

    def bindings(self) -> tuple[Binding, ...]:
        return (*BUILTIN_BINDINGS, *self._extra, *self._file.get())

    def allowed(self, user: User, verb: str, resource: Resource, subresource: str | None = None,
                namespace: str | None = None, name: str = "") -> tuple[bool, str]:
        """Whether `user` may `verb` `resource[/subresource]` in `namespace`, and why.

        Denied: kube-apiserver's message, e.g. 'virtualmachines.kubevirt.io is forbidden: User
        "alice" cannot create resource "virtualmachines" in API group "kubevirt.io" in the
        namespace "default"'. Bindings are cluster-wide (ClusterRoleBindings): the namespace
        only shapes the message.
        """
        sub = subresource or ""
        for binding in self.bindings():
            subject = binding.subject_of(user)
            if subject is None:
                continue
            role = ROLES[binding.role]
            if any(r.matches(verb, resource.group, resource.plural, sub) for r in role.rules):
                return True, (f'RBAC: allowed by binding of role "{role.name}" to {subject} '
                              f"({binding.source})")
        return False, forbidden_message(user, verb, resource, sub, namespace, name)

    def allowed_path(self, user: User | None, verb: str, path: str) -> tuple[bool, str]:
        """Non-resource URLs: discovery and health for every authenticated user, the rest for
        those who may do anything (kubevirt.io:admin)."""
        if user is not None:
            p = "/" + path.strip("/")
            if any(p == d or p.startswith(d + "/") for d in DISCOVERY_PATHS):
                return True, "RBAC: discovery is open to authenticated users"
            for binding in self.bindings():
                if binding.role == ADMIN.name and binding.subject_of(user) is not None:
                    return True, f'RBAC: allowed by role "{ADMIN.name}"'
        name = user.name if user is not None else "system:anonymous"
        return False, f'forbidden: User "{name}" cannot {verb} path "{path}"'


def forbidden_message(user: User, verb: str, resource: Resource, subresource: str = "",
                      namespace: str | None = None, name: str = "") -> str:
    """kube-apiserver's text for a denied request (RBAC's forbiddenMessage inside NewForbidden)."""
    target = f"{resource.plural}/{subresource}" if subresource else resource.plural
    why = (f'User "{user.name}" cannot {verb} resource "{target}" in API group '
           f'"{resource.group}"')
    why += f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    subject = f'{resource.key} "{name}"' if name else resource.key
    return f"{subject} is forbidden: {why}"
