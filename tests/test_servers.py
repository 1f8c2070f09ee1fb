"""phial under real servers: uvicorn, granian (ASGI and WSGI) and gunicorn.

Each server runs tests/servers/serverapp.py on 127.0.0.1 in a subprocess of its
own session (killed at the end whatever happens), with the command the docs
show. A server whose package is not installed is skipped, saying which.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import importlib.util
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest

import phial

HERE = Path(__file__).parent / "servers"
SRC = Path(phial.__file__).parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: name -> (package, protocol, command given the port). The commands are the
#: ones docs/deploying.md shows (plus the host and port).
SERVERS: dict[str, tuple[str, str, t.Callable[[int], list[str]]]] = {
    "uvicorn": (
        "uvicorn",
        "asgi",
        lambda port: [str(BIN / "uvicorn"), "serverapp:app", "--host", "127.0.0.1",
                      "--port", str(port)],
    ),
    "granian-asgi": (
        "granian",
        "asgi",
        lambda port: [str(BIN / "granian"), "--interface", "asgi", "--host", "127.0.0.1",
                      "--port", str(port), "serverapp:app"],
    ),
    "granian-wsgi": (
        "granian",
        "wsgi",
        lambda port: [str(BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1",
                      "--port", str(port), "serverapp:app"],
    ),
    "gunicorn": (
        "gunicorn",
        "wsgi",
        lambda port: [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
                      "serverapp:app"],
    ),
}  # fmt: skip


class Server:
    """A server process serving serverapp on ``port``."""

    def __init__(self, name: str, tmp: Path) -> None:
        package, self.protocol, command = SERVERS[name]
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"{package} is not installed (pip install 'phial[test]')")
        self.name = name
        self.port = _free_port()
        self.marker = tmp / f"{name}.marker"
        self.log_path = tmp / f"{name}.log"
        self.log = self.log_path.open("w+")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PHIAL_", "FLASK_"))}
        env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(SRC)])
        env["SERVER_TEST_MARKER"] = str(self.marker)
        self.proc = subprocess.Popen(
            command(self.port),
            cwd=HERE,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: workers die with it
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.kill()
                pytest.fail(f"{self.name} exited at startup:\n{self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                time.sleep(0.1)
                continue
            return
        self.kill()
        pytest.fail(f"{self.name} did not listen within {timeout}s:\n{self.output()}")

    def output(self) -> str:
        if self.log.closed:
            return self.log_path.read_text()
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self, timeout: float = 15) -> None:
        """Graceful shutdown (SIGTERM), then SIGKILL if it does not end in time."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        self.kill()

    def kill(self) -> None:
        # The whole group, so workers die too even if the master is gone.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()  # idempotent; output() reads the file afterwards

    def request(
        self, method: str, path: str, body: t.Any = None, headers: dict[str, str] | None = None
    ) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response, response.read()
        finally:
            conn.close()


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[Server]:
    srv = Server(request.param, tmp_path_factory.mktemp("servers"))
    try:
        yield srv
    finally:
        srv.stop()


def test_json(server: Server) -> None:
    response, body = server.request(
        "POST", "/json", json.dumps({"a": [1, 2]}), {"Content-Type": "application/json"}
    )
    assert response.status == 200, body
    assert json.loads(body) == {"got": {"a": [1, 2]}, "method": "POST"}


