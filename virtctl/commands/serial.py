"""`virtctl console VMI` and `virtctl logs VMI`: the guest's serial console and boot log.

Owns reaching a VMI's launcher on the embedded node: it looks the VMI up through the
API (for its uid), finds the launcher record the node's handler keeps under
`<state dir>/node/launchers/<uid>.json`, and then either replays the boot log the
launcher keeps (`logs`, through the launcher's ReadBootLog) or attaches to its
console socket (`console`; Ctrl+] detaches, like KubeVirt's virtctl). Only one
console session at a time: a second gets the launcher's "in use" line. On a real
cluster this path goes through the API server instead (later).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import sys
import termios
import time
import tty
from pathlib import Path

from virtctl import cluster
from virtctl.commands import session
from virtctl.kubeconfig import default_state_dir

ESCAPE = b"\x1d"  # Ctrl+]


class NotOnThisNodeError(cluster.ClusterError):
    """The VMI has no launcher on this machine's embedded node."""


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("console", help="Connect to the serial console of a VMI (Ctrl+] to leave).",
                            description="Attach to the serial console of a virtual machine instance "
                                        "on the embedded node. Ctrl+] detaches.")
    p.add_argument("name", metavar="VMI")
    session.add_options(p)
    p.set_defaults(run=session.runner(console))
    p = commands.add_parser("logs", help="Print the boot log of a VMI (what its serial console printed).",
                            description="Replay everything the guest printed on its serial console.")
    p.add_argument("name", metavar="VMI")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new output")
    session.add_options(p)
    p.set_defaults(run=session.runner(logs))


def _record(args: argparse.Namespace, conn: cluster.Cluster) -> dict:
    vmi = conn.get(conn.resolve("vmi"), session.namespace(args, conn), args.name)
    uid = vmi["metadata"]["uid"]
    state = (args.state_dir or default_state_dir()).expanduser()
    path = state / "node" / "launchers" / f"{uid}.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        phase = (vmi.get("status") or {}).get("phase") or "Pending"
        raise NotOnThisNodeError(
            f"VMI {args.name} has no launcher on the node in {state} (phase {phase}); it is not "
            f"running here yet") from None
    except PermissionError:
        raise NotOnThisNodeError(f"Cannot read {path}: the node's records are root's; run as root") from None


def logs(args: argparse.Namespace, conn: cluster.Cluster) -> int:
    from handler.launchers import LauncherClient
    from handler.errors import HandlerError

    record = _record(args, conn)
    client = LauncherClient(record["socket"], record["vmi_uid"])
    out = sys.stdout.buffer
    offset = 0
    try:
        while True:
            reply = client.read_boot_log(offset)
            out.write(reply.data)
            out.flush()
            offset = reply.next_offset
            if not reply.data:
                if not args.follow:
                    return session.EXIT_OK
                time.sleep(0.5)
    except HandlerError as e:
        print(f"error: {e}", file=sys.stderr)
        return session.EXIT_PROBLEM
    except KeyboardInterrupt:
        return session.EXIT_OK
    finally:
        client.close()


def console(args: argparse.Namespace, conn: cluster.Cluster) -> int:
    record = _record(args, conn)
    path = Path(record["directory"]) / "console.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError as e:
        print(f"error: cannot reach the console of VMI {args.name} at {path}: {e.strerror}", file=sys.stderr)
        return session.EXIT_PROBLEM
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"Successfully connected to {args.name} console. The escape sequence is ^]", file=sys.stderr)
        saved = termios.tcgetattr(sys.stdin.fileno())
        tty.setraw(sys.stdin.fileno())
    try:
        return _relay(sock, interactive)
    finally:
        if interactive:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)
            print("", file=sys.stderr)
        sock.close()


def _relay(sock: socket.socket, interactive: bool) -> int:
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    reading_stdin = True
    while True:
        watched = [sock] + ([stdin] if reading_stdin else [])
        ready, _, _ = select.select(watched, [], [])
        if sock in ready:
            data = sock.recv(65536)
            if not data:
                return session.EXIT_OK
            os.write(stdout, data)
        if stdin in ready:
            data = os.read(stdin, 1024)
            if not data:  # input closed (piped): keep showing output until the console closes
                reading_stdin = False
                continue
            if interactive and ESCAPE in data:
                sock.sendall(data.split(ESCAPE, 1)[0])
                return session.EXIT_OK
            sock.sendall(data)
