"""Helpers for running coroutines from sync code and for ASGI servers."""

from __future__ import annotations

import asyncio
import threading

from phial import Phial
from phial._async import thread_loop


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
