"""In-process ASGI benchmark: phial against Starlette, Falcon's ASGI app and Quart.

Each framework's app (``benchmarks/apps/<name>_app.py``) is awaited directly as
``await app(scope, receive, send)`` inside one asyncio event loop, with no server, socket
or HTTP parser in the way, so the figures are the framework's own cost per request.

The seven scenarios, their checks and the reporting are those of ``wsgi_bench.py``. Per
scenario the scope is built once and shallow-copied per call; ``receive`` hands over the
body once and then waits, like a server, until the response is complete (after which it
answers ``http.disconnect``). Every app gets an ASGI lifespan startup first (and shutdown
at the end) when it supports one. Every response is verified before and after timing; a
framework whose app fails to import, to start or to answer correctly shows ``n/a``.

Run ``.venv/bin/python benchmarks/asgi_bench.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import os
import platform
import sys
import typing as t
from collections.abc import Awaitable, Callable
from pathlib import Path
from time import perf_counter_ns
from urllib.parse import urlencode

import wsgi_bench as wb

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results" / "asgi.json"

#: Framework name -> module under ``benchmarks/apps``. ``phial`` uses ``async def`` views
#: like its peers; ``phial-sync`` is the WSGI benchmark's app (sync views) served on ASGI.
MODULES = {
    "phial": "phial_asgi_app",
    "starlette": "starlette_app",
    "falcon": "falcon_asgi_app",
    "quart": "quart_app",
    "phial-sync": "phial_app",
}
FRAMEWORKS = tuple(MODULES)
PEERS = ("starlette", "falcon", "quart")
DISTS = ("phial", "starlette", "falcon", "quart", "werkzeug", "jinja2", "itsdangerous")

Message = dict[str, t.Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[dict[str, t.Any], Receive, Send], Awaitable[None]]

_DISCONNECT: Message = {"type": "http.disconnect"}


# --------------------------------------------------------------------------- the channel


class Channel:
    """``receive`` and ``send`` for one request, behaving like a server's.

    ``receive`` returns the request body once; later calls wait until the response is
    complete and then report a disconnect (what uvicorn does), so frameworks that watch
    for disconnects while the handler runs are neither starved nor cut short.
    """

    __slots__ = ("_pending", "_waiter", "capture", "chunks", "done", "start")

    def __init__(self, request: Message, capture: bool = False) -> None:
        self._pending: Message | None = request
        self._waiter: asyncio.Future[None] | None = None
        self.done = False
        self.capture = capture
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def receive(self) -> Message:
        message = self._pending
        if message is not None:
            self._pending = None
            return message
        if not self.done:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return _DISCONNECT

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            if self.capture:
                self.chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.done = True
                if self._waiter is not None and not self._waiter.done():
                    self._waiter.set_result(None)
        elif kind == "http.response.start" and self.capture:
            self.start = message


class Lifespan:
    """Run an app's lifespan startup in a background task; shut it down on ``stop``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.task: asyncio.Task[None] | None = None
        self.events: asyncio.Queue[Message] = asyncio.Queue()
        self.replies: asyncio.Queue[Message] = asyncio.Queue()

    async def start(self) -> str | None:
        """Start the app; return an error for a failed startup, None otherwise.

        An app that raises on the lifespan scope does not support lifespan; like
        uvicorn's ``--lifespan auto``, that is not an error.
        """
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}

        async def receive() -> Message:
            return await self.events.get()

        async def send(message: Message) -> None:
            await self.replies.put(message)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except Exception as exc:
                await self.replies.put({"type": "unsupported", "error": exc})
            else:
                # An app may also return at once from a scope type it doesn't handle.
                await self.replies.put({"type": "returned"})

        self.task = asyncio.create_task(run())
        await self.events.put({"type": "lifespan.startup"})
        reply = await asyncio.wait_for(self.replies.get(), 30)
        if reply["type"] == "lifespan.startup.failed":
            return f"lifespan startup failed: {reply.get('message', '')}"
        if reply["type"] != "lifespan.startup.complete":
            self.task = None  # no lifespan support: nothing to shut down
        return None

    async def stop(self) -> None:
        if self.task is None:
            return
        await self.events.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self.task, 30)
        except (Exception, asyncio.TimeoutError):
            self.task.cancel()


