"""Application and request contexts, the proxies, and the helpers built on them."""

from __future__ import annotations

import threading
import typing as t

import pytest

from phial import (
    Phial,
    after_this_request,
    copy_current_request_context,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
    session,
    stream_with_context,
)
from phial.ctx import AppContext, RequestContext
from phial.globals import app_ctx, request_ctx
from phial.testing import FlaskClient
from phial.wrappers import Response


def test_app_context_push_pop(app: Phial) -> None:
    ctx = app.app_context()
    assert isinstance(ctx, AppContext)
    assert not has_app_context()
    ctx.push()
    try:
        assert has_app_context()
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]  # proxy method
        assert app_ctx._get_current_object() is ctx  # type: ignore[attr-defined]  # proxy method
        assert not has_request_context()
    finally:
        ctx.pop()
    assert not has_app_context()


def test_app_context_nesting_and_g_isolation(app: Phial) -> None:
    other = Phial("other", root_path=app.root_path)
    with app.app_context():
        g.value = "outer"
        with other.app_context():
            assert current_app.name == "other"
            assert "value" not in g
        with app.app_context():
            assert "value" not in g  # a new app context has a new g
        assert current_app.name == "test_app"
        assert g.value == "outer"


def test_same_app_context_pushed_twice(app: Phial) -> None:
    torn: list[t.Any] = []
    app.teardown_appcontext(torn.append)
    ctx = app.app_context()
    with ctx:
        with ctx:
            pass
        assert torn == []
    assert torn == [None]


def test_popping_wrong_app_context_raises(app: Phial) -> None:
    a = app.app_context()
    b = app.app_context()
    a.push()
    b.push()
    with pytest.raises(AssertionError, match="wrong app context"):
        a.pop()
    # a's token reset the var to before a; clean up what remains
    assert not has_app_context()


def test_request_context_pushes_app_context(app: Phial) -> None:
    with app.test_request_context("/path?q=1") as ctx:
        assert isinstance(ctx, RequestContext)
        assert has_request_context()
        assert has_app_context()
        assert request.path == "/path"
        assert request.args["q"] == "1"
        assert request_ctx._get_current_object() is ctx  # type: ignore[attr-defined]  # proxy method
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]  # proxy method
    assert not has_request_context()
    assert not has_app_context()


def test_request_context_reuses_active_app_context(app: Phial) -> None:
    with app.app_context():
        g.marker = 1
        with app.test_request_context():
            assert g.marker == 1
        assert has_app_context()


def test_request_context_from_environ(app: Phial) -> None:
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder("/e", method="POST").get_environ()
    with app.request_context(environ):
        assert request.path == "/e"
        assert request.method == "POST"


def test_test_request_context_arguments(app: Phial) -> None:
    with app.test_request_context(
        "/p", method="PUT", json={"a": 1}, headers={"X-H": "v"}, base_url="https://h.test"
    ):
        assert request.method == "PUT"
        assert request.get_json() == {"a": 1}
        assert request.headers["X-H"] == "v"
        assert request.url == "https://h.test/p"


def test_request_context_repr(app: Phial) -> None:
    with app.test_request_context("/r") as ctx:
        assert repr(ctx) == "<RequestContext 'http://localhost/r' [GET] of test_app>"


def test_app_proxies_outside_context() -> None:
    for proxy in (current_app, g):
        with pytest.raises(RuntimeError, match="app_context"):
            proxy.anything  # noqa: B018


def test_request_proxies_outside_context() -> None:
    for proxy in (request, session):
        with pytest.raises(RuntimeError, match="request context"):
            proxy.anything  # noqa: B018


def test_raw_context_proxies_falsy_outside(app: Phial) -> None:
    assert not app_ctx
    assert not request_ctx
    with app.test_request_context():
        assert app_ctx
        assert request_ctx
        assert request_ctx.request.path == "/"
        assert app_ctx.app is app


def test_g_mapping_methods(app_ctx: AppContext) -> None:
    g.a = 1
    assert g.get("a") == 1
    assert g.get("missing") is None
    assert g.get("missing", 5) == 5
    assert "a" in g
    assert "missing" not in g
    assert g.setdefault("b", 2) == 2
    assert g.setdefault("b", 3) == 2
    assert sorted(g) == ["a", "b"]
    assert g.pop("a") == 1
    assert g.pop("a", "gone") == "gone"
    with pytest.raises(KeyError):
        g.pop("a")
    del g.b
    with pytest.raises(AttributeError):
        g.b  # noqa: B018
    with pytest.raises(AttributeError):
        del g.b
    assert list(g) == []


def test_g_repr(app_ctx: AppContext) -> None:
    assert repr(g) == "<phial.g of 'test_app'>"


