"""Profile one benchmark scenario under cProfile, to find where phial's time goes.

Sends the scenario's request N times through the same in-process WSGI path as
``wsgi_bench.py`` (after verifying the response), then prints the top functions by
own time and the number of Python function calls per request.

    .venv/bin/python benchmarks/profile_phial.py plaintext -n 20000
    .venv/bin/python benchmarks/profile_phial.py session --framework flask --sort cumtime
    .venv/bin/python benchmarks/profile_phial.py all --summary 15   # every scenario, short

``--summary N`` prints, instead of pstats' listing, the N functions with the largest
cumulative share of the profiled time (the harness loop excluded), with their own share
and calls per request: the list to attack first.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import typing as t

from wsgi_bench import FRAMEWORKS, SCENARIOS, Case, load_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", default="plaintext", choices=[*SCENARIOS, "all"])
    parser.add_argument("-n", "--iterations", type=int, default=20_000, help="requests to send")
    parser.add_argument("--framework", default="phial", choices=FRAMEWORKS)
    parser.add_argument("--top", type=int, default=25, help="rows to print (default 25)")
    parser.add_argument(
        "--sort", default="tottime", help="pstats sort key: tottime, cumtime, ncalls, ..."
    )
    parser.add_argument("--dump", metavar="FILE", help="also save the raw stats (snakeviz etc.)")
    parser.add_argument(
        "--summary", type=int, metavar="N", help="print the top N by cumulative %% instead"
    )
    args = parser.parse_args(argv)
    scenarios = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    status = 0
    for scenario in scenarios:
        status |= profile(args, scenario)
    return status


def summary(stats: pstats.Stats, n: int, top: int) -> list[str]:
    """The ``top`` functions by cumulative share of the time spent inside the app."""
    raw: dict[t.Any, t.Any] = stats.stats  # type: ignore[attr-defined]  # set by Stats
    # Everything the harness loop called is the app's time; the loop's own is not.
    harness = [key for key in raw if key[2] == "time" and key[0].endswith("wsgi_bench.py")]
    # ... except the gc.collect() it runs before each batch.
    collect = [key for key in raw if key[2] == "<built-in method gc.collect>"]
    total = sum(raw[key][3] - raw[key][2] for key in harness)
    total -= sum(raw[key][3] for key in collect)
    if total <= 0:
        total = sum(v[2] for v in raw.values())
    rows = []
    for key, (_cc, nc, tt, ct, _callers) in raw.items():
        if key in harness or key in collect or key[2] == "<module>":
            continue
        rows.append((ct, tt, nc, key))
    rows.sort(key=lambda row: row[0], reverse=True)
    lines = [f"{'cum %':>6} {'own %':>6} {'calls/req':>9}  function"]
    for ct, tt, nc, (file, line, func) in rows[:top]:
        where = f"{os.path.basename(file)}:{line}" if line else file
        lines.append(
            f"{100 * ct / total:6.1f} {100 * tt / total:6.1f} {nc / n:9.2f}  {func} ({where})"
        )
    return lines


def profile(args: argparse.Namespace, scenario: str) -> int:
    """Verify, time and profile one scenario; print the report."""
    try:
        case = Case(load_app(args.framework), SCENARIOS[scenario])
        case.prepare()
    except Exception as exc:  # import errors and VerificationError alike
        print(f"{args.framework}/{scenario} is not ready: {exc}", file=sys.stderr)
        return 1

    n = args.iterations
    case.time(min(n, 2_000))  # warm caches before measuring
    plain_us = case.time(n) / n / 1000

    profiler = cProfile.Profile()
    profiler.enable()
    case.time(n)
    profiler.disable()
    case.verify()

    stats = pstats.Stats(profiler)
    calls = stats.total_calls  # type: ignore[attr-defined]  # set by Stats, not declared
    print(
        f"{args.framework}/{scenario}: {n} requests, {plain_us:.2f} µs/request unprofiled,"
        f" {calls / n:.0f} function calls/request"
    )
    if args.summary:
        print("\n".join(summary(stats, n, args.summary)), end="\n\n")
    else:
        stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
    if args.dump:
        stats.dump_stats(args.dump)
        print(f"stats saved to {args.dump}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
