from __future__ import annotations

import json
import logging
import os
import typing as t
from dataclasses import dataclass, field

import flask
import pytest
from jinja2 import BaseLoader, DictLoader, FileSystemLoader, TemplateNotFound
from markupsafe import Markup

import phial
from phial import (
    Phial,
    get_template_attribute,
    render_template,
    render_template_string,
    stream_template,
    stream_template_string,
)
from phial.signals import before_render_template, template_rendered
from phial.templating import DispatchingJinjaLoader, Environment

if t.TYPE_CHECKING:
    from phial.ctx import AppContext, RequestContext
    from phial.testing import FlaskClient

TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")


@dataclass
class FakeScaffold:
    """Stands in for a Blueprint or a Flask 0.6 Module (built on other branches)."""

    name: str
    jinja_loader: BaseLoader | None
    import_name: str = "fake"
    extra: dict[str, t.Any] = field(default_factory=dict)


# -- rendering ------------------------------------------------------------------------


def test_render_template_from_the_app_folder(app_ctx: AppContext) -> None:
    assert render_template("hello.html", name="World") == "Hello World!"


def test_render_template_picks_the_first_existing_of_a_list(app_ctx: AppContext) -> None:
    assert render_template(["missing.html", "hello.html"], name="x") == "Hello x!"


def test_missing_template_raises_template_not_found(app_ctx: AppContext) -> None:
    with pytest.raises(TemplateNotFound):
        render_template("missing.html")


def test_render_template_string(app_ctx: AppContext) -> None:
    assert render_template_string("{{ 1 + a }}", a=2) == "3"


@pytest.mark.parametrize(
    "render",
    [
        lambda: render_template("hello.html"),
        lambda: render_template_string("x"),
        lambda: stream_template("hello.html"),
        lambda: stream_template_string("x"),
    ],
)
def test_rendering_needs_an_app_context(render: t.Callable[[], t.Any]) -> None:
    with pytest.raises(RuntimeError, match="application context"):
        render()


def test_render_in_a_view(app: Phial, client: FlaskClient) -> None:
    @app.route("/<name>")
    def index(name: str) -> str:
        return render_template("hello.html", name=name)

    response = client.get("/<b>")
    assert response.status_code == 200
    assert response.text == "Hello &lt;b&gt;!"


def test_top_level_exports() -> None:
    assert phial.render_template is render_template
    assert phial.render_template_string is render_template_string
    assert phial.stream_template is stream_template
    assert phial.stream_template_string is stream_template_string
    assert phial.get_template_attribute is get_template_attribute


# -- the environment ------------------------------------------------------------------


def test_jinja_env_is_made_once_and_knows_the_app(app: Phial) -> None:
    env = app.jinja_env
    assert isinstance(env, Environment)
    assert env.app is app
    assert app.jinja_env is env
    assert isinstance(env.loader, DispatchingJinjaLoader)


def test_jinja_environment_class_can_be_replaced() -> None:
    class MyEnvironment(Environment):
        pass

    class MyApp(Phial):
        jinja_environment = MyEnvironment

    app = MyApp("test_app", root_path=os.path.dirname(__file__))
    assert type(app.jinja_env) is MyEnvironment


def test_jinja_options_are_passed_and_may_set_the_loader() -> None:
    class MyApp(Phial):
        jinja_options = {
            "loader": DictLoader({"a.html": "{{ '<' }}"}),
            "autoescape": False,
            "trim_blocks": True,
        }

    app = MyApp("test_app", root_path=os.path.dirname(__file__))
    assert app.jinja_env.trim_blocks is True
    with app.app_context():
        assert render_template("a.html") == "<"


def test_an_environment_made_directly_uses_the_app_loader(app: Phial) -> None:
    env = Environment(app)
    assert isinstance(env.loader, DispatchingJinjaLoader)
    assert env.loader.app is app
    assert env.get_template("hello.html").render(name="x") == "Hello x!"


def test_scaffold_jinja_loader(app: Phial) -> None:
    loader = app.jinja_loader
    assert isinstance(loader, FileSystemLoader)
    assert loader.searchpath == [TEMPLATES]
    without = Phial("test_app", root_path=os.path.dirname(__file__), template_folder=None)
    assert without.jinja_loader is None
    with without.app_context(), pytest.raises(TemplateNotFound):
        render_template("hello.html")


def test_jinja_loader_can_be_assigned(app: Phial, app_ctx: AppContext) -> None:
    app.jinja_loader = DictLoader({"hello.html": "replaced"})
    assert render_template("hello.html") == "replaced"


# -- autoescaping -----------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["html", "htm", "xml", "xhtml", "svg"])
def test_markup_extensions_are_autoescaped(app_ctx: AppContext, ext: str) -> None:
    assert render_template(f"escape.{ext}", text="<&>") == "&lt;&amp;&gt;"


