"""The ASGI driver, async user code on both protocols, and the ASGI test client."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
import typing as t
from io import BytesIO

import pytest

from phial import Phial, g, jsonify, redirect, request, stream_with_context
from phial.asgi import build_environ
from phial.testing import FlaskClient

Message = dict[str, t.Any]


def make_scope(**overrides: t.Any) -> dict[str, t.Any]:
    scope: dict[str, t.Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"example.test")],
        "client": ("10.1.2.3", 5555),
        "server": ("example.test", 8000),
    }
    scope.update(overrides)
    return scope


def run_asgi(
    app: Phial,
    scope: dict[str, t.Any],
    chunks: t.Sequence[bytes] = (b"",),
    disconnect_after: int | None = None,
) -> list[Message]:
    """Serve one request; ``disconnect_after`` body messages the client leaves."""

    async def main() -> list[Message]:
        sent: list[Message] = []
        incoming = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]
        gone = asyncio.Event()

        async def receive() -> Message:
            if incoming:
                return incoming.pop(0)
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: t.MutableMapping[str, t.Any]) -> None:
            sent.append(dict(message))
            bodies = [m for m in sent if m["type"] == "http.response.body"]
            if not message.get("more_body", False) and message["type"] == "http.response.body":
                gone.set()
            if disconnect_after is not None and len(bodies) >= disconnect_after:
                gone.set()

        await app(scope, receive, send)
        return sent

    return asyncio.run(main())


def body_of(messages: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


def headers_of(messages: list[Message]) -> dict[bytes, bytes]:
    return dict(messages[0]["headers"])


# -- scope → environ ------------------------------------------------------------------


def test_environ_from_scope() -> None:
    scope = make_scope(
        method="POST",
        scheme="https",
        http_version="2",
        root_path="/app",
        path="/app/caf\u00e9/x",
        raw_path=b"/app/caf%C3%A9/x%2Fy",
        query_string=b"a=1&b=%20",
        headers=[
            (b"host", b"example.test"),
            (b"x-auth", b"dash"),
            (b"x_auth", b"underscore"),
            (b"accept", b"text/html"),
            (b"accept", b"application/json"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
            (b"content-type", b"text/plain"),
            (b"content-length", b"0"),
        ],
    )
    stream = BytesIO()
    environ = build_environ(scope, stream)
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["SCRIPT_NAME"] == "/app"
    # raw_path wins (so %2F stays distinguishable in the bytes), held as latin-1
    assert environ["PATH_INFO"] == "/caf\u00c3\u00a9/x/y"
    assert environ["QUERY_STRING"] == "a=1&b=%20"
    assert environ["SERVER_PROTOCOL"] == "HTTP/2"
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["wsgi.input"] is stream
    assert environ["HTTP_X_AUTH"] == "dash"
    assert environ["HTTP_ACCEPT"] == "text/html,application/json"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["CONTENT_LENGTH"] == "0"
    assert "HTTP_CONTENT_TYPE" not in environ
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("10.1.2.3", "5555")
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("example.test", "8000")
    assert environ["asgi.scope"] is scope


def test_environ_without_raw_path_server_or_client() -> None:
    scope = make_scope(scheme="https", path="/caf\u00e9", server=None, client=None)
    del scope["raw_path"]
    environ = build_environ(scope, BytesIO())
    assert environ["PATH_INFO"] == "/caf\u00c3\u00a9"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("localhost", "443")
    assert "REMOTE_ADDR" not in environ


def test_root_path_not_in_path_is_kept() -> None:
    # Older servers send the path without the root path; a prefix lookalike stays.
    environ = build_environ(make_scope(root_path="/app", path="/x", raw_path=b"/x"), BytesIO())
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/x")
    environ = build_environ(
        make_scope(root_path="/app", path="/apple", raw_path=b"/apple"), BytesIO()
    )
    assert environ["PATH_INFO"] == "/apple"


_BRIDGE_ERRORS = BytesIO()

#: (scope overrides, whether the common-scope path builds the environ)
_ENVIRON_CASES: list[tuple[dict[str, t.Any], bool]] = [
    ({}, True),
    ({"query_string": b"a=1&b=%20&c=caf%C3%A9"}, True),
    ({"method": "POST", "scheme": "https"}, True),
    ({"http_version": "1.0"}, True),
    ({"http_version": "2"}, True),
    ({"http_version": "3"}, True),
    ({"server": ("example.test", None)}, True),
    ({"server": ["example.test", 8000], "client": ["10.1.2.3", 5555]}, True),
    ({"extensions": {}}, True),
    ({"extensions": None}, True),
    ({"extensions": {"http.response.trailers": {}}}, True),
    ({"extensions": {"phial.wsgi_bridge": {"errors": _BRIDGE_ERRORS}}}, True),
    (
        {
            "headers": [
                (b"host", b"example.test"),
                (b"x-auth", b"dash"),
                (b"x_auth", b"underscore"),
                (b"accept", b"text/html"),
                (b"accept", b"application/json"),
                (b"cookie", b"a=1"),
                (b"cookie", b"b=2"),
                (b"content-type", b"text/plain"),
                (b"content-length", b"3"),
                (b"transfer-encoding", b"chunked"),
            ]
        },
        True,
    ),
    ({"headers": []}, True),
    (
        {
            "headers": [
                (b"Host", b"example.test"),
                (b"accept", b"text/html"),
                (b"accept", b"text/html"),
                (b"user-agent", b"x" * 300),
                (b"user-agent", bytearray(b"not bytes")),
                (b"authorization", b"Bearer secret"),
            ]
        },
        True,
    ),
    ({"root_path": "/app", "path": "/app/x", "raw_path": b"/app/x"}, False),
    ({"root_path": "/caf\u00e9", "path": "/caf\u00e9/x", "raw_path": b"/caf%C3%A9/x"}, False),
    ({"path": "/caf\u00e9/x%2Fy", "raw_path": b"/caf%C3%A9/x%2Fy"}, False),
    ({"raw_path": b""}, False),
    ({"raw_path": None}, False),
    ({"scheme": ""}, False),
    ({"http_version": "0.9"}, False),
    ({"server": None}, False),
    ({"server": None, "scheme": "https"}, False),
    ({"client": None}, False),
    ({"server": ()}, False),
    ({"server": ["/run/app.sock", None]}, True),  # a unix socket
]

#: Keys the general path fills from a default when the scope leaves them out.
_OPTIONAL_KEYS = ("raw_path", "root_path", "scheme", "http_version", "method", "server", "client")


@pytest.mark.parametrize(("overrides", "common"), _ENVIRON_CASES)
def test_common_scope_environ_equals_the_general_one(
    overrides: dict[str, t.Any], common: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The common-scope path gives exactly the general path's environ, keys in
    the same order (the order of ``request.headers``), and steps aside for
    every other scope."""
    from phial import asgi

    scope = make_scope(**overrides)
    body = BytesIO()
    assert (asgi._common_environ(scope, body) is not None) is common
    environ = build_environ(scope, body)
    monkeypatch.setattr(asgi, "_common_environ", lambda scope, body: None)
    general = build_environ(scope, body)
    assert list(environ.items()) == list(general.items())
    assert environ["wsgi.input"] is body
    assert environ["asgi.scope"] is scope


