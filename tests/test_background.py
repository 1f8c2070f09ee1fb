"""app.add_background_task: after the response, in an app context, on both protocols."""

from __future__ import annotations

import asyncio
import logging
import threading
import typing as t

import pytest

from phial import Phial, current_app, g, has_request_context
from phial.testing import FlaskClient


def test_sync_and_async_tasks_run_after_the_response(app: Phial, client: FlaskClient) -> None:
    events: list[t.Any] = []

    def sync_task(n: int, *, label: str) -> None:
        events.append((label, n, current_app.name, has_request_context()))

    async def async_task(n: int) -> None:
        await asyncio.sleep(0)
        events.append(("async", n, current_app.name, has_request_context()))

    @app.get("/")
    def index() -> str:
        g.marker = "request g"
        app.add_background_task(sync_task, 1, label="sync")
        app.add_background_task(async_task, 2)
        events.append("view")
        return "ok"

    rv = client.get("/")
    assert rv.data == b"ok"
    rv.close()
    # Over ASGI the two run concurrently on the loop: their order is open.
    assert events[0] == "view"
    assert sorted(events[1:]) == [("async", 2, app.name, False), ("sync", 1, app.name, False)]


def test_task_runs_after_the_response_was_produced(app: Phial, client: FlaskClient) -> None:
    events: list[str] = []

    @app.get("/")
    def index() -> t.Any:
        app.add_background_task(events.append, "task")

        def body() -> t.Iterator[str]:
            events.append("body")
            yield "x"

        return app.response_class(body())

    rv = client.get("/")
    assert rv.data == b"x"
    rv.close()
    assert events == ["body", "task"]


def test_task_errors_are_logged(
    app: Phial, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise ValueError("task failed")

    async def aboom() -> None:
        raise KeyError("async task failed")

    @app.get("/")
    def index() -> str:
        app.add_background_task(boom)
        app.add_background_task(aboom)
        return "fine"

    with caplog.at_level(logging.ERROR):
        rv = client.get("/")
        assert rv.data == b"fine"
        rv.close()
    failures = [r for r in caplog.records if "background task failed" in r.getMessage()]
    assert len(failures) == 2
    assert {type(r.exc_info[1]) for r in failures if r.exc_info} == {ValueError, KeyError}
    assert client.get("/").status_code == 200  # the app keeps serving


def test_error_response_still_runs_tasks(app: Phial, client: FlaskClient) -> None:
    events: list[str] = []

    @app.get("/")
    def index() -> str:
        app.add_background_task(events.append, "task")
        raise LookupError("view failed")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.testing = False
    rv = client.get("/")
    assert rv.status_code == 500
    rv.close()
    assert events == ["task"]


def test_lifespan_shutdown_waits_for_tasks(app: Phial) -> None:
    events: list[str] = []
    started = threading.Event()

    async def slow() -> None:
        started.set()
        await asyncio.sleep(0.05)
        events.append("slow done")

    @app.before_serving
    def startup() -> None:
        # Outside a request, on the server's loop: started now, awaited at shutdown.
        current_app.add_background_task(slow)

    @app.after_serving
    def shutdown() -> None:
        events.append("after_serving")

    client = app.test_client(protocol="asgi")
    with client.lifespan():
        pass
    assert events == ["slow done", "after_serving"]


def test_outside_a_loop_and_request_runs_now(app: Phial) -> None:
    events: list[t.Any] = []
    with app.app_context():
        app.add_background_task(lambda: events.append(current_app.name))
    assert events == [app.name]
    with pytest.raises(TypeError, match="callable"):
        app.add_background_task("nope")  # type: ignore[arg-type]  # the error under test
