"""The virtctl argument parser and command dispatch.

Owns the subcommand table and the process exit codes: 0 success, 1 the command
ran and found a problem (an invalid object), 2 bad usage or unreadable input.
Each subcommand lives in its own module with a `register(subparsers)` function.
"""

from __future__ import annotations

import argparse
import sys

from virtctl import __version__, node, validate
from virtctl.commands import createvm, kubeconfig, lifecycle, objects, serial

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="virtctl",
        description="Run virtual machines the KubeVirt way, on one machine or on Kubernetes.")
    parser.add_argument("--version", action="version", version=f"virtctl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    validate.register(commands)
    node.register(commands)
    kubeconfig.register(commands)
    createvm.register(objects.register(commands))
    lifecycle.register(commands)
    serial.register(commands)
    version = commands.add_parser("version", help="Print the client version.")
    version.set_defaults(run=lambda args: print(f"Client Version: virtnode {__version__}") or EXIT_OK)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
