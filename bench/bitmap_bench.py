"""Benchmark: the dirty-bitmap kernels against copying and a big-int popcount.

Owns one question: how fast are `popcount` and `page_ranges` (bitmap -> dirty
page runs) on a whole guest's KVM dirty log, compiled and pure-Python? Live
migration and dirty-rate sampling read the whole log once per iteration, so
this bounds how often they can. Bitmaps are sized for guest RAM of 1, 16 and
256 GiB at 4 KiB pages (one bit per page) and filled at four dirty patterns:
0.1 %, 10 % and 50 % of pages dirty at random, and "clustered" (about 10 % of
pages dirty in runs of 64..1024 pages). Baselines run in the same process on
the same buffer:

  bytes(buf)                               a memcpy of the log: the floor
  int.from_bytes(buf, "little").bit_count()  the best popcount plain Python has
  _native.bitmap_py (the twin)             the fallback when nothing is built

The twin is slow on big logs, so above --twin-max-bits it runs on a prefix of
that many bits and its time is scaled by size (marked `*` in the table).

Run: python -m bench.bitmap_bench [--rounds N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
from pathlib import Path

from _native import bitmap_py, load
from bench.timing import best_of

PAGE = 4096
GIB = 1 << 30
RAM_SIZES = {"1GiB": 1 * GIB, "16GiB": 16 * GIB, "256GiB": 256 * GIB}
DENSITIES = {"0.1%": 0.001, "10%": 0.10, "50%": 0.50, "clustered": None}


def random_bitmap(nbits: int, density: float, rng: random.Random) -> bytearray:
    """Each bit set independently with probability `density` (bytes drawn by their weight)."""
    weights = [density ** bin(b).count("1") * (1 - density) ** (8 - bin(b).count("1"))
               for b in range(256)]
    return bytearray(rng.choices(range(256), weights=weights, k=nbits // 8))


def set_run(buf: bytearray, first: int, count: int) -> None:
    """Set bits first .. first + count - 1 of `buf`."""
    end = first + count
    lo, hi = (first + 7) // 8, end // 8  # whole bytes lo .. hi - 1
    if lo > hi:  # the run lies inside one byte
        buf[first // 8] |= ((1 << count) - 1) << (first % 8)
        return
    buf[lo:hi] = b"\xff" * (hi - lo)
    if first % 8:
        buf[first // 8] |= 0xFF << (first % 8) & 0xFF
    if end % 8:
        buf[hi] |= (1 << (end % 8)) - 1


def clustered_bitmap(nbits: int, rng: random.Random) -> bytearray:
    """About 10 % of bits set, in runs of 64..1024 bits at random unaligned offsets."""
    buf = bytearray(nbits // 8)
    pos = rng.randrange(1024)
    while True:
        count = rng.randrange(64, 1025)
        if pos + count > nbits:
            break
        set_run(buf, pos, count)
        pos += count + rng.randrange(count * 9 - count // 2, count * 9 + count // 2)
    return buf


def measure(rounds: int, twin_max_bits: int, seed: int) -> list[dict]:
    native = load("bitmap", "native")
    rng = random.Random(seed)
    rows = []
    for ram_name, ram in RAM_SIZES.items():
        nbits = ram // PAGE
        for dens_name, density in DENSITIES.items():
            buf = clustered_bitmap(nbits, rng) if density is None else random_bitmap(nbits, density, rng)
            twin_bits = min(nbits, twin_max_bits)
            twin_buf = bytes(buf[:twin_bits // 8])
            scale = nbits / twin_bits
            twin_rounds = max(1, min(rounds, 3))
            dirty = native.popcount(buf)
            ranges = native.page_ranges(buf)
            assert dirty == bitmap_py.popcount(buf)
            assert bitmap_py.page_ranges(twin_buf) == native.page_ranges(twin_buf)
            row = {
                "ram": ram_name, "nbits": nbits, "nbytes": len(buf), "density": dens_name,
                "dirty_pages": dirty, "ranges": len(ranges), "twin_sampled_bits": twin_bits,
                "memcpy_s": best_of(lambda: bytes(buf), rounds),
                "bigint_popcount_s": best_of(
                    lambda: int.from_bytes(buf, "little").bit_count(), rounds),
                "native_popcount_s": best_of(lambda: native.popcount(buf), rounds),
                "twin_popcount_s": best_of(lambda: bitmap_py.popcount(twin_buf), twin_rounds) * scale,
                "native_ranges_s": best_of(lambda: native.page_ranges(buf), rounds),
                "twin_ranges_s": best_of(lambda: bitmap_py.page_ranges(twin_buf), twin_rounds) * scale,
            }
            del ranges
            rows.append(row)
            print(f"  measured {ram_name} {dens_name}", file=sys.stderr, flush=True)
    return rows


def fmt_time(seconds: float) -> str:
    """A time in the unit that keeps it short."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def report(rows: list[dict]) -> str:
    head = (f"{'RAM':>6} {'dirty':>9} {'ranges':>9} {'memcpy':>10} {'int.bit_count':>13} "
            f"{'popcount':>10} {'÷memcpy':>7} {'twin':>11} {'twin÷':>7} "
            f"{'page_ranges':>11} {'÷memcpy':>8} {'twin':>11} {'twin÷':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        mark = "*" if r["twin_sampled_bits"] < r["nbits"] else " "
        lines.append(
            f"{r['ram']:>6} {r['density']:>9} {r['ranges']:>9} {fmt_time(r['memcpy_s']):>10} "
            f"{fmt_time(r['bigint_popcount_s']):>13} {fmt_time(r['native_popcount_s']):>10} "
            f"{r['native_popcount_s'] / r['memcpy_s']:7.2f} "
            f"{fmt_time(r['twin_popcount_s']) + mark:>11} "
            f"{r['twin_popcount_s'] / r['native_popcount_s']:7.1f} "
            f"{fmt_time(r['native_ranges_s']):>11} {r['native_ranges_s'] / r['memcpy_s']:8.1f} "
            f"{fmt_time(r['twin_ranges_s']) + mark:>11} "
            f"{r['twin_ranges_s'] / r['native_ranges_s']:7.1f}")
    sampled = {r["twin_sampled_bits"] for r in rows if r["twin_sampled_bits"] < r["nbits"]}
    lines.append("")
    lines.append("÷memcpy: native time / bytes(buf) time; twin÷: twin time / native time; "
                 "`int.bit_count`: int.from_bytes(buf).bit_count().")
    if sampled:
        lines.append(f"* twin timed on the first {min(sampled):,} bits "
                     f"({min(sampled) // 8 // 1024} KiB) and scaled linearly to the full bitmap.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Dirty-bitmap kernels against memcpy and the twin.")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--twin-max-bits", type=int, default=(16 * GIB) // PAGE,
                        help="time the twin on at most this many bits and scale (default: 16 GiB)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    rows = measure(args.rounds, args.twin_max_bits, args.seed)
    print(f"python {platform.python_version()}, {platform.machine()}, rounds {args.rounds}")
    print(report(rows))
    if args.json:
        args.json.write_text(json.dumps({"python": platform.python_version(),
                                         "machine": platform.machine(),
                                         "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
