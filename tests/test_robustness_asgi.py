"""Issue 7's "must hold" rules on ASGI: body limits, the slow-body guard
(``BODY_TIMEOUT``), streaming responses stopped by ``http.disconnect``, and the
Host checks. Requests go through ``app.test_client(protocol="asgi")`` or, where
the timing of ``receive`` matters, straight into ``app(scope, receive, send)``.
"""

from __future__ import annotations

import asyncio
import threading
import time
import typing as t

import pytest

from phial import Phial, request, stream_with_context
from phial.asgi import DEFAULT_BODY_TIMEOUT

Message = dict[str, t.Any]
#: One step of what the client does: a body chunk to send (``more_body``
#: follows from its position), a pause in seconds, or ``None`` to disconnect.
Step = bytes | float | None


def _scope(
    method: str = "POST", path: str = "/", headers: t.Sequence[tuple[bytes, bytes]] = ()
) -> dict[str, t.Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"example.test"), *headers],
        "client": ("127.0.0.1", 5555),
        "server": ("example.test", 80),
    }


class _Client:
    """A scripted ASGI client: ``receive`` plays ``steps`` (chunks, pauses and a
    disconnect), then waits for the response to finish or for ``leave``."""

    def __init__(self, steps: t.Sequence[Step], leave_after_chunks: int | None = None):
        self.steps = list(steps)
        self.chunk_count = sum(isinstance(s, bytes) for s in steps)
        self.leave_after_chunks = leave_after_chunks
        self.sent: list[Message] = []
        self.left_at: float | None = None
        self.gone = asyncio.Event()

    async def receive(self) -> Message:
        while self.steps:
            step = self.steps.pop(0)
            if step is None:
                self.gone.set()
                break
            if isinstance(step, float):
                await asyncio.sleep(step)
                continue
            self.chunk_count -= 1
            return {"type": "http.request", "body": step, "more_body": self.chunk_count > 0}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: t.MutableMapping[str, t.Any]) -> None:
        self.sent.append(dict(message))
        if message["type"] != "http.response.body":
            return
        if not message.get("more_body", False):
            self.gone.set()
        chunks = [m for m in self.sent if m["type"] == "http.response.body" and m.get("body")]
        if self.leave_after_chunks is not None and len(chunks) >= self.leave_after_chunks:
            if self.left_at is None:
                self.left_at = time.perf_counter()
            self.gone.set()

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


def _serve(app: Phial, scope: dict[str, t.Any], client: _Client) -> float:
    """Run one request; the seconds it took."""

    async def main() -> None:
        await app(scope, client.receive, client.send)

    start = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - start


@pytest.fixture
def body_app() -> Phial:
    """Not in testing mode: errors are answered, not raised. ``calls`` records
    every body a view saw."""
    app = Phial("body_app")
    calls: list[bytes] = []
    app.extensions["calls"] = calls

    @app.post("/")
    def data() -> str:
        body = request.get_data()
        calls.append(body)
        return str(len(body))

    @app.post("/async")
    async def data_async() -> str:
        body = request.get_data()
        calls.append(body)
        return str(len(body))

    @app.post("/form")
    def form() -> t.Any:
        calls.append(b"form")
        return request.form.to_dict()

    return app


# -- 1. body limits ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/async", "/form"])
def test_declared_body_over_limit_is_413_before_the_view(body_app: Phial, path: str) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = 10
    rv = body_app.test_client(protocol="asgi").post(path, data=b"x" * 11)
    assert rv.status_code == 413
    assert body_app.extensions["calls"] == []


def test_declared_body_over_limit_is_413_without_reading_it(body_app: Phial) -> None:
    """Only the head is needed: the body that would follow is never received."""
    body_app.config["MAX_CONTENT_LENGTH"] = 10
    client = _Client([5.0, b"x" * 100])
    took = _serve(body_app, _scope(headers=[(b"content-length", b"100")]), client)
    assert client.status == 413
    assert took < 2
    assert client.headers[b"connection"] == b"close"


def test_expect_continue_with_oversized_body_is_413(body_app: Phial) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = 10
    rv = body_app.test_client(protocol="asgi").post(
        "/", data=b"x" * 100, headers={"Expect": "100-continue"}
    )
    assert rv.status_code == 413
    assert body_app.extensions["calls"] == []


