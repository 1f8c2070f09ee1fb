"""Routing: registration, converters, methods, redirects, hosts, and the
literal-path table (``phial._routing``) agreeing with Werkzeug's matcher."""

from __future__ import annotations

import os
import typing as t
import uuid

import pytest
from werkzeug.routing import BaseConverter, Rule
from werkzeug.test import EnvironBuilder as WzEnvironBuilder

from phial import Phial, request
from phial.testing import FlaskClient

HERE = os.path.dirname(os.path.abspath(__file__))


def test_route_and_endpoint_name(app: Phial, client: FlaskClient) -> None:
    @app.route("/hello")
    def hello() -> str:
        return f"endpoint={request.endpoint}"

    assert app.view_functions["hello"] is hello
    rv = client.get("/hello")
    assert rv.status_code == 200
    assert rv.data == b"endpoint=hello"


def test_route_with_explicit_endpoint(app: Phial, client: FlaskClient) -> None:
    @app.route("/x", endpoint="custom")
    def view() -> str:
        return request.endpoint or ""

    assert "custom" in app.view_functions
    assert client.get("/x").data == b"custom"


def test_add_url_rule_with_view(app: Phial, client: FlaskClient) -> None:
    def view() -> str:
        return "added"

    app.add_url_rule("/added", view_func=view)
    assert client.get("/added").data == b"added"


def test_add_url_rule_then_endpoint_decorator(app: Phial, client: FlaskClient) -> None:
    app.add_url_rule("/later", endpoint="later")

    @app.endpoint("later")
    def later() -> str:
        return "bound later"

    assert client.get("/later").data == b"bound later"


def test_add_url_rule_requires_endpoint_or_view(app: Phial) -> None:
    with pytest.raises(TypeError, match="view func"):
        app.add_url_rule("/x")


def test_methods_as_string_raise(app: Phial) -> None:
    with pytest.raises(TypeError, match="list of strings"):
        app.add_url_rule("/x", "x", lambda: "", methods="POST")


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_method_shortcuts(app: Phial, client: FlaskClient, method: str) -> None:
    @getattr(app, method)("/thing")
    def thing() -> str:
        return request.method

    rv = client.open("/thing", method=method.upper())
    assert rv.status_code == 200
    assert rv.data == method.upper().encode()
    other = "POST" if method != "post" else "PUT"
    rv = client.open("/thing", method=other)
    assert rv.status_code == 405


def test_method_shortcut_refuses_methods(app: Phial) -> None:
    with pytest.raises(TypeError, match="route"):
        app.get("/x", methods=["POST"])


def test_methods_and_view_methods_attribute(app: Phial, client: FlaskClient) -> None:
    @app.route("/m", methods=["post", "PUT"])
    def m() -> str:
        return request.method

    def attr_view() -> str:
        return "attr"

    attr_view.methods = ["PATCH"]  # type: ignore[attr-defined]  # as View classes do
    app.add_url_rule("/attr", view_func=attr_view)

    assert client.post("/m").data == b"POST"
    assert client.put("/m").data == b"PUT"
    assert client.get("/m").status_code == 405
    assert client.patch("/attr").data == b"attr"
    assert client.get("/attr").status_code == 405