def test_other_extensions_are_not_autoescaped(app_ctx: AppContext) -> None:
    assert render_template("escape.txt", text="<&>") == "<&>"


def test_strings_are_autoescaped(app_ctx: AppContext) -> None:
    assert render_template_string("{{ text }}", text="<p>") == "&lt;p&gt;"
    assert render_template_string("{{ text }}", text=Markup("<p>")) == "<p>"
    assert (
        render_template_string("{% autoescape false %}{{ text }}{% endautoescape %}", text="<p>")
        == "<p>"
    )


def test_select_jinja_autoescape(app: Phial) -> None:
    assert app.select_jinja_autoescape(None) is True
    assert app.select_jinja_autoescape("a.svg") is True
    assert app.select_jinja_autoescape("a.txt") is False
    assert app.select_jinja_autoescape("a.html.j2") is False


def test_select_jinja_autoescape_can_be_overridden(tmp_path: t.Any) -> None:
    class MyApp(Phial):
        def select_jinja_autoescape(self, filename: str | None) -> bool:
            return True

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "a.txt").write_text("{{ x }}")
    app = MyApp("test_app", root_path=str(tmp_path))
    with app.app_context():
        assert render_template("a.txt", x="<") == "&lt;"


# -- context ----------------------------------------------------------------------------


def test_context_processors_add_values_and_render_kwargs_win(
    app: Phial, app_ctx: AppContext
) -> None:
    @app.context_processor
    def one() -> dict[str, t.Any]:
        return {"a": "proc-a", "b": "proc-b"}

    assert render_template_string("{{ a }} {{ b }}", b="kw") == "proc-a kw"


def test_later_context_processors_override_earlier_ones(app: Phial, app_ctx: AppContext) -> None:
    app.context_processor(lambda: {"a": 1})
    app.context_processor(lambda: {"a": 2})
    assert render_template_string("{{ a }}") == "2"


def test_async_context_processor(app: Phial, app_ctx: AppContext) -> None:
    @app.context_processor
    async def proc() -> dict[str, t.Any]:
        return {"a": "async"}

    assert render_template_string("{{ a }}") == "async"


def test_blueprint_context_processors_run_for_their_requests(
    app: Phial, client: FlaskClient
) -> None:
    def view() -> str:
        return render_template_string("{{ who }}")

    app.add_url_rule("/", "index", view)
    app.add_url_rule("/outer", "outer.view", view)
    app.add_url_rule("/inner", "outer.inner.view", view)
    app.context_processor(lambda: {"who": "app"})
    app.template_context_processors["outer"].append(lambda: {"who": "outer"})
    app.template_context_processors["outer.inner"].append(lambda: {"who": "inner"})
    app.template_context_processors["other"].append(lambda: {"who": "other"})

    assert client.get("/").text == "app"
    assert client.get("/outer").text == "outer"
    assert client.get("/inner").text == "inner"


def test_update_template_context_changes_the_dict_in_place(
    app: Phial, req_ctx: RequestContext
) -> None:
    app.context_processor(lambda: {"a": 1, "b": 1})
    context: dict[str, t.Any] = {"b": 2}
    app.update_template_context(context)
    assert context["a"] == 1
    assert context["b"] == 2
    assert context["request"] is req_ctx.request
    assert context["g"] is phial.g._get_current_object()  # type: ignore[attr-defined]  # proxy


def test_default_context_in_a_request(app: Phial, client: FlaskClient) -> None:
    @app.route("/page")
    def page() -> str:
        phial.g.value = "gee"
        return render_template_string(
            "{{ request.path }}|{{ request.args.q }}|{{ g.value }}|{{ config.TESTING }}"
            "|{{ url_for('page', x=1) }}"
        )

    assert client.get("/page?q=1").text == "/page|1|gee|True|/page?x=1"


def test_default_context_values_are_the_real_objects(app: Phial, req_ctx: RequestContext) -> None:
    seen: list[dict[str, t.Any]] = []
    with template_rendered.connected_to(lambda sender, **kw: seen.append(kw["context"]), app):
        render_template_string("x")
    context = seen[0]
    assert context["request"] is req_ctx.request
    assert context["g"] is phial.g._get_current_object()  # type: ignore[attr-defined]  # proxy
    # As in Flask 3.1, the session is not put in: templates read the session global.
    assert "session" not in context


def test_rendering_does_not_open_the_session(app: Phial, req_ctx: RequestContext) -> None:
    # This branch has no session interface: opening the session would raise.
    assert render_template_string("{{ request.path }}") == "/"
    assert req_ctx._session is None


def test_default_context_with_only_an_app_context(app: Phial, app_ctx: AppContext) -> None:
    phial.g.value = "gee"
    rv = render_template_string(
        "{{ 'req' if request else 'no-req' }}|{{ g.value }}|{{ config.TESTING }}"
    )
    assert rv == "no-req|gee|True"


