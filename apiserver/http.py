"""The embedded API's HTTP front: Kubernetes REST and watch over HTTPS.

Owns turning requests into store calls and store results into Kubernetes
responses: routing of `/api/v1/...` and `/apis/<group>/<version>/...` paths,
authentication and authorization of every request (apiserver/auth.py),
decoding and admission of kubevirt.io objects (protos.codec,
controller.admission), the patch media types (apiserver/patch.py), `as=Table`
responses (apiserver/tables.py), discovery (apiserver/discovery.py), watch
streams as chunked JSON lines, and every failure as a Kubernetes `Status`
(apiserver/errors.py). Persistence is apiserver/store.py's.

Threads: one per connection (ThreadingHTTPServer); watches hold their thread
until the client goes away, the watch times out, or the server stops.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

from apiserver import discovery, errors, patch, resources, subresources, tables
from apiserver.resources import Resource
from controller.admission import ClusterConfig, admit
from protos import codec
from protos.errors import APIObjectError, DecodeError

log = logging.getLogger(__name__)

PUBLIC_PATHS = {"/healthz", "/readyz", "/livez", "/version", "/version/"}
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
MAX_BODY = 8 * 1024 * 1024


@dataclass(frozen=True)
class Target:
    """What a request path names."""

    resource: Resource
    namespace: str | None
    name: str | None
    subresource: str | None


def parse_path(path: str) -> Target | None:
    """Maps /api/v1/... and /apis/g/v/... paths to a resource; None when not a resource path."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace = None
    # /namespaces/<ns>/<plural>[/<name>[/<sub>]], except a namespace's own subresources
    if rest[0] == "namespaces" and len(rest) >= 3 and not (
            group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")):
        namespace, rest = rest[1], rest[2:]
    resource = resources.find(group, version, rest[0])
    if resource is None:
        raise errors.NotFound(f"the server could not find the requested resource ({path})")
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if len(rest) > 3:
        raise errors.NotFound(f"the server could not find the requested resource ({path})")
    if sub is not None and sub not in resource.subresources:
        raise errors.NotFound(f"{resource.key} has no subresource {sub!r}")
    if resource.namespaced and name is not None and namespace is None:
        raise errors.NotFound(f"{resource.key} is namespaced: use /namespaces/<namespace>/{resource.plural}/{name}")
    if not resource.namespaced and namespace is not None:
        raise errors.NotFound(f"{resource.key} is not namespaced")
    return Target(resource, namespace, name, sub)


class APIServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], store, authenticator, authorizer,
                 ssl_context: ssl.SSLContext | None, admission: ClusterConfig | None = None) -> None:
        super().__init__(address, RequestHandler)
        self.store = store
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.admission = admission or ClusterConfig()
        self.stopping = threading.Event()
        self.started_at = time.time()
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def shutdown(self) -> None:
        self.stopping.set()
        super().shutdown()


