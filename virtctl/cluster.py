"""virtctl's connection to a cluster: the one module that imports `kubernetes`.

Owns finding the kubeconfig like kubectl (`--kubeconfig`, `$KUBECONFIG`, the embedded node's
`<state>/kubeconfig`, `~/.kube/config`; see virtctl/kubeconfig.py), building the official
client from it, discovery (which plural, kind, scope and short names a type name means), the
REST calls the commands make (get, list, tables, create, replace, merge patch, delete, the
`subresources.kubevirt.io` verbs), and turning every failure into a typed error whose message is
the sentence to print: the server's `Status.message`, or what was unreachable and what to try.
Commands (virtctl/commands/) call it; it prints nothing and never exits the process.
`kubernetes` is imported when a connection is made, so offline commands do not pay for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from virtctl.kubeconfig import default_state_dir, find_kubeconfig

TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
MERGE_PATCH = "application/merge-patch+json"
SUBRESOURCES_GROUP = "subresources.kubevirt.io/v1"
REQUEST_TIMEOUT = 30.0


class ClusterError(Exception):
    """Base of every failure to reach or use the cluster; str() is the message to print."""


class NoKubeconfigError(ClusterError):
    """No kubeconfig anywhere kubectl would look, and no embedded node."""


class KubeconfigError(ClusterError):
    """A kubeconfig that cannot be read or used."""


class UnreachableError(ClusterError):
    """The API server did not answer."""


class UnknownResourceError(ClusterError):
    """A type name that discovery does not know."""


class APIStatusError(ClusterError):
    """The server answered with a failure `Status`."""

    def __init__(self, code: int, reason: str, message: str, status: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.status = status or {}

    @property
    def not_found(self) -> bool:
        return self.code == 404


@dataclass(frozen=True)
class ResourceType:
    """What discovery says about one served resource."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """kubectl's name for the type in `-o name` and messages: virtualmachine.kubevirt.io."""
        return f"{self.singular}.{self.group}" if self.group else self.singular

    def path(self, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{quote(name, safe='')}"
        if subresource:
            base += f"/{subresource}"
        return base


def kubeconfig_path(explicit: str | None, state_dir: Path | None = None) -> Path:
    """The kubeconfig a command uses: `--kubeconfig`, then `--state-dir`'s node when one was
    named, then kubectl's order with the default node (virtctl/kubeconfig.py `find_kubeconfig`)."""
    if explicit:
        return Path(explicit).expanduser()
    if state_dir is not None:
        embedded = Path(state_dir).expanduser() / "kubeconfig"
        if not embedded.is_file():
            raise NoKubeconfigError(f"No embedded node in {state_dir}: start it with "
                                    f"'virtctl up --state-dir {state_dir}'")
        return embedded
    found = find_kubeconfig(None)
    if found is not None:
        return found
    raise NoKubeconfigError(
        f"No kubeconfig found: pass --kubeconfig, set $KUBECONFIG, or start the embedded node "
        f"with 'virtctl up' (it writes {default_state_dir() / 'kubeconfig'})")


class Cluster:
    """One API server, reached with the official client configured from a kubeconfig."""

    def __init__(self, kubeconfig: Path, context: str | None = None) -> None:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        self.kubeconfig = Path(kubeconfig)
        if not self.kubeconfig.is_file():
            raise KubeconfigError(f"Kubeconfig {self.kubeconfig} does not exist")
        try:
            contexts, current = config.list_kube_config_contexts(config_file=str(self.kubeconfig))
            chosen = current
            if context:
                chosen = next((c for c in contexts if c["name"] == context), None)
                if chosen is None:
                    raise KubeconfigError(f"Context {context!r} is not in {self.kubeconfig}")
            self.namespace = ((chosen or {}).get("context") or {}).get("namespace") or "default"
            configuration = client.Configuration()
            config.load_kube_config(config_file=str(self.kubeconfig), context=context,
                                    client_configuration=configuration)
        except ConfigException as e:
            raise KubeconfigError(f"Kubeconfig {self.kubeconfig} cannot be used: {e}") from None
        except (OSError, ValueError) as e:
            raise KubeconfigError(f"Kubeconfig {self.kubeconfig} cannot be read: {e}") from None
        configuration.retries = 1
        self.server = configuration.host
        self._api = client.ApiClient(configuration)
        self._types: list[ResourceType] | None = None

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- transport -------------------------------------------------------------------------

    def request(self, method: str, path: str, query: dict | None = None, body: Any = None,
                content_type: str = "application/json", accept: str = "application/json",
                timeout: float = REQUEST_TIMEOUT) -> Any:
        """One REST call; the decoded JSON answer (None when empty). Raises ClusterError."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        params = list((query or {}).items())
        try:
            if hasattr(self._api, "param_serialize"):  # kubernetes >= 31: requests never raise
                method, url, headers, body, post = self._api.param_serialize(
                    method, path, query_params=params, header_params=headers, body=body,
                    auth_settings=["BearerToken"])
                response = self._api.call_api(method, url, headers, body, post,
                                              _request_timeout=timeout)
                raw = response.read()
                if not 200 <= response.status < 300:
                    raise _status_error(response.status, response.reason, raw)
            else:                                       # older clients raise ApiException
                response = self._api.call_api(
                    path, method, query_params=params, header_params=headers, body=body,
                    auth_settings=["BearerToken"], _preload_content=False,
                    _return_http_data_only=True, _request_timeout=timeout)
                raw = response.data
        except ApiException as e:
            raise _status_error(e.status, e.reason, e.body) from None
        except HTTPError as e:
            raise UnreachableError(
                f"The connection to the server {self.server} failed ({_root_cause(e)}); is the "
                f"node running? ('virtctl up' starts the embedded one)") from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    # --- discovery -------------------------------------------------------------------------

    def resource_types(self) -> list[ResourceType]:
        """Every resource served (core and named groups, preferred versions), subresources left out."""
        if self._types is not None:
            return self._types
        versions = [("", v) for v in (self.request("GET", "/api") or {}).get("versions", [])]
        for group in (self.request("GET", "/apis") or {}).get("groups", []):
            preferred = (group.get("preferredVersion") or {}).get("version")
            if preferred:
                versions.append((group["name"], preferred))
        types: list[ResourceType] = []
        for group, version in versions:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            try:
                listing = self.request("GET", path) or {}
            except APIStatusError:
                continue   # kubectl warns and goes on with what it could discover
            for entry in listing.get("resources", []):
                if "/" in entry["name"]:
                    continue
                types.append(ResourceType(group, version, entry["name"],
                                          entry.get("singularName") or entry["kind"].lower(),
                                          entry["kind"], bool(entry.get("namespaced")),
                                          tuple(entry.get("shortNames") or ())))
        self._types = types
        return types

    def resolve(self, name: str) -> ResourceType:
        """A type as kubectl spells it: vm, vms, virtualmachine, VirtualMachine,
        virtualmachines.kubevirt.io, vm.kubevirt.io."""
        wanted, _, group = name.lower().partition(".")
        for rt in self.resource_types():
            if group and rt.group != group:
                continue
            if wanted in (rt.plural, rt.singular, rt.kind.lower(), *rt.short_names):
                return rt
        raise UnknownResourceError(f'the server doesn\'t have a resource type "{name}"')

    def resource_for(self, api_version: str, kind: str) -> ResourceType:
        for rt in self.resource_types():
            if rt.api_version == api_version and rt.kind == kind:
                return rt
        raise UnknownResourceError(f'no matches for kind "{kind}" in version "{api_version}"')

    # --- verbs -----------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict:
        return self.request("GET", rt.path(namespace, name))

    def list(self, rt: ResourceType, namespace: str | None, label_selector: str = "",
             field_selector: str = "") -> dict:
        return self.request("GET", rt.path(namespace), _selectors(label_selector, field_selector))

    def table(self, rt: ResourceType, namespace: str | None, name: str | None = None,
              label_selector: str = "") -> dict:
        """The server's `as=Table` rendering (meta.k8s.io Table) of one object or a list."""
        query = {"includeObject": "Metadata", **_selectors(label_selector, "")}
        return self.request("GET", rt.path(namespace, name), query, accept=TABLE_ACCEPT)

    def create(self, rt: ResourceType, namespace: str | None, obj: dict) -> dict:
        return self.request("POST", rt.path(namespace), body=obj)

    def replace(self, rt: ResourceType, namespace: str | None, obj: dict) -> dict:
        return self.request("PUT", rt.path(namespace, obj["metadata"]["name"]), body=obj)

    def merge_patch(self, rt: ResourceType, namespace: str | None, name: str, patch: dict) -> dict:
        return self.request("PATCH", rt.path(namespace, name), body=patch, content_type=MERGE_PATCH)

    def delete(self, rt: ResourceType, namespace: str | None, name: str,
               propagation: str | None = None) -> dict:
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            body["propagationPolicy"] = propagation
        return self.request("DELETE", rt.path(namespace, name), body=body)

    def lifecycle(self, plural: str, namespace: str, name: str, verb: str,
                  options: dict | None = None, dry_run: bool = False) -> None:
        """PUT a `subresources.kubevirt.io/v1` verb (start, stop, restart, pause, unpause)."""
        path = (f"/apis/{SUBRESOURCES_GROUP}/namespaces/{quote(namespace, safe='')}/{plural}/"
                f"{quote(name, safe='')}/{verb}")
        self.request("PUT", path, {"dryRun": "All"} if dry_run else None, body=options or {})


def connect(kubeconfig: str | None, state_dir: Path | None = None,
            context: str | None = None) -> Cluster:
    """The cluster the command line names (see `kubeconfig_path`)."""
    return Cluster(kubeconfig_path(kubeconfig, state_dir), context)


def _selectors(label_selector: str, field_selector: str) -> dict:
    query = {}
    if label_selector:
        query["labelSelector"] = label_selector
    if field_selector:
        query["fieldSelector"] = field_selector
    return query


def _status_error(code: int, reason: str, body: Any) -> APIStatusError:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        status = json.loads(body) if body else {}
    except ValueError:
        status = {}
    if isinstance(status, dict) and status.get("kind") == "Status":
        return APIStatusError(int(status.get("code") or code or 0), status.get("reason") or "",
                              status.get("message") or reason or f"HTTP {code}", status)
    text = (body or "").strip() if isinstance(body, str) else ""
    return APIStatusError(code or 0, reason or "", f"the server answered {code} {reason}: {text}"[:500])


def _root_cause(e: BaseException) -> str:
    reason = getattr(e, "reason", None)
    while isinstance(reason, BaseException) and getattr(reason, "reason", None) is not None:
        reason = reason.reason
    text = str(reason or e)
    if "Connection refused" in text:
        return "connection refused"
    return text
