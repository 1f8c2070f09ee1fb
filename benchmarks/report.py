"""Print the latest results (``benchmarks/results/*.json``) as Markdown tables.

The tables in ``benchmarks/README.md`` are this script's output, pasted:

    .venv/bin/python benchmarks/report.py            # every results file there is
    .venv/bin/python benchmarks/report.py wsgi asgi  # only some
"""

from __future__ import annotations

import argparse
import json
import sys
import typing as t
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

NAMES = {
    "phial": "phial",
    "flask": "Flask",
    "falcon": "Falcon",
    "bottle": "Bottle",
    "starlette": "Starlette",
    "quart": "Quart",
    "phial-sync": "phial (sync views)",
}


def _us(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _x(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or not b else f"{a / b:.2f}x"


def _md(rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(rows[0]) + " |"]
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(rows[0]) - 1)) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return lines


def in_process(data: dict[str, t.Any], peers: t.Sequence[str]) -> list[str]:
    """µs per request by scenario and framework, with phial/peer ratios."""
    stat = data["meta"].get("stat", "best")
    frameworks = data["frameworks"]
    shown_peers = [p for p in peers if p in frameworks and "phial" in frameworks]
    rows = [
        [
            "scenario",
            *(NAMES.get(f, f) for f in frameworks),
            *(f"phial/{NAMES[p]}" for p in shown_peers),
        ]
    ]
    reasons: dict[str, str] = {}
    for s, by_fw in data["results"].items():
        fig = {f: by_fw[f][f"{stat}_us"] for f in frameworks}
        for f in frameworks:
            if by_fw[f]["reason"]:
                reasons.setdefault(f, by_fw[f]["reason"])
        rows.append(
            [
                f"`{s}`",
                *(_us(fig[f]) for f in frameworks),
                *(_x(fig["phial"], fig[p]) for p in shown_peers),
            ]
        )
    meta = data["meta"]
    lines = [
        f"{meta['date']}, {stat} of {meta['rounds']} rounds of ~{meta['batch_ms']:g} ms,"
        f" µs per request (lower is better); ratios below 1.00x mean phial is faster;"
        f" harness loop overhead {meta['loop_overhead_us']:.2f} µs (not subtracted);"
        f" phial at {(meta.get('phial') or {}).get('commit') or '?'}.",
        "",
        *_md(rows),
    ]
    for f, reason in reasons.items():
        lines += ["", f"{NAMES.get(f, f)} `n/a`: {reason}"]
    return lines


def server(data: dict[str, t.Any]) -> list[str]:
    """Requests/s and p50/p99 latency per server, scenario and framework."""
    meta = data["meta"]
    wrk = meta["wrk"]
    lines = [
        f"{meta['date']}, wrk -t{wrk['threads']} -c{wrk['connections']} -d{wrk['duration_s']:g}s"
        f", one server worker; cells are requests/s (p50 / p99 latency in ms);"
        f" phial/peer is the requests/s ratio (above 1.00x: phial serves more).",
    ]
    reasons: dict[tuple[str, str], str] = {}
    for label, by_scenario in data["results"].items():
        frameworks = [
            f
            for f in next(iter(by_scenario.values()))
            if not any(
                (cell := by_scenario[s][f])["reason"] and " has no " in cell["reason"]
                for s in by_scenario
            )
        ]
        peers = [f for f in frameworks if f != "phial" and "phial" in frameworks]
        rows = [
            [
                "scenario",
                *(NAMES.get(f, f) for f in frameworks),
                *(f"phial/{NAMES[p]}" for p in peers),
            ]
        ]
        for s, by_fw in by_scenario.items():
            row = [f"`{s}`"]
            for f in frameworks:
                cell = by_fw[f]
                if cell["reason"] or cell["rps"] is None:
                    reasons.setdefault((label, f), cell["reason"] or "no figure")
                    row.append("n/a")
                else:
                    row.append(
                        f"{cell['rps']:,.0f} ({cell['latency_p50_ms']:.1f} /"
                        f" {cell['latency_p99_ms']:.1f})"
                    )
            for p in peers:
                a, b = by_fw["phial"], by_fw[p]
                ok = not a["reason"] and not b["reason"]
                row.append(_x(a["rps"], b["rps"]) if ok else "n/a")
            rows.append(row)
        lines += ["", f"**{label}**", "", *_md(rows)]
    for (label, f), reason in reasons.items():
        lines += ["", f"{label}, {NAMES.get(f, f)} `n/a`: {reason[:300]}"]
    return lines


def footprint(data: dict[str, t.Any]) -> list[str]:
    """Import time and RSS per framework with phial's ratios."""
    results = data["results"]
    frameworks = list(results)
    peers = [p for p in ("flask", "falcon", "bottle") if p in frameworks and "phial" in results]

    def get(f: str, key: str) -> float | None:
        r = results[f]
        if "reason" in r:
            return None
        if key.endswith("_kib"):
            memory = r.get("memory")
            return None if memory is None else memory[key] / 1024
        return t.cast(float | None, r.get(key))

    def added(f: str) -> float | None:
        a, b = get(f, "import_kib"), get(f, "start_kib")
        return None if a is None or b is None else a - b

    spec: list[tuple[str, t.Callable[[str], float | None]]] = [
        ("import the framework (ms, best)", lambda f: get(f, "framework_ms")),
        ("import the benchmark app (ms, best)", lambda f: get(f, "app_ms")),
        ("RSS after import (MiB)", lambda f: get(f, "import_kib")),
        ("RSS added by the import (MiB)", added),
        (
            f"RSS after {data['meta']['requests']:,} requests (MiB)",
            lambda f: get(f, "after_requests_kib"),
        ),
        ("peak RSS (MiB)", lambda f: get(f, "peak_kib")),
    ]
    rows = [["", *(NAMES.get(f, f) for f in frameworks), *(f"phial/{NAMES[p]}" for p in peers)]]
    for label, fn in spec:
        values = {f: fn(f) for f in frameworks}
        rows.append(
            [
                label,
                *("n/a" if values[f] is None else f"{values[f]:.1f}" for f in frameworks),
                *(_x(values["phial"], values[p]) for p in peers),
            ]
        )
    meta = data["meta"]
    start = get(frameworks[0], "start_kib")
    return [
        f"{meta['date']}, fresh interpreter per figure, import times best of {meta['runs']};"
        f" the bare interpreter's RSS is {start:.1f} MiB."
        if start
        else "",
        "",
        *_md(rows),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", nargs="*", default=["wsgi", "asgi", "server", "footprint"])
    args = parser.parse_args(argv)
    for which in args.which:
        path = RESULTS / f"{which}.json"
        if not path.exists():
            print(f"<!-- {path.name}: no results yet -->\n")
            continue
        data = json.loads(path.read_text("utf-8"))
        if which == "wsgi":
            lines = in_process(data, ("flask", "falcon", "bottle"))
        elif which == "asgi":
            lines = in_process(data, ("starlette", "falcon", "quart"))
        elif which == "server":
            lines = server(data)
        else:
            lines = footprint(data)
        print(f"<!-- {path.name} -->")
        print("\n".join(lines), end="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
