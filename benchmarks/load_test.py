"""A bounded load test: phial under gunicorn (gthread) and uvicorn, with hostile clients.

    .venv/bin/python benchmarks/load_test.py                 # both servers, 2,000 requests each
    .venv/bin/python benchmarks/load_test.py --servers uvicorn --requests 500

For each server, ``apps/load_app.py`` is started on 127.0.0.1 (an ephemeral port, one
worker process, killed at the end), warmed up, and sent ``--requests`` requests over
``--concurrency`` connections at once, each request on a connection of its own:

- normal requests (GET with a query, urlencoded form POST, JSON POST, multipart upload,
  a streamed download read to the end): each carries a unique id and a random payload,
  and its answer must echo that id and the payload's SHA-256;
- slow clients that dribble their head or their body a few bytes at a time: they too
  must get their own correct answer;
- clients that stall in the middle of their body (on ASGI phial answers 408 after
  ``BODY_TIMEOUT``; under gunicorn the client gives up after 3 s);
- uploads aborted mid-body and streamed downloads abandoned after the first bytes.

It passes when every request that must be answered got its own correct answer, the
server still answers afterwards, no view ever ran with a body shorter than the one
declared, every abandoned download's generator was closed, and the server's resident
memory grew by less than ``--max-rss-growth`` MiB between the end of the warm-up and
the end of the run. Only the standard library is used on the client side (asyncio
streams). Exit status 0 on success, 1 on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing as t
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = "apps.load_app:app"

#: kind -> weight in the mix (out of 1,000).
MIX = {
    "get": 200,
    "form": 130,
    "json": 130,
    "upload": 130,
    "download": 80,
    "slow_head": 60,
    "slow_body": 60,
    "stalled_body": 10,
    "aborted_upload": 50,
    "aborted_raw": 50,
    "abandoned_download": 100,
}
#: Kinds whose answer must be the request's own correct answer.
MUST_ANSWER = frozenset(("get", "form", "json", "upload", "download", "slow_head", "slow_body"))
DOWNLOAD_CHUNK = 65536
STALL_SECONDS = 3.0
REQUEST_TIMEOUT = 30.0


def server_command(server: str, port: int) -> list[str]:
    py = sys.executable
    if server == "gunicorn":
        return [py, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1",
                "--threads", "16", "--timeout", "30", "--bind", f"127.0.0.1:{port}",
                "--log-level", "warning", TARGET]  # fmt: skip
    if server == "uvicorn":
        return [py, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1", "--log-level", "warning", "--no-access-log",
                "--lifespan", "on", TARGET]  # fmt: skip
    raise ValueError(f"unknown server {server!r}")


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    """An ephemeral port the kernel just handed out (closed again for the server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (gunicorn: master and worker)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, ()))
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


