"""Behind real servers on 127.0.0.1: requests/s and latency measured by ``wrk``.

For every server (gunicorn and granian for WSGI, uvicorn and granian for ASGI) and every
framework that speaks its protocol, the server is started with one worker on a free
ephemeral port, the scenarios' responses are checked over HTTP (the same checks as
``wsgi_bench.py``), ``wrk`` loads each scenario for a bounded time, the responses are
checked again, and the server's whole process group is killed, whatever happened.
A framework that cannot run on a server (WSGI-only on ASGI and the reverse), fails to
start, or answers wrongly shows ``n/a`` with the reason.

Run ``.venv/bin/python benchmarks/server_bench.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing as t
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import wsgi_bench as wb

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUTPUT = HERE / "results" / "server.json"

FRAMEWORKS = ("phial", "flask", "falcon", "bottle", "starlette", "quart")

#: framework -> app module under ``benchmarks/apps`` for each protocol (absent: can't).
APP_MODULES: dict[str, dict[str, str]] = {
    "wsgi": {
        "phial": "phial_app",
        "flask": "flask_app",
        "falcon": "falcon_app",
        "bottle": "bottle_app",
    },
    "asgi": {
        "phial": "phial_asgi_app",
        "falcon": "falcon_asgi_app",
        "starlette": "starlette_app",
        "quart": "quart_app",
    },
}


@dataclasses.dataclass(frozen=True)
class Server:
    """How to start one server on one protocol."""

    name: str
    protocol: str

    @property
    def label(self) -> str:
        return f"{self.name}-{self.protocol}"

    def command(self, target: str, port: int) -> list[str]:
        py = sys.executable
        if self.name == "gunicorn":
            # The default sync worker: one request at a time, no keep-alive.
            return [py, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
                    "--log-level", "warning", target]  # fmt: skip
        if self.name == "uvicorn":
            # ``--interface asgi3``: uvicorn's default guess (``auto``) takes any object
            # whose ``__call__`` is not ``async def`` for ASGI2 and calls ``app(scope)``,
            # which a dual WSGI/ASGI ``__call__`` such as phial's is not.
            return [py, "-m", "uvicorn", "--interface", "asgi3", "--host", "127.0.0.1",
                    "--port", str(port), "--log-level", "warning", "--no-access-log",
                    target]  # fmt: skip
        if self.name == "granian":
            return [py, "-m", "granian", "--interface", self.protocol, "--host", "127.0.0.1",
                    "--port", str(port), "--workers", "1", "--no-ws", "--log-level",
                    "warning", "--no-access-log", target]  # fmt: skip
        raise ValueError(self.name)


SERVERS = {
    s.label: s
    for s in (
        Server("gunicorn", "wsgi"),
        Server("granian", "wsgi"),
        Server("uvicorn", "asgi"),
        Server("granian", "asgi"),
    )
}


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    """An ephemeral port the kernel just handed out (closed again for the server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerFailed(Exception):
    """The server did not start or died."""


@dataclasses.dataclass(frozen=True)
class Started:
    """A listening server: its port and the tail of what it printed so far."""

    port: int
    output: t.Callable[[], str]


@contextlib.contextmanager
def running(server: Server, module: str, startup_s: float) -> Iterator[Started]:
    """Start ``server`` serving ``apps.<module>:app``; yield its port; always kill it.

    The server runs in its own session so the whole group (master and workers) is
    signalled; SIGTERM first, SIGKILL if it is still there after 5 s.
    """
    port = free_port()
    env = dict(os.environ)
    # This checkout's phial first, then the apps package; PYTHONPATH outranks the
    # venv's editable install of another checkout.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), str(HERE), env.get("PYTHONPATH")) if p
    )
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            server.command(f"apps.{module}:app", port),
            cwd=HERE,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def output() -> str:
            log.seek(0)
            text = log.read().decode("utf-8", "replace").strip().splitlines()
            return " | ".join(text[-5:]) or "(no output)"

        try:
            yield from _serve(proc, port, startup_s, output)
        finally:
            _kill(proc)