def test_globals_reach_imported_macros(app: Phial, req_ctx: RequestContext) -> None:
    assert render_template("import_macro.html") == "/static/x.css True"


def test_jinja_globals(app: Phial) -> None:
    env_globals = app.jinja_env.globals
    assert env_globals["url_for"] == app.url_for
    assert env_globals["config"] is app.config
    assert env_globals["request"] is phial.request
    assert env_globals["session"] is phial.session
    assert env_globals["g"] is phial.g
    assert callable(env_globals["get_flashed_messages"])


# -- filters, tests, globals ------------------------------------------------------------


def test_template_filter_decorator_forms(app: Phial, app_ctx: AppContext) -> None:
    @app.template_filter()
    def reverse(s: str) -> str:
        return s[::-1]

    @app.template_filter("shout")
    def upper(s: str) -> str:
        return s.upper()

    @app.template_filter
    def double(s: str) -> str:
        return s * 2

    assert reverse("ab") == "ba"
    assert double("a") == "aa"
    assert app.jinja_env.filters["reverse"] is reverse
    assert app.jinja_env.filters["shout"] is upper
    assert app.jinja_env.filters["upper"] is not upper  # Jinja's own filter is untouched
    assert render_template_string("{{ 'ab'|reverse }}{{ 'c'|shout }}{{ 'd'|double }}") == "baCdd"


def test_add_template_filter(app: Phial, app_ctx: AppContext) -> None:
    def rev(s: str) -> str:
        return s[::-1]

    app.add_template_filter(rev)
    app.add_template_filter(rev, "backwards")
    assert render_template_string("{{ 'ab'|rev }}{{ 'cd'|backwards }}") == "badc"


def test_template_test_decorator_forms(app: Phial, app_ctx: AppContext) -> None:
    @app.template_test()
    def boolean(value: t.Any) -> bool:
        return isinstance(value, bool)

    @app.template_test("odd_number")
    def is_odd(value: int) -> bool:
        return value % 2 == 1

    @app.template_test
    def empty(value: t.Any) -> bool:
        return not value

    assert app.jinja_env.tests["boolean"] is boolean
    assert app.jinja_env.tests["odd_number"] is is_odd
    rv = render_template_string(
        "{{ true is boolean }} {{ 3 is odd_number }} {{ '' is empty }} {{ 1 is boolean }}"
    )
    assert rv == "True True True False"


def test_add_template_test(app: Phial, app_ctx: AppContext) -> None:
    def big(value: int) -> bool:
        return value > 10

    app.add_template_test(big)
    app.add_template_test(big, "large")
    assert render_template_string("{{ 11 is big }} {{ 1 is large }}") == "True False"


def test_template_global_decorator_forms(app: Phial, app_ctx: AppContext) -> None:
    @app.template_global()
    def one() -> int:
        return 1

    @app.template_global("deux")
    def two() -> int:
        return 2

    @app.template_global
    def three() -> int:
        return 3

    assert app.jinja_env.globals["one"] is one
    assert app.jinja_env.globals["deux"] is two
    assert render_template_string("{{ one() }}{{ deux() }}{{ three() }}") == "123"


def test_add_template_global(app: Phial, app_ctx: AppContext) -> None:
    app.add_template_global(lambda: "x", "ex")

    def why() -> str:
        return "y"

    app.add_template_global(why)
    assert render_template_string("{{ ex() }}{{ why() }}") == "xy"


@pytest.mark.parametrize(
    "register",
    [
        lambda app: app.add_template_filter(str),
        lambda app: app.template_filter()(str),
        lambda app: app.add_template_test(callable),
        lambda app: app.template_test("x"),
        lambda app: app.add_template_global(len),
        lambda app: app.template_global(len),
    ],
)
def test_registration_after_the_first_request_raises(
    app: Phial, client: FlaskClient, register: t.Callable[[Phial], t.Any]
) -> None:
    client.get("/")
    with pytest.raises(AssertionError, match="first request"):
        register(app)


# -- tojson -------------------------------------------------------------------------------


def test_tojson_is_safe_inside_script(app_ctx: AppContext) -> None:
    value = {"x": "</script><script>alert('&')</script>", "q": '"'}
    rv = render_template_string("<script>var v = {{ value|tojson }};</script>", value=value)
    inner = rv.removeprefix("<script>var v = ").removesuffix(";</script>")
    assert "<" not in inner
    assert ">" not in inner
    assert "&" not in inner
    assert "'" not in inner
    assert '\\"' in inner
    assert json.loads(inner) == value


def test_tojson_is_safe_in_single_quoted_attributes(app_ctx: AppContext) -> None:
    rv = render_template_string("<a data-v='{{ v|tojson }}'>", v="it's")
    assert rv == "<a data-v='\"it\\u0027s\"'>"