@pytest.mark.parametrize("key", _OPTIONAL_KEYS)
def test_scope_without_an_optional_key_takes_the_general_path(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phial import asgi

    scope = make_scope()
    del scope[key]
    assert asgi._common_environ(scope, BytesIO()) is None
    environ = build_environ(scope, BytesIO())
    assert environ["PATH_INFO"] == "/"
    assert environ["REQUEST_METHOD"] == "GET"


def test_environ_values_from_the_common_scope() -> None:
    scope = make_scope(
        method="PUT",
        scheme="https",
        http_version="2",
        path="/a/b",
        raw_path=b"/a/b",
        query_string=b"x=1",
        server=("example.test", None),
        extensions={"phial.wsgi_bridge": {"errors": _BRIDGE_ERRORS}},
        headers=[(b"cookie", b"a=1"), (b"cookie", b"b=2"), (b"x_y", b"dropped")],
    )
    environ = build_environ(scope, BytesIO())
    assert (environ["REQUEST_METHOD"], environ["SCRIPT_NAME"], environ["PATH_INFO"]) == (
        "PUT",
        "",
        "/a/b",
    )
    assert (environ["QUERY_STRING"], environ["SERVER_PROTOCOL"]) == ("x=1", "HTTP/2")
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("example.test", "")
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("10.1.2.3", "5555")
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["wsgi.errors"] is _BRIDGE_ERRORS
    assert environ["phial.wsgi_bridge"] is True
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert "HTTP_X_Y" not in environ
    # The template the environ is copied from is left as it was.
    assert build_environ(make_scope(), BytesIO())["wsgi.url_scheme"] == "http"


def test_app_call_returns_a_coroutine_for_every_scope_type(app: Phial) -> None:
    """Servers (and the test client) may hand the call's result to create_task."""

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: t.MutableMapping[str, t.Any]) -> None:
        pass

    for kind in ("http", "websocket", "lifespan", "mystery"):
        call = app({**make_scope(), "type": kind}, receive, send)
        assert asyncio.iscoroutine(call)
        call.close()


def test_request_sees_scope(app: Phial) -> None:
    @app.route("/caf\u00e9")
    def view() -> dict[str, t.Any]:
        return {
            "path": request.path,
            "root": request.script_root,
            "url": request.url,
            "remote": request.remote_addr,
            "auth": request.headers.get("X-Auth"),
            "scheme": request.scheme,
        }

    scope = make_scope(
        scheme="https",
        root_path="/mount",
        path="/mount/caf\u00e9",
        raw_path=b"/mount/caf%C3%A9",
        headers=[(b"host", b"example.test"), (b"x_auth", b"smuggled")],
    )
    messages = run_asgi(app, scope)
    assert messages[0]["status"] == 200
    assert app.json.loads(body_of(messages)) == {
        "path": "/caf\u00e9",
        "root": "/mount",
        "url": "https://example.test/mount/caf\u00e9",
        "remote": "10.1.2.3",
        "auth": None,
        "scheme": "https",
    }


# -- user code, sync and async, on both protocols --------------------------------------------


def test_sync_and_async_callables(app: Phial, client: FlaskClient) -> None:
    calls: list[str] = []

    @app.before_request
    async def before_async() -> None:
        g.seen = [request._get_current_object()]  # type: ignore[attr-defined]

    @app.before_request
    def before_sync() -> None:
        g.seen.append(request._get_current_object())  # type: ignore[attr-defined]

    @app.after_request
    async def after(response: t.Any) -> t.Any:
        response.headers["X-After"] = "async"
        return response

    @app.teardown_request
    async def teardown_async(exc: BaseException | None) -> None:
        calls.append(f"async {exc!r}")

    @app.teardown_request
    def teardown_sync(exc: BaseException | None) -> None:
        calls.append(f"sync {exc!r}")

    @app.teardown_appcontext
    async def teardown_app(exc: BaseException | None) -> None:
        calls.append("app")

    @app.route("/async")
    async def view_async() -> str:
        await asyncio.sleep(0)
        same = all(r is request._get_current_object() for r in g.seen)  # type: ignore[attr-defined]
        return f"async {same}"

    @app.route("/sync")
    def view_sync() -> str:
        same = all(r is request._get_current_object() for r in g.seen)  # type: ignore[attr-defined]
        return f"sync {same}"

    rv = client.get("/async")
    assert (rv.data, rv.headers["X-After"]) == (b"async True", "async")
    assert calls == ["sync None", "async None", "app"]
    assert client.get("/sync").data == b"sync True"


