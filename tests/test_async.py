"""Coroutines from sync code (one persistent loop per thread) and the ASGI 3 marker."""

from __future__ import annotations

import asyncio
import gc
import threading
import typing as t

import pytest

from phial import Phial
from phial._async import thread_loop


def test_async_view_runs_on_one_loop_per_thread_across_requests(app: Phial) -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    @app.route("/")
    async def index() -> str:
        seen.append(asyncio.get_running_loop())
        await asyncio.sleep(0)
        return "ok"

    # WSGI only: over ASGI the view runs on the server's loop, not on a loop
    # phial keeps per thread, which is what this test is about.
    client = app.test_client(protocol="wsgi")
    assert client.get("/").data == b"ok"
    assert client.get("/").data == b"ok"
    assert len(seen) == 2
    assert seen[0] is seen[1]

    other: list[asyncio.AbstractEventLoop] = []

    def in_thread() -> None:
        app.ensure_sync(_record_loop)(other)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert other and other[0] is not seen[0]
    app._loops.close()
    assert seen[0].is_closed() and other[0].is_closed()


async def _record_loop(into: list[asyncio.AbstractEventLoop]) -> None:
    into.append(asyncio.get_running_loop())


def test_loops_are_closed_when_the_app_is_collected() -> None:
    app = Phial(__name__)

    @app.get("/")
    async def index() -> str:
        return "ok"

    # WSGI only: the per-thread loops exist for coroutines run under WSGI.
    assert app.test_client(protocol="wsgi").get("/").data == b"ok"
    loop = app._loops.loops[0]
    del app, index
    gc.collect()
    # Unclosed loops raise ResourceWarning here, which the suite treats as an error.
    assert loop.is_closed()


def test_async_call_inside_a_running_loop_explains_itself(app: Phial) -> None:
    async def inner() -> None:
        return None

    async def outer() -> None:
        app.ensure_sync(inner)()

    with pytest.raises(RuntimeError, match="inside a running event loop"):
        asyncio.run(outer())


def test_app_call_looks_like_asgi3_to_servers(app: Phial) -> None:
    # uvicorn picks ASGI 3 over ASGI 2 by this check on the app's __call__.
    assert asyncio.iscoroutinefunction(app.__call__)


def test_app_call_with_a_scope_alone_is_asgi2(app: Phial) -> None:
    # What a server calls when it finds no ASGI 3 mark on __call__ (phial marks it
    # only once asyncio is loaded, see phial._async.mark_asgi3).
    @app.route("/")
    def index() -> str:
        return "asgi2"

    scope = {
        "type": "http",
        "asgi": {"version": "2.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
    }
    sent: list[dict[str, t.Any]] = []

    async def receive() -> dict[str, t.Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(message)

    instance = app(scope)
    asyncio.run(instance(receive, send))
    assert sent[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"asgi2"


def test_app_call_with_one_argument_that_is_no_scope_explains_itself(app: Phial) -> None:
    with pytest.raises(TypeError, match="not with 1 arguments"):
        app("nope")


def test_app_call_still_serves_wsgi(app: Phial) -> None:
    @app.route("/")
    def index() -> str:
        return "wsgi"

    assert app.test_client(protocol="wsgi").get("/").data == b"wsgi"


def test_thread_loop_is_per_thread_and_persistent() -> None:
    here = thread_loop()
    assert thread_loop() is here
    other: list[asyncio.AbstractEventLoop] = []
    worker = threading.Thread(target=lambda: other.append(thread_loop()))
    worker.start()
    worker.join()
    assert other[0] is not here
    other[0].close()


def test_app_call_with_four_arguments_explains_itself(app: Phial) -> None:
    with pytest.raises(TypeError, match="not with 4 arguments"):
        app({}, None, None, None)