def test_converters(app: Phial, client: FlaskClient) -> None:
    @app.route("/s/<name>")
    def s(name: str) -> str:
        return f"{type(name).__name__}:{name}"

    @app.route("/i/<int:n>")
    def i(n: int) -> str:
        return f"{type(n).__name__}:{n}"

    @app.route("/f/<float:x>")
    def f(x: float) -> str:
        return f"{type(x).__name__}:{x}"

    @app.route("/p/<path:rest>")
    def p(rest: str) -> str:
        return f"path:{rest}"

    @app.route("/u/<uuid:u>")
    def u(u: uuid.UUID) -> str:
        return f"{type(u).__name__}:{u}"

    @app.route("/a/<any(red, blue):colour>")
    def a(colour: str) -> str:
        return f"any:{colour}"

    assert client.get("/s/bob").data == b"str:bob"
    assert client.get("/s/a/b").status_code == 404
    assert client.get("/i/42").data == b"int:42"
    assert client.get("/i/x").status_code == 404
    assert client.get("/i/-1").status_code == 404
    assert client.get("/f/1.5").data == b"float:1.5"
    assert client.get("/f/1").status_code == 404
    assert client.get("/p/a/b/c.txt").data == b"path:a/b/c.txt"
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert client.get(f"/u/{value}").data == f"UUID:{value}".encode()
    assert client.get("/u/not-a-uuid").status_code == 404
    assert client.get("/a/red").data == b"any:red"
    assert client.get("/a/green").status_code == 404


class _ListConverter(BaseConverter):
    def to_python(self, value: str) -> list[str]:
        return value.split(",")

    def to_url(self, value: list[str]) -> str:
        return ",".join(value)


def test_custom_converter(app: Phial, client: FlaskClient) -> None:
    app.url_map.converters["list"] = _ListConverter

    @app.route("/l/<list:items>")
    def items(items: list[str]) -> str:
        return "|".join(items)

    assert client.get("/l/a,b,c").data == b"a|b|c"
    with app.test_request_context():
        assert app.url_for("items", items=["x", "y"]) == "/l/x,y"


