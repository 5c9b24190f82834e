"""`virtctl start|stop|restart VM`, `pause|unpause vm|vmi NAME`,

Owns the command lines of KubeVirt's lifecycle verbs and their client-side rules (virtctl's
`--grace-period` only with `--force`), calling the `subresources.kubevirt.io` verbs through
virtctl/cluster.py; the rules about which runStrategy allows what are the server's
(apiserver/subresources.py), whose 409 messages are printed as they come. `pause --wait`
polls the VMI for the `Paused` condition the node's handler sets (a spinner on a terminal,
nothing when piped). `console` and `logs` are virtctl/commands/serial.py's.
"""

from __future__ import annotations

import argparse
import sys
import time

from virtctl import cluster
from virtctl.commands import session
from virtctl.commands.progress import Spinner

NO_GRACE = -1
POLL_SECONDS = 0.5


def register(commands: argparse._SubParsersAction) -> None:
    for verb, helptext in (("start", "Start a virtual machine."),
                           ("stop", "Stop a virtual machine."),
                           ("restart", "Restart a virtual machine.")):
        p = commands.add_parser(verb, help=helptext, description=helptext)
        p.add_argument("name", metavar="VM")
        if verb == "start":
            p.add_argument("--paused", action="store_true",
                           help="start the VM with its vCPUs paused")
        else:
            p.add_argument("--grace-period", type=int, default=NO_GRACE, metavar="SECONDS",
                           help="with --force: seconds the guest gets to shut down (restart: "
                                "only 0)")
            p.add_argument("--force", action="store_true",
                           help="stop at once (grace period 0 unless --grace-period says "
                                "otherwise); may lose data the guest has not written")
        p.add_argument("--dry-run", action="store_true",
                       help="ask the server to check the request without changing anything")
        session.add_options(p)
        p.set_defaults(run=session.runner(_vm_verb, check=_check_force), verb=verb)

    for verb, helptext in (("pause", "Pause a virtual machine."),
                           ("unpause", "Unpause a virtual machine.")):
        p = commands.add_parser(verb, help=helptext, description=helptext + " The node's handler "
                                "acts on the request and sets the VMI's Paused condition.")
        p.add_argument("type", choices=("vm", "vmi"), metavar="vm|vmi")
        p.add_argument("name", metavar="NAME")
        p.add_argument("--dry-run", action="store_true")
        p.add_argument("--wait", type=float, metavar="SECONDS", default=0,
                       help="wait up to SECONDS for the handler to report the change")
        session.add_options(p)
        p.set_defaults(run=session.runner(_pause_verb), verb=verb)


def _check_force(args: argparse.Namespace) -> None:
    if args.verb != "start" and args.grace_period != NO_GRACE and not args.force:
        raise session.UsageError("Can not set gracePeriod without --force=true")


def _vm_verb(args: argparse.Namespace, conn: cluster.Cluster) -> int:
    ns = session.namespace(args, conn)
    options: dict = {}
    if args.verb == "start" and args.paused:
        options["paused"] = True
    if args.verb != "start" and args.force:
        grace = 0 if args.grace_period == NO_GRACE else args.grace_period
        options["gracePeriod" if args.verb == "stop" else "gracePeriodSeconds"] = grace
    conn.lifecycle("virtualmachines", ns, args.name, args.verb, options, args.dry_run)
    print(f"VM {args.name} was scheduled to {args.verb}" + (" (dry run)" if args.dry_run else ""))
    return session.EXIT_OK


def _pause_verb(args: argparse.Namespace, conn: cluster.Cluster) -> int:
    ns = session.namespace(args, conn)
    conn.lifecycle("virtualmachineinstances", ns, args.name, args.verb, {}, args.dry_run)
    noun = "VM" if args.type == "vm" else "VMI"
    print(f"{noun} {args.name} was scheduled to {args.verb}" + (" (dry run)" if args.dry_run else ""))
    if args.wait > 0 and not args.dry_run:
        want = args.verb == "pause"
        with Spinner(f"Waiting for VMI {ns}/{args.name} to be {'paused' if want else 'running'}"):
            if not _wait_paused(conn, ns, args.name, want, args.wait):
                print(f"error: VMI {ns}/{args.name} did not report Paused={str(want)} within "
                      f"{args.wait:g}s: the node's handler acts on the request (annotation "
                      f"virtnode.io/pause-requested); is it running?", file=sys.stderr)
                return session.EXIT_PROBLEM
    return session.EXIT_OK


def _wait_paused(conn: cluster.Cluster, ns: str, name: str, want: bool, seconds: float) -> bool:
    rt = conn.resolve("virtualmachineinstances.kubevirt.io")
    deadline = time.monotonic() + seconds
    while True:
        vmi = conn.get(rt, ns, name)
        paused = any(c.get("type") == "Paused" and c.get("status") == "True"
                     for c in (vmi.get("status") or {}).get("conditions") or ())
        if paused == want:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)

