"""Blueprints: registration, nesting, multiple registration, hooks, handlers,
URLs, static files, CLI commands and the errors that guard misuse."""

from __future__ import annotations

import typing as t

import click
import pytest
from werkzeug.exceptions import NotFound

from phial import Blueprint, Phial, abort, g, request, url_for
from phial.blueprints import BlueprintSetupState
from phial.sansio.blueprints import Blueprint as SansioBlueprint

if t.TYPE_CHECKING:
    from pathlib import Path

    from phial.testing import FlaskClient


def _rules(app: Phial) -> dict[str, tuple[str, str | None]]:
    """endpoint → (rule, subdomain or None) for every rule but the app's static one."""
    return {
        r.endpoint: (r.rule, r.subdomain or None)
        for r in app.url_map.iter_rules()
        if r.endpoint != "static"
    }


# -- construction ---------------------------------------------------------------------


def test_constructor_stores_the_options() -> None:
    bp = Blueprint(
        "admin",
        __name__,
        template_folder="templates",
        url_prefix="/admin",
        subdomain="backoffice",
        url_defaults={"page": 1},
        root_path="/srv/admin",
        cli_group="adm",
    )
    assert bp.name == "admin"
    assert bp.import_name == __name__
    assert bp.url_prefix == "/admin"
    assert bp.subdomain == "backoffice"
    assert bp.url_values_defaults == {"page": 1}
    assert bp.root_path == "/srv/admin"
    assert bp.template_folder == "templates"
    assert bp.cli_group == "adm"
    assert not bp.has_static_folder
    assert repr(bp) == "<Blueprint 'admin'>"
    assert isinstance(bp, SansioBlueprint)


def test_root_path_defaults_to_the_import_names_folder() -> None:
    import os

    bp = Blueprint("bp", __name__)
    assert bp.root_path == os.path.dirname(os.path.abspath(__file__))


def test_url_defaults_argument_is_copied() -> None:
    defaults = {"a": 1}
    bp = Blueprint("bp", __name__, url_defaults=defaults)
    defaults["a"] = 2
    assert bp.url_values_defaults == {"a": 1}


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "'name' may not be empty."), ("a.b", "'name' may not contain a dot '.'")],
)
def test_invalid_names_raise(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Blueprint(name, __name__)


# -- routes and prefixes ----------------------------------------------------------------


def test_routes_are_registered_with_the_blueprint_name(app: Phial, client: FlaskClient) -> None:
    bp = Blueprint("shop", __name__)

    @bp.route("/items")
    def items() -> str:
        return f"{request.endpoint} {request.blueprint} {request.blueprints}"

    @bp.post("/items")
    def create() -> str:
        return "created"

    app.register_blueprint(bp)
    assert app.blueprints == {"shop": bp}
    assert list(app.iter_blueprints()) == [bp]
    assert app.view_functions["shop.items"] is items
    assert client.get("/items").text == "shop.items shop ['shop']"
    assert client.post("/items").text == "created"


def test_app_routes_have_no_blueprint(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        return f"{request.blueprint} {request.blueprints}"

    app.register_blueprint(Blueprint("bp", __name__))
    assert client.get("/").text == "None []"


@pytest.mark.parametrize(
    ("bp_prefix", "option", "rule", "expected"),
    [
        ("/admin", None, "/users", "/admin/users"),
        ("/admin/", None, "/users", "/admin/users"),
        ("/admin", None, "users", "/admin/users"),
        ("/admin", None, "", "/admin"),
        ("/admin", "/staff", "/users", "/staff/users"),
        ("/admin", "", "/users", "/users"),
        (None, "/given", "/users", "/given/users"),
        (None, None, "/users", "/users"),
    ],
)
def test_url_prefix(
    app: Phial, bp_prefix: str | None, option: str | None, rule: str, expected: str
) -> None:
    bp = Blueprint("bp", __name__, url_prefix=bp_prefix)
    bp.add_url_rule(rule, "view", lambda: "ok")
    options = {} if option is None else {"url_prefix": option}
    app.register_blueprint(bp, **options)
    assert _rules(app)["bp.view"][0] == expected


def test_add_url_rule_passes_rule_options(app: Phial, client: FlaskClient) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    def view() -> str:
        return request.method

    bp.add_url_rule("/m", view_func=view, methods=["PUT"], provide_automatic_options=False)
    app.register_blueprint(bp)
    assert client.put("/bp/m").text == "PUT"
    assert client.get("/bp/m").status_code == 405
    assert client.options("/bp/m").status_code == 405


def test_endpoint_decorator_is_scoped(app: Phial, client: FlaskClient) -> None:
    bp = Blueprint("bp", __name__)
    bp.add_url_rule("/e", "named")

    @bp.endpoint("named")
    def named() -> str:
        return "by endpoint"

    app.register_blueprint(bp)
    assert app.view_functions["bp.named"] is named
    assert client.get("/e").text == "by endpoint"


def test_blueprint_url_defaults_reach_the_view(app: Phial, client: FlaskClient) -> None:
    bp = Blueprint("bp", __name__, url_defaults={"page": 1, "size": 10})

    @bp.route("/list")
    def listing(page: int, size: int) -> str:
        return f"{page} {size}"

    @bp.route("/own", defaults={"size": 5, "page": 2})
    def own(page: int, size: int) -> str:
        return f"{page} {size}"

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="big", url_prefix="/big", url_defaults={"size": 100})
    assert client.get("/list").text == "1 10"
    assert client.get("/own").text == "2 5"
    assert client.get("/big/list").text == "1 100"
    assert client.get("/big/own").text == "2 5"


# -- nesting -----------------------------------------------------------------------------


def _three_levels() -> tuple[Blueprint, Blueprint, Blueprint]:
    a = Blueprint("a", __name__, url_prefix="/a")
    b = Blueprint("b", __name__, url_prefix="/b")
    c = Blueprint("c", __name__, url_prefix="/c")
    for bp in (a, b, c):

        @bp.route("/where", endpoint="where")
        def where() -> str:
            return f"{request.endpoint}|{request.blueprint}|{','.join(request.blueprints)}"

        @bp.route("/urls", endpoint="urls")
        def urls() -> str:
            return " ".join(
                [url_for(".where"), url_for("a.where"), url_for("a.b.c.where"), url_for(".urls")]
            )

    b.register_blueprint(c)
    a.register_blueprint(b)
    return a, b, c


def test_nested_three_levels(app: Phial, client: FlaskClient) -> None:
    a, _, c = _three_levels()
    app.register_blueprint(a)
    assert list(app.blueprints) == ["a", "a.b", "a.b.c"]
    assert app.blueprints["a.b.c"] is c
    assert client.get("/a/where").text == "a.where|a|a"
    assert client.get("/a/b/where").text == "a.b.where|a.b|a.b,a"
    assert client.get("/a/b/c/where").text == "a.b.c.where|a.b.c|a.b.c,a.b,a"


def test_relative_and_absolute_url_for_in_nested_blueprints(
    app: Phial, client: FlaskClient
) -> None:
    app.register_blueprint(_three_levels()[0])

    @app.route("/where")
    def where() -> str:
        return "app"

    @app.route("/app-urls")
    def app_urls() -> str:
        return f"{url_for('.where')} {url_for('a.b.where')}"

    assert client.get("/a/b/c/urls").text == "/a/b/c/where /a/where /a/b/c/where /a/b/c/urls"
    assert client.get("/a/b/urls").text == "/a/b/where /a/where /a/b/c/where /a/b/urls"
    assert client.get("/app-urls").text == "/where /a/b/where"
    with app.test_request_context():
        assert url_for("a.b.c.where", _external=True) == "http://localhost/a/b/c/where"


def test_nested_prefix_options_combine(app: Phial) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/parent")
    child = Blueprint("child", __name__, url_prefix="/child")
    child.add_url_rule("/x", "x", lambda: "x")
    bare = Blueprint("bare", __name__)
    bare.add_url_rule("/y", "y", lambda: "y")
    parent.register_blueprint(child, url_prefix="/kid/")
    parent.register_blueprint(bare)
    app.register_blueprint(parent, url_prefix="/p/")
    rules = _rules(app)
    assert rules["parent.child.x"][0] == "/p/kid/x"
    assert rules["parent.bare.y"][0] == "/p/y"


def test_nested_child_with_prefix_under_unprefixed_parent(app: Phial) -> None:
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__, url_prefix="/child")
    child.add_url_rule("/x", "x", lambda: "x")
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert _rules(app)["parent.child.x"][0] == "/child/x"


