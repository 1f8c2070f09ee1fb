"""Coroutines from sync code (one persistent loop per thread) and the ASGI 3 marker."""

from __future__ import annotations

import asyncio
import gc
import threading

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
