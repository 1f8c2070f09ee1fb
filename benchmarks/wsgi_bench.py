"""In-process WSGI benchmark: phial against Flask, Falcon and Bottle, no server involved.

Each framework's app (``benchmarks/apps/<name>_app.py``) is called directly as
``app(environ, start_response)``; the response iterable is consumed and closed, just as a
WSGI server would do, so the figures are the framework's own cost per request.

For every scenario the environ is built once with Werkzeug's ``EnvironBuilder`` and
copied per call (a fresh ``wsgi.input`` for bodies). Every response is verified (status,
content type, body) before and after timing; a framework whose app fails to import or
fails verification shows ``n/a`` for that scenario. Timing runs in rounds that visit the
frameworks round-robin, so drift on the shared machine hits all of them alike.

Run ``.venv/bin/python benchmarks/wsgi_bench.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import functools
import gc
import importlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import typing as t
from collections.abc import Callable, Iterable
from io import BytesIO
from pathlib import Path
from time import perf_counter_ns

import markupsafe
from werkzeug.test import EnvironBuilder

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUTPUT = HERE / "results" / "wsgi.json"

FRAMEWORKS = ("phial", "flask", "falcon", "bottle")

WSGIApp = Callable[[dict[str, t.Any], Callable[..., t.Any]], Iterable[bytes]]


# --------------------------------------------------------------------------- scenarios


class VerificationError(Exception):
    """A response differs from what the scenario expects."""


@dataclasses.dataclass(frozen=True)
class Reply:
    """One captured response."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    @property
    def mimetype(self) -> str:
        return (self.header("Content-Type") or "").split(";", 1)[0].strip().lower()


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A request to send and the check its response must pass."""

    name: str
    summary: str
    method: str
    path: str
    check: Callable[[Reply], None]
    query: str = ""
    form: tuple[tuple[str, str], ...] = ()
    session: bool = False


def _expect_status(reply: Reply, status: int) -> None:
    if reply.status != status:
        snippet = reply.body[:120].decode("utf-8", "replace")
        raise VerificationError(f"status {reply.status}, expected {status}: {snippet!r}")


def _expect_mimetype(reply: Reply, mimetype: str) -> None:
    if reply.mimetype != mimetype:
        raise VerificationError(f"content type {reply.mimetype!r}, expected {mimetype!r}")


def _expect_json(reply: Reply, expected: object) -> None:
    _expect_status(reply, 200)
    _expect_mimetype(reply, "application/json")
    try:
        data = json.loads(reply.body)
    except ValueError as exc:
        raise VerificationError(f"body is not JSON: {reply.body[:120]!r}") from exc
    if data != expected:
        raise VerificationError(f"JSON body {data!r}, expected {expected!r}")


def _expect_body(reply: Reply, mimetype: str, body: bytes) -> None:
    _expect_status(reply, 200)
    _expect_mimetype(reply, mimetype)
    if reply.body != body:
        raise VerificationError(f"body {reply.body[:200]!r}, expected {body[:200]!r}")


FORM_FIELDS = (
    ("name", "Ada Lovelace"),
    ("email", "ada@example.com"),
    ("subject", "Engines & numbers"),
    ("message", "1 + 1 = 2; 100% sure?"),
    ("city", "Zürich"),
)


@functools.cache
def _expected_template() -> bytes:
    """``templates/items.html`` rendered by hand, escaping with MarkupSafe, not Jinja."""
    _make_apps_importable()
    from apps._shared import TEMPLATE_ITEMS, TEMPLATE_TITLE

    lines = ["<!doctype html>", f"<title>{markupsafe.escape(TEMPLATE_TITLE)}</title>", "<ul>"]
    lines += [f"  <li>{markupsafe.escape(item)}</li>" for item in TEMPLATE_ITEMS]
    lines.append("</ul>")
    return "\n".join(lines).encode()


def _check_template(reply: Reply) -> None:
    _expect_body(reply, "text/html", _expected_template())


def _check_session(reply: Reply) -> None:
    # The timed requests all carry the cookie set by the first request, whose n was 1.
    _expect_json(reply, {"n": 2})
    if not any(v.startswith("session=") for v in reply.header_values("Set-Cookie")):
        raise VerificationError("no session cookie in the response")


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "plaintext",
            "GET /plaintext -> 200 'Hello, World!' text/plain",
            "GET",
            "/plaintext",
            lambda r: _expect_body(r, "text/plain", b"Hello, World!"),
        ),
        Scenario(
            "json",
            'GET /json -> 200 {"message": "Hello, World!"}',
            "GET",
            "/json",
            lambda r: _expect_json(r, {"message": "Hello, World!"}),
        ),
        Scenario(
            "route",
            "GET /users/42/posts?page=3 behind 20 decoy converter routes -> JSON",
            "GET",
            "/users/42/posts",
            lambda r: _expect_json(r, {"user_id": 42, "page": 3}),
            query="page=3",
        ),
        Scenario(
            "404",
            "GET /does-not-exist -> 404 (each framework's own error body)",
            "GET",
            "/does-not-exist",
            lambda r: _expect_status(r, 404),
        ),
        Scenario(
            "form",
            "POST /form, 5 urlencoded fields -> the fields echoed as JSON",
            "POST",
            "/form",
            lambda r: _expect_json(r, dict(FORM_FIELDS)),
            form=FORM_FIELDS,
        ),
        Scenario(
            "template",
            "GET /template -> Jinja2 template with 10 autoescaped items",
            "GET",
            "/template",
            _check_template,
        ),
        Scenario(
            "session",
            "GET /session with a signed session cookie -> counter incremented and re-signed",
            "GET",
            "/session",
            _check_session,
            session=True,
        ),
    )
}


# --------------------------------------------------------------------------- calling apps


def _write_nothing(data: bytes) -> None:
    pass


def _discard(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> t.Any:
    return _write_nothing


class Case:
    """One framework serving one scenario: the prepared environ and the calls."""

    def __init__(self, app: WSGIApp, scenario: Scenario) -> None:
        self.app = app
        self.scenario = scenario
        builder = EnvironBuilder(
            path=scenario.path,
            method=scenario.method,
            query_string=scenario.query or None,
            data=dict(scenario.form) if scenario.form else None,
        )
        try:
            self.base = builder.get_environ()
        finally:
            builder.close()
        self.body: bytes | None = self.base["wsgi.input"].read() if scenario.form else None

    def environ(self) -> dict[str, t.Any]:
        environ = self.base.copy()
        if self.body is not None:
            environ["wsgi.input"] = BytesIO(self.body)
        return environ

    def call(self) -> Reply:
        """Send one request and capture the response, turning any failure into a reply."""
        captured: list[t.Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: object = None
        ) -> Callable[[bytes], None]:
            captured[:] = [status, list(headers)]
            return _write_nothing

        try:
            result = self.app(self.environ(), start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception as exc:
            raise VerificationError(f"app raised {type(exc).__name__}: {exc}") from exc
        if not captured:
            raise VerificationError("start_response was never called")
        return Reply(int(captured[0].split(" ", 1)[0]), captured[1], body)

    def prepare(self) -> None:
        """Verify the scenario; for the session, take the cookie the first response sets."""
        if self.scenario.session:
            first = self.call()
            _expect_json(first, {"n": 1})
            for value in first.header_values("Set-Cookie"):
                if value.startswith("session="):
                    self.base["HTTP_COOKIE"] = value.split(";", 1)[0]
                    break
            else:
                raise VerificationError("the first response set no session cookie")
        self.verify()

    def verify(self) -> None:
        self.scenario.check(self.call())

    def time(self, n: int) -> int:
        """Nanoseconds for ``n`` requests, each consumed and closed like a server would."""
        app = self.app
        copy = self.base.copy
        body = self.body
        sr = _discard
        gc.collect()
        if body is None:
            start = perf_counter_ns()
            for _ in range(n):
                result = app(copy(), sr)
                for _chunk in result:
                    pass
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            return perf_counter_ns() - start
        start = perf_counter_ns()
        for _ in range(n):
            environ = copy()
            environ["wsgi.input"] = BytesIO(body)
            result = app(environ, sr)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return perf_counter_ns() - start

    def calibrate(self, batch_ns: int) -> int:
        """How many requests fill one batch of about ``batch_ns`` (doubles as warm-up)."""
        n = 1
        while True:
            elapsed = self.time(n)
            if elapsed >= batch_ns // 5 or n >= 1 << 22:
                return max(1, int(n * batch_ns / max(elapsed, 1)))
            n *= 2


def _null_app(environ: dict[str, t.Any], start_response: Callable[..., t.Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b""]


# --------------------------------------------------------------------------- loading apps


def _make_apps_importable() -> None:
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))


def _make_phial_importable() -> None:
    """Measure this checkout's phial: put its ``src/`` first on ``sys.path``.

    The shared venv holds an editable install of another checkout; without this, a
    worktree's benchmark would silently time that other copy's code.
    """
    src = str(ROOT / "src")
    if (ROOT / "src" / "phial").is_dir() and sys.path[:1] != [src]:
        if src in sys.path:
            sys.path.remove(src)
        sys.path.insert(0, src)


def phial_origin() -> dict[str, str | None]:
    """Where the imported phial comes from and the checkout's commit, for the JSON."""
    module = sys.modules.get("phial")
    commit = None
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        if commit and dirty:
            commit += "+dirty"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"file": getattr(module, "__file__", None), "commit": commit or None}


