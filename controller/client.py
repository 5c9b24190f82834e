"""The controller's one door to the Kubernetes API, through the official `kubernetes` client.

Owns every call the controller makes to an API server (the embedded one or a
real cluster's, the same code): get, list, watch, create, replace, status
replace, merge patch and delete of plain JSON objects, and the translation of
the client's ApiException and urllib3 errors into controller/errors.py's typed
errors, here and only here. Objects travel as dicts in their Kubernetes JSON
form. This is the only module of the controller that imports `kubernetes`;
it must never hold reconcile logic.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException

from controller import errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kind:
    """A served resource: where its objects live and what they are called."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def describe(self, namespace: str | None, name: str | None = None) -> str:
        where = f"{namespace}/{name}" if namespace and name else (name or namespace or "all namespaces")
        return f"{self.plural} {where}"


VIRTUAL_MACHINES = Kind("kubevirt.io", "v1", "virtualmachines", "VirtualMachine")
VIRTUAL_MACHINE_INSTANCES = Kind("kubevirt.io", "v1", "virtualmachineinstances", "VirtualMachineInstance")
LEASES = Kind("coordination.k8s.io", "v1", "leases", "Lease")
EVENTS = Kind("", "v1", "events", "Event")
NODES = Kind("", "v1", "nodes", "Node", namespaced=False)
PERSISTENT_VOLUME_CLAIMS = Kind("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
VIRTUAL_MACHINE_POOLS = Kind("pool.kubevirt.io", "v1beta1", "virtualmachinepools", "VirtualMachinePool")

_ERRORS_BY_REASON = {
    "NotFound": errors.NotFoundError,
    "AlreadyExists": errors.AlreadyExistsError,
    "Conflict": errors.ConflictError,
    "Gone": errors.GoneError,
    "Expired": errors.GoneError,
    "Invalid": errors.InvalidError,
    "Forbidden": errors.ForbiddenError,
    "Unauthorized": errors.ForbiddenError,
}
_ERRORS_BY_STATUS = {404: errors.NotFoundError, 409: errors.ConflictError, 410: errors.GoneError,
                     422: errors.InvalidError, 401: errors.ForbiddenError, 403: errors.ForbiddenError}


def _translate(exc: BaseException, verb: str, what: str) -> errors.APIRequestError:
    if isinstance(exc, ApiException):
        reason, message = "", exc.reason or ""
        try:
            body = json.loads(exc.body or "{}")
            reason, message = body.get("reason", ""), body.get("message", message)
        except (TypeError, ValueError):
            pass
        cls = _ERRORS_BY_REASON.get(reason) or _ERRORS_BY_STATUS.get(exc.status or 0)
        if cls is None:
            cls = errors.APIUnavailableError if (exc.status or 0) in (0, 429) or (exc.status or 0) >= 500 \
                else errors.APIRequestError
        return cls(verb, what, message or f"HTTP {exc.status}", exc.status or 0, reason)
    return errors.APIUnavailableError(verb, what, f"{type(exc).__name__}: {exc}")


_TRANSPORT_ERRORS = (ApiException, urllib3.exceptions.HTTPError, OSError)


_QUERY_NAMES = {"label_selector": "labelSelector", "resource_version": "resourceVersion",
                "timeout_seconds": "timeoutSeconds", "allow_watch_bookmarks": "allowWatchBookmarks"}


def _core_group(kind: Kind) -> bool:
    """A core-group kind other than Events (which go through CoreV1Api's typed methods)."""
    return not kind.group and kind is not EVENTS


class Client:
    """Plain-dict CRUD and watch on any Kind; every failure is a controller.errors type."""

    def __init__(self, api_client: k8s.ApiClient, request_timeout: float = 10.0) -> None:
        self._api_client = api_client
        self._custom = k8s.CustomObjectsApi(api_client)
        self._core = k8s.CoreV1Api(api_client)
        self.request_timeout = request_timeout

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, context: str | None = None,
                        request_timeout: float = 10.0) -> Client:
        """A client from a kubeconfig file (kubectl's rules when path is None), or in-cluster config."""
        if path is None:
            try:
                return cls(k8s_config.new_client_from_config(context=context), request_timeout)
            except k8s_config.ConfigException:
                configuration = k8s.Configuration()
                k8s_config.load_incluster_config(client_configuration=configuration)
                return cls(k8s.ApiClient(configuration), request_timeout)
        return cls(k8s_config.new_client_from_config(config_file=path, context=context), request_timeout)

    def close(self) -> None:
        self._api_client.close()

    # -- reads ---------------------------------------------------------------------------------

    def get(self, kind: Kind, namespace: str | None, name: str) -> dict:
        return self._call("get", kind, namespace, name, lambda: self._do_get(kind, namespace, name))

    def list(self, kind: Kind, namespace: str | None = None, label_selector: str = "") -> tuple[list[dict], str]:
        """Every matching object and the list's resourceVersion (where a watch resumes)."""
        result = self._call("list", kind, namespace, None,
                            lambda: self._do_list(kind, namespace, label_selector=label_selector))
        return list(result.get("items") or []), (result.get("metadata") or {}).get("resourceVersion", "")

    def watch(self, kind: Kind, namespace: str | None, resource_version: str,
              timeout_seconds: int = 60, label_selector: str = "") -> Watch:
        """A stream of (type, object) from resource_version on, bookmarks included; GoneError when
        resource_version was compacted away."""
        what = kind.describe(namespace)
        try:
            response = self._do_list(kind, namespace, label_selector=label_selector, watch=True,
                                     resource_version=resource_version, timeout_seconds=timeout_seconds,
                                     allow_watch_bookmarks=True, _preload_content=False,
                                     _request_timeout=(self.request_timeout, timeout_seconds + 10))
        except _TRANSPORT_ERRORS as exc:
            raise _translate(exc, "watch", what) from exc
        return Watch(response, what)

    # -- writes --------------------------------------------------------------------------------

    def create(self, kind: Kind, namespace: str | None, body: dict) -> dict:
        name = (body.get("metadata") or {}).get("name", "")
        if kind is EVENTS:
            return self._call("create", kind, namespace, name, lambda: self._core_dict(
                self._core.create_namespaced_event(namespace, body, _request_timeout=self.request_timeout)))
        if _core_group(kind):
            return self._call("create", kind, namespace, name, lambda: self._rest("POST", kind, namespace, body=body))
        if kind.namespaced:
            fn = lambda: self._custom.create_namespaced_custom_object(  # noqa: E731
                kind.group, kind.version, namespace, kind.plural, body, _request_timeout=self.request_timeout)
        else:
            fn = lambda: self._custom.create_cluster_custom_object(  # noqa: E731
                kind.group, kind.version, kind.plural, body, _request_timeout=self.request_timeout)
        return self._call("create", kind, namespace, name, fn)

    def replace(self, kind: Kind, namespace: str | None, body: dict) -> dict:
        """PUT the whole object; ConflictError when metadata.resourceVersion is stale."""
        name = body["metadata"]["name"]
        if _core_group(kind):
            return self._call("update", kind, namespace, name,
                              lambda: self._rest("PUT", kind, namespace, name, body=body))
        return self._call("update", kind, namespace, name, lambda: self._custom.replace_namespaced_custom_object(
            kind.group, kind.version, namespace, kind.plural, name, body, _request_timeout=self.request_timeout))

    def replace_status(self, kind: Kind, namespace: str, body: dict) -> dict:
        """PUT through the status subresource; ConflictError when metadata.resourceVersion is stale."""
        name = body["metadata"]["name"]
        if _core_group(kind):
            return self._call("update status of", kind, namespace, name,
                              lambda: self._rest("PUT", kind, namespace, name, "status", body=body))
        return self._call("update status of", kind, namespace, name,
                          lambda: self._custom.replace_namespaced_custom_object_status(
                              kind.group, kind.version, namespace, kind.plural, name, body,
                              _request_timeout=self.request_timeout))

    def patch(self, kind: Kind, namespace: str | None, name: str, merge_patch: dict) -> dict:
        """A JSON merge patch (RFC 7386) of the main resource."""
        if _core_group(kind):
            return self._call("patch", kind, namespace, name, lambda: self._rest(
                "PATCH", kind, namespace, name, body=merge_patch, content_type="application/merge-patch+json"))
        if kind is EVENTS:
            return self._call("patch", kind, namespace, name, lambda: self._core_dict(
                self._core.patch_namespaced_event(name, namespace, merge_patch,
                                                  _request_timeout=self.request_timeout)))
        return self._call("patch", kind, namespace, name, lambda: self._custom.patch_namespaced_custom_object(
            kind.group, kind.version, namespace, kind.plural, name, merge_patch,
            _request_timeout=self.request_timeout))

    def delete(self, kind: Kind, namespace: str, name: str, uid: str | None = None) -> None:
        """Delete (Background propagation); with uid, only that incarnation of the object."""
        options: dict[str, Any] = {"propagationPolicy": "Background"}
        if uid:
            options["preconditions"] = {"uid": uid}
        if _core_group(kind):
            self._call("delete", kind, namespace, name, lambda: self._rest("DELETE", kind, namespace, name,
                                                                            body=options))
            return
        self._call("delete", kind, namespace, name, lambda: self._custom.delete_namespaced_custom_object(
            kind.group, kind.version, namespace, kind.plural, name, body=options,
            _request_timeout=self.request_timeout))

    # -- plumbing ------------------------------------------------------------------------------

    def _call(self, verb: str, kind: Kind, namespace: str | None, name: str | None, fn) -> Any:
        try:
            return fn()
        except _TRANSPORT_ERRORS as exc:
            raise _translate(exc, verb, kind.describe(namespace, name)) from exc

    def _core_dict(self, model: Any) -> dict:
        return self._api_client.sanitize_for_serialization(model)

    def _rest(self, method: str, kind: Kind, namespace: str | None, name: str | None = None,
              subresource: str | None = None, body: Any = None, query: dict | None = None,
              content_type: str = "application/json", preload: bool = True, timeout: Any = None) -> Any:
        """One request to a core-group (/api/v1) resource, which CustomObjectsApi cannot address."""
        path = f"/api/{kind.version}"
        if kind.namespaced and namespace:
            path += f"/namespaces/{namespace}"
        path += f"/{kind.plural}" + (f"/{name}" if name else "") + (f"/{subresource}" if subresource else "")
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = self._api_client.param_serialize(
            method, path, query_params=[(k, v) for k, v in (query or {}).items()], header_params=headers,
            body=body, auth_settings=["BearerToken"])
        response = self._api_client.call_api(*request, _request_timeout=timeout or self.request_timeout)
        if not 200 <= response.status <= 299:
            response.read()
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        if not preload:
            return response.response
        response.read()
        return self._api_client.response_deserialize(response, {str(response.status): "object"}).data

    def _do_get(self, kind: Kind, namespace: str | None, name: str) -> dict:
        if kind is EVENTS:
            return self._core_dict(self._core.read_namespaced_event(
                name, namespace, _request_timeout=self.request_timeout))
        if _core_group(kind):
            return self._rest("GET", kind, namespace, name)
        if kind.namespaced:
            return self._custom.get_namespaced_custom_object(
                kind.group, kind.version, namespace, kind.plural, name, _request_timeout=self.request_timeout)
        return self._custom.get_cluster_custom_object(
            kind.group, kind.version, kind.plural, name, _request_timeout=self.request_timeout)

    def _do_list(self, kind: Kind, namespace: str | None, **kwargs: Any) -> Any:
        kwargs = {k: v for k, v in kwargs.items() if v not in ("", None)}
        kwargs.setdefault("_request_timeout", self.request_timeout)
        if kind is EVENTS:
            if kwargs.get("watch"):
                raise errors.APIRequestError("watch", kind.describe(namespace), "Events are not watched")
            if namespace:
                return self._core_dict(self._core.list_namespaced_event(namespace, **kwargs))
            return self._core_dict(self._core.list_event_for_all_namespaces(**kwargs))
        if _core_group(kind):
            timeout = kwargs.pop("_request_timeout")
            preload = kwargs.pop("_preload_content", True)
            query = {_QUERY_NAMES.get(k, k): ("true" if v is True else v) for k, v in kwargs.items()}
            return self._rest("GET", kind, namespace, query=query, preload=preload, timeout=timeout)
        if namespace and kind.namespaced:
            return self._custom.list_namespaced_custom_object(
                kind.group, kind.version, namespace, kind.plural, **kwargs)
        return self._custom.list_cluster_custom_object(kind.group, kind.version, kind.plural, **kwargs)


