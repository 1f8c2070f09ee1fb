"""The raw-request corpus against real servers on 127.0.0.1.

Each server in ``SERVERS`` is started once per module on an ephemeral port,
serving ``tests/corpus/corpus_app.py``; every case of
``tests/corpus/cases.py`` is sent over a plain socket and its status line
checked. gunicorn serves the app over WSGI, uvicorn over ASGI.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
import typing as t
from urllib.parse import urlsplit

import pytest
from corpus.cases import CASES, Case

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
SRC = os.path.join(os.path.dirname(HERE), "src")

#: How long a server may take to start, and a case to be answered.
START_TIMEOUT = 20.0
CASE_TIMEOUT = 10.0


@dataclasses.dataclass(frozen=True)
class Server:
    """How to run one server: the module to check for, and its arguments
    (``python -m <args>``); it must bind 127.0.0.1 on an ephemeral port and
    log the URL it listens on."""

    module: str
    args: tuple[str, ...]


SERVERS: dict[str, Server] = {
    "gunicorn": Server(
        "gunicorn",
        (
            "gunicorn",
            "--worker-class", "gthread",
            "--workers", "1",
            "--threads", "4",
            "--bind", "127.0.0.1:0",
            "--graceful-timeout", "2",
            "--timeout", "30",
            "--log-level", "info",
            "corpus_app:app",
        ),
    ),
    "uvicorn": Server(
        "uvicorn",
        (
            "uvicorn",
            "--host", "127.0.0.1",
            "--port", "0",
            "--log-level", "info",
            "corpus_app:app",
        ),
    ),
}  # fmt: skip

#: Cases a server answers differently for a sound reason: {server: {case: statuses}}.
EXPECT_OVERRIDES: dict[str, dict[str, frozenset[int | None]]] = {}

_GET = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
_LISTENING = re.compile(rb"https?://127\.0\.0\.1:(\d+)")


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> t.Iterator[tuple[str, int]]:
    """``(name, port)`` of a running server; it is always killed afterwards."""
    name: str = request.param
    spec = SERVERS[name]
    if importlib.util.find_spec(spec.module) is None:
        pytest.skip(f"{spec.module} is not installed")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, CORPUS]), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", *spec.args],
        cwd=CORPUS,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        port = _wait_for_port(proc)
        yield name, port
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def _wait_for_port(proc: subprocess.Popen[bytes]) -> int:
    """Read the server's log until it says where it listens."""
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    deadline = time.monotonic() + START_TIMEOUT
    log = b""
    while time.monotonic() < deadline:
        chunk = proc.stdout.read()
        if chunk:
            log += chunk
            m = _LISTENING.search(log)
            if m is not None and (b"Booting worker" in log or b"running on" in log.lower()):
                port = int(m.group(1))
                _wait_until_answering(port, deadline)
                return port
        elif proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"server did not start:\n{log.decode(errors='replace')}")


def _wait_until_answering(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            status, _ = _exchange(
                port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
        except OSError:
            status = None
        if status == 200:
            return
        time.sleep(0.05)
    raise RuntimeError("server never answered GET /")


def _exchange(port: int, raw: bytes) -> tuple[int | None, bytes]:
    """Send ``raw``, read until the server closes; the final (non-1xx)
    status and everything received. ``None`` if nothing was answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=CASE_TIMEOUT) as sock:
        # The server may answer (413) and close before the whole body is sent.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)
        received = b""
        deadline = time.monotonic() + CASE_TIMEOUT
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    return _final_status(received), received


_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})")


def _final_status(received: bytes) -> int | None:
    """The status of the last response head; ``100 Continue`` is skipped."""
    status = None
    position = 0
    while True:
        m = _STATUS.match(received, position)
        if m is None:
            return status
        status = int(m.group(1))
        if status >= 200:
            return status
        end = received.find(b"\r\n\r\n", m.end())
        if end < 0:
            return status
        position = end + 4


def _has(received: bytes, needle: bytes) -> bool:
    """Whether ``needle`` was received; a ``Name: value`` needle also matches a
    header line whose name is spelled in another case. Header names are
    case-insensitive, and ASGI servers send them lower case as the ASGI spec
    requires of the app."""
    if needle in received:
        return True
    name, sep, value = needle.partition(b": ")
    if not sep:
        return False
    head = received.split(b"\r\n\r\n", 1)[0]
    lowered = b"\r\n".join(
        line.partition(b":")[0].lower() + line[len(line.partition(b":")[0]) :]
        for line in head.split(b"\r\n")
    )
    return name.lower() + sep + value in lowered


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_corpus_case(server: tuple[str, int], case: Case) -> None:
    name, port = server
    status, received = _exchange(port, case.raw)
    expect = EXPECT_OVERRIDES.get(name, {}).get(case.name, case.expect)
    assert status in expect, f"{name}: {case.name}: got {status}\n{received[:500]!r}"
    for needle in case.contains:
        assert _has(received, needle), f"{name}: {case.name}: {needle!r} missing"
    for needle in case.absent:
        assert not _has(received, needle), f"{name}: {case.name}: {needle!r} present"
    head = received.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"location:"):
            target = line.split(b":", 1)[1].strip().decode("latin1")
            assert not target.startswith(("//", "/\\", "\\")), target
            assert urlsplit(target).hostname in (None, "127.0.0.1"), target


def test_server_survives_the_corpus(server: tuple[str, int]) -> None:
    """Runs after the cases (definition order): the server still answers."""
    _, port = server
    status, _ = _exchange(port, _GET)
    assert status == 200