@pytest.mark.parametrize("path", ["/", "/async"])
def test_streamed_body_over_limit_is_413_not_truncated(body_app: Phial, path: str) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = 10
    client = _Client([b"x" * 6, b"x" * 6, b"x" * 6])
    _serve(body_app, _scope(path=path, headers=[(b"transfer-encoding", b"chunked")]), client)
    assert client.status == 413
    assert body_app.extensions["calls"] == []


def test_streamed_body_over_limit_stops_receiving(body_app: Phial) -> None:
    """Once past the limit the rest of the body is not waited for."""
    body_app.config["MAX_CONTENT_LENGTH"] = 10
    client = _Client([b"x" * 11, 5.0, b"x"])
    took = _serve(body_app, _scope(headers=[(b"transfer-encoding", b"chunked")]), client)
    assert client.status == 413
    assert took < 2


@pytest.mark.parametrize("limit", [None, 12])
def test_streamed_body_within_limit_arrives_intact(body_app: Phial, limit: int | None) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = limit
    client = _Client([b"abcd", b"", b"efgh", b"ijkl"])
    _serve(body_app, _scope(headers=[(b"transfer-encoding", b"chunked")]), client)
    assert (client.status, client.body) == (200, b"12")
    assert body_app.extensions["calls"] == [b"abcdefghijkl"]


# -- 8. the slow-body guard ---------------------------------------------------------------


def test_default_body_timeout_is_a_minute() -> None:
    assert DEFAULT_BODY_TIMEOUT == 60
    assert "BODY_TIMEOUT" not in Phial("x").config  # Flask's config keys are unchanged


@pytest.mark.parametrize("path", ["/", "/async", "/form"])
def test_body_stalling_mid_way_is_408_and_the_view_never_runs(body_app: Phial, path: str) -> None:
    body_app.config["BODY_TIMEOUT"] = 0.1
    client = _Client([b"abc", 3.0, b"def"])
    took = _serve(body_app, _scope(path=path, headers=[(b"content-length", b"6")]), client)
    assert client.status == 408
    assert b"did not arrive within 0.1 seconds" in client.body
    assert client.headers[b"connection"] == b"close"
    assert body_app.extensions["calls"] == []
    assert took < 2


def test_body_that_never_starts_is_408(body_app: Phial) -> None:
    body_app.config["BODY_TIMEOUT"] = 0.1
    client = _Client([3.0, b"abc"])
    _serve(body_app, _scope(headers=[(b"transfer-encoding", b"chunked")]), client)
    assert client.status == 408
    assert body_app.extensions["calls"] == []


def test_body_timeout_bounds_each_wait_not_the_whole_body(body_app: Phial) -> None:
    """A slow but steady client (like nginx's ``client_body_timeout``) is served."""
    body_app.config["BODY_TIMEOUT"] = 0.2
    steps: list[Step] = []
    for _ in range(6):
        steps += [0.05, b"ab"]
    client = _Client(steps)
    _serve(body_app, _scope(headers=[(b"content-length", b"12")]), client)
    assert (client.status, client.body) == (200, b"12")


def test_body_timeout_none_disables_the_guard(body_app: Phial) -> None:
    body_app.config["BODY_TIMEOUT"] = None
    client = _Client([b"abc", 0.3, b"def"])
    _serve(body_app, _scope(headers=[(b"content-length", b"6")]), client)
    assert (client.status, client.body) == (200, b"6")


def test_body_timeout_reaches_the_408_error_handler(body_app: Phial) -> None:
    body_app.config["BODY_TIMEOUT"] = 0.05

    @body_app.errorhandler(408)
    def too_slow(e: t.Any) -> tuple[str, int]:
        return "too slow", 408

    client = _Client([0.5, b"abc"])
    _serve(body_app, _scope(headers=[(b"content-length", b"3")]), client)
    assert (client.status, client.body) == (408, b"too slow")


def test_a_server_cancelling_while_the_body_is_awaited_is_not_a_408(body_app: Phial) -> None:
    """The guard turns only its own timeout into 408: a cancellation from the
    server (shutdown, a client gone) propagates, with nothing sent."""
    body_app.config["BODY_TIMEOUT"] = 5
    client = _Client([b"abc", 3.0, b"def"])

    async def main() -> None:
        task = asyncio.ensure_future(
            body_app(_scope(headers=[(b"content-length", b"6")]), client.receive, client.send)
        )
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert client.sent == []
    assert body_app.extensions["calls"] == []


