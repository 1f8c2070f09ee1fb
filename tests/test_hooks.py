"""Request hooks and ``async def`` user code on WSGI."""

from __future__ import annotations

import asyncio
import typing as t

import pytest

from phial import Phial, g, request
from phial.testing import FlaskClient
from phial.wrappers import Response


def test_before_request_runs_before_view(app: Phial, client: FlaskClient) -> None:
    @app.before_request
    def load() -> None:
        g.user = "amy"

    @app.route("/")
    def index() -> str:
        return g.user

    assert client.get("/").data == b"amy"


def test_before_request_return_ends_request(app: Phial, client: FlaskClient) -> None:
    calls: list[str] = []

    @app.before_request
    def first() -> t.Any:
        calls.append("first")
        if request.args.get("stop"):
            return "stopped", 403
        return None

    @app.before_request
    def second() -> None:
        calls.append("second")

    @app.after_request
    def after(resp: Response) -> Response:
        calls.append("after")
        return resp

    @app.route("/")
    def index() -> str:
        calls.append("view")
        return "view"

    rv = client.get("/?stop=1")
    assert rv.status_code == 403
    assert rv.data == b"stopped"
    assert calls == ["first", "after"]
    calls.clear()
    assert client.get("/").data == b"view"
    assert calls == ["first", "second", "view", "after"]


def test_before_request_runs_for_404(app: Phial, client: FlaskClient) -> None:
    seen: list[str] = []

    @app.before_request
    def before() -> None:
        seen.append(request.path)

    assert client.get("/missing").status_code == 404
    assert seen == ["/missing"]


def test_after_request_reverse_order(app: Phial, client: FlaskClient) -> None:
    @app.after_request
    def first(resp: Response) -> Response:
        resp.headers.add("X-Order", "first")
        return resp

    @app.after_request
    def second(resp: Response) -> Response:
        resp.headers.add("X-Order", "second")
        return resp

    @app.route("/")
    def index() -> str:
        return "x"

    assert client.get("/").headers.getlist("X-Order") == ["second", "first"]


def test_after_request_can_replace_response(app: Phial, client: FlaskClient) -> None:
    @app.after_request
    def replace(resp: Response) -> Response:
        return Response("replaced", status=202)

    @app.route("/")
    def index() -> str:
        return "x"

    rv = client.get("/")
    assert rv.status_code == 202
    assert rv.data == b"replaced"


def test_after_request_runs_on_handled_errors(app: Phial, client: FlaskClient) -> None:
    @app.after_request
    def mark(resp: Response) -> Response:
        resp.headers["X-After"] = "yes"
        return resp

    assert client.get("/missing").headers["X-After"] == "yes"