def load_app(framework: str) -> WSGIApp:
    """Import ``apps.<framework>_app`` and return its ``app``; raises on any failure."""
    _make_apps_importable()
    if framework == "phial":
        _make_phial_importable()
    module = importlib.import_module(f"apps.{framework}_app")
    return t.cast(WSGIApp, module.app)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        module = sys.modules.get(dist)
        return getattr(module, "__version__", None) if module else None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# --------------------------------------------------------------------------- running


@dataclasses.dataclass
class Outcome:
    """Timings (µs per request) or the reason there are none."""

    reason: str | None = None
    iterations: int = 0
    rounds_us: list[float] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reason is None and bool(self.rounds_us)

    def figure(self, stat: str) -> float | None:
        if not self.ok:
            return None
        return min(self.rounds_us) if stat == "best" else statistics.median(self.rounds_us)


def run(
    frameworks: list[str],
    scenarios: list[str],
    rounds: int,
    batch_ms: float,
    iterations: int | None,
    log: Callable[[str], None],
) -> tuple[dict[str, dict[str, Outcome]], float]:
    """Verify, calibrate and time every (scenario, framework) pair."""
    outcomes = {s: {f: Outcome() for f in frameworks} for s in scenarios}
    cases: dict[tuple[str, str], Case] = {}
    batch_ns = int(batch_ms * 1e6)

    for framework in frameworks:
        try:
            app = load_app(framework)
        except Exception as exc:
            for s in scenarios:
                outcomes[s][framework].reason = f"import failed: {type(exc).__name__}: {exc}"
            log(f"  {framework}: app failed to import ({type(exc).__name__}: {exc})")
            continue
        for s in scenarios:
            case = Case(app, SCENARIOS[s])
            try:
                case.prepare()
            except VerificationError as exc:
                outcomes[s][framework].reason = f"verification failed: {exc}"
                log(f"  {framework}/{s}: n/a, verification failed: {exc}")
                continue
            n = iterations or case.calibrate(batch_ns)
            outcomes[s][framework].iterations = n
            cases[s, framework] = case

    null = Case(_null_app, SCENARIOS["plaintext"])
    null_n = iterations or null.calibrate(batch_ns)
    overhead = []

    log(f"  timing {len(cases)} pairs, {rounds} rounds of ~{batch_ms:g} ms each")
    for r in range(rounds):
        # Rotate the order each round so no framework always runs first or last.
        order = frameworks[r % len(frameworks) :] + frameworks[: r % len(frameworks)]
        for s in scenarios:
            for framework in order:
                case = cases.get((s, framework))
                if case is None:
                    continue
                outcome = outcomes[s][framework]
                elapsed = case.time(outcome.iterations)
                outcome.rounds_us.append(elapsed / outcome.iterations / 1000)
        overhead.append(null.time(null_n) / null_n / 1000)

    for (s, framework), case in cases.items():
        try:
            case.verify()
        except VerificationError as exc:
            outcomes[s][framework].reason = f"verification after timing failed: {exc}"
            log(f"  {framework}/{s}: n/a, verification after timing failed: {exc}")
    return outcomes, min(overhead) if overhead else 0.0