def test_the_body_guard_leaves_no_timer_behind(body_app: Phial) -> None:
    """Each wait's timer is cancelled once the message arrived."""
    body_app.config["BODY_TIMEOUT"] = 30
    client = _Client([b"abc", 0.01, b"def"])

    async def main() -> int:
        await body_app(_scope(headers=[(b"content-length", b"6")]), client.receive, client.send)
        loop = asyncio.get_running_loop()
        return sum(1 for h in loop._scheduled if not h.cancelled())  # type: ignore[attr-defined]

    assert asyncio.run(main()) == 0
    assert (client.status, client.body) == (200, b"6")


def test_disconnect_while_the_body_stalls_answers_nothing(body_app: Phial) -> None:
    body_app.config["BODY_TIMEOUT"] = 5
    client = _Client([b"abc", 0.05, None, b"def"])
    took = _serve(body_app, _scope(headers=[(b"content-length", b"6")]), client)
    assert client.sent == []
    assert body_app.extensions["calls"] == []
    assert took < 2


def _serve_outside_a_task(app: Phial, scope: dict[str, t.Any], client: _Client) -> None:
    """Run one request with its coroutine stepped by loop callbacks, as a
    server might, so no asyncio task is current."""
    loop = asyncio.new_event_loop()
    try:
        coro = app(scope, client.receive, client.send)
        done = loop.create_future()

        def step(_: object = None) -> None:
            try:
                future = coro.send(None)
            except StopIteration:
                done.set_result(None)
            else:
                future.add_done_callback(lambda _: loop.call_soon(step))

        loop.call_soon(step)
        loop.run_until_complete(done)
    finally:
        loop.close()