def test_parent_url_defaults_do_not_reach_nested_views(app: Phial, client: FlaskClient) -> None:
    # As in Flask, url_defaults belong to one blueprint's own rules.
    parent = Blueprint("parent", __name__, url_prefix="/p", url_defaults={"a": 1})
    child = Blueprint("child", __name__, url_prefix="/c", url_defaults={"b": 2})

    @child.route("/x")
    def x(**kwargs: t.Any) -> str:
        return repr(kwargs)

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert client.get("/p/c/x").text == "{'b': 2}"


def test_register_nested_blueprint_twice_with_names(app: Phial, client: FlaskClient) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__)

    @child.route("/x")
    def x() -> str:
        return f"{request.blueprint} {url_for('.x')}"

    parent.register_blueprint(child, url_prefix="/one")
    parent.register_blueprint(child, name="two", url_prefix="/two")
    app.register_blueprint(parent)
    assert client.get("/p/one/x").text == "parent.child /p/one/x"
    assert client.get("/p/two/x").text == "parent.two /p/two/x"


def test_registering_the_parent_twice_registers_children_twice(
    app: Phial, client: FlaskClient
) -> None:
    a, _, _ = _three_levels()
    app.register_blueprint(a)
    app.register_blueprint(a, name="z", url_prefix="/z")
    assert list(app.blueprints) == ["a", "a.b", "a.b.c", "z", "z.b", "z.b.c"]
    assert client.get("/z/b/c/where").text == "z.b.c.where|z.b.c|z.b.c,z.b,z"
    assert client.get("/z/b/c/urls").text == "/z/b/c/where /a/where /a/b/c/where /z/b/c/urls"


# -- subdomains --------------------------------------------------------------------------


@pytest.fixture
def sub_app() -> Phial:
    app = Phial("sub_app", subdomain_matching=True, static_folder=None)
    app.config.update(TESTING=True, SERVER_NAME="example.test")
    return app