# --------------------------------------------------------------------------- reporting


def _fmt_us(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _align(rows: list[list[str]]) -> list[str]:
    """Left-align the first column, right-align the rest, rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def table(
    outcomes: dict[str, dict[str, Outcome]],
    frameworks: list[str],
    stat: str,
    peers: t.Sequence[str] = ("flask", "falcon"),
) -> list[str]:
    """The scenario-by-framework table in µs per request, with phial's ratios."""
    others = [f for f in peers if "phial" in frameworks and f in frameworks]
    header = ["scenario", *frameworks, *(f"phial/{f}" for f in others)]
    rows = [header]
    for s, by_fw in outcomes.items():
        figures = {f: by_fw[f].figure(stat) for f in frameworks}
        row = [s, *(_fmt_us(figures[f]) for f in frameworks)]
        for other in others:
            ratio = _ratio(figures["phial"], figures[other])
            row.append("n/a" if ratio is None else f"{ratio:.2f}x")
        rows.append(row)
    return _align(rows)


def compare(
    before: dict[str, t.Any],
    outcomes: dict[str, dict[str, Outcome]],
    frameworks: list[str],
    stat: str,
) -> list[str]:
    """Before/after table against an earlier results JSON (``--compare-to``).

    ``after/before`` below 1.00x means this run is faster. Peers are shown too: their
    ratio is the drift between the two runs, so a phial change smaller than the
    peers' drift is noise.
    """
    key = f"{stat}_us"
    old_results = before.get("results", {})
    rows = [["scenario", "framework", "before", "after", "after/before"]]
    for s, by_fw in outcomes.items():
        for f in frameworks:
            if f not in by_fw:
                continue
            old = old_results.get(s, {}).get(f, {}).get(key)
            new = by_fw[f].figure(stat)
            ratio = _ratio(new, old)
            rows.append(
                [s, f, _fmt_us(old), _fmt_us(new), "n/a" if ratio is None else f"{ratio:.2f}x"]
            )
    meta = before.get("meta", {})
    origin = meta.get("phial") or {}
    head = (
        f"compared to {meta.get('date', '?')} (phial {origin.get('commit') or '?'}),"
        f" {stat} figures, µs per request"
    )
    return [head, *_align(rows)]


def results_json(
    outcomes: dict[str, dict[str, Outcome]],
    frameworks: list[str],
    args: argparse.Namespace,
    overhead_us: float,
    peers: t.Sequence[str] = ("flask", "falcon", "bottle"),
    dists: t.Sequence[str] = (
        "phial",
        "flask",
        "falcon",
        "bottle",
        "werkzeug",
        "jinja2",
        "itsdangerous",
    ),
) -> dict[str, t.Any]:
    """Everything a run measured, with the machine and versions, for the JSON file."""
    results: dict[str, t.Any] = {}
    ratios: dict[str, t.Any] = {}
    for s, by_fw in outcomes.items():
        results[s] = {}
        for f, o in by_fw.items():
            results[s][f] = {
                "ok": o.ok,
                "reason": o.reason,
                "best_us": o.figure("best"),
                "median_us": o.figure("median"),
                "iterations": o.iterations,
                "rounds_us": [round(x, 4) for x in o.rounds_us],
            }
        if "phial" in by_fw:
            phial = by_fw["phial"].figure(args.stat)
            ratios[s] = {
                f"phial/{f}": _ratio(phial, by_fw[f].figure(args.stat)) for f in peers if f in by_fw
            }
    return {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpu": _cpu_model(),
            "cpus": os.cpu_count(),
            "versions": {d: _version(d) for d in dists},
            "phial": phial_origin(),
            "rounds": args.rounds,
            "batch_ms": args.batch_ms,
            "quick": args.quick,
            "stat": args.stat,
            "loop_overhead_us": round(overhead_us, 4),
            "scenarios": {s: SCENARIOS[s].summary for s in outcomes},
        },
        "frameworks": frameworks,
        "results": results,
        "ratios": ratios,
    }


