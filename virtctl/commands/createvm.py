"""`virtctl create vm`: a VirtualMachine manifest from flags, printed, never applied.

Owns KubeVirt's flags and defaults for the subset virtnode supports (`--name`, `--run-strategy`
(Always), `--memory` (512Mi guest memory), `--termination-grace-period` (180),
`--volume-containerdisk src:IMAGE[,name:N][,bootorder:N]` (repeatable), `--cloud-init`
(nocloud | configdrive) with `--cloud-init-user-data` (base64)) and the manifest's shape: what
KubeVirt's generator prints, so `virtctl validate -f -` and `virtctl apply -f -` accept it.
Unlike KubeVirt's, every volume gets a virtio disk in the manifest: virtnode's admission wants
each volume used by a disk rather than adding one. Instancetypes, preferences, DataSources and
access credentials are not supported yet.
Never talks to a cluster.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import secrets
import string
import sys

import yaml

from virtctl.commands import session

RUN_STRATEGIES = ("Always", "Manual", "Halted", "Once", "RerunOnFailure")
DEFAULT_MEMORY = "512Mi"
DEFAULT_GRACE = 180
CLOUD_INIT_VOLUME = "cloudinitdisk"


def register(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser("vm", help="Create a VirtualMachine manifest.",
                         description="Print a VirtualMachine manifest built from flags; it is "
                                     "not applied. Example: virtctl create vm --memory=1Gi "
                                     "--volume-containerdisk=src:quay.io/containerdisks/"
                                     "fedora:40 | virtctl apply -f -")
    p.add_argument("--name", help="the VM's name (default: vm- and five random characters)")
    p.add_argument("--run-strategy", default="Always", choices=RUN_STRATEGIES)
    p.add_argument("--memory", default=DEFAULT_MEMORY, help=f"guest memory (default {DEFAULT_MEMORY})")
    p.add_argument("--termination-grace-period", type=int, default=DEFAULT_GRACE, metavar="SECONDS")
    p.add_argument("--volume-containerdisk", action="append", default=[], metavar="PARAMS",
                   help="src:IMAGE[,name:NAME][,bootorder:N]; repeatable")
    p.add_argument("--cloud-init", choices=("nocloud", "configdrive"), default="nocloud",
                   help="how cloud-init data reaches the guest (default nocloud)")
    p.add_argument("--cloud-init-user-data", metavar="BASE64",
                   help="cloud-init user data, base64 encoded")
    p.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        vm = build(args)
    except session.UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return session.EXIT_USAGE
    if args.output == "json":
        print(json.dumps(vm, indent=2))
    else:
        sys.stdout.write(yaml.safe_dump(vm, sort_keys=False, default_flow_style=False))
    return session.EXIT_OK


def build(args: argparse.Namespace) -> dict:
    """The VirtualMachine document for the parsed flags; UsageError for a malformed flag."""
    name = args.name or "vm-" + "".join(secrets.choice(string.ascii_lowercase + string.digits)
                                        for _ in range(5))
    volumes, disks = [], []
    for index, text in enumerate(args.volume_containerdisk):
        params = _params("--volume-containerdisk", text, ("src", "name", "bootorder"))
        if "src" not in params:
            raise session.UsageError(f"--volume-containerdisk {text!r}: src:IMAGE is required")
        vol_name = params.get("name") or f"{name}-containerdisk-{index}"
        volumes.append({"name": vol_name, "containerDisk": {"image": params["src"]}})
        disk: dict = {"name": vol_name, "disk": {"bus": "virtio"}}
        disks.append(disk)
        if "bootorder" in params:
            try:
                order = int(params["bootorder"])
            except ValueError:
                raise session.UsageError(f"--volume-containerdisk {text!r}: bootorder must be a "
                                         f"positive integer") from None
            if order < 1:
                raise session.UsageError(f"--volume-containerdisk {text!r}: bootorder must be a "
                                         f"positive integer")
            disk["bootOrder"] = order
    if args.cloud_init_user_data:
        try:
            base64.b64decode(args.cloud_init_user_data, validate=True)
        except (binascii.Error, ValueError):
            raise session.UsageError("--cloud-init-user-data must be base64 encoded") from None
        source = "cloudInitNoCloud" if args.cloud_init == "nocloud" else "cloudInitConfigDrive"
        volumes.append({"name": CLOUD_INIT_VOLUME,
                        source: {"userDataBase64": args.cloud_init_user_data}})
        disks.append({"name": CLOUD_INIT_VOLUME, "disk": {"bus": "virtio"}})
    domain: dict = {"devices": {"disks": disks} if disks else {},
                    "memory": {"guest": args.memory}, "resources": {}}
    template_spec: dict = {"domain": domain,
                           "terminationGracePeriodSeconds": args.termination_grace_period}
    if volumes:
        template_spec["volumes"] = volumes
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": name},
            "spec": {"runStrategy": args.run_strategy,
                     "template": {"metadata": {}, "spec": template_spec}}}


def _params(flag: str, text: str, known: tuple[str, ...]) -> dict[str, str]:
    """`key:value,key:value` as KubeVirt's create flags spell their parameters."""
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition(":")
        if not sep or not value:
            raise session.UsageError(f"{flag} {text!r}: expected key:value pairs separated by ','")
        if key not in known:
            raise session.UsageError(f"{flag} {text!r}: unknown parameter {key!r} "
                                     f"(known: {', '.join(known)})")
        out[key] = value
    return out