def test_subdomains_combine_when_nested(sub_app: Phial) -> None:
    api = Blueprint("api", __name__, subdomain="api")
    v1 = Blueprint("v1", __name__, subdomain="v1")
    plain = Blueprint("plain", __name__)
    overridden = Blueprint("over", __name__, subdomain="ignored")
    for bp in (api, v1, plain, overridden):

        @bp.route("/")
        def index() -> str:
            return f"{request.blueprint} {url_for('.index')} {url_for('.index', _external=True)}"

    api.register_blueprint(v1)
    api.register_blueprint(plain)
    api.register_blueprint(overridden, subdomain="given")
    sub_app.register_blueprint(api)
    rules = _rules(sub_app)
    assert rules["api.index"][1] == "api"
    assert rules["api.v1.index"][1] == "v1.api"
    assert rules["api.plain.index"][1] == "api"
    assert rules["api.over.index"][1] == "given.api"

    client = sub_app.test_client()
    assert client.get("/", subdomain="api").text == "api / http://api.example.test/"
    assert client.get("/", subdomain="v1.api").text == "api.v1 / http://v1.api.example.test/"
    assert client.get("/", subdomain="v1").status_code == 404
    assert client.get("/").status_code == 404
    with sub_app.app_context():
        assert url_for("api.v1.index") == "http://v1.api.example.test/"


def test_registration_subdomain_overrides_the_blueprints(sub_app: Phial) -> None:
    bp = Blueprint("bp", __name__, subdomain="own")
    bp.add_url_rule("/", "index", lambda: request.host)
    sub_app.register_blueprint(bp)
    sub_app.register_blueprint(bp, name="other", subdomain="given")
    sub_app.register_blueprint(bp, name="root", subdomain="")
    client = sub_app.test_client()
    assert client.get("/", subdomain="own").text == "own.example.test"
    assert client.get("/", subdomain="given").text == "given.example.test"
    assert client.get("/").text == "example.test"


def test_child_subdomain_under_an_empty_parent_subdomain(app: Phial) -> None:
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__, subdomain="api")
    child.add_url_rule("/", "index", lambda: "x")
    parent.register_blueprint(child)
    app.register_blueprint(parent, subdomain="")
    assert _rules(app)["parent.child.index"][1] == "api"


# -- registering twice -------------------------------------------------------------------


def test_register_twice_with_name(app: Phial, client: FlaskClient) -> None:
    bp = Blueprint("bp", __name__)
    calls: list[str] = []

    @bp.route("/")
    def index() -> str:
        return f"{request.blueprint} {url_for('.index')}"

    @bp.before_request
    def before() -> None:
        calls.append(t.cast(str, request.blueprint))

    app.register_blueprint(bp, url_prefix="/first")
    app.register_blueprint(bp, name="second", url_prefix="/second")
    assert app.blueprints == {"bp": bp, "second": bp}
    assert client.get("/first/").text == "bp /first/"
    assert client.get("/second/").text == "second /second/"
    assert calls == ["bp", "second"]


def test_register_twice_under_the_same_name_raises(app: Phial) -> None:
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    with pytest.raises(ValueError, match="already registered for this blueprint") as exc:
        app.register_blueprint(bp, url_prefix="/again")
    assert "Use 'name=' to provide a unique name." in str(exc.value)


def test_two_blueprints_with_one_name_raise(app: Phial) -> None:
    app.register_blueprint(Blueprint("bp", __name__))
    with pytest.raises(ValueError, match="already registered for a different blueprint"):
        app.register_blueprint(Blueprint("bp", __name__))