def test_tojson_returns_markup_and_accepts_dumps_options(app: Phial, app_ctx: AppContext) -> None:
    env = app.jinja_env
    rv = env.filters["tojson"](env, "<")
    assert isinstance(rv, Markup)
    assert rv == '"\\u003c"'
    assert render_template_string("{{ v|tojson(indent=1) }}", v=[1]) == "[\n 1\n]"


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": "</script>"},
        ["<", ">", "&", "'", '"', "é"],
        "plain",
        None,
        1.5,
    ],
)
def test_tojson_output_matches_flask(app_ctx: AppContext, value: t.Any) -> None:
    reference = flask.Flask("reference")
    with reference.app_context():
        expected = flask.render_template_string("{{ v|tojson }}", v=value)
    assert render_template_string("{{ v|tojson }}", v=value) == expected


def test_tojson_uses_the_current_json_provider(app: Phial, app_ctx: AppContext) -> None:
    app.jinja_env  # noqa: B018  # made before the provider is replaced

    class Provider(type(app.json)):  # type: ignore[misc]  # subclassing the runtime class
        def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
            return '"custom"'

    app.json = Provider(app)
    assert render_template_string("{{ 1|tojson }}") == '"custom"'


# -- streaming ----------------------------------------------------------------------------


def test_stream_template_in_a_view_keeps_the_request_context(
    app: Phial, client: FlaskClient
) -> None:
    @app.route("/stream")
    def stream() -> t.Any:
        return app.response_class(stream_template("stream.html", items=[1, 2]))

    @app.route("/stream-string")
    def stream_string() -> t.Any:
        return app.response_class(stream_template_string("{{ url_for('stream_string') }}!"))

    # url_for needs an active request context: the body is produced after the
    # view has returned, so the stream must have kept it.
    assert client.get("/stream?x=1").text == "1,2,/stream,/stream?x=1"
    assert client.get("/stream-string").text == "/stream-string!"


def test_stream_template_yields_pieces_lazily(app: Phial, app_ctx: AppContext) -> None:
    rendered: list[t.Any] = []
    with template_rendered.connected_to(lambda sender, **kw: rendered.append(kw), app):
        gen = stream_template_string("{% for i in items %}{{ i }}{% endfor %}", items=[1, 2, 3])
        assert not rendered
        pieces = list(gen)
    assert "".join(pieces) == "123"
    assert len(pieces) > 1
    assert len(rendered) == 1


def test_stream_template_runs_context_processors(app: Phial, app_ctx: AppContext) -> None:
    app.context_processor(lambda: {"a": "p", "b": "p"})
    assert "".join(stream_template_string("{{ a }}{{ b }}", b="k")) == "pk"


# -- signals --------------------------------------------------------------------------------


def test_render_signals(app: Phial, app_ctx: AppContext) -> None:
    events: list[tuple[str, t.Any, dict[str, t.Any]]] = []

    def before(sender: t.Any, template: t.Any, context: dict[str, t.Any]) -> None:
        events.append(("before", template, dict(context)))
        context["late"] = "added by a receiver"

    def after(sender: t.Any, template: t.Any, context: dict[str, t.Any]) -> None:
        assert sender is app
        events.append(("after", template, dict(context)))

    with (
        before_render_template.connected_to(before, app),
        template_rendered.connected_to(after, app),
    ):
        rv = render_template("hello.html", name="sig")
        render_template_string("{{ late }}")

    assert rv == "Hello sig!"
    assert [e[0] for e in events] == ["before", "after", "before", "after"]
    assert events[0][1].name == "hello.html"
    assert events[0][2]["name"] == "sig"
    assert "g" in events[0][2]
    assert events[3][2]["late"] == "added by a receiver"


def test_signals_for_streams(app: Phial, app_ctx: AppContext) -> None:
    events: list[str] = []
    with (
        before_render_template.connected_to(lambda s, **kw: events.append("before"), app),
        template_rendered.connected_to(lambda s, **kw: events.append("after"), app),
    ):
        gen = stream_template("hello.html", name="x")
        assert events == ["before"]
        assert "".join(gen) == "Hello x!"
    assert events == ["before", "after"]


# -- the dispatching loader -------------------------------------------------------------------


def test_app_templates_win_over_blueprint_templates(app: Phial, app_ctx: AppContext) -> None:
    app.blueprints["first"] = FakeScaffold(
        "first", DictLoader({"hello.html": "first", "shared.html": "first shared"})
    )
    app.blueprints["second"] = FakeScaffold(
        "second", DictLoader({"shared.html": "second shared", "own.html": "second own"})
    )
    app.blueprints["none"] = FakeScaffold("none", None)
    assert render_template("hello.html", name="app") == "Hello app!"
    assert render_template("shared.html") == "first shared"
    assert render_template("own.html") == "second own"
    with pytest.raises(TemplateNotFound):
        render_template("nowhere.html")