def server_ssl_context(cert: str, key: str, ca: str) -> ssl.SSLContext:
    """TLS 1.2+, our serving certificate, client certificates optional (tokens work too)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class RequestHandler(BaseHTTPRequestHandler):
    server: APIServer
    protocol_version = "HTTP/1.1"
    server_version = "virtnode-apiserver"
    # Headers and body go out as two TLS writes: with Nagle's algorithm on, the body
    # waits for the client's delayed ACK (~40 ms per request on a kept-alive connection).
    disable_nagle_algorithm = True

    # --- plumbing ------------------------------------------------------------------------

    def log_message(self, fmt: str, *args) -> None:
        log.debug("%s %s", self.address_string(), fmt % args)

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(30)
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError) as e:
                log.debug("TLS handshake failed: %s", e)
                raise
            self.connection.settimeout(None)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _send_json(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(data)

    def _send_text(self, code: int, text: str) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, err: errors.APIError) -> None:
        self._send_json(err.code, errors.to_status(err))

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise errors.RequestEntityTooLarge(f"request body larger than {MAX_BODY} bytes")
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> Any:
        raw = self._body()
        if not raw:
            raise errors.BadRequest("the request needs a body")
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        try:
            if ctype in ("application/yaml", APPLY_PATCH):
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as e:
            raise errors.BadRequest(f"the request body is not valid JSON: {e}") from None

    # --- dispatch ------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        try:
            if url.path in ("/healthz", "/readyz", "/livez") and method == "GET":
                self._send_text(200, "ok")
                return
            if url.path.rstrip("/") == "/version" and method == "GET":
                self._send_json(200, discovery.version_info())
                return
            user = self._authenticate()
            if method == "GET" and self._discovery(user, url.path):
                return
            if url.path == subresources.PREFIX or url.path.startswith(subresources.PREFIX + "/"):
                self._subresource(method, url.path, query, user)
                return
            target = parse_path(url.path)
            if target is None:
                raise errors.NotFound(f"the server could not find the requested resource ({url.path})")
            verb = self._verb(method, target, query)
            allowed, why = self.server.authorizer.allowed(user, verb, target.resource, target.subresource,
                                                          target.namespace, target.name or "")
            if not allowed:
                raise errors.Forbidden(why)
            getattr(self, f"_{verb}")(target, query)
        except errors.APIError as e:
            self._send_error(e)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # a bug: answer 500 with the sentence, keep serving
            log.exception("%s %s failed", method, self.path)
            self._send_error(errors.InternalError(f"internal error: {e}"))

    def _discovery(self, user, path: str) -> bool:
        """Serves discovery and OpenAPI documents; False when `path` is not one."""
        accept = self.headers.get("Accept", "")
        if path.rstrip("/") == "/openapi/v2" and discovery.wants_openapi_protobuf(accept):
            self._authorize_path(user, path)
            data = discovery.openapi_v2_protobuf()
            self.send_response(200)
            self.send_header("Content-Type", discovery.OPENAPI_V2_PROTOBUF_CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True
        doc = discovery.document(path, accept)
        if doc is None:
            return False
        self._authorize_path(user, path)
        self._send_json(200, doc)
        return True

    def _authorize_path(self, user, path: str) -> None:
        allowed, why = self.server.authorizer.allowed_path(user, "get", path)
        if not allowed:
            raise errors.Forbidden(why)

    def _authenticate(self):
        peer = None
        if isinstance(self.connection, ssl.SSLSocket):
            peer = self.connection.getpeercert()
        user = self.server.authenticator.authenticate(self.headers.get("Authorization"), peer)
        if user is None:
            raise errors.Unauthorized("Unauthorized")
        return user

    def _subresource(self, method: str, path: str, query: dict, user) -> None:
        """subresources.kubevirt.io: VM start/stop/restart, VMI pause/unpause (apiserver/subresources.py)."""
        doc = subresources.discovery_document(path)
        if doc is not None and method == "GET":
            self._send_json(200, doc)
            return
        request = subresources.parse_path(path)
        if method != "PUT":
            raise errors.MethodNotAllowed(f"{method} is not allowed on {request.verb}; use PUT")
        allowed, why = self.server.authorizer.allowed(user, "update", request.resource, request.verb,
                                                      request.namespace, request.name)
        if not allowed:
            raise errors.Forbidden(why)
        options = self._json_body() if int(self.headers.get("Content-Length") or 0) else {}
        self._send_json(202, subresources.serve(self.server.store, request, options,
                                                self._dry_run(query)))

    @staticmethod
    def _verb(method: str, target: Target, query: dict) -> str:
        watching = query.get("watch") in ("true", "1")
        if method == "GET":
            if target.name is None:
                return "watch" if watching else "list"
            return "get"
        if method == "POST":
            if target.name is not None:
                raise errors.MethodNotAllowed(f"POST is not allowed on a single {target.resource.kind}")
            return "create"
        if method == "PUT":
            if target.name is None:
                raise errors.MethodNotAllowed("PUT needs an object name")
            return "update"
        if method == "PATCH":
            if target.name is None:
                raise errors.MethodNotAllowed("PATCH needs an object name")
            return "patch"
        if method == "DELETE":
            return "delete" if target.name is not None else "deletecollection"
        raise errors.MethodNotAllowed(f"method {method} is not allowed")

    # --- verbs ---------------------------------------------------------------------------

    def _get(self, t: Target, query: dict) -> None:
        obj = self.server.store.get(t.resource, t.namespace, t.name)
        self._respond_objects(t.resource, obj, query)

    def _list(self, t: Target, query: dict) -> None:
        items, rv = self.server.store.list(t.resource, namespace=t.namespace,
                                           label_selector=query.get("labelSelector", ""),
                                           field_selector=query.get("fieldSelector", ""))
        wants, version = tables.wants_table(self.headers.get("Accept", ""))
        if wants:
            self._send_json(200, tables.table(t.resource, items, wide=True,
                                              include_object=query.get("includeObject", "Metadata"),
                                              resource_version=str(rv), version=version))
            return
        self._send_json(200, {"apiVersion": t.resource.api_version, "kind": t.resource.list_kind_name(),
                              "metadata": {"resourceVersion": str(rv)}, "items": items})

    def _respond_objects(self, res: Resource, obj: dict, query: dict, code: int = 200) -> None:
        wants, version = tables.wants_table(self.headers.get("Accept", ""))
        if wants:
            self._send_json(code, tables.table(res, [obj], wide=True,
                                               include_object=query.get("includeObject", "Metadata"),
                                               resource_version=obj["metadata"].get("resourceVersion", ""),
                                               version=version))
        else:
            self._send_json(code, obj)

    def _watch(self, t: Target, query: dict) -> None:
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
        watch = self.server.store.watch(
            t.resource, namespace=t.namespace, resource_version=query.get("resourceVersion") or None,
            label_selector=query.get("labelSelector", ""), field_selector=query.get("fieldSelector", ""),
            bookmarks=query.get("allowWatchBookmarks") in ("true", "1"), timeout=timeout)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        stopper = threading.Thread(target=self._stop_watch_on_shutdown, args=(watch,), daemon=True)
        stopper.start()
        as_table, version = tables.wants_table(self.headers.get("Accept", ""))
        include = query.get("includeObject", "Metadata")
        try:
            for event_type, obj in watch:
                if as_table and event_type not in ("BOOKMARK", "ERROR"):  # kubectl get -w asks for rows
                    obj = tables.table(t.resource, [obj], wide=True, include_object=include,
                                       resource_version=obj["metadata"].get("resourceVersion", ""),
                                       version=version)
                line = json.dumps({"type": event_type, "object": obj}, separators=(",", ":")) + "\n"
                self._chunk(line.encode())
            self._chunk(b"")
        except errors.APIError as e:  # e.g. Gone while streaming: an ERROR event, as Kubernetes does
            line = json.dumps({"type": "ERROR", "object": errors.to_status(e)}) + "\n"
            self._chunk(line.encode())
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        finally:
            watch.close()
        self.close_connection = True

    def _stop_watch_on_shutdown(self, watch) -> None:
        while not self.server.stopping.wait(1.0):
            if getattr(watch, "closed", False):
                return
        watch.close()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _create(self, t: Target, query: dict) -> None:
        body = self._json_body()
        obj = self._prepare(t, body, creating=True)
        if self._dry_run(query):
            self._send_json(201, obj)
            return
        self._send_json(201, self.server.store.create(t.resource, obj))

    def _update(self, t: Target, query: dict) -> None:
        body = self._json_body()
        if not isinstance(body, dict):
            raise errors.BadRequest("the request body must be an object")
        name = (body.get("metadata") or {}).get("name")
        if name != t.name:
            raise errors.BadRequest(f"the name of the object ({name!r}) does not match the name "
                                         f"on the URL ({t.name!r})")
        obj = self._prepare(t, body, creating=False)
        if self._dry_run(query):
            self._send_json(200, obj)
            return
        self._send_json(200, self.server.store.update(t.resource, obj, subresource=t.subresource))

    def _patch(self, t: Target, query: dict) -> None:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        raw = self._body()
        try:
            document = json.loads(raw) if raw else None
        except ValueError as e:
            raise errors.BadRequest(f"the patch is not valid JSON: {e}") from None
        if ctype == STRATEGIC_PATCH and t.resource.typed or \
                ctype not in (MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH):
            raise errors.UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: "
                f"{JSON_PATCH}, {MERGE_PATCH}" + ("" if t.resource.typed else f", {STRATEGIC_PATCH}"))
        pinned = isinstance(document, dict) and "resourceVersion" in (document.get("metadata") or {})
        for attempt in range(5):  # like Kubernetes: a patch applies to the latest version
            current = self.server.store.get(t.resource, t.namespace, t.name)
            try:
                if ctype == MERGE_PATCH:
                    patched = patch.merge_patch(current, document)
                elif ctype == JSON_PATCH:
                    patched = patch.json_patch(current, document)
                else:
                    patched = patch.strategic_merge_patch(current, document)
            except patch.PatchError as e:
                raise _patch_error(t.resource, t.name, e) from None
            if not isinstance(patched, dict):
                raise errors.BadRequest("the patched object is not an object")
            if not pinned:
                patched.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
            obj = self._prepare(t, patched, creating=False)
            if self._dry_run(query):
                self._send_json(200, obj)
                return
            try:
                self._send_json(200, self.server.store.update(t.resource, obj, subresource=t.subresource))
                return
            except errors.Conflict:
                if pinned or attempt == 4:
                    raise

    def _delete(self, t: Target, query: dict) -> None:
        options = self._delete_options(query)
        obj = self.server.store.delete(t.resource, t.namespace, t.name,
                                       propagation=options.get("propagationPolicy") or "Background",
                                       preconditions=options.get("preconditions"))
        self._send_json(200, obj)

    def _deletecollection(self, t: Target, query: dict) -> None:
        options = self._delete_options(query)
        items, _ = self.server.store.list(t.resource, namespace=t.namespace,
                                          label_selector=query.get("labelSelector", ""),
                                          field_selector=query.get("fieldSelector", ""))
        deleted = []
        for item in items:
            meta = item["metadata"]
            try:
                deleted.append(self.server.store.delete(
                    t.resource, meta.get("namespace"), meta["name"],
                    propagation=options.get("propagationPolicy") or "Background"))
            except errors.NotFound:
                pass
        rv = self.server.store.resource_version
        self._send_json(200, {"apiVersion": t.resource.api_version, "kind": t.resource.list_kind_name(),
                              "metadata": {"resourceVersion": str(rv)}, "items": deleted})

    def _delete_options(self, query: dict) -> dict:
        options: dict = {}
        if int(self.headers.get("Content-Length") or 0):
            body = self._json_body()
            if isinstance(body, dict):
                options.update(body)
        if query.get("propagationPolicy"):
            options["propagationPolicy"] = query["propagationPolicy"]
        policy = options.get("propagationPolicy")
        if policy not in (None, "Background", "Foreground", "Orphan"):
            raise errors.BadRequest(f"propagationPolicy {policy!r} is not one of Background, "
                                         f"Foreground, Orphan")
        return options

    @staticmethod
    def _dry_run(query: dict) -> bool:
        value = query.get("dryRun")
        if value in (None, ""):
            return False
        if value != "All":
            raise errors.BadRequest(f"dryRun {value!r} is not supported; use dryRun=All")
        return True

    # --- objects -------------------------------------------------------------------------

    def _prepare(self, t: Target, body: Any, creating: bool) -> dict:
        """Checks kind, namespace and name against the URL; decodes and admits typed objects."""
        res = t.resource
        if not isinstance(body, dict):
            raise errors.BadRequest("the request body must be an object")
        body.setdefault("apiVersion", res.api_version)
        body.setdefault("kind", res.kind)
        if body["apiVersion"] != res.api_version or body["kind"] != res.kind:
            raise errors.BadRequest(
                f"the API version in the data ({body['apiVersion']}) or kind ({body['kind']}) does "
                f"not match the expected {res.api_version} {res.kind}")
        meta = body.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.BadRequest("metadata must be an object")
        if res.namespaced:
            ns = meta.get("namespace") or t.namespace
            if t.namespace is not None and ns != t.namespace:
                raise errors.BadRequest(f"the namespace of the object ({ns}) does not match the "
                                             f"namespace on the request ({t.namespace})")
            meta["namespace"] = ns
        if not res.typed or t.subresource == "status":
            if res.typed:  # check the status decodes, but do not re-admit the spec
                self._decode(res, body, meta.get("name"))
            return body
        message = self._decode(res, body, meta.get("name"))
        result = admit(message, self.server.admission, "CREATE" if creating else "UPDATE")
        if result.causes:
            raise errors.invalid(res.kind, res.group, meta.get("name") or meta.get("generateName") or "",
                                 result.causes)
        admitted = codec.encode(result.obj)
        # keep server-managed metadata exactly as sent (resourceVersion etc. are strings already)
        admitted["metadata"] = {**meta, **admitted.get("metadata", {})}
        return admitted

    @staticmethod
    def _decode(res: Resource, body: dict, name: str | None):
        try:
            return codec.decode(body)
        except DecodeError as e:
            raise errors.invalid(res.kind, res.group, name or "", e.causes) from None
        except APIObjectError as e:
            raise errors.BadRequest(str(e)) from None


def _patch_error(res: Resource, name: str, e: Exception) -> errors.APIError:
    status = getattr(e, "status", 422)
    if status == 415:
        return errors.UnsupportedMediaType(str(e))
    if status == 400:
        return errors.BadRequest(str(e))
    return errors.Invalid(str(e), name=name, group=res.group, kind=res.kind)