class Watch:
    """One watch connection: iterate for (type, object); close() from any thread ends it."""

    def __init__(self, response: Any, what: str) -> None:
        self._response = response
        self._what = what
        self._closed = False

    def __iter__(self) -> Iterator[tuple[str, dict]]:
        buffer = b""
        try:
            for chunk in self._response.stream(amt=None, decode_content=False):
                buffer += chunk if isinstance(chunk, bytes) else chunk.encode()
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield self._event(line)
            if buffer.strip():
                yield self._event(buffer)
        except _TRANSPORT_ERRORS as exc:
            if not self._closed:
                raise _translate(exc, "watch", self._what) from exc
        finally:
            self.close()

    def _event(self, line: bytes) -> tuple[str, dict]:
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise errors.APIUnavailableError("watch", self._what, f"Unreadable watch event: {exc}") from exc
        kind, obj = event.get("type", ""), event.get("object") or {}
        if kind == "ERROR":
            code = int(obj.get("code") or 0)
            cls = errors.GoneError if code == 410 else _ERRORS_BY_STATUS.get(code, errors.APIUnavailableError)
            raise cls("watch", self._what, obj.get("message", "watch error"), code, obj.get("reason", ""))
        return kind, obj

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        shutdown = getattr(self._response, "shutdown", None)
        try:
            if shutdown is not None:
                shutdown()
            self._response.close()
            self._response.release_conn()
        except Exception:  # closing a connection that already broke
            log.debug("closing watch on %s", self._what, exc_info=True)