def test_module_templates_come_first_for_their_prefix(app: Phial, app_ctx: AppContext) -> None:
    app.modules = {  # type: ignore[attr-defined]  # Module support lands on another branch
        "admin": FakeScaffold("admin", DictLoader({"index.html": "module admin index"})),
        "bare": FakeScaffold("bare", None),
    }
    app.blueprints["bp"] = FakeScaffold("bp", DictLoader({"admin/other.html": "bp"}))
    # admin/index.html exists in both: the module's own folder wins.
    assert render_template("admin/index.html") == "module admin index"
    # Not in the module: the app's loader is next (before blueprints).
    assert render_template("admin/other.html") == "app admin other"
    # No module named "hello.html": the plain name goes to the app.
    assert render_template("hello.html", name="m") == "Hello m!"
    with pytest.raises(TemplateNotFound):
        render_template("bare/x.html")


def test_modules_absent_is_a_no_op(app: Phial, app_ctx: AppContext) -> None:
    assert app.modules == {}
    assert render_template("admin/index.html") == "app admin index"


def test_list_templates(app: Phial) -> None:
    app.modules = {  # type: ignore[attr-defined]  # Module support lands on another branch
        "admin": FakeScaffold("admin", DictLoader({"index.html": "", "users.html": ""})),
        "bare": FakeScaffold("bare", None),
    }
    app.blueprints["bp"] = FakeScaffold("bp", DictLoader({"bp/page.html": ""}))
    app.blueprints["none"] = FakeScaffold("none", None)
    names = app.jinja_env.list_templates()
    assert "hello.html" in names
    assert "admin/other.html" in names
    assert "admin/users.html" in names
    assert "bp/page.html" in names
    assert names == sorted(set(names))


# -- EXPLAIN_TEMPLATE_LOADING -----------------------------------------------------------------