# --------------------------------------------------------------------------- cases


class Case:
    """One framework serving one scenario: the prepared scope and the calls."""

    def __init__(self, app: ASGIApp, scenario: wb.Scenario) -> None:
        self.app = app
        self.scenario = scenario
        body = urlencode(scenario.form).encode() if scenario.form else b""
        headers = [(b"host", b"localhost"), (b"user-agent", b"asgi-bench")]
        if body:
            headers += [
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"content-length", str(len(body)).encode()),
            ]
        self.scope: dict[str, t.Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": scenario.method,
            "scheme": "http",
            "path": scenario.path,
            "raw_path": scenario.path.encode(),
            "query_string": scenario.query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("localhost", 80),
        }
        self.request: Message = {"type": "http.request", "body": body, "more_body": False}
        self.headers_before = list(headers)

    async def call(self) -> wb.Reply:
        """Send one request and capture the response, turning any failure into a reply."""
        channel = Channel(self.request, capture=True)
        try:
            await self.app(self.scope.copy(), channel.receive, channel.send)
        except Exception as exc:
            raise wb.VerificationError(f"app raised {type(exc).__name__}: {exc}") from exc
        if channel.start is None:
            raise wb.VerificationError("no http.response.start was sent")
        if not channel.done:
            raise wb.VerificationError("the response body was never completed")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in channel.start["headers"]]
        return wb.Reply(int(channel.start["status"]), headers, b"".join(channel.chunks))

    async def prepare(self) -> None:
        """Verify the scenario; for the session, take the cookie the first response sets."""
        if self.scenario.session:
            first = await self.call()
            wb._expect_json(first, {"n": 1})
            for value in first.header_values("Set-Cookie"):
                if value.startswith("session="):
                    cookie = value.split(";", 1)[0].encode("latin-1")
                    self.scope["headers"] = [*self.scope["headers"], (b"cookie", cookie)]
                    self.headers_before = list(self.scope["headers"])
                    break
            else:
                raise wb.VerificationError("the first response set no session cookie")
        await self.verify()

    async def verify(self) -> None:
        self.scenario.check(await self.call())
        if self.scope["headers"] != self.headers_before:
            raise wb.VerificationError("the app modified the shared scope's headers")

    async def time(self, n: int) -> int:
        """Nanoseconds for ``n`` requests awaited one after another."""
        app = self.app
        copy = self.scope.copy
        request = self.request
        gc.collect()
        start = perf_counter_ns()
        for _ in range(n):
            channel = Channel(request)
            await app(copy(), channel.receive, channel.send)
        return perf_counter_ns() - start

    async def calibrate(self, batch_ns: int) -> int:
        """How many requests fill one batch of about ``batch_ns`` (doubles as warm-up)."""
        n = 1
        while True:
            elapsed = await self.time(n)
            if elapsed >= batch_ns // 5 or n >= 1 << 22:
                return max(1, int(n * batch_ns / max(elapsed, 1)))
            n *= 2