@pytest.mark.parametrize("where", ["without asyncio.timeout", "outside a task"])
def test_body_guard_falls_back_to_wait_for(
    body_app: Phial, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Python 3.10 has no ``asyncio.timeout``, and it needs a task: then each
    wait is bounded by ``wait_for``, with the same answers."""
    from phial import asgi

    body_app.config["BODY_TIMEOUT"] = 0.1
    if where == "without asyncio.timeout":
        monkeypatch.setattr(asgi, "_timeout", None)
        serve: t.Callable[[Phial, dict[str, t.Any], _Client], object] = _serve
    else:
        serve = _serve_outside_a_task
    stalled = _Client([b"abc", 3.0, b"def"])
    serve(body_app, _scope(headers=[(b"content-length", b"6")]), stalled)
    assert stalled.status == 408
    assert body_app.extensions["calls"] == []
    steady = _Client([0.02, b"abc", 0.02, b"def"])
    serve(body_app, _scope(headers=[(b"content-length", b"6")]), steady)
    assert (steady.status, steady.body) == (200, b"6")


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays of the body timers the ASGI driver sets from now on."""
    from phial import asgi

    delays: list[float] = []
    real_timeout = asgi._timeout
    if real_timeout is None:
        pytest.skip("asyncio.timeout is Python 3.11+")

    def counting_timeout(delay: float) -> t.Any:
        delays.append(delay)
        return real_timeout(delay)

    monkeypatch.setattr(asgi, "_timeout", counting_timeout)
    return delays


def test_body_guard_sets_a_timer_only_for_a_wait(body_app: Phial, timers: list[float]) -> None:
    """Messages the server already holds are taken without a timer; each
    receive that has to wait gets one, and the body arrives intact."""
    body_app.config["BODY_TIMEOUT"] = 5
    at_once = _Client([b"abc", b"def"])
    _serve(body_app, _scope(headers=[(b"content-length", b"6")]), at_once)
    assert (at_once.status, at_once.body, timers) == (200, b"6", [])
    waits = _Client([0.01, b"abc", 0.01, b"def", b"gh"])
    _serve(body_app, _scope(headers=[(b"content-length", b"8")]), waits)
    assert (waits.status, waits.body, timers) == (200, b"8", [5, 5])
    assert body_app.extensions["calls"] == [b"abcdef", b"abcdefgh"]


@pytest.mark.parametrize("path", ["/", "/async", "/form"])
@pytest.mark.parametrize(
    ("steps", "timer_count"),
    [
        ([b"a=bc"], 0),  # the whole body, held by the server: taken at once
        ([0.01, b"a=bc"], 1),  # one message, waited for
        ([b"a=", b"bc"], 0),  # two messages, both held
        ([0.01, b"a=", 0.01, b"bc"], 2),
    ],
)
def test_body_in_one_or_more_messages_held_or_waited_for(
    body_app: Phial,
    timers: list[float],
    path: str,
    steps: list[Step],
    timer_count: int,
) -> None:
    """However the body arrives, the view sees all of it; only waits get a timer."""
    headers = [(b"content-length", b"4"), (b"content-type", b"application/x-www-form-urlencoded")]
    client = _Client(steps)
    _serve(body_app, _scope(path=path, headers=headers), client)
    assert client.status == 200
    assert client.body == (b'{"a":"bc"}\n' if path == "/form" else b"4")
    assert body_app.extensions["calls"] == [b"form" if path == "/form" else b"a=bc"]
    assert len(timers) == timer_count


@pytest.mark.parametrize("steps", [[b"abcdef"], [b"abc", b"def"], [0.01, b"abcdef"]])
def test_a_body_past_the_limit_that_its_content_length_hid_is_413(
    body_app: Phial, steps: list[Step]
) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = 4
    client = _Client(steps)
    _serve(body_app, _scope(headers=[(b"content-length", b"3")]), client)
    assert client.status == 413
    assert body_app.extensions["calls"] == []


@pytest.mark.parametrize("steps", [[None], [0.01, None]])
def test_a_client_gone_before_its_body_gets_no_answer(body_app: Phial, steps: list[Step]) -> None:
    client = _Client(steps)
    _serve(body_app, _scope(headers=[(b"content-length", b"3")]), client)
    assert client.sent == []
    assert body_app.extensions["calls"] == []


class _PlainAwaitable:
    """What some servers' ``receive`` returns (granian's future): an awaitable
    whose ``__await__`` is an iterator without ``send`` or ``throw``."""

    def __init__(self, awaitable: t.Awaitable[Message]) -> None:
        self._steps = awaitable.__await__()

    def __await__(self) -> _PlainAwaitable:
        return self

    def __iter__(self) -> _PlainAwaitable:
        return self

    def __next__(self) -> t.Any:
        return next(self._steps)


@pytest.mark.parametrize(
    ("steps", "status"),
    [([b"abc", b"def"], 200), ([b"abcdef"], 200), ([b"abc", 3.0, b"def"], 408), ([3.0], 408)],
)
def test_body_guard_with_a_receive_that_is_not_a_coroutine(
    body_app: Phial, steps: list[Step], status: int
) -> None:
    body_app.config["BODY_TIMEOUT"] = 0.1
    client = _Client(steps)

    async def main() -> None:
        await body_app(
            _scope(headers=[(b"content-length", b"6")]),
            lambda: _PlainAwaitable(client.receive()),
            client.send,
        )

    asyncio.run(main())
    assert client.status == status


def test_body_guard_timer_is_disarmed_after_the_body(body_app: Phial) -> None:
    """The bound is on each wait for the client, not on the view: a view
    slower than ``BODY_TIMEOUT`` after the body has arrived is answered."""

    @body_app.post("/slow")
    async def slow() -> str:
        await asyncio.sleep(0.3)
        return "done"

    body_app.config["BODY_TIMEOUT"] = 0.1
    client = _Client([b"abc"])
    _serve(body_app, _scope(path="/slow", headers=[(b"content-length", b"3")]), client)
    assert (client.status, client.body) == (200, b"done")


# -- 8. streaming stops when the client leaves ----------------------------------------------


def _streaming_app(kind: str, step_seconds: float) -> tuple[Phial, dict[str, t.Any]]:
    app = Phial("stream_app")
    app.config["ASGI_THREAD_POOL_SIZE"] = 1  # a stuck generator would block every request
    state: dict[str, t.Any] = {"produced": 0, "closed": None, "thread": None}

    def sync_gen() -> t.Iterator[bytes]:
        try:
            while True:
                state["thread"] = threading.current_thread().name
                time.sleep(step_seconds)
                state["produced"] += 1
                yield b"chunk"
        finally:
            state["closed"] = time.perf_counter()

    async def async_gen() -> t.AsyncIterator[bytes]:
        try:
            while True:
                await asyncio.sleep(step_seconds)
                state["produced"] += 1
                yield b"chunk"
        finally:
            state["closed"] = time.perf_counter()

    @app.get("/stream")
    def stream() -> t.Any:
        if kind == "sync":
            return sync_gen()
        if kind == "context":
            return stream_with_context(sync_gen())
        return async_gen()

    @app.get("/ping")
    def ping() -> str:
        return "pong"

    return app, state


@pytest.mark.parametrize("kind", ["sync", "context", "async"])
def test_streaming_stops_promptly_on_disconnect(kind: str) -> None:
    app, state = _streaming_app(kind, 0.01)
    client = _Client([b""], leave_after_chunks=3)
    took = _serve(app, _scope("GET", "/stream"), client)
    assert client.left_at is not None and state["closed"] is not None
    # Closed within a step or two of the client leaving, not after a timeout.
    assert state["closed"] - client.left_at < 0.5
    assert state["produced"] <= 5
    assert took < 2
    if kind != "async":
        assert state["thread"].startswith("phial-asgi")  # advanced in the pool, not the loop


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_worker_is_free_again_after_a_disconnect(kind: str) -> None:
    """With one pool thread, the next request is served right after the client
    of an endless stream left."""
    app, state = _streaming_app(kind, 0.01)

    async def main() -> tuple[_Client, float]:
        leaver = _Client([b""], leave_after_chunks=2)
        await app(_scope("GET", "/stream"), leaver.receive, leaver.send)
        start = time.perf_counter()
        pinger = _Client([b""])
        await asyncio.wait_for(app(_scope("GET", "/ping"), pinger.receive, pinger.send), 2)
        return pinger, time.perf_counter() - start

    pinger, took = asyncio.run(main())
    assert (pinger.status, pinger.body) == (200, b"pong")
    assert state["closed"] is not None
    assert took < 0.5


def test_concurrent_request_is_served_while_a_stream_runs() -> None:
    """The stream's generator holds the only pool thread for one step at a time."""
    app, state = _streaming_app("sync", 0.02)

    async def main() -> _Client:
        streamer = _Client([b""], leave_after_chunks=10)
        task = asyncio.ensure_future(app(_scope("GET", "/stream"), streamer.receive, streamer.send))
        await asyncio.sleep(0.05)
        pinger = _Client([b""])
        await asyncio.wait_for(app(_scope("GET", "/ping"), pinger.receive, pinger.send), 2)
        await task
        return pinger

    pinger = asyncio.run(main())
    assert pinger.body == b"pong"
    assert state["closed"] is not None


# -- 7. Host ----------------------------------------------------------------------------------


@pytest.fixture
def host_app() -> Phial:
    app = Phial("host_app")

    @app.get("/")
    def index() -> str:
        return request.host

    return app


@pytest.mark.parametrize(
    "host",
    [
        "exa mple.test",
        "example.test\t",
        "user@example.test",
        "a/b",
        "a\\b",
        "example.test:0x50",
        "example.test:99999",
        "example.test:",
    ],
)
def test_malformed_host_is_400(host_app: Phial, host: str) -> None:
    rv = host_app.test_client(protocol="asgi").get("/", headers={"Host": host})
    assert rv.status_code == 400


@pytest.mark.parametrize("host", ["example.test", "example.test:8080", "[::1]:8000"])
def test_wellformed_host_is_served(host_app: Phial, host: str) -> None:
    rv = host_app.test_client(protocol="asgi").get("/", headers={"Host": host})
    assert (rv.status_code, rv.text) == (200, host)


def test_trusted_hosts_are_enforced(host_app: Phial) -> None:
    host_app.config["TRUSTED_HOSTS"] = ["good.test", ".trusted.test"]
    client = host_app.test_client(protocol="asgi")
    assert client.get("/", headers={"Host": "good.test"}).status_code == 200
    assert client.get("/", headers={"Host": "api.trusted.test"}).status_code == 200
    assert client.get("/", headers={"Host": "evil.test"}).status_code == 400
    assert client.get("/", headers={"Host": "good.test.evil.test"}).status_code == 400


def test_trusted_hosts_apply_to_raw_asgi_requests(host_app: Phial) -> None:
    host_app.config["TRUSTED_HOSTS"] = ["good.test"]
    client = _Client([b""])
    _serve(host_app, _scope("GET"), client)  # Host: example.test
    assert client.status == 400
    assert b"Traceback" not in client.body


def test_http2_body_without_content_length_is_guarded(body_app: Phial) -> None:
    """HTTP/2 frames a body without Content-Length or Transfer-Encoding."""
    body_app.config["BODY_TIMEOUT"] = 0.1
    client = _Client([b"abc", 3.0, b"def"])
    scope = _scope()
    scope["http_version"] = "2"
    _serve(body_app, scope, client)
    assert client.status == 408
    assert body_app.extensions["calls"] == []