def test_form_post(server: Server) -> None:
    response, body = server.request(
        "POST",
        "/form",
        "name=J%C3%BCrgen&tag=a&tag=b",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200, body
    assert json.loads(body) == {"name": "Jürgen", "tags": ["a", "b"]}


def test_chunked_upload(server: Server) -> None:
    chunks = [os.urandom(1000 + i * 3000) for i in range(20)]
    data = b"".join(chunks)
    # An iterable body without Content-Length: http.client sends it chunked.
    response, body = server.request("POST", "/upload", iter(chunks))
    assert response.status == 200, body
    assert json.loads(body) == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


@pytest.mark.parametrize("path", ["/upload", "/upload-stream"])
def test_large_chunked_upload(server: Server, path: str) -> None:
    # Past ASGI_BODY_BUFFER_SIZE (1 MiB): streamed to the view, through the
    # sync bridge (/upload) or request.iter_body() (/upload-stream).
    chunks = [os.urandom(64 * 1024) for _ in range(48)]
    data = b"".join(chunks)
    response, body = server.request("POST", path, iter(chunks))
    assert response.status == 200, body
    assert json.loads(body) == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_background_task(server: Server) -> None:
    response, body = server.request("POST", "/background", b"hello")
    assert (response.status, body) == (200, b"queued")
    done = Path(str(server.marker) + ".bg")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not done.exists():
        time.sleep(0.05)
    assert done.read_text() == "hello\n"


def test_streamed_response(server: Server) -> None:
    response, body = server.request("GET", "/stream")
    assert response.status == 200
    assert response.getheader("Content-Length") is None
    assert body == b"".join(f"chunk {i}\n".encode() for i in range(5))


def test_websocket_echo(server: Server) -> None:
    if server.protocol == "wsgi":
        # WSGI cannot upgrade: the websocket route answers 400 with a reason.
        response, body = server.request(
            "GET",
            "/ws",
            headers={
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
                "Sec-WebSocket-Version": "13",
            },
        )
        assert response.status == 400
        assert b"WebSocket" in body
        return
    with RawWebsocket(server.port, "/ws") as ws:
        ws.send_text("hello")
        assert ws.receive() == (0x1, b"echo: hello")
        ws.send_binary(b"\x00\x01")
        assert ws.receive() == (0x2, b"\x00\x01")
        ws.send_text("bye")
        opcode, payload = ws.receive()
        assert opcode == 0x8
        assert struct.unpack("!H", payload[:2])[0] == 1000


def test_lifespan_hooks(server: Server, tmp_path: Path) -> None:
    if server.protocol == "wsgi":
        # WSGI servers have no lifespan: the hooks never run.
        assert not server.marker.exists()
        return
    assert server.marker.read_text() == "started\n"
    # A second server of the same kind, stopped here, runs after_serving.
    other = Server(server.name, tmp_path)
    try:
        assert other.marker.read_text() == "started\n"
    finally:
        other.stop()
    assert other.marker.read_text() == "started\nstopped\n", other.output()


class RawWebsocket:
    """The least WebSocket client (RFC 6455) the test needs: the handshake,
    masked client frames, unfragmented server frames."""

    GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.file = self.sock.makefile("rb")
        try:
            self._handshake(port, path)
        except BaseException:
            # A refused handshake must not leak the socket into later tests.
            self.__exit__()
            raise

    def _handshake(self, port: int, path: str) -> None:
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(
            b"GET " + path.encode() + b" HTTP/1.1\r\n"
            b"Host: 127.0.0.1:" + str(port).encode() + b"\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        status = self.file.readline()
        assert status.split()[1] == b"101", status
        headers = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1(key + self.GUID).digest()).decode()
        assert headers["sec-websocket-accept"] == expected

    def __enter__(self) -> RawWebsocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()
        self.sock.close()

    def _send(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode())

    def send_binary(self, data: bytes) -> None:
        self._send(0x2, data)

    def receive(self) -> tuple[int, bytes]:
        first, second = self.file.read(2)
        assert first & 0x80, "fragmented frames are not expected here"
        n = second & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self.file.read(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self.file.read(8))
        mask = self.file.read(4) if second & 0x80 else None
        payload = self.file.read(n)
        if mask is not None:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return first & 0x0F, payload


def test_uvicorn_detects_asgi3_without_interface_flag() -> None:
    uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is not installed")
    config = uvicorn.Config(phial.Phial("detect"))  # interface "auto", as on the command line
    config.load()
    assert config.interface == "asgi3"
