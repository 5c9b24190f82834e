"""`virtctl kubeconfig`: print the path of the embedded node's admin kubeconfig.

Owns only finding and naming that file (`<state>/kubeconfig`, written by the API when
`virtctl up` starts it), so that `export KUBECONFIG=$(virtctl kubeconfig)` points kubectl at the
node. Never reads the file's contents or talks to the node.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from virtctl.commands import session
from virtctl.kubeconfig import KUBECONFIG, default_state_dir


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("kubeconfig", help="Print the path of the embedded node's kubeconfig.",
                            description="Print the path of the embedded node's admin kubeconfig "
                                        "(mode 0600), e.g. export KUBECONFIG=$(virtctl kubeconfig)")
    p.add_argument("--state-dir", type=Path, metavar="DIR",
                   help=f"the node's state directory (default {default_state_dir()})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    state = args.state_dir or default_state_dir()
    path = state / KUBECONFIG
    if not path.is_file():
        print(f"error: No kubeconfig in {state}: start the node with 'virtctl up"
              + (f" --state-dir {state}'" if args.state_dir else "'"), file=sys.stderr)
        return session.EXIT_PROBLEM
    print(path.resolve())
    return session.EXIT_OK
