"""`virtctl validate`: load, default and validate manifests offline.

Owns reading manifest sources (files, directories, stdin) and reporting each
problem as `PATH: message` under a line naming the object. Admission itself is
controller.admission's; decoding is protos.codec's. Never talks to a cluster.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from controller.admission import ClusterConfig, admit
from protos import codec
from protos.errors import APIObjectError, DecodeError, FieldCause

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class SourceError(Exception):
    """A manifest source could not be read."""


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "validate",
        help="Check manifests against virtnode's API model and admission rules.",
        description="Load, default and validate VirtualMachine, VirtualMachineInstance, "
                    "VirtualMachinePool, VirtualMachineInstanceMigration and DataVolume "
                    "manifests. Prints every problem as 'PATH: message' and exits 1 when any "
                    "object is invalid.")
    p.add_argument("-f", "--filename", action="append", required=True, metavar="FILE",
                   help="a manifest file, a directory of them, or - for standard input "
                        "(repeatable)")
    p.add_argument("-o", "--output", choices=("yaml", "json"),
                   help="print the defaulted objects in this format (problems go to stderr)")
    p.set_defaults(run=run)


def read_sources(names: list[str], stdin: TextIO) -> list[tuple[str, str]]:
    """Returns (source name, text) for each file, directory entry or stdin."""
    sources: list[tuple[str, str]] = []
    for name in names:
        if name == "-":
            sources.append(("<stdin>", stdin.read()))
            continue
        path = Path(name)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in MANIFEST_SUFFIXES)
            if not files:
                raise SourceError(f"Directory {name} holds no manifest "
                                  f"(files ending in {', '.join(MANIFEST_SUFFIXES)})")
        else:
            files = [path]
        for f in files:
            try:
                sources.append((str(f), f.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as e:
                raise SourceError(f"Cannot read {f}: {getattr(e, 'strerror', None) or e}") from e
    return sources


def describe(obj) -> str:
    """`Kind namespace/name`, as a person would name the object."""
    meta = obj.metadata
    name = meta.name or (meta.generate_name + "*" if meta.generate_name else "<unnamed>")
    return f"{obj.kind or type(obj).__name__} {meta.namespace or 'default'}/{name}"


def _print_causes(header: str, causes: list[FieldCause], out: TextIO) -> None:
    print(header, file=out)
    for cause in causes:
        print(f"  {cause}", file=out)


def run(args: argparse.Namespace, stdin: TextIO | None = None,
        stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    from virtctl.cli import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE

    # Resolved per call, not at import, so redirected or captured streams are honoured.
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr

    try:
        sources = read_sources(args.filename, stdin)
    except SourceError as e:
        print(f"error: {e}", file=stderr)
        return EXIT_USAGE
    config = ClusterConfig()
    report = stderr if args.output else stdout
    admitted, invalid, total = [], 0, 0
    for source, text in sources:
        try:
            objects = codec.load_documents(text, source=source)
        except DecodeError as e:
            invalid += 1
            _print_causes(f"{source}: cannot be decoded:", e.causes, report)
            continue
        except APIObjectError as e:
            invalid += 1
            print(f"{source}: {e}", file=report)
            continue
        for obj in objects:
            total += 1
            result = admit(obj, config)
            if result.causes:
                invalid += 1
                _print_causes(f"{source}: {describe(obj)} is invalid:", result.causes, report)
            else:
                admitted.append(result.obj)
                if not args.output:
                    print(f"{source}: {describe(obj)} is valid", file=report)
    if args.output == "yaml" and admitted:
        stdout.write(codec.dump_yaml(admitted))
    elif args.output == "json" and admitted:
        stdout.write(codec.dump_json(admitted if len(admitted) > 1 else admitted[0]) + "\n")
    if invalid:
        print(f"{invalid} invalid, {len(admitted)} valid", file=report)
        return EXIT_PROBLEM
    if total == 0:
        print("error: no objects found in the given manifests", file=stderr)
        return EXIT_USAGE
    return EXIT_OK