def _serve(
    proc: subprocess.Popen[bytes], port: int, startup_s: float, output: t.Callable[[], str]
) -> Iterator[Started]:
    """Wait for the server to listen, hand it over, check it survived."""
    deadline = time.monotonic() + startup_s
    while True:
        if proc.poll() is not None:
            raise ServerFailed(f"exited with {proc.returncode}: {output()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise ServerFailed(f"not listening after {startup_s:g} s: {output()}") from None
            time.sleep(0.1)
    yield Started(port, output)
    if proc.poll() is not None:
        raise ServerFailed(f"died during the run ({proc.returncode}): {output()}")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        # The master is gone; make sure no worker of its group survives it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return


# --------------------------------------------------------------------------- requests


@dataclasses.dataclass
class Request:
    """One scenario's request as HTTP: method, target, headers, body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @classmethod
    def of(cls, scenario: wb.Scenario) -> Request:
        target = scenario.path + (f"?{scenario.query}" if scenario.query else "")
        headers = {"Host": "127.0.0.1"}
        body = urlencode(scenario.form).encode() if scenario.form else b""
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return cls(scenario.method, target, headers, body)

    def send(self, port: int) -> wb.Reply:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request(self.method, self.target, body=self.body or None, headers=self.headers)
            resp = conn.getresponse()
            return wb.Reply(resp.status, resp.getheaders(), resp.read())
        except OSError as exc:
            raise wb.VerificationError(f"HTTP request failed: {exc}") from exc
        finally:
            conn.close()

    def lua(self) -> str:
        """A wrk script sending this request (long brackets need no escaping)."""
        lines = [f'wrk.method = "{self.method}"', f"wrk.path = [==[{self.target}]==]"]
        if self.body:
            lines.append(f"wrk.body = [==[{self.body.decode()}]==]")
        lines += [f'wrk.headers["{k}"] = [==[{v}]==]' for k, v in self.headers.items()]
        return "\n".join(lines) + "\n"


def prepare(scenario: wb.Scenario, port: int) -> Request:
    """Check the scenario over HTTP; for the session, keep the cookie the server sets."""
    request = Request.of(scenario)
    if scenario.session:
        first = request.send(port)
        wb._expect_json(first, {"n": 1})
        for value in first.header_values("Set-Cookie"):
            if value.startswith("session="):
                request.headers["Cookie"] = value.split(";", 1)[0]
                break
        else:
            raise wb.VerificationError("the first response set no session cookie")
    scenario.check(request.send(port))
    return request


# --------------------------------------------------------------------------- wrk

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


@dataclasses.dataclass
class Load:
    """What wrk measured for one (server, framework, scenario)."""

    reason: str | None = None
    rps: float | None = None
    requests: int = 0
    latency_avg_ms: float | None = None
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    latency_max_ms: float | None = None
    non_2xx: int = 0
    socket_errors: str | None = None
    runs_rps: list[float | None] = dataclasses.field(default_factory=list)


def run_wrk(request: Request, port: int, duration: float, connections: int, threads: int) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(request.lua())
    try:
        proc = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency",
             "-s", script.name, f"http://127.0.0.1:{port}{request.target}"],
            capture_output=True,
            text=True,
            timeout=duration + 60,
        )  # fmt: skip
    finally:
        os.unlink(script.name)
    out = proc.stdout
    if proc.returncode != 0:
        return Load(reason=f"wrk failed: {(proc.stderr or out).strip()[:200]}")
    load = Load()
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        load.rps = float(m.group(1))
    if m := re.search(r"(\d+) requests in", out):
        load.requests = int(m.group(1))
    if m := re.search(
        r"Latency\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)", out
    ):
        load.latency_avg_ms = _ms(m.group(1), m.group(2))
        load.latency_max_ms = _ms(m.group(5), m.group(6))
    if m := re.search(r"\s50%\s+([\d.]+)(us|ms|s|m)", out):
        load.latency_p50_ms = _ms(m.group(1), m.group(2))
    if m := re.search(r"\s99%\s+([\d.]+)(us|ms|s|m)", out):
        load.latency_p99_ms = _ms(m.group(1), m.group(2))
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        load.non_2xx = int(m.group(1))
    if m := re.search(r"Socket errors:\s+(.*)", out):
        load.socket_errors = m.group(1).strip()
    if load.rps is None:
        load.reason = f"could not read wrk's output: {out.strip()[:200]}"
    return load


# --------------------------------------------------------------------------- running


def measure(
    server: Server,
    framework: str,
    scenarios: list[str],
    wrk: dict[str, t.Any],
    startup_s: float,
    log: t.Callable[[str], None],
) -> dict[str, Load]:
    """Start the server once for ``framework`` and load every scenario in turn."""
    label = server.label
    loads = {s: Load() for s in scenarios}

    def fail(reason: str) -> None:
        for load in loads.values():
            if load.reason is None and load.rps is None:
                load.reason = reason

    module = APP_MODULES[server.protocol].get(framework)
    if module is None:
        fail(f"{framework} has no {server.protocol.upper()} app")
        return loads
    log(f"  {label} / {framework}: starting")
    try:
        with running(server, module, startup_s) as started:
            for s in scenarios:
                scenario = wb.SCENARIOS[s]
                try:
                    request = prepare(scenario, started.port)
                except wb.VerificationError as exc:
                    said = started.output()
                    loads[s].reason = f"verification failed: {exc} (server said: {said})"
                    log(f"  {label} / {framework} / {s}: n/a, {loads[s].reason}")
                    continue
                load = run_wrk(request, started.port, **wrk)
                if load.reason is None and load.non_2xx and s != "404":
                    load.reason = f"{load.non_2xx} non-2xx responses under load"
                if load.reason is None:
                    try:
                        scenario.check(request.send(started.port))
                    except wb.VerificationError as exc:
                        load.reason = f"verification after the load failed: {exc}"
                loads[s] = load
                rps = "n/a" if load.rps is None else f"{load.rps:,.0f} req/s"
                log(f"  {label} / {framework} / {s}: {rps} {load.reason or ''}")
    except ServerFailed as exc:
        fail(f"server failed: {exc}")
        log(f"  {label} / {framework}: n/a, server failed: {exc}")
    return loads


def run(
    servers: list[str],
    frameworks: list[str],
    scenarios: list[str],
    wrk: dict[str, t.Any],
    repeat: int,
    startup_s: float,
    log: t.Callable[[str], None],
) -> dict[str, dict[str, dict[str, Load]]]:
    """results[server][scenario][framework]: the best of ``repeat`` passes.

    Each pass visits every server and, within it, every framework in an order rotated
    from pass to pass, so slow phases of the shared machine hit all frameworks alike.
    A cell keeps its highest requests/s (and that run's latencies); a failure in any
    pass makes it ``n/a``. ``runs_rps`` keeps every pass's figure.
    """
    results = {sv: {s: {f: Load() for f in frameworks} for s in scenarios} for sv in servers}
    for r in range(repeat):
        if repeat > 1:
            log(f"pass {r + 1} of {repeat}")
        order = frameworks[r % len(frameworks) :] + frameworks[: r % len(frameworks)]
        for label in servers:
            for framework in order:
                loads = measure(SERVERS[label], framework, scenarios, wrk, startup_s, log)
                for s, load in loads.items():
                    best = results[label][s][framework]
                    runs = [*best.runs_rps, load.rps]
                    if r > 0 and best.reason is not None:
                        best.runs_rps = runs
                        continue
                    if r == 0 or load.reason is not None or (load.rps or 0) > (best.rps or 0):
                        best = load
                    best.runs_rps = runs
                    results[label][s][framework] = best
    return results


def _rps(load: Load) -> str:
    return "n/a" if load.reason or load.rps is None else f"{load.rps:,.0f}"


def _lat(load: Load) -> str:
    if load.reason or load.latency_p50_ms is None or load.latency_p99_ms is None:
        return "n/a"
    return f"{load.latency_p50_ms:.2f} / {load.latency_p99_ms:.2f}"


def tables(results: dict[str, dict[str, dict[str, Load]]], frameworks: list[str]) -> list[str]:
    """Per server: requests/s with phial/peer throughput ratios, then p50 / p99 latency."""
    lines: list[str] = []
    for label, by_scenario in results.items():
        protocol = SERVERS[label].protocol
        shown = [f for f in frameworks if f in APP_MODULES[protocol]]
        peers = [f for f in shown if f != "phial" and "phial" in shown]
        rows = [["scenario", *shown, *(f"phial/{p}" for p in peers)]]
        for s, by_fw in by_scenario.items():
            row = [s, *(_rps(by_fw[f]) for f in shown)]
            for p in peers:
                a, b = by_fw["phial"], by_fw[p]
                ok = not a.reason and not b.reason and a.rps and b.rps
                row.append(f"{a.rps / b.rps:.2f}x" if ok else "n/a")  # type: ignore[operator]
            rows.append(row)
        lines += ["", f"{label}: requests/s (higher is better; phial/peer > 1 = phial faster)"]
        lines += wb._align(rows)
        rows = [["scenario", *shown]]
        rows += [[s, *(_lat(by_fw[f]) for f in shown)] for s, by_fw in by_scenario.items()]
        lines += ["", f"{label}: latency p50 / p99 in ms"]
        lines += wb._align(rows)
    return lines


def _server_versions() -> dict[str, str | None]:
    names = ("gunicorn", "granian", "uvicorn", "h11", "httptools", "uvloop")
    versions = {n: wb._version(n) for n in names}
    try:
        wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
        versions["wrk"] = (wrk.stdout or wrk.stderr).split("[", 1)[0].strip() or None
    except OSError:
        versions["wrk"] = None
    return versions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", nargs="+", metavar="NAME", help=f"any of {', '.join(SERVERS)}")
    parser.add_argument(
        "--frameworks", nargs="+", metavar="NAME", help=f"any of {', '.join(FRAMEWORKS)}"
    )
    parser.add_argument(
        "--scenarios",
        nargs="+",
        metavar="NAME",
        help=f"any of {', '.join(wb.SCENARIOS)} (default plaintext json)",
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (5)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="passes over everything; best per cell (1)"
    )
    parser.add_argument(
        "--startup", type=float, default=30.0, help="seconds to wait for a server to listen"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")

    servers = wb._names(args.servers, tuple(SERVERS), "servers")
    frameworks = wb._names(args.frameworks, FRAMEWORKS, "frameworks")
    scenarios = wb._names(args.scenarios or ["plaintext", "json"], tuple(wb.SCENARIOS), "scenarios")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log(f"Python {platform.python_version()} on {wb._cpu_model()} ({os.cpu_count()} CPUs)")
    log(
        f"  wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, one server worker,"
        f" {len(servers) * len(frameworks) * len(scenarios)} cells"
    )
    wrk = {"duration": args.duration, "connections": args.connections, "threads": args.threads}
    results = run(servers, frameworks, scenarios, wrk, args.repeat, args.startup, log)
    print("\n".join(tables(results, frameworks)))

    data = {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "cpu": wb._cpu_model(),
            "cpus": os.cpu_count(),
            "versions": _server_versions(),
            "wrk": {
                "threads": args.threads,
                "connections": args.connections,
                "duration_s": args.duration,
            },
            "workers": 1,
            "repeat": args.repeat,
        },
        "results": {
            label: {
                s: {f: dataclasses.asdict(load) for f, load in by_fw.items()}
                for s, by_fw in by_scenario.items()
            }
            for label, by_scenario in results.items()
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    print(f"\nresults written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