def test_nested_name_clash_names_the_full_name(app: Phial) -> None:
    parent = Blueprint("parent", __name__)
    parent.register_blueprint(Blueprint("kid", __name__))
    parent.register_blueprint(Blueprint("kid", __name__))
    with pytest.raises(ValueError, match=r"'kid' is already registered .* as 'parent\.kid'"):
        app.register_blueprint(parent)


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "'name=' option may not be empty"), ("x.y", "'name=' option may not contain a dot")],
)
def test_invalid_registration_names_raise(app: Phial, name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        app.register_blueprint(Blueprint("bp", __name__), name=name)
    assert app.blueprints == {}


def test_blueprint_on_two_apps(tmp_path: Path) -> None:
    bp = Blueprint("bp", __name__)
    once: list[Phial] = []
    bp.record_once(lambda s: once.append(t.cast(Phial, s.app)))
    bp.add_url_rule("/", "index", lambda: "index")
    apps = [Phial("one", root_path=str(tmp_path)), Phial("two", root_path=str(tmp_path))]
    for app in apps:
        app.register_blueprint(bp)
        app.register_blueprint(bp, name="again", url_prefix="/again")
        assert app.test_client().get("/again/").text == "index"
    assert once == apps


# -- record, record_once and the setup state ---------------------------------------------


def test_record_and_setup_state(app: Phial) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp", subdomain="sub", url_defaults={"x": 1})
    states: list[BlueprintSetupState] = []
    firsts: list[BlueprintSetupState] = []
    bp.record(states.append)
    bp.record_once(firsts.append)
    app.register_blueprint(bp, custom="value", url_defaults={"y": 2})
    app.register_blueprint(bp, name="b2", url_prefix="/b2", subdomain="s2")

    first, second = states
    assert firsts == [first]
    assert first.app is app
    assert first.blueprint is bp
    assert first.first_registration
    assert first.options == {"custom": "value", "url_defaults": {"y": 2}}
    assert (first.name, first.name_prefix, first.full_name) == ("bp", "", "bp")
    assert (first.url_prefix, first.subdomain) == ("/bp", "sub")
    assert first.url_defaults == {"x": 1, "y": 2}
    assert not second.first_registration
    assert (second.name, second.url_prefix, second.subdomain) == ("b2", "/b2", "s2")


def test_record_once_keeps_the_wrapped_functions_name() -> None:
    bp = Blueprint("bp", __name__)

    def setup_thing(state: BlueprintSetupState) -> None:
        pass

    bp.record_once(setup_thing)
    assert bp.deferred_functions[0].__name__ == "setup_thing"


def test_make_setup_state_can_be_overridden(app: Phial) -> None:
    class State(BlueprintSetupState):
        pass

    class MyBlueprint(Blueprint):
        def make_setup_state(
            self, app: t.Any, options: dict[str, t.Any], first_registration: bool = False
        ) -> BlueprintSetupState:
            return State(self, app, options, first_registration)

    bp = MyBlueprint("bp", __name__)
    seen: list[BlueprintSetupState] = []
    bp.record(seen.append)
    app.register_blueprint(bp)
    assert type(seen[0]) is State


def test_nested_setup_state_names(app: Phial) -> None:
    a, b, c = (Blueprint(n, __name__) for n in "abc")
    states: list[BlueprintSetupState] = []
    c.record(states.append)
    b.register_blueprint(c, name="cc")
    a.register_blueprint(b)
    app.register_blueprint(a)
    (state,) = states
    assert (state.name, state.name_prefix, state.full_name) == ("cc", "a.b", "a.b.cc")


def test_setup_state_add_url_rule_merges_defaults(app: Phial, client: FlaskClient) -> None:
    bp = Blueprint("bp", __name__, url_defaults={"a": 1, "b": 1})

    def view(a: int, b: int) -> str:
        return f"{a}{b}"

    bp.record(lambda s: s.add_url_rule("/v", view_func=view, defaults={"b": 2}))
    app.register_blueprint(bp)
    assert client.get("/v").text == "12"
    assert _rules(app)["bp.view"] == ("/v", None)


# -- request hooks -----------------------------------------------------------------------


def test_hooks_run_outermost_first_before_and_innermost_first_after(
    app: Phial, client: FlaskClient
) -> None:
    log: list[str] = []
    a, b, c = (Blueprint(n, __name__, url_prefix=f"/{n}") for n in "abc")

    @c.route("/")
    def view() -> str:
        log.append("view")
        return "ok"

    def hooks(scaffold: t.Any, label: str) -> None:
        @scaffold.url_value_preprocessor
        def uvp(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
            log.append(f"uvp {label}")

        for n in (1, 2):

            @scaffold.before_request
            def before(n: int = n) -> None:
                log.append(f"before {label}{n}")

            @scaffold.after_request
            def after(response: t.Any, n: int = n) -> t.Any:
                log.append(f"after {label}{n}")
                return response

            @scaffold.teardown_request
            def teardown(exc: BaseException | None, n: int = n) -> None:
                log.append(f"teardown {label}{n}")

    for scaffold, label in ((app, "app"), (a, "a"), (b, "b"), (c, "c")):
        hooks(scaffold, label)
    b.register_blueprint(c)
    a.register_blueprint(b)
    app.register_blueprint(a)

    assert client.get("/a/b/c/").text == "ok"
    assert log == [
        "uvp app", "uvp a", "uvp b", "uvp c",
        "before app1", "before app2", "before a1", "before a2",
        "before b1", "before b2", "before c1", "before c2",
        "view",
        "after c2", "after c1", "after b2", "after b1",
        "after a2", "after a1", "after app2", "after app1",
        "teardown c2", "teardown c1", "teardown b2", "teardown b1",
        "teardown a2", "teardown a1", "teardown app2", "teardown app1",
    ]  # fmt: skip


def test_blueprint_hooks_only_run_for_its_requests(app: Phial, client: FlaskClient) -> None:
    log: list[str] = []
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")
    other = Blueprint("other", __name__, url_prefix="/o")
    for bp in (parent, child, other):
        bp.add_url_rule("/", "index", lambda: "ok")
        bp.before_request(lambda bp=bp: log.append(bp.name))  # type: ignore[misc]
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    app.register_blueprint(other)
    app.add_url_rule("/", "index", lambda: "app")

    client.get("/")
    assert log == []
    client.get("/p/")
    assert log == ["parent"]
    client.get("/p/c/")
    assert log == ["parent", "parent", "child"]
    client.get("/o/")
    assert log == ["parent", "parent", "child", "other"]


def test_before_request_return_value_ends_the_request(app: Phial, client: FlaskClient) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__)
    child.add_url_rule("/", "index", lambda: "view")
    parent.before_request(lambda: "stopped by parent")
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert client.get("/p/").text == "stopped by parent"


def test_app_wide_hooks_from_a_blueprint(app: Phial, client: FlaskClient) -> None:
    log: list[str] = []
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    bp.add_url_rule("/", "index", lambda: "bp")
    app.add_url_rule("/", "index", lambda: "app")

    @bp.before_app_request
    def before() -> None:
        log.append("before")

    @bp.after_app_request
    def after(response: t.Any) -> t.Any:
        log.append("after")
        return response

    @bp.teardown_app_request
    def teardown(exc: BaseException | None) -> None:
        log.append("teardown")

    @bp.app_url_value_preprocessor
    def uvp(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        log.append(f"uvp {endpoint}")

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="again", url_prefix="/again")
    assert app.before_request_funcs[None] == [before]
    assert app.after_request_funcs[None] == [after]
    assert app.teardown_request_funcs[None] == [teardown]
    assert app.url_value_preprocessors[None] == [uvp]
    client.get("/")
    assert log == ["uvp index", "before", "after", "teardown"]


# -- URL values --------------------------------------------------------------------------


def test_url_value_preprocessor_and_url_defaults_with_nesting(
    app: Phial, client: FlaskClient
) -> None:
    lang = Blueprint("lang", __name__, url_prefix="/<lang_code>")
    pages = Blueprint("pages", __name__, url_prefix="/pages")

    @lang.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        assert values is not None
        g.lang_code = values.pop("lang_code")

    @lang.url_defaults
    def add_lang(endpoint: str, values: dict[str, t.Any]) -> None:
        if "lang_code" not in values:
            values["lang_code"] = g.lang_code

    @pages.route("/<name>")
    def page(name: str) -> str:
        return f"{g.lang_code} {name} {url_for('.page', name='other')}"

    lang.register_blueprint(pages)
    app.register_blueprint(lang)

    @app.route("/plain")
    def plain() -> str:
        return url_for("lang.pages.page", name="x", lang_code="de")

    assert client.get("/fr/pages/about").text == "fr about /fr/pages/other"
    assert client.get("/plain").text == "/de/pages/x"


def test_url_defaults_run_app_first_then_outer_to_inner(app: Phial) -> None:
    order: list[str] = []
    a, b = Blueprint("a", __name__), Blueprint("b", __name__)
    b.add_url_rule("/<x>", "view", lambda x: x)
    for scaffold, label in ((app, "app"), (a, "a"), (b, "b")):
        scaffold.url_defaults(
            lambda endpoint, values, label=label: order.append(label)  # type: ignore[misc]
        )
    a.register_blueprint(b)
    app.register_blueprint(a)
    with app.test_request_context():
        assert url_for("a.b.view", x="1") == "/1"
    assert order == ["app", "a", "b"]


def test_app_url_defaults_from_a_blueprint(app: Phial) -> None:
    bp = Blueprint("bp", __name__)

    @bp.app_url_defaults
    def fill(endpoint: str, values: dict[str, t.Any]) -> None:
        values.setdefault("page", 7)

    app.add_url_rule("/<int:page>", "page", lambda page: str(page))
    app.register_blueprint(bp)
    with app.test_request_context():
        assert url_for("page") == "/7"


# -- error handlers ----------------------------------------------------------------------


class _Oops(Exception):
    pass


def test_error_handlers_innermost_blueprint_first(app: Phial, client: FlaskClient) -> None:
    a = Blueprint("a", __name__, url_prefix="/a")
    b = Blueprint("b", __name__, url_prefix="/b")
    c = Blueprint("c", __name__, url_prefix="/c")

    @c.route("/value")
    def value() -> str:
        raise ValueError

    @c.route("/key")
    def key() -> str:
        raise KeyError

    @c.route("/oops")
    def oops() -> str:
        raise _Oops

    @c.route("/forbidden")
    def forbidden() -> str:
        abort(403)

    @b.route("/value")
    def b_value() -> str:
        raise ValueError

    c.register_error_handler(ValueError, lambda e: ("c value", 500))
    b.register_error_handler(ValueError, lambda e: ("b value", 500))
    b.register_error_handler(LookupError, lambda e: ("b lookup", 500))
    a.register_error_handler(403, lambda e: ("a 403", 403))
    app.register_error_handler(Exception, lambda e: ("app exception", 500))
    app.register_error_handler(403, lambda e: ("app 403", 403))
    b.register_blueprint(c)
    a.register_blueprint(b)
    app.register_blueprint(a)

    @app.route("/value")
    def app_value() -> str:
        raise ValueError

    assert client.get("/a/b/c/value").text == "c value"
    assert client.get("/a/b/value").text == "b value"
    assert client.get("/a/b/c/key").text == "b lookup"
    assert client.get("/a/b/c/oops").text == "app exception"
    assert client.get("/a/b/c/forbidden").text == "a 403"
    assert client.get("/value").text == "app exception"


def test_blueprint_404_handler_does_not_see_routing_errors(app: Phial, client: FlaskClient) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.route("/missing")
    def missing() -> str:
        abort(404)

    bp.register_error_handler(404, lambda e: ("bp 404", 404))
    app.register_error_handler(404, lambda e: ("app 404", 404))
    app.register_blueprint(bp)
    assert client.get("/bp/missing").text == "bp 404"
    # No rule matched, so no blueprint is active: the app's handler answers.
    assert client.get("/bp/nothing-here").text == "app 404"


def test_app_errorhandler_from_a_blueprint(app: Phial, client: FlaskClient) -> None:
    bp = Blueprint("bp", __name__)

    @bp.app_errorhandler(NotFound)
    def not_found(e: NotFound) -> tuple[str, int]:
        return "handled by blueprint for the app", 404

    @bp.app_errorhandler(_Oops)
    def oops(e: _Oops) -> str:
        return "oops"

    @app.route("/boom")
    def boom() -> str:
        raise _Oops

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="again")
    assert client.get("/nowhere").text == "handled by blueprint for the app"
    assert client.get("/boom").text == "oops"
    assert app.error_handler_spec[None][404] == {NotFound: not_found}


