"""Import time and resident memory: phial against Flask, Falcon and Bottle.

Every figure comes from a fresh interpreter (a subprocess), so nothing is cached in
``sys.modules``:

Bytecode is cached for every module alike (``child_env``), as in any installed
deployment, even where ``PYTHONDONTWRITEBYTECODE`` is set.

- **import time**: ``perf_counter`` around ``import <framework>`` and then around
  ``import apps.<framework>_app`` (the benchmark app: the framework's app object, 26 routes,
  templates folder); best of N fresh processes. Interpreter start-up is not included.
- **memory**: ``VmRSS`` from ``/proc/self/status`` at start-up, after importing the app,
  and after 20,000 in-process WSGI requests spread over the seven benchmark scenarios
  (each verified first, like ``wsgi_bench.py``), plus the peak (``VmHWM``).

``--importtime`` also prints the slowest modules of each framework's import, from
``python -X importtime``, so the cost can be attacked where it is.

Run ``.venv/bin/python benchmarks/footprint.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

import wsgi_bench as wb

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUTPUT = HERE / "results" / "footprint.json"

FRAMEWORKS = ("phial", "flask", "falcon", "bottle")
PEERS = ("flask", "falcon", "bottle")


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


# --------------------------------------------------------------------------- children


def child_import(framework: str) -> dict[str, float]:
    """In a fresh process: seconds to import the framework, then the benchmark app."""
    from time import perf_counter

    wb._make_apps_importable()
    wb._make_phial_importable()
    start = perf_counter()
    __import__(framework)
    middle = perf_counter()
    __import__(f"apps.{framework}_app")
    end = perf_counter()
    return {"framework_ms": (middle - start) * 1e3, "app_ms": (end - start) * 1e3}


def child_memory(framework: str, requests: int) -> dict[str, t.Any]:
    """In a fresh process: RSS at start, after the import, after ``requests`` requests."""
    start_kib = _status_kib("VmRSS")
    app = wb.load_app(framework)
    import_kib = _status_kib("VmRSS")
    cases = [wb.Case(app, s) for s in wb.SCENARIOS.values()]
    for case in cases:
        case.prepare()
    per_case, extra = divmod(requests, len(cases))
    for i, case in enumerate(cases):
        case.time(per_case + (1 if i < extra else 0))
    for case in cases:
        case.verify()
    return {
        "start_kib": start_kib,
        "import_kib": import_kib,
        "after_requests_kib": _status_kib("VmRSS"),
        "peak_kib": _status_kib("VmHWM"),
        "requests": requests,
    }


#: Bytecode cache for the children, outside the repository and the venv.
PYCACHE = Path(tempfile.gettempdir()) / "phial-bench-pycache"


def child_env(*paths: Path) -> dict[str, str]:
    """The children's environment: this checkout first, bytecode cached.

    With ``PYTHONDONTWRITEBYTECODE`` set (as it is on the benchmark machine) a
    checkout's modules are compiled from source at every import while installed
    packages load their ``.pyc``: that would bill phial for the compiler. So the
    children cache bytecode under ``PYCACHE`` (``PYTHONPYCACHEPREFIX``) for every
    module alike, and ``main`` imports everything once before measuring.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (*map(str, paths), env.get("PYTHONPATH")) if p)
    return env


def _child(args: list[str]) -> dict[str, t.Any]:
    env = child_env(ROOT / "src", HERE)
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=HERE,
        timeout=600,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(tail[0])
    return t.cast(dict[str, t.Any], json.loads(proc.stdout.strip().splitlines()[-1]))


def importtime_top(framework: str, top: int) -> list[tuple[float, float, str]]:
    """The ``top`` modules by own import time: (self ms, cumulative ms, name).

    Sorted by own time rather than cumulative, which only repeats the parents.
    """
    env = child_env(ROOT / "src")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {framework}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        # "import time: <self us> | <cumulative us> | <indented module name>"
        self_part, cumulative_us, name = line.split("|", 2)
        self_us = self_part.split(":", 1)[1]
        rows.append((int(self_us) / 1000, int(cumulative_us) / 1000, name.strip()))
    rows.sort(reverse=True)
    return rows[:top]


# --------------------------------------------------------------------------- reporting


