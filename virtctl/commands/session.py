"""The options every cluster command takes, and running a command against the cluster.

Owns `--kubeconfig`, `--context`, `--state-dir` and `-n/--namespace`, connecting through
virtctl/cluster.py, and mapping failures to exit codes and messages: a server `Status` prints as
kubectl does (`Error from server (NotFound): ...`) and exits 1, like every other cluster problem.
Never imports `kubernetes` (virtctl/cluster.py does).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from virtctl import cluster

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2   # virtctl/cli.py's codes


class UsageError(Exception):
    """The command line asks for something impossible: exit 2 with the message."""


def add_options(parser: argparse.ArgumentParser, namespaced: bool = True) -> None:
    group = parser.add_argument_group("cluster")
    group.add_argument("--kubeconfig", metavar="PATH",
                       help="kubeconfig to use (default: $KUBECONFIG, the embedded node's, "
                            "~/.kube/config)")
    group.add_argument("--context", help="kubeconfig context to use")
    group.add_argument("--state-dir", type=Path, metavar="DIR",
                       help="use the embedded node in DIR (its DIR/kubeconfig)")
    if namespaced:
        group.add_argument("-n", "--namespace",
                           help="namespace (default: the kubeconfig context's, else default)")


def namespace(args: argparse.Namespace, conn: cluster.Cluster) -> str:
    return getattr(args, "namespace", None) or conn.namespace


def runner(command: Callable[[argparse.Namespace, cluster.Cluster], int],
           check: Callable[[argparse.Namespace], None] | None = None):
    """Wraps `command(args, conn)` into an argparse `run`: `check(args)` (raising UsageError)
    before connecting, then connect, run, and map failures to exit codes."""

    def run(args: argparse.Namespace) -> int:
        try:
            if check is not None:
                check(args)
            with cluster.connect(args.kubeconfig, args.state_dir, args.context) as conn:
                return command(args, conn)
        except UsageError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_USAGE
        except cluster.ClusterError as e:
            print(error_text(e), file=sys.stderr)
            return EXIT_PROBLEM

    return run


def error_text(e: cluster.ClusterError) -> str:
    if isinstance(e, cluster.APIStatusError):
        return f"Error from server ({e.reason or e.code}): {e}"
    return f"error: {e}"