def test_app_errorhandler_rejects_bad_keys_at_decoration() -> None:
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="not a recognized HTTP error code"):
        bp.app_errorhandler(999)(lambda e: "x")


def test_errorhandler_registered_twice_under_two_names(app: Phial, client: FlaskClient) -> None:
    bp = Blueprint("bp", __name__)

    @bp.route("/")
    def index() -> str:
        raise _Oops

    @bp.errorhandler(_Oops)
    def handle(e: _Oops) -> str:
        return f"handled in {request.blueprint}"

    app.register_blueprint(bp, url_prefix="/one")
    app.register_blueprint(bp, name="two", url_prefix="/two")
    assert client.get("/one/").text == "handled in bp"
    assert client.get("/two/").text == "handled in two"


# -- templates and context processors ----------------------------------------------------


class _TemplateCalls:
    """Stands in for the templating layer's app methods, recording the calls."""

    def __init__(self, app: Phial) -> None:
        self.calls: list[tuple[str, t.Any, str | None]] = []
        for kind in ("filter", "test", "global"):
            setattr(app, f"add_template_{kind}", self._recorder(kind))

    def _recorder(self, kind: str) -> t.Callable[..., None]:
        def record(f: t.Any, name: str | None = None) -> None:
            self.calls.append((kind, f, name))

        return record