def _mib(kib: float | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f}"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or not b else f"{a / b:.2f}x"


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["--child"]:
        kind, framework, *rest = sys.argv[2:]
        if kind == "import":
            result: dict[str, t.Any] = child_import(framework)
        else:
            result = child_memory(framework, int(rest[0]))
        print(json.dumps(result))
        return 0

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--frameworks", nargs="+", metavar="NAME", help=f"any of {', '.join(FRAMEWORKS)}"
    )
    parser.add_argument("--runs", type=int, default=9, help="fresh processes per import (9)")
    parser.add_argument(
        "--requests", type=int, default=20_000, help="requests before the second RSS (20000)"
    )
    parser.add_argument(
        "--importtime", type=int, metavar="N", default=0, help="print N slowest imported modules"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    args = parser.parse_args(argv)
    frameworks = wb._names(args.frameworks, FRAMEWORKS, "frameworks")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log(f"Python {platform.python_version()} on {wb._cpu_model()} ({os.cpu_count()} CPUs)")
    results: dict[str, dict[str, t.Any]] = {f: {} for f in frameworks}
    for f in frameworks:
        # Warm-up: fills the bytecode cache (see ``child_env``); not measured.
        with contextlib.suppress(Exception):
            _child(["import", f])
    # Interleave the import runs so drift on the machine hits every framework alike.
    samples: dict[str, list[dict[str, float]]] = {f: [] for f in frameworks}
    for _ in range(args.runs):
        for f in frameworks:
            if "reason" in results[f]:
                continue
            try:
                samples[f].append(_child(["import", f]))
            except Exception as exc:
                results[f]["reason"] = f"import failed: {exc}"
                log(f"  {f}: n/a, {results[f]['reason']}")
    for f in frameworks:
        if samples[f]:
            for key in ("framework_ms", "app_ms"):
                values = [s[key] for s in samples[f]]
                results[f][key] = min(values)
                results[f][key.replace("_ms", "_median_ms")] = statistics.median(values)
        if "reason" in results[f]:
            continue
        try:
            results[f]["memory"] = _child(["memory", f, str(args.requests)])
        except Exception as exc:
            results[f]["reason"] = f"memory run failed: {exc}"
            log(f"  {f}: n/a, {results[f]['reason']}")

    def fig(f: str, key: str) -> float | None:
        value = results[f].get(key)
        return None if "reason" in results[f] else value

    def mem(f: str, key: str) -> float | None:
        memory = results[f].get("memory")
        return None if memory is None or "reason" in results[f] else memory[key]

    peers = [p for p in PEERS if p in frameworks and "phial" in frameworks]
    rows = [["measure", *frameworks, *(f"phial/{p}" for p in peers)]]
    spec = (
        ("import framework (ms, best)", "framework_ms", fig, _ms),
        ("import app module (ms, best)", "app_ms", fig, _ms),
        ("RSS at start (MiB)", "start_kib", mem, _mib),
        ("RSS after import (MiB)", "import_kib", mem, _mib),
        (f"RSS after {args.requests:,} requests (MiB)", "after_requests_kib", mem, _mib),
        ("peak RSS (MiB)", "peak_kib", mem, _mib),
    )
    for label, key, get, fmt in spec:
        values = {f: get(f, key) for f in frameworks}
        row = [label, *(fmt(values[f]) for f in frameworks)]
        row += [_ratio(values["phial"], values[p]) for p in peers]
        rows.append(row)
    # What the framework itself adds: RSS after import minus the bare interpreter.
    added = {
        f: None if mem(f, "import_kib") is None else mem(f, "import_kib") - mem(f, "start_kib")  # type: ignore[operator]
        for f in frameworks
    }
    rows.append(
        [
            "RSS added by import (MiB)",
            *(_mib(added[f]) for f in frameworks),
            *(_ratio(added["phial"], added[p]) for p in peers),
        ]
    )
    print()
    print(f"fresh processes; import times best of {args.runs}; lower is better")
    print("\n".join(wb._align(rows)))

    if args.importtime:
        for f in frameworks:
            print(f"\nslowest modules under `import {f}` (-X importtime, ms):")
            print(f"  {'self':>8}  {'cumul.':>8}  module")
            for own, cumulative, name in importtime_top(f, args.importtime):
                print(f"  {own:8.1f}  {cumulative:8.1f}  {name}")

    data = {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "cpu": wb._cpu_model(),
            "cpus": os.cpu_count(),
            "runs": args.runs,
            "requests": args.requests,
        },
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    print(f"\nresults written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