def test_automatic_head(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        return "body"

    rv = client.head("/")
    assert rv.status_code == 200
    assert rv.data == b""
    assert rv.headers["Content-Length"] == "4"


def test_automatic_options(app: Phial, client: FlaskClient) -> None:
    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        raise AssertionError("the view must not run for OPTIONS")

    rv = client.options("/")
    assert rv.status_code == 200
    assert rv.data == b""
    assert sorted(rv.allow) == ["GET", "HEAD", "OPTIONS", "POST"]


def test_options_defined_by_view(app: Phial, client: FlaskClient) -> None:
    @app.route("/", methods=["GET", "OPTIONS"])
    def index() -> str:
        return f"view {request.method}"

    rv = client.options("/")
    assert rv.data == b"view OPTIONS"


def test_provide_automatic_options_false_on_view(app: Phial, client: FlaskClient) -> None:
    def index() -> str:
        return "x"

    index.provide_automatic_options = False  # type: ignore[attr-defined]  # Flask's marker
    app.add_url_rule("/", view_func=index)
    rv = client.options("/")
    assert rv.status_code == 405
    assert sorted(rv.allow) == ["GET", "HEAD"]


def test_provide_automatic_options_argument(app: Phial, client: FlaskClient) -> None:
    app.add_url_rule("/", "index", lambda: "x", provide_automatic_options=False)
    assert client.options("/").status_code == 405


def test_provide_automatic_options_config_false(app: Phial, client: FlaskClient) -> None:
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False

    @app.route("/")
    def index() -> str:
        return "x"

    rv = client.options("/")
    assert rv.status_code == 405
    assert "OPTIONS" not in rv.allow


def test_405_with_allow(app: Phial, client: FlaskClient) -> None:
    @app.route("/", methods=["POST"])
    def index() -> str:
        return "x"

    rv = client.get("/")
    assert rv.status_code == 405
    assert sorted(rv.allow) == ["OPTIONS", "POST"]
    assert b"Method Not Allowed" in rv.data


def test_405_allow_collects_all_rules_of_path(app: Phial, client: FlaskClient) -> None:
    @app.post("/items")
    def create() -> str:
        return "created"

    @app.put("/items")
    def replace() -> str:
        return "replaced"

    rv = client.delete("/items")
    assert rv.status_code == 405
    assert sorted(rv.allow) == ["OPTIONS", "POST", "PUT"]
    assert client.options("/items").allow == rv.allow


def test_strict_slashes_redirect(app: Phial, client: FlaskClient) -> None:
    @app.route("/dir/")
    def directory() -> str:
        return "dir"

    rv = client.get("/dir")
    assert rv.status_code == 308
    assert rv.headers["Location"] == "http://localhost/dir/"
    rv = client.get("/dir?a=1")
    assert rv.headers["Location"] == "http://localhost/dir/?a=1"
    assert client.get("/dir", follow_redirects=True).data == b"dir"


def test_no_trailing_slash_rule_is_404_with_slash(app: Phial, client: FlaskClient) -> None:
    @app.route("/file")
    def file() -> str:
        return "file"

    assert client.get("/file/").status_code == 404


def test_strict_slashes_false(app: Phial, client: FlaskClient) -> None:
    @app.route("/loose/", strict_slashes=False)
    def loose() -> str:
        return "loose"

    assert client.get("/loose").data == b"loose"
    assert client.get("/loose/").data == b"loose"


@pytest.mark.parametrize(
    "path",
    ["//evil.example", "//evil.example/x", "///evil.example/dir", "/\\evil.example", "//dir"],
)
def test_redirects_never_leave_the_host(app: Phial, path: str) -> None:
    @app.route("/<path:p>/")
    def anything(p: str) -> str:
        return p

    @app.route("/dir/")
    def directory() -> str:
        return "dir"

    # PATH_INFO exactly as a server passes it (the test client would read
    # "//evil.example" as a host).
    environ = _environ(path, "GET")
    captured: list[t.Any] = []
    body = app(environ, lambda status, headers, exc_info=None: captured.extend([status, headers]))
    b"".join(body)
    status, headers = captured
    assert status.startswith("308"), status
    location = dict(headers)["Location"]
    assert location.startswith("http://localhost/"), location
    assert not location.startswith("http://localhost//"), location


def test_defaults(app: Phial, client: FlaskClient) -> None:
    @app.route("/page/", defaults={"n": 1})
    @app.route("/page/<int:n>")
    def page(n: int) -> str:
        return f"page {n}"

    assert client.get("/page/").data == b"page 1"
    assert client.get("/page/3").data == b"page 3"
    rv = client.get("/page/1")
    assert rv.status_code == 308
    assert rv.headers["Location"] == "http://localhost/page/"


def test_subdomain_with_server_name(app: Phial) -> None:
    app.config["SERVER_NAME"] = "example.test"
    app.subdomain_matching = True

    @app.route("/", subdomain="api")
    def api() -> str:
        return "api"

    @app.route("/")
    def index() -> str:
        return "root"

    @app.route("/u", subdomain="<user>")
    def user(user: str) -> str:
        return f"user {user}"

    client = app.test_client()
    assert client.get("/", base_url="http://api.example.test").data == b"api"
    assert client.get("/").data == b"root"
    assert client.get("/u", base_url="http://bob.example.test").data == b"user bob"
    assert client.get("/", base_url="http://nope.example.test").status_code == 404
    with app.app_context():
        assert app.url_for("api") == "http://api.example.test/"
        assert app.url_for("user", user="amy") == "http://amy.example.test/u"


def test_subdomain_matching_constructor_argument() -> None:
    app = Phial("x", root_path=HERE, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"

    @app.route("/", subdomain="api")
    def api() -> str:
        return "api"

    rv = app.test_client().get("/", base_url="http://api.example.test")
    assert rv.data == b"api"


def test_server_name_without_subdomain_matching_serves_any_host(app: Phial) -> None:
    app.config["SERVER_NAME"] = "example.test"

    @app.route("/")
    def index() -> str:
        return "root"

    client = app.test_client()
    assert client.get("/", base_url="http://other.test").data == b"root"
    assert client.get("/", base_url="http://sub.example.test").data == b"root"


def test_host_matching() -> None:
    app = Phial("x", root_path=HERE, host_matching=True, static_host="static.test")

    @app.route("/", host="a.test")
    def a() -> str:
        return "a"

    @app.route("/", host="b.test")
    def b() -> str:
        return "b"

    @app.route("/h", host="<name>.dyn.test")
    def dyn(name: str) -> str:
        return f"dyn {name}"

    client = app.test_client()
    assert client.get("/", base_url="http://a.test").data == b"a"
    assert client.get("/", base_url="http://b.test").data == b"b"
    assert client.get("/h", base_url="http://x.dyn.test").data == b"dyn x"
    assert client.get("/", base_url="http://c.test").status_code == 404
    with app.test_request_context(base_url="http://a.test"):
        assert app.url_for("b") == "http://b.test/"


def test_endpoint_reused_by_another_function(app: Phial) -> None:
    @app.route("/a")
    def view() -> str:
        return "a"

    def other() -> str:
        return "b"

    with pytest.raises(AssertionError, match="existing endpoint function: view"):
        app.add_url_rule("/b", "view", other)


def test_same_function_on_two_rules(app: Phial, client: FlaskClient) -> None:
    @app.route("/one")
    @app.route("/two")
    def view() -> str:
        return request.path

    assert client.get("/one").data == b"/one"
    assert client.get("/two").data == b"/two"


def test_request_routing_attributes(app: Phial, client: FlaskClient) -> None:
    @app.route("/r/<int:n>")
    def r(n: int) -> str:
        assert request.url_rule is not None
        return f"{request.url_rule.rule} {request.view_args}"

    assert client.get("/r/5").data == b"/r/<int:n> {'n': 5}"


# -- the literal-path table agrees with Werkzeug's matcher --------------------------


def _environ(path: str, method: str) -> dict[str, t.Any]:
    """An environ whose PATH_INFO is exactly ``path`` as a server would pass it:
    UTF-8 bytes decoded as Latin-1 (the test client would strip a newline)."""
    environ = WzEnvironBuilder(method=method).get_environ()
    environ["PATH_INFO"] = path.encode().decode("latin-1")
    environ["REQUEST_METHOD"] = method
    return environ


def _werkzeug_match(app: Phial, path: str, method: str = "GET") -> t.Any:
    environ = _environ(path, method)
    adapter = app.url_map.bind_to_environ(environ)
    try:
        rule, args = adapter.match(return_rule=True)
    except Exception as e:  # a routing exception is an answer too
        return type(e).__name__
    return rule.endpoint, args


def _phial_match(app: Phial, path: str, method: str = "GET") -> t.Any:
    environ = _environ(path, method)
    ctx = app.request_context(environ)
    ctx.match_request()
    req = ctx.request
    if req.routing_exception is not None:
        return type(req.routing_exception).__name__
    assert req.url_rule is not None
    return req.url_rule.endpoint, req.view_args


def _tricky_app() -> Phial:
    app = Phial("x", root_path=HERE)
    app.add_url_rule("/same", "same_get", lambda: "", methods=["GET"])
    app.add_url_rule("/same", "same_post", lambda: "", methods=["POST"])
    app.add_url_rule("/<name>", "dynamic", lambda name: "")
    app.add_url_rule("/about", "about", lambda: "")
    app.add_url_rule("/only-post", "only_post", lambda: "", methods=["POST"])
    app.add_url_rule("/<word>/post-or-get", "conv_get", lambda word: "", methods=["GET"])
    app.add_url_rule("/lit/post-or-get", "lit_post", lambda: "", methods=["POST"])
    app.add_url_rule("/slash/", "slash", lambda: "")
    app.add_url_rule("/x", "x", lambda: "")
    app.add_url_rule("/caf\u00e9", "cafe", lambda: "")
    app.add_url_rule("/d/", "d_default", lambda n: "", defaults={"n": 1})
    app.add_url_rule("/d/<int:n>", "d_int", lambda n: "")
    app.add_url_rule("/old", "old", redirect_to="/x")
    app.add_url_rule("/built", "built", build_only=True)
    app.add_url_rule("/dup", "dup_first", lambda: "")
    app.add_url_rule("/dup", "dup_second", lambda: "")
    app.add_url_rule("/any-method", "any_method", lambda: "", methods=None)
    app.url_map.add(Rule("/raw", endpoint="raw"))
    app.add_url_rule("/a//b", "merged", lambda: "")
    app.add_url_rule("/c//d", "unmerged", lambda: "", merge_slashes=False)
    return app


_TRICKY_CASES = [
    ("/same", "GET"),
    ("/same", "POST"),
    ("/same", "HEAD"),
    ("/same", "OPTIONS"),
    ("/same", "DELETE"),
    ("/about", "GET"),
    ("/about", "POST"),
    ("/other", "GET"),
    ("/only-post", "GET"),
    ("/only-post", "POST"),
    ("/lit/post-or-get", "GET"),
    ("/lit/post-or-get", "POST"),
    ("/slash", "GET"),
    ("/slash/", "GET"),
    ("/x", "GET"),
    ("/x\n", "GET"),
    ("/x/", "GET"),
    ("//x", "GET"),
    ("/caf\u00e9", "GET"),
    ("/x\r", "GET"),
    ("/x ", "GET"),
    ("/x%0A", "GET"),
    ("/\u00fc", "GET"),
    ("/d/", "GET"),
    ("/d/1", "GET"),
    ("/d/2", "GET"),
    ("/old", "GET"),
    ("/built", "GET"),
    ("/", "GET"),
    ("", "GET"),
    ("/static/app.css", "GET"),
    ("/x", "get"),
    ("/dup", "GET"),
    ("/any-method", "PATCH"),
    ("/raw", "GET"),
    ("/raw", "OPTIONS"),
    ("/a//b", "GET"),
    ("/a/b", "GET"),
    ("/c//d", "GET"),
    ("/c/d", "GET"),
]


@pytest.mark.parametrize(("path", "method"), _TRICKY_CASES)
def test_route_table_agrees_with_werkzeug(path: str, method: str) -> None:
    app = _tricky_app()
    expected = _werkzeug_match(app, path, method)
    app._finish_setup()  # compile the literal-path table
    assert _phial_match(app, path, method) == expected


def _no_catch_all_app() -> Phial:
    # Without a catch-all rule most unknown paths are 404s the route table may
    # answer itself; these rules are the ones that could still claim a path.
    app = Phial("y", root_path=HERE)
    app.add_url_rule("/users/<int:uid>/", "user", lambda uid: "")
    app.add_url_rule("/loose/", "loose", lambda: "", strict_slashes=False)
    app.add_url_rule("/loose2", "loose2", lambda: "", strict_slashes=False)
    app.add_url_rule("/lc/<int:n>/", "lc", lambda n: "", strict_slashes=False)
    app.add_url_rule("/files/<path:p>", "files", lambda p: "")
    app.add_url_rule("/v/<int:n>", "v", lambda n: "")
    app.add_url_rule("/<int:year>/archive", "archive", lambda year: "")
    app.add_url_rule("/old/<int:n>", "old_n", redirect_to="/v/<n>")
    return app


_NO_CATCH_ALL_CASES = [
    "/nothing",
    "/users/1",
    "/users/1/",
    "/users/x/",
    "/users/",
    "/loose",
    "/loose/",
    "/loose2",
    "/loose2/",
    "/lc/3",
    "/lc/3/",
    "/lc/x",
    "/files/a/b",
    "/files/",
    "/v/abc",
    "/v/1",
    "/v/1/",
    "/v//1",
    "/2024/archive",
    "/2024/archive/",
    "/x/archive",
    "/old/4",
    "/",
    "/users/\u00fc/",
]


@pytest.mark.parametrize("path", _NO_CATCH_ALL_CASES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_route_table_404s_agree_with_werkzeug(path: str, method: str) -> None:
    app = _no_catch_all_app()
    expected = _werkzeug_match(app, path, method)
    app._finish_setup()
    assert _phial_match(app, path, method) == expected


def test_route_table_serves_requests_like_werkzeug(app: Phial, client: FlaskClient) -> None:
    @app.route("/x")
    def x() -> str:
        return "x"

    assert client.get("/x").data == b"x"
    # The client decodes %0A into PATH_INFO "/x\n", which must not match "/x".
    assert client.get("/x%0A").status_code == 404
    environ = _environ("/x\n", "GET")
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    assert status == ["404 NOT FOUND"]
    assert b"Not Found" in body


def test_rules_added_to_url_map_after_first_request(app: Phial, client: FlaskClient) -> None:
    @app.route("/first")
    def first() -> str:
        return "first"

    assert client.get("/first").data == b"first"
    # Map.add is not a setup method; Flask serves such rules.
    app.url_map.add(Rule("/new", endpoint="new"))
    app.view_functions["new"] = lambda: "new"
    assert client.get("/new").data == b"new"
    app.url_map.add(Rule("/first-again", endpoint="first"))
    assert client.get("/first-again").data == b"first"
    # A rule for an existing endpoint and path, but another method.
    app.url_map.add(Rule("/first", endpoint="first_post", methods=["POST"]))
    app.view_functions["first_post"] = lambda: "posted"
    assert client.post("/first").data == b"posted"


def test_rule_shadowing_added_after_first_request(app: Phial, client: FlaskClient) -> None:
    @app.route("/shared", methods=["GET"])
    def a() -> str:
        return "a"

    assert client.get("/shared").data == b"a"
    # A second literal rule for an existing endpoint on a path the table knows.
    app.url_map.add(Rule("/other-path", endpoint="a"))
    assert client.get("/other-path").data == b"a"
    assert _phial_match(app, "/other-path") == _werkzeug_match(app, "/other-path")


def test_trusted_hosts_checked_on_literal_routes(app: Phial, client: FlaskClient) -> None:
    app.config["TRUSTED_HOSTS"] = ["good.test"]

    @app.route("/")
    def index() -> str:
        return "ok"

    assert client.get("/", base_url="http://good.test").data == b"ok"
    assert client.get("/", base_url="http://evil.test").status_code == 400
    assert client.get("/", base_url="http://evil.test").status_code == 400


def test_view_required_methods(app: Phial, client: FlaskClient) -> None:
    def view() -> str:
        return request.method

    view.required_methods = ["POST"]  # type: ignore[attr-defined]  # Flask's view attribute
    app.add_url_rule("/rm", "rm", view)
    assert client.get("/rm").data == b"GET"
    assert client.post("/rm").data == b"POST"
    assert sorted(client.options("/rm").allow) == ["GET", "HEAD", "OPTIONS", "POST"]


def test_static_files_on_static_host() -> None:
    app = Phial("x", root_path=HERE, host_matching=True, static_host="static.test")
    client = app.test_client()
    rv = client.get("/static/hello.txt", base_url="http://static.test")
    assert rv.status_code == 200
    assert rv.data == b"Hello, static!\n"
    rv.close()
    assert client.get("/static/hello.txt", base_url="http://other.test").status_code == 404
    with app.test_request_context(base_url="http://other.test"):
        assert app.url_for("static", filename="a.css") == "http://static.test/static/a.css"


def test_certain_404_does_not_run_werkzeugs_matcher(monkeypatch: pytest.MonkeyPatch) -> None:
    from werkzeug.routing import MapAdapter

    app = _no_catch_all_app()
    app._finish_setup()
    calls: list[str] = []
    original = MapAdapter.match

    def spy(self: MapAdapter, *args: t.Any, **kwargs: t.Any) -> t.Any:
        calls.append(str(args[0]) if args else "")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MapAdapter, "match", spy)
    assert _phial_match(app, "/nothing/here") == "NotFound"
    assert calls == []
    # A path a slash rule could claim is still Werkzeug's to decide (a redirect).
    assert _phial_match(app, "/users/1") == "RequestRedirect"
    assert calls == ["/users/1"]