def test_app_template_registrations_call_the_app(app: Phial) -> None:
    templating = _TemplateCalls(app)
    bp = Blueprint("bp", __name__)

    @bp.app_template_filter()
    def shout(s: str) -> str:
        return s.upper()

    @bp.app_template_filter("whisper")
    def quiet(s: str) -> str:
        return s.lower()

    @bp.app_template_test("odd")
    def is_odd(n: int) -> bool:
        return n % 2 == 1

    @bp.app_template_global()
    def answer() -> int:
        return 42

    def f2(x: t.Any) -> t.Any:
        return x

    bp.add_app_template_filter(f2, "f2")
    bp.add_app_template_test(bool)
    bp.add_app_template_global(f2, name="g2")
    assert templating.calls == []  # nothing happens before registration

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="again")  # recorded once: not added twice
    assert templating.calls == [
        ("filter", shout, None),
        ("filter", quiet, "whisper"),
        ("test", is_odd, "odd"),
        ("global", answer, None),
        ("filter", f2, "f2"),
        ("test", bool, None),
        ("global", f2, "g2"),
    ]


def test_context_processors_are_scoped(app: Phial) -> None:
    parent = Blueprint("parent", __name__, template_folder="templates")
    child = Blueprint("child", __name__)

    def own() -> dict[str, t.Any]:
        return {}

    def everywhere() -> dict[str, t.Any]:
        return {}

    def kid() -> dict[str, t.Any]:
        return {}

    parent.context_processor(own)
    parent.app_context_processor(everywhere)
    child.context_processor(kid)
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert app.template_context_processors["parent"] == [own]
    assert app.template_context_processors["parent.child"] == [kid]
    assert everywhere in app.template_context_processors[None]
    assert parent.template_folder == "templates"


# -- static files and resources ----------------------------------------------------------