def test_teardowns_run_and_receive_exception(app: Phial, client: FlaskClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen: list[tuple[str, t.Any]] = []

    @app.teardown_request
    def td_request(exc: BaseException | None) -> None:
        seen.append(("request", exc))

    @app.teardown_appcontext
    def td_app(exc: BaseException | None) -> None:
        seen.append(("app", exc))

    @app.route("/ok")
    def ok() -> str:
        return "ok"

    error = RuntimeError("boom")

    @app.route("/fail")
    def fail() -> str:
        raise error

    assert client.get("/ok").status_code == 200
    assert seen == [("request", None), ("app", None)]
    seen.clear()
    assert client.get("/fail").status_code == 500
    assert seen == [("request", error), ("app", error)]


def test_teardowns_run_when_exception_propagates(app: Phial, client: FlaskClient) -> None:
    seen: list[t.Any] = []
    app.teardown_request(seen.append)
    app.teardown_appcontext(seen.append)

    @app.route("/")
    def fail() -> str:
        raise KeyError("k")

    with pytest.raises(KeyError):
        client.get("/")
    assert len(seen) == 2
    assert all(isinstance(e, KeyError) for e in seen)


def test_teardowns_reverse_order_and_handled_http_error_is_none(
    app: Phial, client: FlaskClient
) -> None:
    order: list[str] = []

    @app.teardown_request
    def one(exc: BaseException | None) -> None:
        order.append(f"one {exc}")

    @app.teardown_request
    def two(exc: BaseException | None) -> None:
        order.append(f"two {exc}")

    assert client.get("/missing").status_code == 404
    assert order == ["two None", "one None"]


def test_async_view_and_hooks(app: Phial, client: FlaskClient) -> None:
    seen: list[str] = []

    @app.before_request
    async def before() -> None:
        await asyncio.sleep(0)
        g.started = True

    @app.after_request
    async def after(resp: Response) -> Response:
        resp.headers["X-Async"] = "after"
        return resp

    @app.teardown_request
    async def td(exc: BaseException | None) -> None:
        seen.append("teardown")

    @app.teardown_appcontext
    async def td_app(exc: BaseException | None) -> None:
        seen.append("teardown app")

    @app.route("/<int:n>")
    async def index(n: int) -> dict[str, t.Any]:
        await asyncio.sleep(0)
        return {"n": n, "started": g.started, "path": request.path}

    rv = client.get("/5")
    assert rv.json == {"n": 5, "started": True, "path": "/5"}
    assert rv.headers["X-Async"] == "after"
    assert seen == ["teardown", "teardown app"]


def test_async_before_request_return_ends_request(app: Phial, client: FlaskClient) -> None:
    @app.before_request
    async def stop() -> str:
        return "early"

    @app.route("/")
    def index() -> str:
        return "view"

    assert client.get("/").data == b"early"


def test_async_error_handler(app: Phial, client: FlaskClient) -> None:
    @app.errorhandler(404)
    async def not_found(e: Exception) -> tuple[str, int]:
        return "async 404", 404

    rv = client.get("/missing")
    assert rv.status_code == 404
    assert rv.data == b"async 404"


def test_async_loop_persists_across_requests(app: Phial, client: FlaskClient) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    @app.route("/")
    async def index() -> str:
        loops.append(asyncio.get_running_loop())
        return "x"

    client.get("/")
    client.get("/")
    assert len(loops) == 2
    assert loops[0] is loops[1]


def test_ensure_sync(app: Phial) -> None:
    def plain() -> int:
        return 1

    async def coro(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    assert app.ensure_sync(plain) is plain
    wrapped = app.ensure_sync(coro)
    assert wrapped is not coro
    assert wrapped(21) == 42
    assert app.ensure_sync(coro) is wrapped


def test_async_to_sync(app: Phial) -> None:
    async def coro() -> str:
        return "ran"

    assert app.async_to_sync(coro)() == "ran"


def test_async_callable_object(app: Phial) -> None:
    class Handler:
        async def __call__(self, x: int) -> int:
            return x + 1

    assert app.ensure_sync(Handler())(1) == 2


def test_thread_loop_closed_when_thread_ends(app: Phial) -> None:
    import gc
    import threading

    loops: list[asyncio.AbstractEventLoop] = []

    async def coro() -> None:
        loops.append(asyncio.get_running_loop())

    thread = threading.Thread(target=app.ensure_sync(coro))
    thread.start()
    thread.join()
    gc.collect()
    assert len(loops) == 1
    assert loops[0].is_closed()


def test_thread_loop_closed_when_app_freed() -> None:
    import gc

    app = Phial("x")
    loops: list[asyncio.AbstractEventLoop] = []

    async def coro() -> None:
        loops.append(asyncio.get_running_loop())

    app.ensure_sync(coro)()
    del app
    gc.collect()
    assert loops[0].is_closed()


def test_after_this_request_functions_are_not_retained(app: Phial, client: FlaskClient) -> None:
    import gc
    import weakref

    from phial import after_this_request

    refs: list[weakref.ref[t.Any]] = []

    @app.route("/")
    def index() -> str:
        big = bytearray(1024)

        def per_request(resp: Response) -> Response:
            resp.headers["X-Len"] = str(len(big))
            return resp

        after_this_request(per_request)
        refs.append(weakref.ref(per_request))
        return "x"

    assert client.get("/").headers["X-Len"] == "1024"
    gc.collect()
    assert refs[0]() is None


def test_ensure_sync_cache_is_bounded(app: Phial) -> None:
    import gc
    import weakref

    def make() -> t.Callable[[], int]:
        def one_shot() -> int:
            return 1

        return one_shot

    first = make()
    ref = weakref.ref(first)
    assert app.ensure_sync(first)() == 1
    del first
    for _ in range(5000):
        app.ensure_sync(make())
    gc.collect()
    assert ref() is None


def test_teardown_gets_none_when_error_was_handled(app: Phial, client: FlaskClient) -> None:
    seen: list[t.Any] = []
    app.teardown_request(seen.append)

    @app.errorhandler(ValueError)
    def handled(e: Exception) -> tuple[str, int]:
        return "handled", 400

    @app.route("/")
    def index() -> str:
        raise ValueError()

    assert client.get("/").status_code == 400
    assert seen == [None]


def test_ensure_sync_override_sees_views_and_hooks() -> None:
    from phial import after_this_request

    seen: list[str] = []

    class App(Phial):
        def ensure_sync(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
            seen.append(getattr(func, "__name__", "?"))
            return super().ensure_sync(func)

    app = App("x")

    @app.before_request
    def before() -> None:
        pass

    @app.route("/")
    def index() -> str:
        def once(resp: Response) -> Response:
            return resp

        after_this_request(once)
        return "x"

    # WSGI only: ensure_sync makes callables synchronous "for WSGI workers"
    # (Flask's words); over ASGI sync callables run in the thread pool as they are.
    assert app.test_client(protocol="wsgi").get("/").data == b"x"
    assert {"before", "index", "once"} <= set(seen)
