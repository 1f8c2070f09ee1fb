"""Profile one benchmark scenario under cProfile, to find where phial's time goes.

Sends the scenario's request N times through the same in-process WSGI path as
``wsgi_bench.py`` (after verifying the response), then prints the top functions by
own time and the number of Python function calls per request.

    .venv/bin/python benchmarks/profile_phial.py plaintext -n 20000
    .venv/bin/python benchmarks/profile_phial.py session --framework flask --sort cumtime
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys

from wsgi_bench import FRAMEWORKS, SCENARIOS, Case, load_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", default="plaintext", choices=list(SCENARIOS))
    parser.add_argument("-n", "--iterations", type=int, default=20_000, help="requests to send")
    parser.add_argument("--framework", default="phial", choices=FRAMEWORKS)
    parser.add_argument("--top", type=int, default=25, help="rows to print (default 25)")
    parser.add_argument(
        "--sort", default="tottime", help="pstats sort key: tottime, cumtime, ncalls, ..."
    )
    parser.add_argument("--dump", metavar="FILE", help="also save the raw stats (snakeviz etc.)")
    args = parser.parse_args(argv)

    try:
        case = Case(load_app(args.framework), SCENARIOS[args.scenario])
        case.prepare()
    except Exception as exc:  # import errors and VerificationError alike
        print(f"{args.framework}/{args.scenario} is not ready: {exc}", file=sys.stderr)
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
        f"{args.framework}/{args.scenario}: {n} requests, {plain_us:.2f} µs/request unprofiled,"
        f" {calls / n:.0f} function calls/request"
    )
    stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
    if args.dump:
        stats.dump_stats(args.dump)
        print(f"stats saved to {args.dump}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