@pytest.fixture
def bp_root(tmp_path: Path) -> Path:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "style.css").write_text("body { color: red }")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app.js").write_text("run()")
    (tmp_path / "data.txt").write_text("héllo", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("secret")
    return tmp_path


def test_blueprint_static_folder(app: Phial, client: FlaskClient, bp_root: Path) -> None:
    bp = Blueprint("admin", __name__, static_folder="static", root_path=str(bp_root))
    app.register_blueprint(bp, url_prefix="/admin")
    assert bp.static_folder == str(bp_root / "static")
    assert _rules(app)["admin.static"] == ("/admin/static/<path:filename>", None)
    response = client.get("/admin/static/style.css")
    assert response.status_code == 200
    assert response.text == "body { color: red }"
    assert response.mimetype == "text/css"
    response.close()
    assert client.get("/admin/static/missing.css").status_code == 404
    assert client.get("/admin/static/../secret.txt").status_code == 404
    assert client.get("/admin/static/%2e%2e/secret.txt").status_code == 404
    with app.test_request_context():
        assert url_for("admin.static", filename="style.css") == "/admin/static/style.css"


def test_blueprint_static_url_path_and_nesting(
    app: Phial, client: FlaskClient, bp_root: Path
) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint(
        "child", __name__, static_folder="assets", static_url_path="/files", root_path=str(bp_root)
    )
    parent.register_blueprint(child, url_prefix="/c")
    app.register_blueprint(parent)
    app.register_blueprint(parent, name="again", url_prefix="/q")
    assert _rules(app)["parent.child.static"][0] == "/p/c/files/<path:filename>"
    assert _rules(app)["again.child.static"][0] == "/q/c/files/<path:filename>"
    for url in ("/p/c/files/app.js", "/q/c/files/app.js"):
        response = client.get(url)
        assert response.text == "run()"
        response.close()


def test_blueprint_static_without_prefix_under_unprefixed_parent(app: Phial, bp_root: Path) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/p3")
    child = Blueprint("child", __name__, static_folder="static", root_path=str(bp_root))
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert _rules(app)["parent.child.static"][0] == "/p3/static/<path:filename>"


def test_blueprint_static_max_age(app: Phial, client: FlaskClient, bp_root: Path) -> None:
    from datetime import timedelta

    bp = Blueprint("bp", __name__, static_folder="static", root_path=str(bp_root))
    app.register_blueprint(bp, url_prefix="/bp")

    response = client.get("/bp/static/style.css")
    assert response.cache_control.max_age is None
    response.close()
    for value in (60, timedelta(minutes=2)):
        app.config["SEND_FILE_MAX_AGE_DEFAULT"] = value
        response = client.get("/bp/static/style.css")
        assert response.cache_control.max_age == (60 if value == 60 else 120)
        response.close()


def test_get_send_file_max_age_can_be_overridden(
    app: Phial, client: FlaskClient, bp_root: Path
) -> None:
    class Cached(Blueprint):
        def get_send_file_max_age(self, filename: str | None) -> int | None:
            return 3600 if filename and filename.endswith(".css") else 0

    app.register_blueprint(
        Cached("bp", __name__, static_folder="static", root_path=str(bp_root)), url_prefix="/bp"
    )
    response = client.get("/bp/static/style.css")
    assert response.cache_control.max_age == 3600
    response.close()


def test_no_static_route_without_a_static_folder(app: Phial) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    app.register_blueprint(bp)
    assert "bp.static" not in _rules(app)
    with app.test_request_context(), pytest.raises(RuntimeError, match="'static_folder' must be"):
        bp.send_static_file("x.css")


def test_open_resource(bp_root: Path) -> None:
    bp = Blueprint("bp", __name__, root_path=str(bp_root))
    with bp.open_resource("data.txt") as f:
        assert f.read() == "héllo".encode()
    with bp.open_resource("data.txt", "r") as f:
        assert f.read() == "héllo"
    with bp.open_resource("data.txt", "rt", encoding="latin-1") as f:
        assert f.read() == "héllo".encode().decode("latin-1")
    for mode in ("w", "a", "r+", "wb"):
        with pytest.raises(ValueError, match="Resources can only be opened for reading"):
            bp.open_resource("data.txt", mode)


def test_sansio_blueprint_cannot_serve_files(app: Phial, bp_root: Path) -> None:
    bp = SansioBlueprint("bp", __name__, static_folder="static", root_path=str(bp_root))
    app.register_blueprint(bp, url_prefix="/bp")
    assert "bp.static" in _rules(app)
    with pytest.raises(NotImplementedError, match=r"use phial\.Blueprint"):
        bp.send_static_file("style.css")


# -- CLI commands ------------------------------------------------------------------------


def _app_with_cli(app: Phial) -> click.Group:
    return app.cli


def _bp_with_command(**kwargs: t.Any) -> Blueprint:
    bp = Blueprint("admin", __name__, **kwargs)

    @bp.cli.command("create-user")
    def create_user() -> None:
        click.echo("created")

    return bp


def test_cli_commands_are_grouped_under_the_blueprint_name(app: Phial) -> None:
    app_cli = _app_with_cli(app)
    bp = _bp_with_command()
    assert isinstance(bp.cli, click.Group)
    app.register_blueprint(bp)
    assert app_cli.commands["admin"] is bp.cli
    assert "create-user" in bp.cli.commands
    result = app.test_cli_runner().invoke(args=["admin", "create-user"])
    assert result.output == "created\n"


@pytest.mark.parametrize(
    ("bp_group", "option", "expected"),
    [("custom", None, "custom"), (None, "given", "given"), ("custom", "given", "given")],
)
def test_cli_group_names(
    app: Phial, bp_group: str | None, option: str | None, expected: str
) -> None:
    app_cli = _app_with_cli(app)
    bp = _bp_with_command(cli_group=bp_group)
    options = {} if option is None else {"cli_group": option}
    app.register_blueprint(bp, **options)
    assert list(app_cli.commands) == [expected]
    assert bp.cli.name == expected


def test_cli_group_none_adds_commands_to_the_app(app: Phial) -> None:
    app_cli = _app_with_cli(app)
    app.register_blueprint(_bp_with_command(cli_group=None))
    assert list(app_cli.commands) == ["create-user"]


def test_cli_group_of_a_nested_blueprint_uses_the_dotted_name(app: Phial) -> None:
    app_cli = _app_with_cli(app)
    parent = Blueprint("parent", __name__)
    parent.register_blueprint(_bp_with_command())
    app.register_blueprint(parent)
    assert list(app_cli.commands) == ["parent.admin"]


def test_blueprint_without_commands_adds_no_group(app: Phial) -> None:
    app_cli = _app_with_cli(app)
    app.register_blueprint(Blueprint("bp", __name__))
    assert app_cli.commands == {}


# -- misuse ------------------------------------------------------------------------------


def test_register_on_itself_raises() -> None:
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="Cannot register a blueprint on itself"):
        bp.register_blueprint(bp)


def test_nesting_loop_raises() -> None:
    a, b, c = (Blueprint(n, __name__) for n in "abc")
    a.register_blueprint(b)
    b.register_blueprint(c)
    with pytest.raises(
        ValueError, match="'c' is already nested inside 'a', so the nesting would loop"
    ):
        c.register_blueprint(a)


def test_dotted_endpoint_or_view_name_raises() -> None:
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="'endpoint' may not contain a dot"):
        bp.add_url_rule("/", "a.b", lambda: "x")

    def view() -> str:
        return "x"

    view.__name__ = "a.b"
    with pytest.raises(ValueError, match="'view_func' name may not contain a dot"):
        bp.add_url_rule("/", view_func=view)
    assert bp.deferred_functions == []


