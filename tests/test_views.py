"""Class-based views: View and MethodView."""

from __future__ import annotations

import inspect
import typing as t
from functools import wraps

import flask.views
import pytest

from phial import Phial, g, request
from phial.views import MethodView, View, http_method_funcs


def _decorate(tag: str) -> t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]]:
    """A plain Flask-style decorator that appends ``tag`` to a string response."""

    def decorator(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        @wraps(f)
        def wrapper(**kwargs: t.Any) -> t.Any:
            return f"{f(**kwargs)}{tag}"

        return wrapper

    return decorator


# -- View -------------------------------------------------------------------------------------


class Index(View):
    """The index page."""

    def dispatch_request(self) -> str:
        return "index"


def test_view(app: Phial, client: t.Any) -> None:
    app.add_url_rule("/", view_func=Index.as_view("index"))
    assert "index" in app.view_functions
    rv = client.get("/")
    assert rv.data == b"index"
    assert client.post("/").status_code == 405
    assert client.head("/").status_code == 200
    rv = client.open("/", method="OPTIONS")
    assert sorted(rv.allow) == ["GET", "HEAD", "OPTIONS"]


def test_as_view_attributes() -> None:
    view = Index.as_view("home")
    assert view.view_class is Index  # type: ignore[union-attr]  # function attribute
    assert view.__name__ == "home"
    assert view.__doc__ == "The index page."
    assert view.__module__ == __name__
    assert view.methods is None  # type: ignore[union-attr]  # function attribute
    assert view.provide_automatic_options is None  # type: ignore[union-attr]  # same


def test_as_view_attributes_match_flask() -> None:
    class FlaskIndex(flask.views.View):
        """The index page."""

        methods = ["GET", "POST"]
        provide_automatic_options = False

        def dispatch_request(self) -> str:
            return "index"

    class PhialIndex(View):
        """The index page."""

        methods = ["GET", "POST"]
        provide_automatic_options = False

        def dispatch_request(self) -> str:
            return "index"

    ours, theirs = PhialIndex.as_view("x"), FlaskIndex.as_view("x")
    for attr in ("__name__", "__doc__", "__module__", "methods", "provide_automatic_options"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr


def test_view_methods_and_url_arguments(app: Phial, client: t.Any) -> None:
    class Item(View):
        methods = ["GET", "POST"]

        def dispatch_request(self, id: int) -> str:
            return f"{request.method} {id + 1}"

    app.add_url_rule("/items/<int:id>", view_func=Item.as_view("item"))
    assert client.get("/items/1").data == b"GET 2"
    assert client.post("/items/41").data == b"POST 42"
    assert client.put("/items/1").status_code == 405


def test_class_arguments(app: Phial, client: t.Any) -> None:
    class Greeting(View):
        def __init__(self, greeting: str, who: str = "world") -> None:
            self.text = f"{greeting}, {who}"

        def dispatch_request(self) -> str:
            return self.text

    app.add_url_rule("/a", view_func=Greeting.as_view("a", "Hello"))
    app.add_url_rule("/b", view_func=Greeting.as_view("b", "Hi", who="you"))
    assert client.get("/a").data == b"Hello, world"
    assert client.get("/b").data == b"Hi, you"


def test_endpoint_argument_overrides_name(app: Phial, client: t.Any) -> None:
    app.add_url_rule("/", "home", Index.as_view("index"))
    assert "home" in app.view_functions
    assert client.get("/").data == b"index"


def test_same_name_twice_is_an_error(app: Phial) -> None:
    app.add_url_rule("/", view_func=Index.as_view("index"))
    with pytest.raises(AssertionError, match="overwriting an existing endpoint"):
        app.add_url_rule("/other", view_func=Index.as_view("index"))


def test_dispatch_request_must_be_implemented(app: Phial, client: t.Any) -> None:
    app.add_url_rule("/", view_func=View.as_view("bare"))
    with pytest.raises(NotImplementedError):
        client.get("/")


def test_init_every_request(app: Phial, client: t.Any) -> None:
    instances: list[View] = []

    class Counter(View):
        def __init__(self) -> None:
            instances.append(self)

        def dispatch_request(self) -> str:
            return str(id(self))

    app.add_url_rule("/", view_func=Counter.as_view("counter"))
    assert instances == []
    first, second = client.get("/").data, client.get("/").data
    assert len(instances) == 2
    assert first != second


def test_init_once(app: Phial, client: t.Any) -> None:
    instances: list[View] = []

    class Counter(View):
        init_every_request = False

        def __init__(self, start: int) -> None:
            instances.append(self)
            self.start = start

        def dispatch_request(self) -> str:
            g.seen = getattr(g, "seen", 0) + 1
            return f"{self.start} {id(self)}"

    view = Counter.as_view("counter", 5)
    assert len(instances) == 1  # made by as_view, before any request
    app.add_url_rule("/", view_func=view)
    first, second = client.get("/").data, client.get("/").data
    assert first == second == f"5 {id(instances[0])}".encode()
    assert len(instances) == 1


def test_decorators(app: Phial, client: t.Any) -> None:
    class Decorated(View):
        decorators = [_decorate("-inner"), _decorate("-outer")]

        def dispatch_request(self) -> str:
            return "view"

    view = Decorated.as_view("decorated")
    assert view.view_class is Decorated  # type: ignore[union-attr]  # set on the wrapper
    assert view.__name__ == "decorated"
    app.add_url_rule("/", view_func=view)
    assert client.get("/").data == b"view-inner-outer"


def test_decorator_can_short_circuit(app: Phial, client: t.Any) -> None:
    def login_required(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        @wraps(f)
        def wrapper(**kwargs: t.Any) -> t.Any:
            if request.args.get("user") is None:
                return "login please", 401
            return f(**kwargs)

        return wrapper

    class Secret(View):
        decorators = [login_required]

        def dispatch_request(self) -> str:
            return "secret"

    app.add_url_rule("/", view_func=Secret.as_view("secret"))
    assert client.get("/").status_code == 401
    assert client.get("/?user=a").data == b"secret"


def test_provide_automatic_options_false(app: Phial, client: t.Any) -> None:
    class NoOptions(View):
        provide_automatic_options = False

        def dispatch_request(self) -> str:
            return "x"

    app.add_url_rule("/", view_func=NoOptions.as_view("x"))
    assert client.open("/", method="OPTIONS").status_code == 405


def test_provide_automatic_options_with_own_options_method(app: Phial, client: t.Any) -> None:
    class Own(View):
        methods = ["GET", "OPTIONS"]

        def dispatch_request(self) -> str:
            return f"own {request.method}"

    app.add_url_rule("/", view_func=Own.as_view("own"))
    assert client.open("/", method="OPTIONS").data == b"own OPTIONS"


def test_async_dispatch_request(app: Phial, client: t.Any) -> None:
    class Async(View):
        async def dispatch_request(self, name: str) -> str:
            return f"hello {name}"

    view = Async.as_view("hello")
    assert inspect.iscoroutinefunction(view)
    app.add_url_rule("/<name>", view_func=view)
    assert client.get("/you").data == b"hello you"


def test_async_dispatch_request_once(app: Phial, client: t.Any) -> None:
    class Async(View):
        init_every_request = False

        async def dispatch_request(self) -> str:
            return str(id(self))

    app.add_url_rule("/", view_func=Async.as_view("x"))
    assert client.get("/").data == client.get("/").data


def test_async_dispatch_request_with_decorators_is_sync(app: Phial, client: t.Any) -> None:
    class Async(View):
        decorators = [_decorate("!")]

        async def dispatch_request(self) -> str:
            return "async"

    view = Async.as_view("x")
    assert not inspect.iscoroutinefunction(view)
    app.add_url_rule("/", view_func=view)
    assert client.get("/").data == b"async!"


# -- MethodView ------------------------------------------------------------------------------


class Counter(MethodView):
    def get(self) -> str:
        return "GET"

    def post(self) -> str:
        return "POST"


def test_method_view(app: Phial, client: t.Any) -> None:
    app.add_url_rule("/", view_func=Counter.as_view("counter"))
    assert client.get("/").data == b"GET"
    assert client.post("/").data == b"POST"
    assert client.put("/").status_code == 405
    assert sorted(client.open("/", method="OPTIONS").allow) == ["GET", "HEAD", "OPTIONS", "POST"]


def test_method_view_methods_collected() -> None:
    assert Counter.methods == {"GET", "POST"}
    assert MethodView.methods is None
    view = Counter.as_view("c")
    assert view.methods == {"GET", "POST"}  # type: ignore[union-attr]  # function attribute


def test_method_view_without_handlers_keeps_none() -> None:
    class Empty(MethodView):
        pass

    assert Empty.methods is None


def test_method_view_inheritance() -> None:
    class Base(MethodView):
        def get(self) -> str:
            return "base"

    class Child(Base):
        def delete(self) -> str:
            return "deleted"

    class Mixin:
        def patch(self) -> str:
            return "patched"

    class Mixed(Mixin, Child):
        pass

    assert Base.methods == {"GET"}
    assert Child.methods == {"GET", "DELETE"}
    assert Mixed.methods == {"GET", "DELETE", "PATCH"}


def test_method_view_explicit_methods_are_kept_and_inherited() -> None:
    class Limited(MethodView):
        methods = ["GET"]

        def get(self) -> str:
            return "get"

        def post(self) -> str:
            return "post"

    class Child(Limited):
        def put(self) -> str:
            return "put"

    assert Limited.methods == ["GET"]
    # A subclass starts from its bases' methods, including an explicit list.
    assert Child.methods == {"GET", "POST", "PUT"}


def test_method_view_methods_match_flask() -> None:
    def build(base: type[t.Any]) -> list[set[str] | None]:
        class A(base):  # type: ignore[misc, valid-type]  # built for each library
            def get(self) -> str:
                return ""

            def trace(self) -> str:
                return ""

        class B(A):
            methods = ["PUT"]

            def options(self) -> str:
                return ""

        class C(B):
            def head(self) -> str:
                return ""

        return [None if cls.methods is None else set(cls.methods) for cls in (base, A, B, C)]

    assert build(MethodView) == build(flask.views.MethodView)
    assert http_method_funcs == flask.views.http_method_funcs


def test_method_view_inherited_handlers_run(app: Phial, client: t.Any) -> None:
    class Base(MethodView):
        def get(self) -> str:
            return f"base {type(self).__name__}"

    class Child(Base):
        def post(self) -> str:
            return "child"

    app.add_url_rule("/", view_func=Child.as_view("child"))
    assert client.get("/").data == b"base Child"
    assert client.post("/").data == b"child"


def test_method_view_url_arguments(app: Phial, client: t.Any) -> None:
    class User(MethodView):
        def get(self, user_id: int) -> dict[str, int]:
            return {"id": user_id}

        def delete(self, user_id: int) -> tuple[str, int]:
            return "", 204

    app.add_url_rule("/users/<int:user_id>", view_func=User.as_view("user"))
    assert client.get("/users/3").json == {"id": 3}
    assert client.delete("/users/3").status_code == 204


def test_head_uses_get(app: Phial, client: t.Any) -> None:
    calls: list[str] = []

    class OnlyGet(MethodView):
        def get(self) -> str:
            calls.append(request.method)
            return "body"

    app.add_url_rule("/", view_func=OnlyGet.as_view("x"))
    rv = client.head("/")
    assert rv.status_code == 200
    assert rv.data == b""
    assert rv.headers["Content-Length"] == "4"
    assert calls == ["HEAD"]


def test_head_handler_preferred(app: Phial, client: t.Any) -> None:
    class WithHead(MethodView):
        def get(self) -> str:
            return "get"

        def head(self) -> tuple[str, int, dict[str, str]]:
            return "", 200, {"X-Head": "1"}

    app.add_url_rule("/", view_func=WithHead.as_view("x"))
    assert client.head("/").headers["X-Head"] == "1"
    assert "X-Head" not in client.get("/").headers


def test_own_options_handler(app: Phial, client: t.Any) -> None:
    class WithOptions(MethodView):
        def get(self) -> str:
            return "get"

        def options(self) -> tuple[str, int, dict[str, str]]:
            return "", 204, {"X-Options": "mine"}

    app.add_url_rule("/", view_func=WithOptions.as_view("x"))
    rv = client.open("/", method="OPTIONS")
    assert (rv.status_code, rv.headers["X-Options"]) == (204, "mine")


def test_method_allowed_by_rule_but_not_implemented_is_405(app: Phial, client: t.Any) -> None:
    app.config["TESTING"] = False
    app.add_url_rule("/", view_func=Counter.as_view("counter"), methods=["GET", "POST", "DELETE"])
    rv = client.delete("/")
    assert rv.status_code == 405
    assert sorted(rv.allow) == ["GET", "HEAD", "POST"]


def test_method_view_decorators(app: Phial, client: t.Any) -> None:
    class Decorated(Counter):
        decorators = [_decorate("+")]

    app.add_url_rule("/", view_func=Decorated.as_view("x"))
    assert client.get("/").data == b"GET+"
    assert client.post("/").data == b"POST+"


def test_method_view_init_once(app: Phial, client: t.Any) -> None:
    made: list[MethodView] = []

    class Once(MethodView):
        init_every_request = False

        def __init__(self) -> None:
            made.append(self)

        def get(self) -> str:
            return str(id(self))

    app.add_url_rule("/", view_func=Once.as_view("x"))
    assert client.get("/").data == client.get("/").data == str(id(made[0])).encode()
    assert len(made) == 1


def test_static_and_class_method_handlers(app: Phial, client: t.Any) -> None:
    class Odd(MethodView):
        @staticmethod
        def get() -> str:
            return "static"

        @classmethod
        def post(cls) -> str:
            return cls.__name__

    app.add_url_rule("/", view_func=Odd.as_view("x"))
    assert client.get("/").data == b"static"
    assert client.post("/").data == b"Odd"


# -- async handlers ------------------------------------------------------------------------


class AsyncItems(MethodView):
    async def get(self, n: int) -> str:
        return f"get {n}"

    async def post(self, n: int) -> str:
        return f"post {n} {request.get_json()}"


def test_async_method_view(app: Phial, client: t.Any) -> None:
    view = AsyncItems.as_view("items")
    # Every handler is a coroutine and nothing decorates the view: over ASGI the
    # view is awaited on the server's loop.
    assert inspect.iscoroutinefunction(view)
    app.add_url_rule("/<int:n>", view_func=view)
    assert client.get("/1").data == b"get 1"
    assert client.post("/2", json=[1]).data == b"post 2 [1]"
    rv = client.head("/3")
    assert (rv.status_code, rv.data) == (200, b"")
    assert client.put("/1").status_code == 405


def test_async_method_view_unimplemented_is_405(app: Phial, client: t.Any) -> None:
    app.add_url_rule("/<int:n>", view_func=AsyncItems.as_view("items"), methods=["GET", "PUT"])
    rv = client.put("/1")
    assert rv.status_code == 405


def test_mixed_sync_and_async_handlers(app: Phial, client: t.Any) -> None:
    class Mixed(MethodView):
        def get(self) -> str:
            return "sync"

        async def post(self) -> str:
            return "async"

    view = Mixed.as_view("mixed")
    assert not inspect.iscoroutinefunction(view)
    app.add_url_rule("/", view_func=view)
    assert client.get("/").data == b"sync"
    assert client.post("/").data == b"async"


def test_async_handlers_with_decorators(app: Phial, client: t.Any) -> None:
    class Decorated(AsyncItems):
        decorators = [_decorate("!")]

    view = Decorated.as_view("x")
    assert not inspect.iscoroutinefunction(view)
    app.add_url_rule("/<int:n>", view_func=view)
    assert client.get("/5").data == b"get 5!"


def test_async_method_view_init_once(app: Phial, client: t.Any) -> None:
    class Once(AsyncItems):
        init_every_request = False

        async def get(self, n: int) -> str:
            return f"{id(self)}"

    app.add_url_rule("/<int:n>", view_func=Once.as_view("x"))
    assert client.get("/1").data == client.get("/2").data


def test_overridden_dispatch_request_is_used(app: Phial, client: t.Any) -> None:
    class Custom(MethodView):
        async def get(self) -> str:
            return "get"

        async def dispatch_request(self, **kwargs: t.Any) -> str:  # type: ignore[override]  # async override
            return "custom " + await self.get()

    view = Custom.as_view("x")
    assert inspect.iscoroutinefunction(view)
    app.add_url_rule("/", view_func=view)
    assert client.get("/").data == b"custom get"


def test_sync_override_of_dispatch_request(app: Phial, client: t.Any) -> None:
    class Custom(AsyncItems):
        def dispatch_request(self, **kwargs: t.Any) -> t.Any:
            return "wrapped " + str(super().dispatch_request(**kwargs))

    view = Custom.as_view("x")
    assert not inspect.iscoroutinefunction(view)
    app.add_url_rule("/<int:n>", view_func=view)
    assert client.get("/7").data == b"wrapped get 7"


def test_sync_wrapper_cache_does_not_grow_per_request(app: Phial, client: t.Any) -> None:
    class Mixed(MethodView):
        def get(self) -> str:
            return "sync"

        async def post(self) -> str:
            return "async"

    class AsyncWithDecorator(View):
        decorators = [_decorate("")]

        async def dispatch_request(self) -> str:
            return "x"

    app.add_url_rule("/", view_func=Mixed.as_view("mixed"))
    app.add_url_rule("/d", view_func=AsyncWithDecorator.as_view("d"))
    for _ in range(3):
        client.get("/")
        client.post("/")
        client.get("/d")
    size = len(app._sync_wrappers)
    for _ in range(20):
        client.get("/")
        client.post("/")
        client.get("/d")
    assert len(app._sync_wrappers) == size


def test_views_module_is_not_reexported_at_top_level() -> None:
    import phial

    assert not hasattr(phial, "View")
    assert not hasattr(phial, "MethodView")


def test_head_without_get_is_405(app: Phial, client: t.Any) -> None:
    class PostOnly(MethodView):
        def post(self) -> str:
            return "post"

    app.add_url_rule("/", view_func=PostOnly.as_view("x"), methods=["POST", "HEAD"])
    rv = client.head("/")
    assert rv.status_code == 405
    assert sorted(rv.allow) == ["POST"]
