"""`virtctl apply -f`, `create -f`, `get`, `describe`, `delete`: objects, the kubectl way.

Owns reading manifests for the cluster (files, directories, `-`; `kind: List` unpacked),
client-side apply (create when missing, else a JSON merge patch computed from the
`kubectl.kubernetes.io/last-applied-configuration` annotation, so kubectl and virtctl can take
turns), printing the server's `as=Table` rows as kubectl does (`-o wide`, `-A`), `-o
yaml|json|name`, and `describe`'s summary with conditions and the object's recent Events.
Everything goes through virtctl/cluster.py; nothing here decodes typed objects.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from typing import Any

import yaml

from virtctl import cluster
from virtctl.commands import session
from virtctl.validate import SourceError, read_sources

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
RECENT_EVENTS = 20


def register(commands: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Adds apply, create, get, describe and delete; returns `create`'s kinds (for `create vm`)."""
    p = commands.add_parser("apply", help="Create or update objects from manifests.",
                            description="Create each object in the manifests, or update it to "
                                        "match them (client-side apply, like kubectl's).")
    _filename(p, required=True)
    session.add_options(p)
    p.set_defaults(run=session.runner(apply))

    p = commands.add_parser("create", help="Create objects from manifests, or generate a manifest.",
                            description="'create -f FILE' creates the objects in FILE; 'create vm' "
                                        "prints a VirtualMachine manifest built from flags.")
    _filename(p, required=False)
    session.add_options(p)
    p.set_defaults(run=session.runner(create, check=_needs_filename))
    kinds = p.add_subparsers(dest="create_kind", metavar="KIND")

    p = commands.add_parser("get", help="List objects, or show some, as a table or a document.")
    p.add_argument("target", nargs="+", metavar="TYPE[/NAME] [NAME...]",
                   help="a type (vm, vmi, virtualmachines, ...), optionally with names")
    p.add_argument("-o", "--output", choices=("wide", "yaml", "json", "name"))
    p.add_argument("-A", "--all-namespaces", action="store_true", help="list in every namespace")
    p.add_argument("-l", "--selector", default="", help="label selector (a=b,c!=d,e in (x,y))")
    session.add_options(p)
    p.set_defaults(run=session.runner(get))

    p = commands.add_parser("describe", help="Show an object's details, conditions and events.")
    p.add_argument("target", nargs="+", metavar="TYPE[/NAME] [NAME...]")
    session.add_options(p)
    p.set_defaults(run=session.runner(describe))

    p = commands.add_parser("delete", help="Delete objects by name or from manifests.")
    p.add_argument("target", nargs="*", metavar="TYPE[/NAME] [NAME...]")
    _filename(p, required=False)
    p.add_argument("--ignore-not-found", action="store_true",
                   help="treat an object that is already gone as deleted")
    p.add_argument("--cascade", choices=("background", "foreground", "orphan"),
                   default="background", help="what happens to dependents (default background)")
    session.add_options(p)
    p.set_defaults(run=session.runner(delete, check=_delete_usage))
    return kinds