def test_async_error_handler_and_teardown_exception(app: Phial, client: FlaskClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen: list[t.Any] = []

    @app.errorhandler(ZeroDivisionError)
    async def on_zero(e: ZeroDivisionError) -> tuple[str, int]:
        return "zero", 418

    @app.errorhandler(500)
    def on_500(e: t.Any) -> tuple[str, int]:
        return "broken", 500

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        seen.append(type(exc))

    @app.route("/zero")
    async def zero() -> str:
        return str(1 / 0)

    @app.route("/key")
    def key() -> str:
        raise KeyError("x")

    rv = client.get("/zero")
    assert (rv.status_code, rv.data) == (418, b"zero")
    rv = client.get("/key")
    assert (rv.status_code, rv.data) == (500, b"broken")
    assert seen == [type(None), KeyError]


def test_exception_propagates_in_testing(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    async def index() -> str:
        raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        client.get("/")


def test_sync_callables_run_in_the_pool_on_asgi(app: Phial) -> None:
    threads: list[str] = []

    @app.route("/")
    def index() -> str:
        threads.append(threading.current_thread().name)
        return "ok"

    assert app.test_client(protocol="asgi").get("/").data == b"ok"
    assert threads[0].startswith("phial-asgi")


def test_ensure_sync_in_a_worker_uses_the_server_loop(app: Phial) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def record() -> str:
        loops.append(asyncio.get_running_loop())
        return request.path

    @app.before_request
    async def before() -> None:
        loops.append(asyncio.get_running_loop())

    @app.route("/here")
    def index() -> str:
        return t.cast(str, app.ensure_sync(record)())

    assert app.test_client(protocol="asgi").get("/here").data == b"/here"
    assert loops[0] is loops[1]


def test_wsgi_runs_coroutines_on_one_loop_per_thread(app: Phial) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    @app.route("/")
    async def index() -> str:
        loops.append(asyncio.get_running_loop())
        return "ok"

    client = app.test_client(protocol="wsgi")
    client.get("/")
    client.get("/")
    assert loops[0] is loops[1]
    assert not loops[0].is_closed()


def test_thread_pool_size_is_configurable(app: Phial) -> None:
    app.config["ASGI_THREAD_POOL_SIZE"] = 2
    lock = threading.Lock()
    running = [0, 0]  # now, highest

    @app.route("/")
    def index() -> str:
        with lock:
            running[0] += 1
            running[1] = max(running)
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return "ok"

    async def main() -> list[int]:
        async def one() -> int:
            sent: list[Message] = []
            first = True

            async def receive() -> Message:
                nonlocal first
                if first:
                    first = False
                    return {"type": "http.request", "body": b""}
                await asyncio.sleep(10)
                return {"type": "http.disconnect"}

            async def send(message: t.MutableMapping[str, t.Any]) -> None:
                sent.append(dict(message))

            await app(make_scope(), receive, send)
            return int(sent[0]["status"])

        return await asyncio.gather(*(one() for _ in range(5)))

    assert asyncio.run(main()) == [200] * 5
    assert running[1] == 2


# -- responses ---------------------------------------------------------------------------------


def test_streaming_generators(app: Phial, client: FlaskClient) -> None:
    @app.route("/sync")
    def sync_stream() -> t.Any:
        def gen() -> t.Iterator[str]:
            yield "a"
            yield "b"

        return gen()

    @app.route("/async")
    def async_stream() -> t.Any:
        async def gen() -> t.AsyncIterator[bytes]:
            yield b"c"
            await asyncio.sleep(0)
            yield b"d"

        return gen(), {"X-Stream": "yes"}

    assert client.get("/sync").data == b"ab"
    rv = client.get("/async")
    assert (rv.data, rv.headers["X-Stream"]) == (b"cd", "yes")


def test_stream_with_context_over_asgi(app: Phial) -> None:
    torn_down: list[str] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        torn_down.append("x")

    @app.route("/")
    def index() -> t.Any:
        @stream_with_context
        def gen() -> t.Iterator[str]:
            yield request.args["name"]
            yield "!"

        return gen()

    assert app.test_client(protocol="asgi").get("/?name=n").data == b"n!"
    assert torn_down == ["x"]


def test_streamed_chunks_arrive_separately(app: Phial) -> None:
    @app.route("/")
    def index() -> t.Any:
        return iter([b"one", b"two"])

    messages = run_asgi(app, make_scope())
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    assert [m["body"] for m in bodies] == [b"one", b"two", b""]
    assert [m.get("more_body", False) for m in bodies] == [True, True, False]


def test_head_sends_no_body(app: Phial) -> None:
    @app.route("/")
    def index() -> str:
        return "hello"

    messages = run_asgi(app, make_scope(method="HEAD"))
    assert headers_of(messages)[b"content-length"] == b"5"
    assert body_of(messages) == b""


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_disconnect_closes_the_generator(app: Phial, kind: str) -> None:
    events: list[str] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    @app.route("/")
    def index() -> t.Any:
        if kind == "sync":

            @stream_with_context
            def gen() -> t.Iterator[bytes]:
                try:
                    while True:
                        yield b"tick"
                        time.sleep(0.001)
                finally:
                    events.append("closed")

            return gen()

        async def agen() -> t.AsyncIterator[bytes]:
            try:
                while True:
                    yield b"tick"
                    await asyncio.sleep(0.001)
            finally:
                events.append("closed")

        return agen()

    messages = run_asgi(app, make_scope(), disconnect_after=3)
    assert body_of(messages).startswith(b"ticktick")
    assert events.count("closed") == 1
    assert events.count("teardown") == 1


# -- request bodies ------------------------------------------------------------------------


def test_body_arriving_in_chunks(app: Phial) -> None:
    @app.route("/", methods=["POST"])
    def index() -> dict[str, t.Any]:
        size = len(request.get_data())  # cached, so the form still parses after
        return {"form": request.form.to_dict(), "len": size}

    scope = make_scope(
        method="POST",
        headers=[(b"host", b"x"), (b"content-type", b"application/x-www-form-urlencoded")],
    )
    messages = run_asgi(app, scope, chunks=[b"a=1&", b"b=", b"2"])
    assert app.json.loads(body_of(messages)) == {"form": {"a": "1", "b": "2"}, "len": 7}


def test_request_api_in_async_views(app: Phial, client: FlaskClient) -> None:
    @app.route("/", methods=["POST"])
    async def index() -> dict[str, t.Any]:
        return {
            "json": request.get_json(),
            "data": request.data.decode(),
            "stream": request.stream.read().decode(),
        }

    rv = client.post("/", json={"a": 1})
    assert rv.json == {"json": {"a": 1}, "data": '{"a": 1}', "stream": ""}


def test_files_in_sync_views(app: Phial, client: FlaskClient) -> None:
    @app.route("/", methods=["POST"])
    def index() -> str:
        return request.files["f"].read().decode() + request.form["x"]

    rv = client.post("/", data={"f": (BytesIO(b"xyz"), "f.txt"), "x": "1"})
    assert rv.data == b"xyz1"


def test_declared_body_too_large(app: Phial) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10
    called: list[bool] = []

    @app.route("/", methods=["POST"])
    def index() -> str:
        called.append(True)
        return "ok"

    @app.errorhandler(413)
    def too_large(e: t.Any) -> tuple[str, int]:
        return "too large", 413

    rv = app.test_client(protocol="asgi").post("/", data=b"x" * 11)
    assert (rv.status_code, rv.data, called) == (413, b"too large", [])
    assert rv.headers["Connection"] == "close"
    assert app.test_client(protocol="asgi").post("/", data=b"x" * 10).data == b"ok"


def test_streamed_body_too_large(app: Phial) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10
    called: list[bool] = []

    @app.route("/", methods=["POST"])
    def index() -> str:
        called.append(True)
        return str(len(request.get_data()))

    scope = make_scope(method="POST", headers=[(b"transfer-encoding", b"chunked")])
    messages = run_asgi(app, scope, chunks=[b"x" * 6, b"x" * 6, b"x"])
    assert (messages[0]["status"], called) == (413, [])
    messages = run_asgi(app, scope, chunks=[b"x" * 6, b"x" * 4])
    assert body_of(messages) == b"10"


def test_content_length_with_transfer_encoding(app: Phial) -> None:
    @app.route("/", methods=["POST"])
    def index() -> str:
        raise AssertionError("not reached")

    scope = make_scope(
        method="POST",
        headers=[(b"content-length", b"3"), (b"transfer-encoding", b"chunked")],
    )
    messages = run_asgi(app, scope, chunks=[b"abc"])
    assert messages[0]["status"] == 400
    assert headers_of(messages)[b"connection"] == b"close"
    assert b"both Content-Length and Transfer-Encoding" in body_of(messages)


def test_invalid_content_length(app: Phial) -> None:
    scope = make_scope(method="POST", headers=[(b"content-length", b"-1")])
    assert run_asgi(app, scope)[0]["status"] == 400


def test_client_gone_before_body(app: Phial) -> None:
    async def main() -> list[Message]:
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.disconnect"}

        async def send(message: t.MutableMapping[str, t.Any]) -> None:
            sent.append(dict(message))

        await app(make_scope(method="POST"), receive, send)
        return sent

    assert asyncio.run(main()) == []


# -- lifespan ----------------------------------------------------------------------------------


def run_lifespan(app: Phial) -> list[Message]:
    async def main() -> list[Message]:
        incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        sent: list[Message] = []

        async def receive() -> Message:
            return incoming.pop(0)

        async def send(message: t.MutableMapping[str, t.Any]) -> None:
            sent.append(dict(message))

        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
        return sent

    return asyncio.run(main())


def test_lifespan_hooks(app: Phial) -> None:
    from phial import current_app

    events: list[str] = []

    @app.before_serving
    def start_sync() -> None:
        events.append(f"start sync {current_app.name}")

    @app.before_serving
    async def start_async() -> None:
        events.append("start async")

    @app.after_serving
    async def stop() -> None:
        events.append("stop")

    assert [m["type"] for m in run_lifespan(app)] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert events == ["start sync test_app", "start async", "stop"]


def test_lifespan_startup_failure(app: Phial, caplog: pytest.LogCaptureFixture) -> None:
    @app.before_serving
    async def start() -> None:
        raise RuntimeError("no database")

    messages = run_lifespan(app)
    assert messages == [{"type": "lifespan.startup.failed", "message": "RuntimeError: no database"}]


def test_lifespan_shutdown_failure(app: Phial, caplog: pytest.LogCaptureFixture) -> None:
    @app.after_serving
    def stop() -> None:
        raise RuntimeError("stuck")

    assert run_lifespan(app)[1] == {
        "type": "lifespan.shutdown.failed",
        "message": "RuntimeError: stuck",
    }


def test_serving_hooks_are_setup_methods(app: Phial, client: FlaskClient) -> None:
    client.get("/")
    with pytest.raises(AssertionError, match="before_serving"):
        app.before_serving(lambda: None)


# -- protocol plumbing -----------------------------------------------------------------------


def test_unknown_scope_type(app: Phial) -> None:
    async def noop() -> Message:
        return {}

    async def nosend(message: t.MutableMapping[str, t.Any]) -> None:
        pass

    with pytest.raises(ValueError, match="scopes of type 'mystery'"):
        asyncio.run(app({"type": "mystery"}, noop, nosend))


def test_asgi_middleware_applies_in_test_client(app: Phial) -> None:
    inner = app.asgi_app

    async def middleware(scope: t.Any, receive: t.Any, send: t.Any) -> None:
        async def tagged_send(message: t.MutableMapping[str, t.Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-middleware", b"1")]
            await send(message)

        await inner(scope, receive, tagged_send)

    app.asgi_app = middleware  # type: ignore[method-assign]

    @app.route("/")
    def index() -> str:
        return "ok"

    assert app.test_client(protocol="asgi").get("/").headers["X-Middleware"] == "1"
    assert "X-Middleware" not in app.test_client(protocol="wsgi").get("/").headers


def test_protocol_from_environment(app: Phial, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHIAL_TEST_PROTOCOL", "asgi")
    assert app.test_client().protocol == "asgi"
    monkeypatch.delenv("PHIAL_TEST_PROTOCOL")
    assert app.test_client().protocol == "wsgi"
    with pytest.raises(ValueError, match="'wsgi' or 'asgi'"):
        app.test_client(protocol="http3")


def test_preserve_context(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    async def index() -> str:
        g.value = 42
        return "ok"

    with client:
        client.get("/?a=b")
        assert request.args["a"] == "b"
        assert g.value == 42
    assert not _has_request()


def _has_request() -> bool:
    from phial import has_request_context

    return has_request_context()


def test_send_file_streams(app: Phial, client: FlaskClient, tmp_path: t.Any) -> None:
    from phial import send_file

    path = tmp_path / "data.bin"
    path.write_bytes(b"0123456789" * 1000)

    @app.route("/file")
    def file() -> t.Any:
        return send_file(str(path))

    with client.get("/file") as rv:
        assert rv.data == b"0123456789" * 1000
        assert rv.headers["Content-Length"] == "10000"
    with client.get("/file", headers={"Range": "bytes=2-4"}) as rv:
        assert (rv.status_code, rv.data) == (206, b"234")


def test_head_closes_a_generator(app: Phial) -> None:
    closed: list[bool] = []

    @app.route("/")
    def index() -> t.Any:
        def gen() -> t.Iterator[bytes]:
            try:
                yield b"never sent"
            finally:
                closed.append(True)

        body = gen()
        next(body)  # started, so closing it runs the finally block
        return body

    messages = run_asgi(app, make_scope(method="HEAD"))
    assert body_of(messages) == b""
    assert closed == [True]


async def _cancel_once_started(app: Phial, started: threading.Event, events: list[str]) -> None:
    """Run a GET of ``/``, cancel it once ``started`` is set, and wait for it to
    unwind; the types of the messages sent are appended to ``events``."""

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: t.MutableMapping[str, t.Any]) -> None:
        events.append(message["type"])

    task = asyncio.ensure_future(app(make_scope(), receive, send))
    while not started.is_set():
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_cancelled_while_a_sync_view_runs(app: Phial) -> None:
    events: list[str] = []
    started = threading.Event()

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    @app.route("/")
    def index() -> str:
        started.set()
        time.sleep(0.05)
        events.append("view done")
        return "ok"

    asyncio.run(_cancel_once_started(app, started, events))
    # The view finished before the request unwound; teardown ran once; nothing sent.
    assert events == ["view done", "teardown"]


def test_test_client_lifespan(app: Phial, client: FlaskClient) -> None:
    events: list[str] = []

    @app.before_serving
    async def start() -> None:
        events.append("start")

    @app.after_serving
    def stop() -> None:
        events.append("stop")

    @app.route("/")
    def index() -> str:
        return ",".join(events)

    with client.lifespan():
        assert client.get("/").data == b"start"
    assert events == ["start", "stop"]


def test_test_client_lifespan_failure(app: Phial, client: FlaskClient) -> None:
    @app.before_serving
    def start() -> None:
        raise ValueError("no config")

    with pytest.raises(RuntimeError, match="startup failed: ValueError: no config"):  # noqa: SIM117
        with client.lifespan():
            pass


def test_response_headers(app: Phial) -> None:
    from phial import Response

    @app.route("/list")
    def listed() -> t.Any:
        return Response(["a", b"bc"], headers={"X-A": "1"})

    @app.route("/gone")
    def gone() -> t.Any:
        return Response("ignored", status=304)

    @app.route("/moved")
    def moved() -> t.Any:
        rv = Response("", status=302, headers={"Location": "/there"})
        rv.autocorrect_location_header = True
        return rv

    messages = run_asgi(app, make_scope(path="/list", raw_path=b"/list"))
    assert headers_of(messages)[b"content-length"] == b"3"
    assert headers_of(messages)[b"x-a"] == b"1"
    assert body_of(messages) == b"abc"
    messages = run_asgi(app, make_scope(path="/gone", raw_path=b"/gone"))
    assert b"content-length" not in headers_of(messages)
    assert body_of(messages) == b""
    messages = run_asgi(app, make_scope(path="/moved", raw_path=b"/moved"))
    assert headers_of(messages)[b"location"] == b"http://example.test/there"


# -- hot path: what the fast paths must keep ------------------------------------------------


def _serve_counting_receive(
    app: Phial, scope: dict[str, t.Any], body: bytes = b""
) -> tuple[list[Message], int]:
    """Serve one request; the messages sent and how often ``receive`` was awaited."""

    async def main() -> tuple[list[Message], int]:
        sent: list[Message] = []
        calls = 0

        async def receive() -> Message:
            nonlocal calls
            calls += 1
            if calls == 1:
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: t.MutableMapping[str, t.Any]) -> None:
            sent.append(dict(message))

        await app(scope, receive, send)
        return sent, calls

    return asyncio.run(main())


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_bodiless_get_and_head_do_not_wait_for_a_body(method: str) -> None:
    app = Phial(__name__)

    @app.get("/")
    async def index() -> str:
        return f"data={request.get_data()!r}"

    sent, calls = _serve_counting_receive(app, make_scope(method=method))
    assert calls == 0
    assert sent[0]["status"] == 200
    if method == "GET":
        assert body_of(sent) == b"data=b''"


def test_get_with_a_content_length_still_receives_its_body() -> None:
    app = Phial(__name__)

    @app.get("/")
    async def index() -> str:
        return request.get_data(as_text=True)

    scope = make_scope(headers=[(b"host", b"example.test"), (b"content-length", b"5")])
    sent, calls = _serve_counting_receive(app, scope, b"hello")
    assert calls == 1
    assert body_of(sent) == b"hello"


def test_post_without_length_still_receives_its_body() -> None:
    app = Phial(__name__)

    @app.post("/")
    async def index() -> str:
        return request.get_data(as_text=True)

    sent, calls = _serve_counting_receive(app, make_scope(method="POST"), b"chunk")
    assert calls == 1
    assert body_of(sent) == b"chunk"


def test_single_chunk_response_is_two_messages_with_lowercase_headers() -> None:
    app = Phial(__name__)

    @app.get("/")
    async def index() -> tuple[str, int, dict[str, str]]:
        return "hi", 201, {"X-Thing": "1", "Set-Cookie": "a=b"}

    sent = run_asgi(app, make_scope())
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 201
    assert sent[0]["headers"] == [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"x-thing", b"1"),
        (b"set-cookie", b"a=b"),
        (b"content-length", b"2"),
    ]
    assert sent[1] == {"type": "http.response.body", "body": b"hi"}
    # Encoded header pairs are cached, but never cookies (per client, maybe secret).
    from phial.asgi import _RAW_HEADERS

    assert ("X-Thing", "1") in _RAW_HEADERS
    assert ("Set-Cookie", "a=b") not in _RAW_HEADERS


def _response_cases() -> list[t.Callable[[Phial], t.Any]]:
    def plain(app: Phial) -> t.Any:
        return app.make_response(("hi", 201, {"X-Thing": "1"}))

    def json(app: Phial) -> t.Any:
        return jsonify(a=1)

    def no_length(app: Phial) -> t.Any:
        response = app.make_response("hi")
        del response.headers["Content-Length"]
        return response

    def empty(app: Phial) -> t.Any:
        return app.make_response(("", 204))

    def redirected(app: Phial) -> t.Any:
        return redirect("/elsewhere")

    def chunks(app: Phial) -> t.Any:
        return app.response_class([b"a", b"b"])

    return [plain, json, no_length, empty, redirected, chunks]


@pytest.mark.parametrize("make", _response_cases())
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_response_object_is_sent_as_send_response_sends_it(
    make: t.Callable[[Phial], t.Any], method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The single-chunk shortcut sends the same messages as the general
    sender, and steps aside for what it does not handle."""
    from phial import asgi

    app = Phial(__name__)

    @app.route("/", methods=["GET", "HEAD"])
    async def index() -> t.Any:
        return make(app)

    sent = run_asgi(app, make_scope(method=method))
    monkeypatch.setattr(asgi, "_PLAIN_HEADERS", frozenset())  # every response the general way
    assert run_asgi(app, make_scope(method=method)) == sent


def test_single_chunk_response_still_runs_close_callbacks() -> None:
    app = Phial(__name__)
    closed: list[bool] = []

    @app.get("/")
    async def index() -> t.Any:
        response = app.make_response("hi")
        response.call_on_close(lambda: closed.append(True))
        return response

    sent = run_asgi(app, make_scope())
    assert body_of(sent) == b"hi"
    assert closed == [True]


def test_teardown_functions_still_run_over_asgi() -> None:
    app = Phial(__name__)
    seen: list[str] = []

    @app.get("/")
    async def index() -> str:
        return "ok"

    @app.teardown_request
    def request_down(exc: BaseException | None) -> None:
        seen.append("request")

    @app.teardown_appcontext
    async def app_down(exc: BaseException | None) -> None:
        seen.append("app")

    sent = run_asgi(app, make_scope())
    assert body_of(sent) == b"ok"
    assert seen == ["request", "app"]


def test_async_views_are_called_without_the_thread_pool() -> None:
    app = Phial(__name__)

    @app.get("/")
    async def index() -> str:
        return threading.current_thread().name

    sent = run_asgi(app, make_scope())
    assert body_of(sent) == threading.current_thread().name.encode()
    assert app._asgi_pool is None


def test_requests_leave_no_reference_cycles() -> None:
    """Everything a request made is freed by reference counting, not left to
    the cyclic garbage collector (which would then run far more often)."""
    import gc

    app = Phial(__name__)

    @app.get("/")
    async def index() -> str:
        return "ok"

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: t.MutableMapping[str, t.Any]) -> None:
        pass

    async def main() -> int:
        await app(make_scope(), receive, send)  # the first request also sets the app up
        gc.collect()
        gc.disable()
        try:
            for _ in range(10):
                await app(make_scope(), receive, send)
            return gc.collect()
        finally:
            gc.enable()

    assert asyncio.run(main()) == 0


# -- the WSGI bridge extension (phial's test client) ------------------------------------


def test_wsgi_bridge_extension_carries_status_line_spelling_and_errors(app: Phial) -> None:
    import io

    from phial.asgi import WSGI_BRIDGE

    @app.route("/")
    def index() -> t.Any:
        app.logger.warning("to the bridge")
        return "tea", "418 I'M A TEAPOT", {"X-ETag-Like": "1"}

    from phial.logging import default_handler

    app.logger.addHandler(default_handler)  # pytest's capture would stand in for it
    try:
        errors = io.StringIO()
        bridged = run_asgi(app, make_scope(extensions={WSGI_BRIDGE: {"errors": errors}}))
    finally:
        app.logger.removeHandler(default_handler)
    assert bridged[0]["status"] == 418
    assert (b"x-etag-like", b"1") in bridged[0]["headers"]  # the wire stays lower case
    assert bridged[0][WSGI_BRIDGE]["status"] == "418 I'M A TEAPOT"
    assert bridged[0][WSGI_BRIDGE]["names"]["x-etag-like"] == "X-ETag-Like"
    assert "to the bridge" in errors.getvalue()
    # A real server that declares nothing gets plain ASGI messages.
    plain = run_asgi(app, make_scope())
    assert WSGI_BRIDGE not in plain[0]


def test_resume_finishes_a_coroutine_started_by_hand() -> None:
    """``_resume`` (the body guard's second step on) passes values,
    exceptions and closing through to the coroutine, as ``await`` would."""
    from phial.asgi import _resume

    loop = asyncio.new_event_loop()
    events: list[str] = []

    async def waits() -> str:
        future: asyncio.Future[str] = loop.create_future()
        try:
            return await future
        except KeyError:
            events.append("thrown")
            raise
        finally:
            events.append("left")

    # A value arrives: it is returned.
    coro = waits()
    pending = coro.send(None)
    rest = _resume(coro, pending)
    assert rest.send(None) is pending
    pending.set_result("message")
    with pytest.raises(StopIteration) as stop:
        rest.send(None)
    assert stop.value.value == "message"
    # An exception thrown in reaches the coroutine.
    coro = waits()
    rest = _resume(coro, coro.send(None))
    rest.send(None)
    with pytest.raises(KeyError):
        rest.throw(KeyError("x"))
    # Closing closes the coroutine.
    coro = waits()
    rest = _resume(coro, coro.send(None))
    rest.send(None)
    rest.close()
    assert events == ["left", "thrown", "left", "left"]
    loop.close()


_SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("test_asgi_seen")


@pytest.mark.parametrize("waits", [False, True])
def test_request_steps_all_run_in_the_requests_own_context(waits: bool) -> None:
    """A request that finishes in its first step and one that waits both run
    every step in a context of their own: what they set is theirs alone, and
    the caller's values are visible to them."""
    app = Phial(__name__)

    @app.get("/")
    async def index() -> str:
        before = _SEEN.get("unset")
        _SEEN.set("view")
        if waits:
            await asyncio.sleep(0)
        return f"{before} {_SEEN.get()} {request.path}"

    async def main() -> tuple[list[Message], str]:
        _SEEN.set("caller")
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: t.MutableMapping[str, t.Any]) -> None:
            sent.append(dict(message))

        await app(make_scope(), receive, send)
        return sent, _SEEN.get()

    sent, after = asyncio.run(main())
    assert body_of(sent) == b"caller view /"
    assert after == "caller"


# -- the environ template, the pool state ----------------------------------------------


def _assert_environs_are_the_general_ones(
    monkeypatch: pytest.MonkeyPatch,
    scopes: list[dict[str, t.Any]],
    environs: list[dict[str, t.Any]],
) -> None:
    """Each environ is, key for key and in order, what the general builder
    makes of its scope (the common path turned off from here on)."""
    from phial import asgi

    monkeypatch.setattr(asgi, "_common_environ", lambda scope, body: None)
    for scope, environ in zip(scopes, environs, strict=True):
        general = build_environ(scope, environ["wsgi.input"])
        assert list(environ.items()) == list(general.items())


def test_environ_templates_keep_each_servers_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scopes of different servers, schemes and protocols each get their own
    values from the cached templates (the general path's), and an environ
    changed by its request leaves the next one as it was."""

    scopes = [
        make_scope(),
        make_scope(scheme="https", http_version="2", server=("other.test", 443)),
        make_scope(client=("10.9.9.9", 4444), query_string=b"q=1"),
        make_scope(server=("example.test", None)),
    ]
    first = build_environ(scopes[0], BytesIO())
    first["SERVER_NAME"] = "changed"
    first["HTTP_HOST"] = "changed"
    environs = [build_environ(scope, BytesIO()) for scope in scopes * 2]
    _assert_environs_are_the_general_ones(monkeypatch, scopes * 2, environs)


def test_environ_of_the_last_connection_equals_the_general_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request on the last request's connection (the same server and client
    tuples) takes the template and client address kept from it; another
    scheme or protocol on the same tuples, another client, addresses given
    as lists or a port that is not an int do not, and each environ is the
    general path's."""

    server = ("conn.test", 8000)
    client = ("10.1.2.3", 5555)
    scopes = [
        make_scope(server=server, client=client),
        make_scope(server=server, client=client, method="POST", query_string=b"a=1"),
        make_scope(server=server, client=client, scheme="https"),
        make_scope(server=server, client=client, http_version="2"),
        make_scope(server=server, client=client, http_version="2"),
        make_scope(server=server, client=("10.1.2.3", 6666)),
        make_scope(server=["conn.test", 8000], client=["10.1.2.4", 7777]),
        make_scope(server=server, client=("10.1.2.5", "8888")),
        make_scope(server=server, client=client),
        make_scope(server=server, client=client),
    ]
    environs = [build_environ(scope, BytesIO()) for scope in scopes]
    _assert_environs_are_the_general_ones(monkeypatch, scopes, environs)


def test_the_next_request_of_a_connection_skips_the_template_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from phial import asgi

    server = ("next.test", 8000)
    client = ("10.1.2.3", 5555)
    build_environ(make_scope(server=server, client=client), BytesIO())  # makes the template
    first = build_environ(make_scope(server=server, client=client), BytesIO())
    assert asgi._LAST_CONNECTION[0][:2] == (client, server)

    def unexpected(*args: t.Any) -> None:
        raise AssertionError("the last connection's values were not used")

    monkeypatch.setattr(asgi, "_connection", unexpected)
    scope = make_scope(server=server, client=client, path="/b", raw_path=b"/b")
    environ = build_environ(scope, BytesIO())
    assert environ["PATH_INFO"] == "/b"
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("10.1.2.3", "5555")
    assert environ["SERVER_NAME"] == first["SERVER_NAME"] == "next.test"


class _NoLookups(dict):  # type: ignore[type-arg]  # a stand-in for the template cache
    def __getitem__(self, key: t.Any) -> t.Any:
        raise AssertionError("a kept connection's template was looked up")


def test_interleaved_connections_are_each_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests of two connections taking turns each find their own
    connection kept, and get the general path's environ."""
    from phial import asgi

    server = ("turns.test", 8000)
    other_server = ("turns.test", 8000)  # equal, but another connection's tuple
    clients = [("10.1.2.3", 5555), ("10.1.2.4", 6666)]
    scopes = [
        make_scope(server=server, client=clients[0]),
        make_scope(server=other_server, client=clients[1], scheme="https"),
    ]
    for scope in scopes * 2:  # the first pass makes the templates
        build_environ(scope, BytesIO())
    monkeypatch.setattr(asgi, "_TEMPLATES", _NoLookups())
    environs = [build_environ(scope, BytesIO()) for scope in scopes * 2]
    _assert_environs_are_the_general_ones(monkeypatch, scopes * 2, environs)


def test_a_connection_seen_again_gets_a_template_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its second request gives a kept connection a template with the
    client's address and ``wsgi.errors`` filled in (not its first: a
    connection used once costs nothing more); a request changing its environ
    leaves the template as it was, and a new ``sys.stderr`` is still seen."""
    import io
    import sys

    from phial import asgi

    server = ("own.test", 8000)
    client = ("10.1.2.3", 5555)
    build_environ(make_scope(server=server, client=client), BytesIO())  # makes the template
    build_environ(make_scope(server=("other.test", 1), client=client), BytesIO())
    build_environ(make_scope(server=server, client=client), BytesIO())
    assert asgi._CONNECTIONS[client][7] is asgi._UNSET  # seen once
    first = build_environ(make_scope(server=server, client=client), BytesIO())
    assert asgi._CONNECTIONS[client][7] is sys.stderr  # seen again
    first["REMOTE_ADDR"] = first["REMOTE_PORT"] = "changed"
    scopes = [
        make_scope(server=server, client=client, method="POST", query_string=b"q=1"),
        make_scope(server=server, client=client),
        make_scope(server=server, client=client),
    ]
    for n, scope in enumerate(scopes):
        if n == 2:
            monkeypatch.setattr(sys, "stderr", io.StringIO())
        environ = build_environ(scope, BytesIO())
        assert environ["wsgi.errors"] is sys.stderr
        with monkeypatch.context() as patched:
            patched.setattr(asgi, "_common_environ", lambda scope, body: None)
            general = build_environ(scope, environ["wsgi.input"])
        assert list(environ.items()) == list(general.items())


def test_kept_connections_are_bounded() -> None:
    from phial import asgi

    for port in range(asgi._MAX_CONNECTIONS * 2):
        scope = make_scope(client=("10.1.2.3", port))
        assert build_environ(scope, BytesIO())["REMOTE_PORT"] == str(port)
    assert 0 < len(asgi._CONNECTIONS) <= asgi._MAX_CONNECTIONS


@pytest.mark.parametrize(
    ("server", "client"),
    [
        (["list.test", 8000], ("10.1.2.3", 5555)),
        (("list.test", 8000), ["10.1.2.3", 5555]),
        (("list.test", 8000), ("10.1.2.3", "5555")),
        (("list.test", 8000), (b"10.1.2.3", 5555)),
        (("list.test", 8000), (["10.1.2.3"], 5555)),
    ],
)
def test_only_immutable_addresses_are_kept_for_the_next_request(
    server: t.Any, client: t.Any
) -> None:
    """A list can change between requests, and so could what a port that is
    no int formats to: the next request must not be matched by identity."""
    from phial import asgi

    build_environ(make_scope(server=("list.test", 8000)), BytesIO())  # makes the template
    build_environ(make_scope(), BytesIO())
    kept = asgi._LAST_CONNECTION[0]
    environ = build_environ(make_scope(server=server, client=client), BytesIO())
    assert environ["REMOTE_PORT"] == "5555"
    assert asgi._LAST_CONNECTION[0] is kept
    assert not any(
        known[0] is client and known[1] is server for known in asgi._CONNECTIONS.values()
    )


def test_header_values_are_kept_for_listed_names_only() -> None:
    """Values of headers that repeat across clients and carry nothing secret
    are kept decoded (short ones, a bounded number per name); a cookie,
    credentials, a referring URL or an unlisted header never are."""
    from phial import asgi

    headers = [
        (b"user-agent", b"agent/1.0"),
        (b"accept", b"x" * (asgi._SHARED_VALUE_MAX_LENGTH + 1)),
        (b"cookie", b"session=secret"),
        (b"authorization", b"Bearer secret"),
        (b"referer", b"https://example.test/reset?token=secret"),
        (b"x-api-key", b"secret"),
    ]
    environ = build_environ(make_scope(headers=headers), BytesIO())
    assert environ["HTTP_USER_AGENT"] == "agent/1.0"
    assert kept_values(b"user-agent")[b"agent/1.0"] == "agent/1.0"
    assert b"x" * (asgi._SHARED_VALUE_MAX_LENGTH + 1) not in kept_values(b"accept")
    for name in (b"cookie", b"authorization", b"referer", b"x-api-key"):
        assert asgi._HEADER_KEYS[name] == (environ_key(name), None)
    for n in range(asgi._SHARED_VALUES_PER_NAME * 2):
        agent = f"agent/{n}".encode()
        build_environ(make_scope(headers=[(b"user-agent", agent)]), BytesIO())
        assert kept_values(b"user-agent")[agent] == agent.decode()
    assert 0 < len(kept_values(b"user-agent")) <= asgi._SHARED_VALUES_PER_NAME


def kept_values(name: bytes) -> dict[bytes, str]:
    """The decoded values kept for the header ``name``."""
    from phial import asgi

    values = asgi._HEADER_KEYS[name][1]
    assert values is not None
    return values


def environ_key(name: bytes) -> str:
    return "HTTP_" + name.decode().upper().replace("-", "_")


def test_a_kept_header_value_is_the_decoded_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second request with a kept value reads it from the cache, and gets
    the environ the general path builds (non-ASCII latin-1 bytes included)."""
    from phial import asgi

    headers = [(b"host", b"caf\xe9.test"), (b"accept-language", b"fr")]
    scope = make_scope(headers=headers)
    first = build_environ(scope, BytesIO())
    assert kept_values(b"host")[b"caf\xe9.test"] == "caf\u00e9.test"

    def unexpected(*args: t.Any) -> None:
        raise AssertionError("a kept value was decoded again")

    monkeypatch.setattr(asgi, "_shared_value", unexpected)
    # Equal bytes, other objects (as a server gives for each request).
    again = build_environ(
        make_scope(headers=[(bytes(bytearray(n)), bytes(bytearray(v))) for n, v in headers]),
        BytesIO(),
    )
    monkeypatch.setattr(asgi, "_common_environ", lambda scope, body: None)
    general = build_environ(scope, BytesIO())
    assert first["HTTP_HOST"] == again["HTTP_HOST"] == general["HTTP_HOST"] == "caf\u00e9.test"
    assert again["HTTP_ACCEPT_LANGUAGE"] == "fr"


def test_environ_templates_are_bounded() -> None:
    from phial import asgi

    for port in range(200):
        environ = build_environ(make_scope(server=("example.test", port)), BytesIO())
        assert environ["SERVER_PORT"] == str(port)
    assert 0 < len(asgi._TEMPLATES) <= 64


def test_a_request_that_starts_no_pool_job_sets_no_pool_state(app: Phial) -> None:
    """The pool state is set in a request's context by its first pool job:
    a request served on the loop alone never sets it."""
    from phial import asgi

    seen: dict[str, bool] = {}

    @app.route("/async")
    async def on_loop() -> str:
        seen["async"] = contextvars.copy_context().get(asgi._cv_pool_state) is not None
        return "ok"

    @app.route("/sync")
    def in_pool() -> str:
        seen["sync"] = contextvars.copy_context().get(asgi._cv_pool_state) is not None
        return "ok"

    assert body_of(run_asgi(app, make_scope(path="/async", raw_path=b"/async"))) == b"ok"
    assert body_of(run_asgi(app, make_scope(path="/sync", raw_path=b"/sync"))) == b"ok"
    assert seen == {"async": False, "sync": True}


def test_cancelled_while_a_task_of_the_request_runs_a_sync_callable(app: Phial) -> None:
    """A task spawned by an async view runs a sync callable in the pool, in the
    request's context, before the request itself started any pool job; a
    cancellation of the request waits until the callable has left the
    context, then unwinds the request as usual."""
    from phial.asgi import call_async

    events: list[str] = []
    started = threading.Event()

    def slow() -> None:
        started.set()
        time.sleep(0.05)
        events.append("job done")

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    @app.route("/")
    async def index() -> str:
        job = asyncio.ensure_future(call_async(app, slow))
        await asyncio.sleep(10)
        await job
        return "never"

    async def main() -> None:
        await _cancel_once_started(app, started, events)
        await asyncio.sleep(0.1)

    asyncio.run(main())
    assert events == ["job done", "teardown"]


def _loop_seen_from_a_thread(app: Phial) -> t.Callable[[], t.Awaitable[asyncio.AbstractEventLoop]]:
    """An async function that asks, from a thread started with
    ``asyncio.to_thread``, which loop ``app.ensure_sync`` runs a coroutine on."""

    async def running() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    async def from_thread() -> asyncio.AbstractEventLoop:
        return await asyncio.to_thread(lambda: app.ensure_sync(running)())

    return from_thread


@pytest.mark.parametrize("lane", [True, False])
def test_to_thread_in_an_async_view_sends_coroutines_to_the_server_loop(
    app: Phial, lane: bool
) -> None:
    """Sync code in a thread that ``asyncio.to_thread`` started from an async
    view finds the server's loop through the request context."""
    from_thread = _loop_seen_from_a_thread(app)
    seen: list[bool] = []
    if not lane:

        @app.before_request
        async def hook() -> None:  # a hook: the general steps serve the request
            pass

    @app.route("/")
    async def index() -> str:
        seen.append(await from_thread() is asyncio.get_running_loop())
        return "ok"

    assert body_of(run_asgi(app, make_scope())) == b"ok"
    assert seen == [True]


def test_to_thread_in_async_teardown_sends_coroutines_to_the_server_loop(app: Phial) -> None:
    """Application-context teardown runs after the request context is reset:
    the server's loop is still found."""
    from_thread = _loop_seen_from_a_thread(app)
    seen: list[bool] = []

    @app.teardown_appcontext
    async def teardown(error: BaseException | None) -> None:
        seen.append(await from_thread() is asyncio.get_running_loop())

    @app.route("/")
    async def index() -> str:
        return "ok"

    assert body_of(run_asgi(app, make_scope())) == b"ok"
    assert seen == [True]


def test_to_thread_in_an_async_body_sends_coroutines_to_the_server_loop(app: Phial) -> None:
    """An async response body runs after the request context is gone: the
    server's loop is still found."""
    from_thread = _loop_seen_from_a_thread(app)

    @app.route("/")
    async def index() -> t.Any:
        async def body() -> t.AsyncIterator[str]:
            yield "same" if await from_thread() is asyncio.get_running_loop() else "other"

        return app.response_class(body())

    assert body_of(run_asgi(app, make_scope())) == b"same"


def test_a_preserved_context_does_not_send_coroutines_to_the_server_loop(app: Phial) -> None:
    """Pushed again after the request (``with client:``), the request context
    no longer leads sync code to the (finished) server loop: a coroutine runs
    on the calling thread's loop."""

    async def running() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    @app.route("/")
    async def index() -> str:
        return "ok"

    loops: list[asyncio.AbstractEventLoop] = []
    with app.test_client(protocol="asgi") as client:
        assert client.get("/").data == b"ok"
        assert request.path == "/"
        # In a thread: sent to the finished loop, the call would never return.
        ctx = contextvars.copy_context()
        thread = threading.Thread(
            target=lambda: loops.extend(ctx.run(app.ensure_sync(running)) for _ in "ab"),
            daemon=True,
        )
        thread.start()
        thread.join(10)
    assert not thread.is_alive()
    assert loops[0] is loops[1]  # the thread's own loop, reused


@pytest.mark.parametrize(
    ("method", "headers", "chunks"),
    [
        ("GET", [], (b"",)),  # bodiless: not waited for
        ("POST", [(b"content-length", b"0")], (b"",)),  # an empty body, received
        ("POST", [], (b"", b"")),  # an empty body in two messages
        ("POST", [(b"content-length", b"99")], (b"",)),  # refused: too large
    ],
)
def test_every_request_gets_its_own_input_stream(
    app: Phial, method: str, headers: list[tuple[bytes, bytes]], chunks: tuple[bytes, ...]
) -> None:
    """The driver sets ``wsgi.input`` once it knows the body: a request
    without one still gets an empty stream of its own, refused ones too."""
    app.config["MAX_CONTENT_LENGTH"] = 10
    streams: list[t.Any] = []

    def record() -> str:
        stream = request.environ["wsgi.input"]
        streams.append(stream)
        return repr(stream.read())

    app.route("/", methods=["GET", "POST"])(record)
    app.errorhandler(413)(lambda e: (record(), 413))
    for _ in range(2):
        messages = run_asgi(app, make_scope(method=method, headers=headers), chunks)
        assert body_of(messages) == b"b''"
    assert isinstance(streams[0], BytesIO)
    assert streams[0] is not streams[1]


def test_a_request_whose_first_step_yields_none_is_not_taken_for_finished(app: Phial) -> None:
    """``asyncio.sleep(0)`` suspends with a bare ``yield`` (None): the driver
    tells that from a finished first step and awaits the rest."""
    steps: list[str] = []

    @app.route("/")
    async def index() -> str:
        steps.append("before")
        await asyncio.sleep(0)
        steps.append("after")
        return "done"

    assert body_of(run_asgi(app, make_scope())) == b"done"
    assert steps == ["before", "after"]
