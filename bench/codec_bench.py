"""Benchmark: the API codec and admission against plain parsing of the same text.

Owns one question: what does decoding a manifest into a typed message (with
path-precise checks) and admitting it cost on top of merely parsing its YAML or
JSON? Every write to the embedded API pays this, so it bounds create
throughput. Baselines run in the same process on the same documents:

  yaml.load (C loader)   vs  codec.load_documents (parse + decode)
  json.loads             vs  json.loads + codec.decode
  json.dumps(dict)       vs  codec.encode + json.dumps
  decode                 vs  decode + admission (defaults + every rule)

Run: python -m bench.codec_bench [--rounds N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import yaml

from bench.timing import best_of
from controller.admission import ClusterConfig, admit
from protos import codec

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "kubevirt"
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def measure(rounds: int) -> list[dict]:
    config = ClusterConfig()
    rows = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        text = path.read_text()
        doc = yaml.load(text, Loader=Loader)
        as_json = json.dumps(doc)
        msg = codec.load_documents(text, source=path.name)[0]
        t = {
            "yaml_parse": best_of(lambda: yaml.load(text, Loader=Loader), rounds),
            "yaml_decode": best_of(lambda: codec.load_documents(text, source=path.name), rounds),
            "json_parse": best_of(lambda: json.loads(as_json), rounds),
            "json_decode": best_of(lambda: codec.decode(json.loads(as_json)), rounds),
            "dict_dump": best_of(lambda: json.dumps(doc), rounds),
            "msg_dump": best_of(lambda: json.dumps(codec.encode(msg)), rounds),
            "admit": best_of(lambda: admit(msg, config), rounds),
        }
        rows.append({"manifest": path.name, "bytes": len(text), **t})
    return rows


def report(rows: list[dict]) -> str:
    head = (f"{'manifest':28} {'yaml µs':>9} {'+decode':>9} {'ratio':>6} {'json µs':>8} "
            f"{'+decode':>8} {'ratio':>6} {'dump µs':>8} {'encode':>8} {'ratio':>6} {'admit µs':>9}")
    lines = [head, "-" * len(head)]
    us = 1e6
    for r in rows:
        lines.append(
            f"{r['manifest']:28} {r['yaml_parse']*us:9.1f} {r['yaml_decode']*us:9.1f} "
            f"{r['yaml_decode']/r['yaml_parse']:6.2f} {r['json_parse']*us:8.1f} {r['json_decode']*us:8.1f} "
            f"{r['json_decode']/r['json_parse']:6.2f} {r['dict_dump']*us:8.1f} {r['msg_dump']*us:8.1f} "
            f"{r['msg_dump']/r['dict_dump']:6.2f} {r['admit']*us:9.1f}")
    ratio = lambda a, b: statistics.geometric_mean([r[a] / r[b] for r in rows])  # noqa: E731
    lines.append("")
    lines.append(f"geometric mean ratios: yaml decode/parse {ratio('yaml_decode', 'yaml_parse'):.2f}, "
                 f"json decode/parse {ratio('json_decode', 'json_parse'):.2f}, "
                 f"encode/dump {ratio('msg_dump', 'dict_dump'):.2f}, "
                 f"admit/json-decode {ratio('admit', 'json_decode'):.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Codec and admission cost against plain parsing.")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    rows = measure(args.rounds)
    print(report(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