async def _null_app(scope: dict[str, t.Any], receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def load_app(framework: str) -> ASGIApp:
    """Import the framework's ASGI app module and return its ``app``."""
    wb._make_apps_importable()
    if framework.startswith("phial"):
        wb._make_phial_importable()
    module = importlib.import_module(f"apps.{MODULES[framework]}")
    return t.cast(ASGIApp, module.app)


# --------------------------------------------------------------------------- running


async def run(
    frameworks: list[str],
    scenarios: list[str],
    rounds: int,
    batch_ms: float,
    iterations: int | None,
    log: Callable[[str], None],
) -> tuple[dict[str, dict[str, wb.Outcome]], float]:
    """Start, verify, calibrate and time every (scenario, framework) pair."""
    outcomes = {s: {f: wb.Outcome() for f in frameworks} for s in scenarios}
    cases: dict[tuple[str, str], Case] = {}
    lifespans: list[Lifespan] = []
    batch_ns = int(batch_ms * 1e6)

    def fail(framework: str, reason: str) -> None:
        for s in scenarios:
            outcomes[s][framework].reason = reason
        log(f"  {framework}: n/a, {reason}")

    try:
        for framework in frameworks:
            try:
                app = load_app(framework)
            except Exception as exc:
                fail(framework, f"import failed: {type(exc).__name__}: {exc}")
                continue
            lifespan = Lifespan(app)
            try:
                error = await lifespan.start()
            except Exception as exc:
                error = f"lifespan startup raised {type(exc).__name__}: {exc}"
            if error is not None:
                fail(framework, error)
                continue
            lifespans.append(lifespan)
            for s in scenarios:
                case = Case(app, wb.SCENARIOS[s])
                try:
                    await case.prepare()
                except wb.VerificationError as exc:
                    outcomes[s][framework].reason = f"verification failed: {exc}"
                    log(f"  {framework}/{s}: n/a, verification failed: {exc}")
                    continue
                n = iterations or await case.calibrate(batch_ns)
                outcomes[s][framework].iterations = n
                cases[s, framework] = case

        null = Case(_null_app, wb.SCENARIOS["plaintext"])
        null_n = iterations or await null.calibrate(batch_ns)
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
                    elapsed = await case.time(outcome.iterations)
                    outcome.rounds_us.append(elapsed / outcome.iterations / 1000)
            overhead.append(await null.time(null_n) / null_n / 1000)

        for (s, framework), case in cases.items():
            try:
                await case.verify()
            except wb.VerificationError as exc:
                outcomes[s][framework].reason = f"verification after timing failed: {exc}"
                log(f"  {framework}/{s}: n/a, verification after timing failed: {exc}")
    finally:
        for lifespan in lifespans:
            await lifespan.stop()
    return outcomes, min(overhead) if overhead else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenarios", nargs="+", metavar="NAME", help=f"any of {', '.join(wb.SCENARIOS)}"
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
    args.rounds = args.rounds or (3 if args.quick else 7)
    args.batch_ms = args.batch_ms or (15.0 if args.quick else 100.0)
    before = wb.load_before(args.compare_to, args.output)

    frameworks = wb._names(args.frameworks, FRAMEWORKS, "frameworks")
    scenarios = wb._names(args.scenarios, tuple(wb.SCENARIOS), "scenarios")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log(f"Python {platform.python_version()} on {wb._cpu_model()} ({os.cpu_count()} CPUs)")
    outcomes, overhead = asyncio.run(
        run(frameworks, scenarios, args.rounds, args.batch_ms, args.iterations, log)
    )

    print()
    print(f"µs per request, {args.stat} of {args.rounds} rounds (lower is better)")
    print("\n".join(wb.table(outcomes, frameworks, args.stat, peers=PEERS)))
    print(f"\nharness loop overhead (null ASGI app): {overhead:.2f} µs, not subtracted")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    data = wb.results_json(outcomes, frameworks, args, overhead, peers=PEERS, dists=DISTS)
    data["meta"]["event_loop"] = "asyncio (default policy)"
    args.output.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"results written to {args.output}")
    if before is not None:
        print()
        print("\n".join(wb.compare(before, outcomes, frameworks, args.stat)))
    if args.chart:
        try:
            wb.chart(outcomes, frameworks, args.stat, args.chart, title="In-process ASGI")
        except ImportError:
            print("matplotlib is not installed; no chart (.venv/bin/pip install matplotlib)")
        else:
            print(f"chart written to {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