def _filename(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("-f", "--filename", action="append", required=required, metavar="FILE",
                   help="a manifest file, a directory of them, or - for standard input "
                        "(repeatable)")


def _needs_filename(args: argparse.Namespace) -> None:
    if not args.filename:
        raise session.UsageError("create needs -f FILE, or a kind: 'virtctl create vm --help'")


def _delete_usage(args: argparse.Namespace) -> None:
    if bool(args.filename) == bool(args.target):
        raise session.UsageError("delete needs either TYPE NAME... or -f FILE")


# --- manifests -------------------------------------------------------------------------------


def load_objects(names: list[str]) -> list[tuple[str, dict]]:
    """(source, object) for every object in the manifests; `kind: List` is unpacked."""
    try:
        sources = read_sources(names, sys.stdin)
    except SourceError as e:
        raise session.UsageError(str(e)) from None
    out: list[tuple[str, dict]] = []
    for source, text in sources:
        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as e:
            raise session.UsageError(f"{source} is not valid YAML: {e}") from None
        for doc in docs:
            items = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
            for item in items or ():
                if not isinstance(item, dict) or not item.get("apiVersion") or not item.get("kind"):
                    raise session.UsageError(f"{source}: every object needs apiVersion and kind")
                out.append((source, item))
    if not out:
        raise session.UsageError("no objects found in the given manifests")
    return out


def _placement(conn: cluster.Cluster, args, obj: dict) -> tuple[cluster.ResourceType, str | None]:
    rt = conn.resource_for(obj["apiVersion"], obj["kind"])
    if not rt.namespaced:
        return rt, None
    meta = obj.setdefault("metadata", {})
    ns = meta.get("namespace") or session.namespace(args, conn)
    if args.namespace and meta.get("namespace") and meta["namespace"] != args.namespace:
        raise session.UsageError(
            f"the namespace from the provided object \"{meta['namespace']}\" does not match the "
            f"namespace \"{args.namespace}\". You must pass '--namespace={meta['namespace']}' "
            f"to perform this operation.")
    meta["namespace"] = ns
    return rt, ns


def _each(objects, handle) -> int:
    """Runs `handle` on each object; an API failure is printed and the rest still run."""
    failed = 0
    for source, obj in objects:
        try:
            print(handle(obj))
        except cluster.APIStatusError as e:
            failed += 1
            print(session.error_text(e), file=sys.stderr)
    return session.EXIT_PROBLEM if failed else session.EXIT_OK


# --- apply / create --------------------------------------------------------------------------


def apply(args: argparse.Namespace, conn: cluster.Cluster) -> int:
    def one(obj: dict) -> str:
        rt, ns = _placement(conn, args, obj)
        name = obj["metadata"].get("name")
        if not name:
            raise session.UsageError(f"{obj['kind']}: apply needs metadata.name")
        desired = copy.deepcopy(obj)
        desired["metadata"].setdefault("annotations", {})[LAST_APPLIED] = json.dumps(
            obj, sort_keys=True, separators=(",", ":"))
        try:
            live = conn.get(rt, ns, name)
        except cluster.APIStatusError as e:
            if not e.not_found:
                raise
            conn.create(rt, ns, desired)
            return f"{rt.qualified}/{name} created"
        previous = _last_applied(live)
        if previous == obj and contains(live, obj):
            return f"{rt.qualified}/{name} unchanged"
        conn.merge_patch(rt, ns, name, three_way_patch(previous, desired))
        return f"{rt.qualified}/{name} configured"

    return _each(load_objects(args.filename), one)


def create(args: argparse.Namespace, conn: cluster.Cluster) -> int:
    def one(obj: dict) -> str:
        rt, ns = _placement(conn, args, obj)
        made = conn.create(rt, ns, obj)
        return f"{rt.qualified}/{made['metadata']['name']} created"

    return _each(load_objects(args.filename), one)


def _last_applied(live: dict) -> dict:
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        previous = json.loads(text) if text else {}
    except ValueError:
        previous = {}
    return previous if isinstance(previous, dict) else {}


def three_way_patch(previous: Any, desired: Any) -> dict:
    """A merge patch that sets everything in `desired` and removes (null) what `previous`
    applied and `desired` no longer has; what others set and we never applied is kept."""
    patch: dict = {}
    for key, value in desired.items():
        old = previous.get(key) if isinstance(previous, dict) else None
        if isinstance(value, dict) and isinstance(old, dict):
            patch[key] = three_way_patch(old, value)
        else:
            patch[key] = copy.deepcopy(value)
    if isinstance(previous, dict):
        for key in previous:
            if key not in desired:
                patch[key] = None
    return patch


def contains(live: Any, wanted: Any) -> bool:
    """Whether `live` has every value of `wanted` (fields the server defaulted are extra)."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(contains(live.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(live, list) and len(live) == len(wanted) and all(
            contains(a, b) for a, b in zip(live, wanted))
    return live == wanted


# --- get -------------------------------------------------------------------------------------


def _targets(conn: cluster.Cluster, target: list[str]) -> tuple[cluster.ResourceType, list[str]]:
    first, _, name = target[0].partition("/")
    rt = conn.resolve(first)
    names = ([name] if name else []) + [t.partition("/")[2] or t for t in target[1:]]
    return rt, names


def get(args: argparse.Namespace, conn: cluster.Cluster) -> int:
    rt, names = _targets(conn, args.target)
    ns = None if args.all_namespaces else session.namespace(args, conn)
    if args.output in ("yaml", "json"):
        if names:
            objects = [conn.get(rt, ns, n) for n in names]
            doc: Any = objects[0] if len(objects) == 1 else _list(objects)
        else:
            listed = conn.list(rt, ns, args.selector)
            doc = _list([_with_kind(o, rt) for o in listed.get("items", [])])
        if args.output == "json":
            print(json.dumps(doc, indent=4))
        else:
            print(_yaml(doc), end="")
        return session.EXIT_OK
    if args.output == "name":
        found = [conn.get(rt, ns, n) for n in names] if names else \
            conn.list(rt, ns, args.selector).get("items", [])
        for obj in found:
            print(f"{rt.qualified}/{obj['metadata']['name']}")
        return session.EXIT_OK
    tables = [conn.table(rt, ns, n) for n in names] if names else \
        [conn.table(rt, ns, label_selector=args.selector)]
    rows = [row for t in tables for row in t.get("rows", [])]
    if not rows:
        where = "" if args.all_namespaces or not rt.namespaced else f" in {ns} namespace"
        print(f"No resources found{where}.", file=sys.stderr)
        return session.EXIT_OK
    print(render_table(tables[0].get("columnDefinitions", []), rows, wide=args.output == "wide",
                       with_namespace=args.all_namespaces and rt.namespaced), end="")
    return session.EXIT_OK


def _list(items: list[dict]) -> dict:
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


def _with_kind(obj: dict, rt: cluster.ResourceType) -> dict:
    obj.setdefault("apiVersion", rt.api_version)
    obj.setdefault("kind", rt.kind)
    return obj


def render_table(columns: list[dict], rows: list[dict], wide: bool = False,
                 with_namespace: bool = False) -> str:
    """kubectl's printing of a Table: upper-case headers, columns 3 spaces apart, <none> for null,
    priority > 0 columns only when wide, NAMESPACE first with -A."""
    shown = [i for i, c in enumerate(columns) if wide or not c.get("priority")]
    header = [columns[i]["name"].upper() for i in shown]
    lines = []
    for row in rows:
        cells = row.get("cells", [])
        line = [_cell(cells[i] if i < len(cells) else None) for i in shown]
        if with_namespace:
            line.insert(0, ((row.get("object") or {}).get("metadata") or {}).get("namespace", ""))
        lines.append(line)
    if with_namespace:
        header.insert(0, "NAMESPACE")
    table = [header, *lines]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    return "".join("   ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() + "\n"
                   for r in table)


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "<none>"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


# --- describe --------------------------------------------------------------------------------


def describe(args: argparse.Namespace, conn: cluster.Cluster) -> int:
    rt, names = _targets(conn, args.target)
    ns = session.namespace(args, conn)
    if not names:
        names = [o["metadata"]["name"] for o in conn.list(rt, ns).get("items", [])]
    events = _events(conn, ns if rt.namespaced else "default")
    out = []
    for name in names:
        obj = conn.get(rt, ns, name)
        mine = [e for e in events if (e.get("involvedObject") or {}).get("name") == name
                and (e.get("involvedObject") or {}).get("kind") in (rt.kind, None)]
        out.append(render_description(obj, mine))
    print("\n\n".join(out), end="")
    return session.EXIT_OK


def _events(conn: cluster.Cluster, ns: str) -> list[dict]:
    try:
        return conn.list(conn.resolve("events"), ns).get("items", [])
    except cluster.ClusterError:
        return []   # describe still shows the object when events cannot be read


def render_description(obj: dict, events: list[dict]) -> str:
    """kubectl describe's layout for a custom resource, with Conditions and Events tables."""
    meta = obj.get("metadata") or {}
    lines = [f"Name:         {meta.get('name', '')}"]
    if meta.get("namespace"):
        lines.append(f"Namespace:    {meta['namespace']}")
    lines.append(_pairs("Labels:       ", meta.get("labels")))
    lines.append(_pairs("Annotations:  ", {k: v for k, v in (meta.get("annotations") or {}).items()
                                          if k != LAST_APPLIED}))
    lines.append(f"API Version:  {obj.get('apiVersion', '')}")
    lines.append(f"Kind:         {obj.get('kind', '')}")
    summary = {k: meta[k] for k in ("creationTimestamp", "deletionTimestamp", "generation",
                                    "resourceVersion", "uid", "ownerReferences", "finalizers")
               if k in meta}
    status = dict(obj.get("status") or {})
    conditions = status.pop("conditions", None) or []
    for title, section in (("Metadata", summary), ("Spec", obj.get("spec")), ("Status", status)):
        if section:
            lines.append(f"{title}:")
            lines.extend("  " + line for line in _yaml(section).splitlines())
    if conditions:
        lines.append("Conditions:")
        lines.extend("  " + line for line in render_table(
            [{"name": n} for n in ("Type", "Status", "Reason", "Message", "Last Transition Time")],
            [{"cells": [c.get("type"), c.get("status"), c.get("reason"), c.get("message"),
                        c.get("lastTransitionTime")]} for c in conditions]).splitlines())
    if events:
        recent = sorted(events, key=lambda e: e.get("lastTimestamp") or e.get("eventTime")
                        or e["metadata"].get("creationTimestamp") or "")[-RECENT_EVENTS:]
        lines.append("Events:")
        lines.extend("  " + line for line in render_table(
            [{"name": n} for n in ("Type", "Reason", "Last Seen", "Count", "From", "Message")],
            [{"cells": [e.get("type"), e.get("reason"), e.get("lastTimestamp"), e.get("count"),
                        (e.get("source") or {}).get("component") or e.get("reportingComponent"),
                        e.get("message")]} for e in recent]).splitlines())
    else:
        lines.append("Events:       <none>")
    return "\n".join(lines) + "\n"


def _pairs(label: str, values: dict | None) -> str:
    if not values:
        return f"{label}<none>"
    pad = "\n" + " " * len(label)
    return label + pad.join(f"{k}={v}" for k, v in sorted(values.items()))


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False)


# --- delete ----------------------------------------------------------------------------------


def delete(args: argparse.Namespace, conn: cluster.Cluster) -> int:
    propagation = args.cascade.capitalize()
    if args.filename:
        targets = []
        for _, obj in load_objects(args.filename):
            rt, ns = _placement(conn, args, obj)
            targets.append((rt, ns, obj["metadata"].get("name")))
    else:
        rt, names = _targets(conn, args.target)
        if not names:
            raise session.UsageError("delete needs the names of the objects (TYPE NAME...)")
        ns = session.namespace(args, conn)
        targets = [(rt, ns, n) for n in names]
    failed = 0
    for rt, ns, name in targets:
        try:
            conn.delete(rt, ns, name, propagation)
        except cluster.APIStatusError as e:
            if e.not_found and args.ignore_not_found:
                continue
            failed += 1
            print(session.error_text(e), file=sys.stderr)
            continue
        print(f'{rt.qualified} "{name}" deleted')
    return session.EXIT_PROBLEM if failed else session.EXIT_OK