def chart(
    outcomes: dict[str, dict[str, Outcome]],
    frameworks: list[str],
    stat: str,
    out: Path,
    title: str = "In-process WSGI",
) -> None:
    """Grouped bars, one group per scenario, one bar per framework, log-scaled µs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(outcomes)
    width = 0.8 / len(frameworks)
    fig, ax = plt.subplots(figsize=(max(9, 1.6 * len(scenarios)), 5))
    missing = []
    for i, f in enumerate(frameworks):
        xs, ys = [], []
        for j, s in enumerate(scenarios):
            x = j + (i - (len(frameworks) - 1) / 2) * width
            value = outcomes[s][f].figure(stat)
            if value is None:
                missing.append(x)
            else:
                xs.append(x)
                ys.append(value)
        # A fixed colour per framework: one with no bars must not shift the others'.
        bars = ax.bar(xs, ys, width, label=f, color=f"C{i}")
        ax.bar_label(bars, labels=[_fmt_us(y) for y in ys], fontsize=7, rotation=90, padding=2)
    ax.set_xticks(range(len(scenarios)), scenarios)
    ax.set_yscale("log")
    bottom = ax.get_ylim()[0]
    for x in missing:
        ax.text(x, bottom * 1.15, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_ylabel(f"µs per request ({stat} round, log scale; lower is better)")
    ax.set_title(f"{title}, Python {platform.python_version()}")
    ax.margins(y=0.2)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def _names(values: list[str] | None, known: t.Sequence[str], what: str) -> list[str]:
    if not values:
        return list(known)
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(known)})")
    return list(dict.fromkeys(names))


def load_before(path: Path | None, output: Path) -> dict[str, t.Any] | None:
    """Read ``--compare-to`` up front: the run may overwrite that very file."""
    if path is None:
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"--compare-to {path}: cannot read it ({exc})") from exc
    if path.resolve() == output.resolve():
        print(f"note: {path} is also the output file; it is read before being replaced")
    return t.cast(dict[str, t.Any], data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenarios", nargs="+", metavar="NAME", help=f"any of {', '.join(SCENARIOS)}"
    )
    parser.add_argument(
        "--frameworks", nargs="+", metavar="NAME", help=f"any of {', '.join(FRAMEWORKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="3 short rounds, for smoke runs")
    parser.add_argument("--rounds", type=int, help="timing rounds (default 7, quick 3)")
    parser.add_argument(
        "--batch-ms", type=float, help="target length of one timed batch (default 100, quick 15)"
    )
    parser.add_argument("--iterations", type=int, help="fixed requests per batch (no calibration)")
    parser.add_argument(
        "--stat",
        choices=("best", "median"),
        default="best",
        help="which round figure the table, ratios and chart use (default best)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    parser.add_argument("--chart", type=Path, metavar="OUT.png", help="write a bar chart")
    parser.add_argument(
        "--compare-to",
        type=Path,
        metavar="OLD.json",
        help="also print before/after ratios against an earlier results file",
    )
    args = parser.parse_args(argv)
    before = load_before(args.compare_to, args.output)
    args.rounds = args.rounds or (3 if args.quick else 7)
    args.batch_ms = args.batch_ms or (15.0 if args.quick else 100.0)

    frameworks = _names(args.frameworks, FRAMEWORKS, "frameworks")
    scenarios = _names(args.scenarios, tuple(SCENARIOS), "scenarios")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log(f"Python {platform.python_version()} on {_cpu_model()} ({os.cpu_count()} CPUs)")
    outcomes, overhead = run(
        frameworks, scenarios, args.rounds, args.batch_ms, args.iterations, log
    )

    print()
    print(f"µs per request, {args.stat} of {args.rounds} rounds (lower is better)")
    print("\n".join(table(outcomes, frameworks, args.stat)))
    print(f"\nharness loop overhead (null WSGI app): {overhead:.2f} µs, not subtracted")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    data = results_json(outcomes, frameworks, args, overhead)
    args.output.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"results written to {args.output}")
    if before is not None:
        print()
        print("\n".join(compare(before, outcomes, frameworks, args.stat)))
    if args.chart:
        try:
            chart(outcomes, frameworks, args.stat, args.chart)
        except ImportError:
            print("matplotlib is not installed; no chart (.venv/bin/pip install matplotlib)")
        else:
            print(f"chart written to {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
