"""The handler's one door to the Kubernetes API, through the official `kubernetes` client.

Owns every request the handler makes to an API server (the embedded one or a
real cluster's, the same code) and the translation of the client's
ApiException and urllib3 errors into handler/errors.py's typed errors, here
and only here. Objects travel as dicts in their Kubernetes JSON form. This is
the only module of the handler that imports `kubernetes`; it holds no node
logic (handler/node.py decides what a Node says).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.rest import ApiException

from handler import errors

log = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

_ERRORS_BY_REASON = {
    "NotFound": errors.NotFoundError,
    "AlreadyExists": errors.AlreadyExistsError,
    "Conflict": errors.ConflictError,
    "Invalid": errors.InvalidError,
    "Forbidden": errors.ForbiddenError,
    "Unauthorized": errors.ForbiddenError,
}
_ERRORS_BY_STATUS = {404: errors.NotFoundError, 409: errors.ConflictError, 422: errors.InvalidError,
                     401: errors.ForbiddenError, 403: errors.ForbiddenError}
_TRANSPORT_ERRORS = (ApiException, urllib3.exceptions.HTTPError, OSError)


def _pointer_token(key: str) -> str:
    """`key` as one JSON pointer (RFC 6901) reference token."""
    return key.replace("~", "~0").replace("/", "~1")


def _translate(exc: BaseException, verb: str, what: str) -> errors.APIRequestError:
    if isinstance(exc, ApiException):
        reason, message = "", exc.reason or ""
        try:
            body = json.loads(exc.body or "{}")
            reason, message = body.get("reason", ""), body.get("message", message)
        except (TypeError, ValueError, AttributeError):
            pass
        status = exc.status or 0
        cls = _ERRORS_BY_REASON.get(reason) or _ERRORS_BY_STATUS.get(status)
        if cls is None:
            cls = errors.APIUnavailableError if status in (0, 429) or status >= 500 else errors.APIRequestError
        return cls(verb, what, message or f"HTTP {status}", status, reason)
    return errors.APIUnavailableError(verb, what, f"{type(exc).__name__}: {exc}")


class Client:
    """Plain-dict reads and writes of the handler's objects; every failure is a handler.errors type."""

    def __init__(self, api_client: k8s.ApiClient, request_timeout: float = 10.0) -> None:
        self._api_client = api_client
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

    # -- Nodes ---------------------------------------------------------------------------------

    def get_node(self, name: str) -> dict:
        return self._call("get", f"node {name}", "GET", f"/api/v1/nodes/{name}")

    def create_node(self, body: dict) -> dict:
        """POST a Node, status included (Nodes register with their status)."""
        name = body["metadata"]["name"]
        return self._call("create", f"node {name}", "POST", "/api/v1/nodes", body=body)

    def patch_node(self, name: str, merge_patch: dict) -> dict:
        """A JSON merge patch (RFC 7386) of the Node's metadata and spec."""
        return self._call("patch", f"node {name}", "PATCH", f"/api/v1/nodes/{name}",
                          body=merge_patch, content_type=MERGE_PATCH)

    def patch_node_status(self, name: str, merge_patch: dict) -> dict:
        """A JSON merge patch through the status subresource (/api/v1/nodes/<name>/status)."""
        return self._call("patch status of", f"node {name}", "PATCH", f"/api/v1/nodes/{name}/status",
                          body=merge_patch, content_type=MERGE_PATCH)

    # -- VirtualMachineInstances ---------------------------------------------------------------

    def list_vmis(self, label_selector: str = "") -> tuple[list[dict], str]:
        """Every VMI matching the selector, in all namespaces, and the list's resourceVersion."""
        query = f"?labelSelector={label_selector}" if label_selector else ""
        body = self._call("list", "virtualmachineinstances", "GET",
                          f"/apis/kubevirt.io/v1/virtualmachineinstances{query}")
        return body.get("items", []), body.get("metadata", {}).get("resourceVersion", "")

    def watch_vmis(self, label_selector: str, resource_version: str, timeout_seconds: int = 60):
        """(type, object) pairs from a watch of VMIs; ends after `timeout_seconds` or on error."""
        api = k8s.CustomObjectsApi(self._api_client)
        stream = k8s_watch.Watch().stream(
            api.list_cluster_custom_object, "kubevirt.io", "v1", "virtualmachineinstances",
            label_selector=label_selector, resource_version=resource_version,
            timeout_seconds=timeout_seconds, allow_watch_bookmarks=True)
        try:
            for event in stream:
                yield event["type"], event["object"]
        except _TRANSPORT_ERRORS as exc:
            raise _translate(exc, "watch", "virtualmachineinstances") from exc

    def patch_vmi_status(self, namespace: str, name: str, uid: str, fields: dict,
                         has_status: bool = True) -> dict:
        """Sets the top-level `fields` of the status of VMI `namespace/name`, only while that
        name still belongs to the VMI with `uid`. A VMI deleted and created again under the same
        name (a VM restart) must never get its predecessor's last words: the write is a JSON patch
        (RFC 6902) whose first operation tests metadata.uid, checked atomically by the API server
        (a uid in a merge patch is not: the status subresource of a custom resource drops it).
        `has_status` false writes the whole status (a VMI that has none yet).
        A replaced or deleted VMI raises NotFoundError."""
        what = f"virtualmachineinstance {namespace}/{name}"
        ops: list[dict] = [{"op": "test", "path": "/metadata/uid", "value": uid}]
        if has_status:
            ops += [{"op": "add", "path": f"/status/{_pointer_token(key)}", "value": value}
                    for key, value in fields.items()]
        else:
            ops.append({"op": "add", "path": "/status", "value": fields})
        try:
            return self._call("patch status of", what, "PATCH",
                              f"/apis/kubevirt.io/v1/namespaces/{namespace}/virtualmachineinstances/{name}/status",
                              body=ops, content_type=JSON_PATCH)
        except errors.InvalidError as e:
            if "/metadata/uid" not in e.message:
                raise
            raise errors.NotFoundError("patch status of", what, f"it is no longer the VMI with uid {uid} "
                                       "(deleted and created again)", 404, "NotFound") from None

    # -- Secrets -------------------------------------------------------------------------------

    def get_secret(self, namespace: str, name: str) -> dict:
        return self._call("get", f"secret {namespace}/{name}", "GET",
                          f"/api/v1/namespaces/{namespace}/secrets/{name}")

    # -- Events ----------------------------------------------------------------------------------

    def create_event(self, namespace: str, body: dict) -> dict:
        return self._call("create", f"event in {namespace}", "POST", f"/api/v1/namespaces/{namespace}/events",
                          body=body)

    def patch_event(self, namespace: str, name: str, merge_patch: dict) -> dict:
        return self._call("patch", f"event {namespace}/{name}", "PATCH",
                          f"/api/v1/namespaces/{namespace}/events/{name}", body=merge_patch,
                          content_type=MERGE_PATCH)

    # -- plumbing ------------------------------------------------------------------------------

    def _call(self, verb: str, what: str, method: str, path: str, body: Any = None,
              content_type: str = "application/json") -> Any:
        try:
            return self._rest(method, path, body, content_type)
        except _TRANSPORT_ERRORS as exc:
            raise _translate(exc, verb, what) from exc

    def _rest(self, method: str, path: str, body: Any, content_type: str) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = self._api_client.param_serialize(method, path, header_params=headers, body=body,
                                                   auth_settings=["BearerToken"])
        response = self._api_client.call_api(*request, _request_timeout=self.request_timeout)
        response.read()
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        return self._api_client.response_deserialize(response, {str(response.status): "object"}).data