def test_copy_current_request_context_in_thread(app: Phial, client: FlaskClient) -> None:
    results: list[str] = []

    @app.route("/")
    def index() -> str:
        @copy_current_request_context
        def work() -> None:
            results.append(f"{request.path} {request.args['x']} {current_app.name}")

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return "done"

    assert client.get("/?x=7").data == b"done"
    assert results == ["/ 7 test_app"]


def test_copy_current_request_context_outside_raises() -> None:
    with pytest.raises(RuntimeError, match="request context"):
        copy_current_request_context(lambda: None)


def test_after_this_request(app: Phial, client: FlaskClient) -> None:
    @app.after_request
    def global_after(resp: Response) -> Response:
        resp.headers["X-Order"] = resp.headers.get("X-Order", "") + "global"
        return resp

    @app.route("/")
    def index() -> str:
        @after_this_request
        def add_header(resp: Response) -> Response:
            resp.headers["X-Order"] = "once,"
            return resp

        return "x"

    @app.route("/plain")
    def plain() -> str:
        return "y"

    assert client.get("/").headers["X-Order"] == "once,global"
    assert client.get("/plain").headers["X-Order"] == "global"


def test_after_this_request_outside_raises() -> None:
    with pytest.raises(RuntimeError, match="request context"):
        after_this_request(lambda r: r)


def test_stream_with_context_generator(app: Phial, client: FlaskClient) -> None:
    torn: list[t.Any] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        torn.append(exc)

    @app.route("/")
    def index() -> t.Any:
        def gen() -> t.Iterator[str]:
            yield "hello "
            yield request.args["name"]
            yield f" {torn!r}"

        return stream_with_context(gen())

    rv = client.get("/?name=amy")
    assert rv.data == b"hello amy []"
    assert torn == [None]


def test_stream_with_context_decorator(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> t.Any:
        @stream_with_context
        def gen(prefix: str) -> t.Iterator[str]:
            yield prefix
            yield request.path

        return gen("at ")

    assert client.get("/").data == b"at /"


def test_stream_with_context_closed_early(app: Phial, client: FlaskClient) -> None:
    closed: list[bool] = []

    @app.route("/")
    def index() -> t.Any:
        def gen() -> t.Iterator[str]:
            try:
                yield "a"
                yield "b"
            finally:
                closed.append(True)

        return stream_with_context(gen())

    rv = client.get("/")
    rv.close()
    assert closed == [True]


def test_stream_with_context_outside_raises() -> None:
    with pytest.raises(RuntimeError, match="request context"):
        stream_with_context(iter(["a"]))


def test_teardown_not_run_by_nested_push(app: Phial) -> None:
    torn: list[t.Any] = []
    app.teardown_request(torn.append)
    ctx = app.test_request_context()
    with ctx:
        with ctx:
            pass
        assert torn == []
    assert torn == [None]


def test_request_context_pushed_twice_pops_its_app_context_last(app: Phial) -> None:
    ctx = app.test_request_context()
    with ctx:
        outer_app_ctx = app_ctx._get_current_object()  # type: ignore[attr-defined]  # proxy method
        with ctx:
            # The second push found the app current and pushed no app context.
            assert app_ctx._get_current_object() is outer_app_ctx  # type: ignore[attr-defined]  # proxy method
        assert request_ctx._get_current_object() is ctx  # type: ignore[attr-defined]  # proxy method
        assert has_app_context()
    assert not has_request_context()
    assert not has_app_context()
    # Popped completely, it can be pushed again.
    with ctx:
        assert request_ctx._get_current_object() is ctx  # type: ignore[attr-defined]  # proxy method
    assert not has_request_context()


@pytest.mark.parametrize("kind", ["app", "request"])
def test_popping_a_context_that_is_not_pushed_says_so(app: Phial, kind: str) -> None:
    ctx = app.app_context() if kind == "app" else app.test_request_context()
    with pytest.raises(RuntimeError, match="is not pushed: there is nothing to pop"):
        ctx.pop()
    with app.app_context(), pytest.raises(RuntimeError, match="is not pushed"):
        ctx.pop()  # another context being current changes nothing
    with ctx:
        pass
    with pytest.raises(RuntimeError, match="is not pushed"):
        ctx.pop()  # popped once already


def test_context_pop_receives_exception(app: Phial) -> None:
    seen: list[t.Any] = []
    app.teardown_request(seen.append)
    app.teardown_appcontext(seen.append)
    error = ValueError("x")
    with pytest.raises(ValueError), app.test_request_context():
        raise error
    assert seen == [error, error]


def test_raw_context_proxies_unbound_raise() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        app_ctx._get_current_object()  # type: ignore[attr-defined]  # proxy method
    with pytest.raises(RuntimeError, match="request context"):
        request_ctx._get_current_object()  # type: ignore[attr-defined]  # proxy method