def test_rule_without_endpoint_or_view_raises_at_once() -> None:
    bp = Blueprint("bp", __name__)
    with pytest.raises(TypeError, match="expected view func"):
        bp.add_url_rule("/")


def test_endpoint_reuse_for_another_view_raises_at_registration(app: Phial) -> None:
    bp = Blueprint("bp", __name__)
    bp.add_url_rule("/1", "same", lambda: "1")
    bp.add_url_rule("/2", "same", lambda: "2")
    with pytest.raises(
        AssertionError, match=r"overwriting an existing endpoint function: bp\.same"
    ):
        app.register_blueprint(bp)


@pytest.mark.parametrize(
    "setup",
    [
        lambda bp: bp.route("/late")(lambda: "x"),
        lambda bp: bp.add_url_rule("/late", "late", lambda: "x"),
        lambda bp: bp.before_request(lambda: None),
        lambda bp: bp.before_app_request(lambda: None),
        lambda bp: bp.errorhandler(404)(lambda e: "x"),
        lambda bp: bp.record(lambda s: None),
        lambda bp: bp.record_once(lambda s: None),
        lambda bp: bp.register_blueprint(Blueprint("late", __name__)),
        lambda bp: bp.app_template_filter()(len),
    ],
)
def test_setup_after_registration_raises(app: Phial, setup: t.Callable[[Blueprint], t.Any]) -> None:
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    with pytest.raises(AssertionError, match="can no longer be called on the blueprint 'bp'"):
        setup(bp)


def test_nested_blueprint_setup_after_registration_raises(app: Phial) -> None:
    parent, child = Blueprint("parent", __name__), Blueprint("child", __name__)
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    with pytest.raises(AssertionError, match="on the blueprint 'child'"):
        child.route("/late")(lambda: "x")


def test_register_blueprint_after_first_request_raises(app: Phial, client: FlaskClient) -> None:
    app.add_url_rule("/", "index", lambda: "ok")
    client.get("/")
    with pytest.raises(AssertionError, match="'register_blueprint' can no longer be called"):
        app.register_blueprint(Blueprint("bp", __name__))
    assert app.blueprints == {}


def test_unregistered_blueprint_can_be_set_up_after_first_request(
    app: Phial, client: FlaskClient
) -> None:
    app.add_url_rule("/", "index", lambda: "ok")
    client.get("/")
    bp = Blueprint("bp", __name__)
    bp.add_url_rule("/x", "x", lambda: "x")
    other = Phial("other", root_path=app.root_path)
    other.register_blueprint(bp)
    assert other.test_client().get("/x").text == "x"


# -- parity with Flask -------------------------------------------------------------------


def _build(blueprint_class: t.Any, app: t.Any) -> None:
    a = blueprint_class("a", __name__, url_prefix="/a/", subdomain="x")
    b = blueprint_class("b", __name__, url_prefix="b")
    c = blueprint_class("c", __name__, subdomain="y", url_defaults={"k": 1})
    d = blueprint_class("d", __name__)
    for bp in (a, b, c, d):
        bp.add_url_rule("/v", "v", lambda **kw: "v")
        bp.add_url_rule("", "root", lambda **kw: "root")
    c.register_blueprint(d, url_prefix="/d")
    b.register_blueprint(c)
    b.register_blueprint(c, name="c2", url_prefix="/c2", subdomain="z")
    a.register_blueprint(b)
    app.register_blueprint(a)
    app.register_blueprint(a, name="a2", url_prefix="/a2", subdomain="w")
    app.register_blueprint(b, url_prefix="/top")


def test_rules_match_flasks() -> None:
    flask = pytest.importorskip("flask")

    def table(app: t.Any) -> list[tuple[str, str, str | None, t.Any]]:
        return sorted(
            (r.endpoint, r.rule, r.subdomain, r.defaults) for r in app.url_map.iter_rules()
        )

    flask_app = flask.Flask("ref", subdomain_matching=True, static_folder=None)
    _build(flask.Blueprint, flask_app)
    phial_app = Phial("ref", subdomain_matching=True, static_folder=None)
    _build(Blueprint, phial_app)
    assert table(phial_app) == table(flask_app)
    assert list(phial_app.blueprints) == list(flask_app.blueprints)


def test_blueprint_serving_hooks_run_in_lifespan() -> None:
    from phial import Blueprint, Phial

    app = Phial(__name__)
    calls: list[str] = []
    bp = Blueprint("svc", __name__)

    @bp.before_serving
    async def start() -> None:
        calls.append("bp-start")

    @bp.after_serving
    def stop() -> None:
        calls.append("bp-stop")

    @bp.before_app_serving
    def start2() -> None:
        calls.append("bp-start2")

    @app.before_serving
    def app_start() -> None:
        calls.append("app-start")

    assert app.before_serving_funcs == [app_start]  # recorded, not yet on the app
    app.register_blueprint(bp)
    app.register_blueprint(bp, name="again")  # added once, not per registration
    assert app.before_serving_funcs == [app_start, start, start2]
    assert app.after_serving_funcs == [stop]
    client = app.test_client(protocol="asgi")
    with client.lifespan():
        assert calls == ["app-start", "bp-start", "bp-start2"]
    assert calls[-1] == "bp-stop"