def test_explain_template_loading_logs_each_attempt(
    app: Phial, app_ctx: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["EXPLAIN_TEMPLATE_LOADING"] = True
    app.modules = {  # type: ignore[attr-defined]  # Module support lands on another branch
        "admin": FakeScaffold("admin", DictLoader({}), import_name="pkg.admin")
    }
    app.blueprints["bp"] = FakeScaffold("bp", DictLoader({"hello.html": "bp"}), "pkg.bp")
    with caplog.at_level(logging.INFO, logger=app.logger.name):
        assert render_template("hello.html", name="x") == "Hello x!"
        assert render_template("admin/index.html") == "app admin index"
        with pytest.raises(TemplateNotFound):
            render_template("nope.html")

    messages = [r.getMessage() for r in caplog.records if r.name == app.logger.name]
    assert len(messages) == 3
    first, second, third = messages
    assert first.startswith("Locating template 'hello.html':")
    assert "1: trying loader of application 'test_app'" in first
    assert "2: trying loader of blueprint 'bp' (pkg.bp)" in first
    assert TEMPLATES in first
    assert first.count("-> found") == 2
    assert "Warning: more than one loader" in first

    assert "1: trying loader of module 'admin' (pkg.admin)" in second
    assert "asked for: 'index.html'" in second
    assert "-> no match" in second
    assert "Warning" not in second and "Error" not in second

    assert "Error: the template could not be found." in third
    assert "Hint:" in third


def test_explain_template_loading_without_any_loader(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Phial("test_app", root_path=os.path.dirname(__file__), template_folder=None)
    app.config["EXPLAIN_TEMPLATE_LOADING"] = True
    with (
        app.app_context(),
        caplog.at_level(logging.INFO, logger=app.logger.name),
        pytest.raises(TemplateNotFound),
    ):
        render_template("hello.html")
    assert "no loader is configured" in caplog.text
    assert "Error: the template could not be found." in caplog.text


def test_without_explain_nothing_is_logged(
    app: Phial, app_ctx: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger=app.logger.name):
        render_template("hello.html")
    assert not caplog.records


# -- auto reload ----------------------------------------------------------------------------


def test_auto_reload_follows_debug_by_default(app: Phial) -> None:
    assert app.templates_auto_reload is False
    assert app.jinja_env.auto_reload is False
    app.debug = True
    assert app.jinja_env.auto_reload is True
    app.debug = False
    assert app.jinja_env.auto_reload is False


def test_auto_reload_when_debug_is_set_before_the_env_exists(app: Phial) -> None:
    app.debug = True
    assert "jinja_env" not in app.__dict__  # setting debug does not make the environment
    assert app.jinja_env.auto_reload is True


def test_templates_auto_reload_config_wins_over_debug(app: Phial) -> None:
    app.config["TEMPLATES_AUTO_RELOAD"] = False
    app.debug = True
    assert app.templates_auto_reload is False
    assert app.jinja_env.auto_reload is False
    app.config["TEMPLATES_AUTO_RELOAD"] = True
    app.debug = False
    assert app.templates_auto_reload is True


def test_templates_auto_reload_setter(app: Phial) -> None:
    app.jinja_env  # noqa: B018  # made first; the setter updates it
    app.templates_auto_reload = True
    assert app.config["TEMPLATES_AUTO_RELOAD"] is True
    assert app.jinja_env.auto_reload is True
    app.templates_auto_reload = None
    assert app.jinja_env.auto_reload is False


def test_auto_reload_rereads_changed_files(tmp_path: t.Any) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    page = folder / "page.html"
    page.write_text("one")
    for reload, expected in ((True, "two"), (False, "one")):
        page.write_text("one")
        os.utime(page, (1_000_000, 1_000_000))
        app = Phial("test_app", root_path=str(tmp_path))
        app.config["TEMPLATES_AUTO_RELOAD"] = reload
        with app.app_context():
            assert render_template("page.html") == "one"
            page.write_text("two")
            os.utime(page, (2_000_000, 2_000_000))
            assert render_template("page.html") == expected


# -- the fast render path ------------------------------------------------------------------
#
# render_template builds the context without calling update_template_context when the app
# uses phial's own, and renders with the globals merged in C; these tests hold it to what
# the general path (the app's method, Jinja's Template.render) gives, and check that it
# steps aside when something is customised.

_CORPUS = {
    "base.html": "<title>{% block title %}base{% endblock %}</title>{% block body %}{% endblock %}",
    "page.html": (
        '{% extends "base.html" %}{% block title %}{{ title }}{% endblock %}'
        "{% block body %}{% for i in items %}<li>{{ i }}</li>{% endfor %}"
        '{% include "part.html" %}{% endblock %}'
    ),
    "part.html": "[{{ title }}|{{ request.path }}|{{ g.x }}|{{ proc }}|{{ bp }}]",
    "macros.html": "{% macro m(x) %}<{{ x }}|{{ config.TESTING }}|{{ title }}>{% endmacro %}",
    "uses.html": (
        '{% import "macros.html" as plain %}{% from "macros.html" import m with context %}'
        "{{ plain.m(title) }}{{ m(proc) }}{% set local = 1 %}{{ local }}"
        '{{ range(3)|list }}{{ url_for("bp.view") }}{{ ex() }}'
    ),
    "ctx.html": "{{ title }} {{ proc }} {{ session.get('k') }} {{ request.args.q }} {{ g.x }}",
}


class _GeneralPathApp(Phial):
    """Overrides update_template_context (adding nothing): rendering takes the general path."""

    calls = 0

    def update_template_context(self, context: dict[str, t.Any]) -> None:
        type(self).calls += 1
        super().update_template_context(context)


def _corpus_app(cls: type[Phial] = Phial) -> Phial:
    app = cls("test_app", root_path=os.path.dirname(__file__))
    app.config.update(TESTING=True, SECRET_KEY="k")
    app.jinja_loader = DictLoader(_CORPUS)
    app.add_url_rule("/bp", "bp.view", lambda: "")
    app.context_processor(lambda: {"proc": "<proc>", "title": "processor loses"})
    app.template_context_processors["bp"].append(lambda: {"bp": "bp-proc", "proc": "bp wins"})
    app.add_template_global(lambda: "ex", "ex")
    return app


def _render_corpus(app: Phial, name: str) -> tuple[str, dict[str, t.Any], t.Any]:
    """Render ``name`` in a request of blueprint ``bp``: (output, signal context, template)."""
    seen: list[dict[str, t.Any]] = []
    with (
        app.test_request_context("/bp?q=<q>"),
        template_rendered.connected_to(lambda s, **kw: seen.append(kw), app),
    ):
        phial.g.x = "<g>"
        phial.session["k"] = "<sess>"
        rv = render_template(name, title="<t>", items=["a", "<b>"])
        streamed = "".join(stream_template(name, title="<t>", items=["a", "<b>"]))
        assert streamed == rv
        # Jinja's own Template.render, given the context the app built, agrees.
        template = seen[0]["template"]
        assert template.render(seen[0]["context"]) == rv
    return rv, seen[0]["context"], template


@pytest.mark.parametrize("name", sorted(_CORPUS))
def test_fast_path_renders_as_the_general_path(name: str) -> None:
    fast = _corpus_app()
    general = _corpus_app(_GeneralPathApp)
    before = _GeneralPathApp.calls
    fast_rv, fast_context, _ = _render_corpus(fast, name)
    general_rv, general_context, _ = _render_corpus(general, name)
    assert _GeneralPathApp.calls == before + 2  # the override ran for render and stream
    assert fast_rv == general_rv
    assert "&lt;" in fast_rv or name in ("base.html", "macros.html")
    assert list(fast_context) == list(general_context)
    assert fast_context["proc"] == "bp wins"
    assert fast_context["title"] == "<t>"


def test_fast_path_output_of_the_corpus() -> None:
    app = _corpus_app()
    assert _render_corpus(app, "page.html")[0] == (
        "<title>&lt;t&gt;</title><li>a</li><li>&lt;b&gt;</li>"
        "[&lt;t&gt;|/bp|&lt;g&gt;|bp wins|bp-proc]"
    )
    assert _render_corpus(app, "uses.html")[0] == (
        "<&lt;t&gt;|True|>"  # imported without context: no title
        "<bp wins|True|&lt;t&gt;>1[0, 1, 2]/bpex"
    )


def test_context_order_matches_flask() -> None:
    reference = flask.Flask("reference")
    reference.secret_key = "k"
    reference.context_processor(lambda: {"proc": 1, "b": 1})
    app = Phial("test_app")
    app.secret_key = "k"
    app.context_processor(lambda: {"proc": 1, "b": 1})

    seen: list[list[str]] = []
    with (
        reference.test_request_context(),
        flask.template_rendered.connected_to(lambda s, **kw: seen.append(list(kw["context"]))),
    ):
        flask.render_template_string("x", b=2, a=1)
    with (
        app.test_request_context(),
        template_rendered.connected_to(lambda s, **kw: seen.append(list(kw["context"]))),
    ):
        render_template_string("x", b=2, a=1)
    assert seen[0] == seen[1]


def test_session_is_read_through_the_global(app: Phial, req_ctx: RequestContext) -> None:
    assert render_template_string("{{ request.path }}") == "/"
    assert req_ctx._session is None
    phial.session["k"] = "v"
    assert render_template_string("{{ session.k }}") == "v"
    assert render_template("import_macro.html")  # imported macros see the globals too


def test_default_context_keys_match_flask(app: Phial) -> None:
    reference = flask.Flask("reference")
    reference.secret_key = "k"
    seen: list[list[str]] = []
    for session_opened in (False, True):
        with (
            reference.test_request_context(),
            flask.template_rendered.connected_to(lambda s, **kw: seen.append(list(kw["context"]))),
        ):
            if session_opened:
                flask.session["k"] = 1
            flask.render_template_string("x")
        with (
            app.test_request_context(),
            template_rendered.connected_to(lambda s, **kw: seen.append(list(kw["context"])), app),
        ):
            if session_opened:
                phial.session["k"] = 1
            render_template_string("x")
    assert seen == [["g", "request"]] * 4


def test_overridden_update_template_context_is_called(app_ctx: AppContext) -> None:
    class MyApp(Phial):
        def update_template_context(self, context: dict[str, t.Any]) -> None:
            context["who"] = "override"

    app = MyApp("test_app", root_path=os.path.dirname(__file__))
    with app.app_context():
        assert render_template_string("{{ who }}") == "override"
        assert "".join(stream_template_string("{{ who }}")) == "override"


def test_update_template_context_assigned_on_the_instance_is_called(
    app: Phial, app_ctx: AppContext
) -> None:
    assert render_template_string("{{ who }}") == ""  # the environment exists already
    app.update_template_context = lambda context: context.update(who="assigned")  # type: ignore[method-assign]  # as some extensions patch apps
    assert render_template_string("{{ who }}") == "assigned"


def test_a_plain_jinja_environment_takes_the_general_path(tmp_path: t.Any) -> None:
    import jinja2

    class MyApp(Phial):
        def create_jinja_environment(self) -> t.Any:
            return jinja2.Environment(loader=DictLoader({"a.html": "{{ proc }} {{ x }}"}))

    app = MyApp("test_app", root_path=str(tmp_path))
    app.context_processor(lambda: {"proc": "p"})
    with app.app_context():
        assert render_template("a.html", x=1) == "p 1"


def test_a_template_subclass_renders_with_its_own_methods(app: Phial, app_ctx: AppContext) -> None:
    from jinja2 import Template

    class Shouting(Template):
        def render(self, *args: t.Any, **kwargs: t.Any) -> str:
            return super().render(*args, **kwargs).upper()

        def generate(self, *args: t.Any, **kwargs: t.Any) -> t.Iterator[str]:
            yield from (s.upper() for s in super().generate(*args, **kwargs))

    app.jinja_env.template_class = Shouting
    assert render_template("hello.html", name="x") == "HELLO X!"
    assert "".join(stream_template("hello.html", name="x")) == "HELLO X!"


def test_an_async_environment_still_renders(tmp_path: t.Any) -> None:
    class MyApp(Phial):
        jinja_options = {"enable_async": True}

    app = MyApp("test_app", root_path=os.path.dirname(__file__))
    with app.test_request_context("/p"):
        assert render_template("hello.html", name="a") == "Hello a!"
        assert render_template_string("{{ request.path }}") == "/p"


def test_errors_in_templates_show_the_template_line(tmp_path: t.Any) -> None:
    import traceback

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "bad.html").write_text("line one\n{{ 1 // zero }}\n")
    app = Phial("test_app", root_path=str(tmp_path))
    with app.app_context():
        for render in (render_template, lambda *a, **k: "".join(stream_template(*a, **k))):
            with pytest.raises(ZeroDivisionError) as info:
                render("bad.html", zero=0)
            frames = traceback.extract_tb(info.tb)
            assert any(f.filename.endswith("bad.html") and f.lineno == 2 for f in frames)


def test_template_globals_read_as_a_chain_map(app: Phial) -> None:
    from collections import ChainMap, defaultdict

    env = app.jinja_env
    template = env.get_template("hello.html")
    assert isinstance(template.globals, ChainMap)
    own = env.from_string("{{ a }}{{ url_for is defined }}", globals={"a": "own"})
    assert own.render() == "ownTrue"
    assert own.globals["a"] == "own"
    env.globals["late"] = "late"  # environment globals added after loading are seen
    assert template.globals["late"] == "late"
    assert env.from_string("{{ late }}").render() == "late"

    maps: list[t.Any] = [{"a": 1}, defaultdict(lambda: "dflt", {"b": 2, "a": 0})]
    fast = type(template.globals)(*maps)
    slow = ChainMap(*maps)
    assert list(fast) == list(slow)
    assert dict(fast) == dict(slow) == {"a": 1, "b": 2}
    assert fast["a"] == 1
    assert fast["missing"] == "dflt"  # a map with __missing__ answers, as in ChainMap
    empty_first = type(template.globals)({}, {"x": 1, "y": 2})
    assert list(empty_first) == ["x", "y"]
    with pytest.raises(KeyError):
        empty_first["z"]


def test_template_globals_win_over_environment_globals(app: Phial, app_ctx: AppContext) -> None:
    app.jinja_loader = DictLoader({"who.html": "{{ who }}"})
    app.jinja_env.globals["who"] = "env"
    assert render_template("who.html") == "env"
    app.jinja_env.get_template("who.html", globals={"who": "template"})  # the cached one
    assert render_template("who.html") == "template"
    assert "".join(stream_template("who.html")) == "template"
    assert render_template("who.html", who="passed") == "passed"


def test_jinja_env_property_of_a_subclass_is_used(tmp_path: t.Any) -> None:
    class MyApp(Phial):
        @property
        def jinja_env(self) -> Environment:  # type: ignore[override]  # a plain property
            env = Environment(self, loader=DictLoader({"a.html": "from the property"}))
            return env

    app = MyApp("test_app", root_path=str(tmp_path))
    with app.app_context():
        assert render_template("a.html") == "from the property"


def test_debug_mode_rereads_changed_files_on_the_fast_path(tmp_path: t.Any) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    page = folder / "page.html"
    page.write_text("one {{ x }}")
    os.utime(page, (1_000_000, 1_000_000))
    app = Phial("test_app", root_path=str(tmp_path))
    app.debug = True
    app.context_processor(lambda: {"x": "p"})
    with app.test_request_context():
        assert render_template("page.html") == "one p"
        page.write_text("two {{ x }}")
        os.utime(page, (2_000_000, 2_000_000))
        assert render_template("page.html") == "two p"
        assert "".join(stream_template("page.html", x="k")) == "two k"


# -- get_template_attribute ----------------------------------------------------------------------


def test_get_template_attribute(app: Phial, req_ctx: RequestContext) -> None:
    hello = get_template_attribute("macros.html", "hello")
    assert hello("World") == "Hello World!"
    assert get_template_attribute("macros.html", "answer") == 42
    with pytest.raises(AttributeError):
        get_template_attribute("macros.html", "missing")


# -- get_flashed_messages (lands on another branch) -------------------------------------------


def test_get_flashed_messages_global_before_helpers_has_it(
    app: Phial, app_ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phial import helpers

    monkeypatch.delattr(helpers, "get_flashed_messages", raising=False)
    shim = app.jinja_env.globals["get_flashed_messages"]
    with pytest.raises(RuntimeError, match="get_flashed_messages is not available"):
        render_template_string("{{ get_flashed_messages() }}")

    # Once the helper exists, the global made earlier finds it.
    monkeypatch.setattr(helpers, "get_flashed_messages", lambda **kw: ["hi", kw], raising=False)
    assert app.jinja_env.globals["get_flashed_messages"] is shim
    rv = render_template_string("{{ get_flashed_messages(with_categories=true)|tojson }}")
    assert json.loads(rv) == ["hi", {"with_categories": True}]


def test_get_flashed_messages_global_is_the_helper_when_it_exists(
    app: Phial, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phial import helpers

    def fake() -> list[str]:
        return ["flash"]

    monkeypatch.setattr(helpers, "get_flashed_messages", fake, raising=False)
    assert app.jinja_env.globals["get_flashed_messages"] is fake