@contextlib.contextmanager
def running(server: str) -> Iterator[tuple[subprocess.Popen[bytes], int, t.Callable[[], str]]]:
    """Start ``server`` with the load app; yield it, its port and its output; kill it."""
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), str(HERE), env.get("PYTHONPATH")) if p
    )
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            server_command(server, port),
            cwd=HERE,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def output() -> str:
            log.seek(0)
            return log.read().decode("utf-8", "replace")

        try:
            deadline = time.monotonic() + 20
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{server} exited with {proc.returncode}: {output()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{server} not listening after 20 s: {output()}")
                time.sleep(0.1)
            yield proc, port, output
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# --------------------------------------------------------------------------- the client


@dataclasses.dataclass
class Outcome:
    kind: str
    ok: bool
    detail: str = ""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _payload(rng: random.Random, low: int, high: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def _head(method: str, target: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out = bytearray()
        while True:
            size_line, _, body = body.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            out += body[:size]
            body = body[size + 2 :]
        body = bytes(out)
    return status, headers, body


async def _exchange(
    port: int, data: bytes, piece: int = 0, pause: float = 0.0, split_at: int | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` (dribbled ``piece`` bytes at a time after ``split_at``), read to EOF."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if piece:
            start = split_at or 0
            writer.write(data[:start])
            for i in range(start, len(data), piece):
                writer.write(data[i : i + piece])
                await writer.drain()
                await asyncio.sleep(pause)
        else:
            writer.write(data)
        await writer.drain()
        return _parse(await reader.read())
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _multipart(fields: dict[str, str], content: bytes) -> tuple[str, bytes]:
    boundary = "loadtest" + hashlib.md5(content).hexdigest()
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def _post(target: str, content_type: str, body: bytes) -> bytes:
    headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
    return _head("POST", target, headers) + body


def _check(kind: str, answer: tuple[int, dict[str, str], bytes], rid: str, digest: str) -> Outcome:
    status, _, body = answer
    if status != 200:
        return Outcome(kind, False, f"id {rid}: status {status}: {body[:200]!r}")
    try:
        got = json.loads(body)
    except ValueError:
        return Outcome(kind, False, f"id {rid}: not JSON: {body[:200]!r}")
    if got != {"id": rid, "digest": digest}:
        return Outcome(kind, False, f"id {rid}: wrong answer {got!r}")
    return Outcome(kind, True)


async def run_job(kind: str, number: int, port: int, server: str, rng: random.Random) -> Outcome:
    """One client of ``kind``; ``number`` makes its id unique."""
    rid = f"{kind}-{number}"
    if kind in ("get", "slow_head"):
        text = _payload(rng, 10, 300)
        data = _head("GET", "/echo?" + urlencode({"id": rid, "payload": text}))
        if kind == "get":
            return _check(kind, await _exchange(port, data), rid, _digest(text.encode()))
        answer = await _exchange(port, data, piece=7, pause=0.02)
        return _check(kind, answer, rid, _digest(text.encode()))
    if kind == "form":
        text = _payload(rng, 10, 20_000)
        body = urlencode({"id": rid, "payload": text}).encode()
        data = _post("/form", "application/x-www-form-urlencoded", body)
        return _check(kind, await _exchange(port, data), rid, _digest(text.encode()))
    if kind == "json":
        text = _payload(rng, 10, 20_000)
        data = _post("/json", "application/json", json.dumps({"id": rid, "payload": text}).encode())
        return _check(kind, await _exchange(port, data), rid, _digest(text.encode()))
    if kind == "upload":
        content = rng.randbytes(rng.randint(0, 300_000))
        ctype, body = _multipart({"id": rid, "size": str(len(content))}, content)
        return _check(kind, await _exchange(port, _post("/upload", ctype, body)), rid,
                      _digest(content))  # fmt: skip
    if kind == "slow_body":
        content = rng.randbytes(rng.randint(500, 3000))
        target = "/raw?" + urlencode({"id": rid, "size": len(content)})
        data = _post(target, "application/octet-stream", content)
        answer = await _exchange(
            port, data, piece=200, pause=0.03, split_at=len(data) - len(content)
        )
        return _check(kind, answer, rid, _digest(content))
    if kind == "download":
        chunks = rng.randint(1, 8)
        data = _head("GET", "/download?" + urlencode({"id": number, "chunks": chunks}))
        status, _, body = await _exchange(port, data)
        expected = bytes([number % 251]) * (DOWNLOAD_CHUNK * chunks)
        if status != 200 or body != expected:
            return Outcome(kind, False, f"id {rid}: status {status}, {len(body)} bytes")
        return Outcome(kind, True)
    if kind == "stalled_body":
        return await _stalled(port, server, rid)
    if kind in ("aborted_upload", "aborted_raw"):
        return await _aborted(port, kind, rid, rng)
    if kind == "abandoned_download":
        return await _abandoned(port, number)
    raise ValueError(kind)


async def _stalled(port: int, server: str, rid: str) -> Outcome:
    """Declare 10,000 bytes, send 100, then nothing: ASGI must answer 408."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        target = "/raw?" + urlencode({"id": rid, "size": 10_000})
        writer.write(_head("POST", target, {"Content-Length": "10000"}) + b"x" * 100)
        await writer.drain()
        try:
            raw = await asyncio.wait_for(reader.read(), STALL_SECONDS)
        except asyncio.TimeoutError:
            raw = b""
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    status = _parse(raw)[0] if raw else None
    if server == "uvicorn":
        return Outcome("stalled_body", status == 408, f"id {rid}: status {status}")
    # gunicorn has no body timeout of its own (that is the proxy's job): the client gives up.
    return Outcome("stalled_body", status in (None, 400, 408), f"id {rid}: status {status}")


async def _aborted(port: int, kind: str, rid: str, rng: random.Random) -> Outcome:
    """Declare a large body, send part of it, close the connection."""
    content = rng.randbytes(1_000_000)
    if kind == "aborted_upload":
        ctype, body = _multipart({"id": rid, "size": str(len(content))}, content)
        data = _post("/upload", ctype, body)
    else:
        target = "/raw?" + urlencode({"id": rid, "size": len(content)})
        data = _post(target, "application/octet-stream", content)
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data[: rng.randint(1000, 200_000)])
    with contextlib.suppress(OSError):
        await writer.drain()
    await asyncio.sleep(rng.uniform(0, 0.05))
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return Outcome(kind, True)


async def _abandoned(port: int, number: int) -> Outcome:
    """Ask for a 128 MiB stream, read the first 100 kB, leave."""
    data = _head("GET", "/download?" + urlencode({"id": number, "chunks": 2048, "delay": 0.002}))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        got = 0
        while got < 100_000:
            chunk = await reader.read(65536)
            if not chunk:
                break
            got += len(chunk)
    finally:
        # Unread data in the socket makes the kernel reset the connection.
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return Outcome("abandoned_download", got >= 100_000, f"only {got} bytes arrived")


async def run_load(
    port: int, server: str, requests: int, concurrency: int, seed: int
) -> list[Outcome]:
    rng = random.Random(seed)
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=requests)
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for number, kind in enumerate(kinds):
        queue.put_nowait((number, kind))
    outcomes: list[Outcome] = []

    async def worker(wid: int) -> None:
        wrng = random.Random(seed * 1000 + wid)
        while not queue.empty():
            number, kind = queue.get_nowait()
            try:
                outcome = await asyncio.wait_for(
                    run_job(kind, number, port, server, wrng), REQUEST_TIMEOUT
                )
            except Exception as e:  # a failed request is a result, not a crash
                outcome = Outcome(kind, False, f"{kind}-{number}: {type(e).__name__}: {e}")
            outcomes.append(outcome)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return outcomes


async def _get_json(port: int, target: str) -> t.Any:
    status, _, body = await _exchange(port, _head("GET", target))
    if status != 200:
        raise RuntimeError(f"GET {target}: {status}")
    return json.loads(body)


# --------------------------------------------------------------------------- one server


@dataclasses.dataclass
class Report:
    server: str
    requests: int
    seconds: float
    by_kind: dict[str, tuple[int, int]]  # kind -> (ok, total)
    failures: list[str]
    rss_before_kib: int
    rss_after_kib: int
    stats: dict[str, int]
    alive: bool
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


def test_server(server: str, args: argparse.Namespace) -> Report:
    with running(server) as (proc, port, output):
        asyncio.run(run_load(port, server, args.warmup, args.concurrency, args.seed + 1))
        rss_before = rss_kib(proc.pid)
        start = time.perf_counter()
        outcomes = asyncio.run(run_load(port, server, args.requests, args.concurrency, args.seed))
        seconds = time.perf_counter() - start

        async def settle() -> tuple[bool, dict[str, int]]:
            """Wait (up to 5 s) for the abandoned streams to be closed."""
            stats: dict[str, int] = {}
            for _ in range(50):
                try:
                    stats = await _get_json(port, "/stats")
                except (OSError, RuntimeError, ValueError):
                    return False, stats
                if stats["streams_open"] == 0:
                    break
                await asyncio.sleep(0.1)
            try:
                status, _, body = await _exchange(port, _head("GET", "/health"))
            except OSError:
                return False, stats
            return (status, body) == (200, b"ok"), stats

        alive, stats = asyncio.run(settle())
        alive = alive and proc.poll() is None
        rss_after = rss_kib(proc.pid)
        log = output()

    counts: Counter[tuple[str, bool]] = Counter((o.kind, o.ok) for o in outcomes)
    by_kind = {k: (counts[k, True], counts[k, True] + counts[k, False]) for k in MIX}
    failures = [o.detail for o in outcomes if not o.ok]
    problems = []
    if not alive:
        problems.append(f"the server stopped answering: {log[-500:]}")
    bad = [o for o in outcomes if not o.ok and o.kind in MUST_ANSWER]
    if bad:
        problems.append(f"{len(bad)} normal requests did not get their own correct answer")
    other = [o for o in outcomes if not o.ok and o.kind not in MUST_ANSWER]
    if other:
        problems.append(f"{len(other)} hostile clients were not handled as expected")
    if stats.get("short_bodies"):
        problems.append(f"{stats['short_bodies']} views ran with a truncated body")
    if stats.get("streams_open"):
        problems.append(f"{stats['streams_open']} abandoned streams still open after 5 s")
    growth_mib = (rss_after - rss_before) / 1024
    if growth_mib > args.max_rss_growth:
        problems.append(f"RSS grew by {growth_mib:.1f} MiB (limit {args.max_rss_growth} MiB)")
    return Report(server, len(outcomes), seconds, by_kind, failures, rss_before, rss_after,
                  stats, alive, problems)  # fmt: skip


def print_report(report: Report) -> None:
    print(f"\n== {report.server}: {'PASS' if report.passed else 'FAIL'}")
    print(f"{report.requests} requests in {report.seconds:.1f} s "
          f"({report.requests / report.seconds:.0f}/s)")  # fmt: skip
    for kind, (ok, total) in report.by_kind.items():
        print(f"  {kind:<20} {ok:>5} / {total:<5} {'' if ok == total else 'FAILED'}")
    before, after = report.rss_before_kib / 1024, report.rss_after_kib / 1024
    print(f"RSS after warm-up {before:.1f} MiB, after the run {after:.1f} MiB "
          f"(growth {after - before:+.1f} MiB)")  # fmt: skip
    print(f"server stats: {report.stats}; still answering: {report.alive}")
    for failure in report.failures[:10]:
        print(f"  failure: {failure}")
    for problem in report.problems:
        print(f"  PROBLEM: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="gunicorn,uvicorn")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-rss-growth", type=float, default=32.0, metavar="MIB")
    args = parser.parse_args(argv)
    reports = [test_server(s.strip(), args) for s in args.servers.split(",") if s.strip()]
    for report in reports:
        print_report(report)
    passed = all(r.passed for r in reports)
    print(f"\nload test: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
