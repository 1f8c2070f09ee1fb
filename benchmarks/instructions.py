"""CPU instructions per request, counted by valgrind: a figure that does not
move with the machine's load.

Wall-clock timings on a shared machine drift by several percent between
identical runs, too much to judge a change of 1-2%. Valgrind's cachegrind
counts the instructions the interpreter executes, which is the same on every
run (with a fixed ``PYTHONHASHSEED``). Each figure is the difference between a
run of ``N + W`` requests and one of ``W`` (``W`` warms up), divided by ``N``,
so start-up and imports cancel out. Instructions are not time (a cache miss
costs more than an add), but a change that removes instructions from the hot
path removes time.

    .venv/bin/python benchmarks/instructions.py --protocol wsgi \\
        --scenarios plaintext json --frameworks phial falcon

Needs ``valgrind`` (Debian package ``valgrind``). About 15 s per figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import wsgi_bench  # noqa: E402  (after the path set-up: benchmarks is no package)

PEERS = {
    "wsgi": ["phial", "flask", "falcon", "bottle"],
    "asgi": ["phial", "starlette", "falcon", "quart"],
}
WARM_UP = 300


def run_requests(protocol: str, framework: str, scenario: str, count: int) -> None:
    """In this process: warm up, then send ``count`` requests of ``scenario``."""
    spec = wsgi_bench.SCENARIOS[scenario]
    if protocol == "wsgi":
        case = wsgi_bench.Case(wsgi_bench.load_app(framework), spec)
        case.prepare()
        case.time(WARM_UP)
        if count:
            case.time(count)
        return
    import asgi_bench

    async def main() -> None:
        app = asgi_bench.load_app(framework)
        lifespan = asgi_bench.Lifespan(app)
        await lifespan.start()
        case = asgi_bench.Case(app, spec)
        await case.prepare()
        await case.time(WARM_UP)
        if count:
            await case.time(count)
        await lifespan.stop()

    asyncio.run(main())


def count_instructions(protocol: str, framework: str, scenario: str, count: int) -> int:
    """Instructions of a child process sending ``count`` requests (plus warm-up)."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        protocol,
        framework,
        scenario,
        str(count),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind failed for {framework}/{scenario}:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_request(protocol: str, framework: str, scenario: str, requests: int) -> float:
    base = count_instructions(protocol, framework, scenario, 0)
    loaded = count_instructions(protocol, framework, scenario, requests)
    return (loaded - base) / requests


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        _, _, protocol, framework, scenario, count = sys.argv
        run_requests(protocol, framework, scenario, int(count))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocol", choices=["wsgi", "asgi"], default="wsgi")
    parser.add_argument("--scenarios", nargs="+", default=list(wsgi_bench.SCENARIOS))
    parser.add_argument("--frameworks", nargs="+", help="default: phial and the protocol's peers")
    parser.add_argument("--requests", type=int, default=2000, help="counted requests per figure")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    frameworks = args.frameworks or PEERS[args.protocol]
    print(
        f"instructions per request ({args.protocol}, valgrind cachegrind, {args.requests} requests)"
    )
    header = ["scenario", *frameworks, *[f"phial/{f}" for f in frameworks if f != "phial"]]
    print("  ".join(f"{h:>12}" for h in header))
    for scenario in args.scenarios:
        figures = {f: per_request(args.protocol, f, scenario, args.requests) for f in frameworks}
        cells = [scenario, *[f"{figures[f] / 1000:.1f}k" for f in frameworks]]
        if "phial" in figures:
            cells += [f"{figures['phial'] / figures[f]:.2f}x" for f in frameworks if f != "phial"]
        print("  ".join(f"{c:>12}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
