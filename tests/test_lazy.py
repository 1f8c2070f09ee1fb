"""What phial imports up front, and what it imports on first use (``phial._lazy`` included).

Importing phial and serving a sync WSGI request must not load asyncio, Jinja2,
click or decimal: each runs in a fresh interpreter, since this one has them all.
"""

from __future__ import annotations

import textwrap

import pytest
from _subprocess import run_python

import phial
import phial._jinja
import phial.templating
from phial import Phial
from phial._lazy import lazy_attribute

#: Modules a WSGI app with only sync views never needs.
LAZY_MODULES = ["asyncio", "jinja2", "click", "decimal", "phial.cli", "phial.testing"]


def _run(code: str) -> None:
    result = run_python(["-c", textwrap.dedent(code)])
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", LAZY_MODULES)
def test_importing_phial_does_not_import(module: str) -> None:
    _run(
        f"""
        import sys
        import phial
        assert {module!r} not in sys.modules, "import phial imported {module}"
        """
    )


@pytest.mark.parametrize("module", LAZY_MODULES)
def test_serving_sync_wsgi_requests_does_not_import(module: str) -> None:
    _run(
        f"""
        import sys
        from werkzeug.test import create_environ
        from phial import Phial, jsonify, request, session

        app = Phial("lazy")
        app.secret_key = "s"

        @app.get("/text")
        def text():
            return "hi"

        @app.get("/json/<int:n>")
        def json_view(n):
            return jsonify(n=n, q=request.args.get("q"))

        @app.post("/session")
        def session_view():
            session["n"] = session.get("n", 0) + 1
            return {{"n": session["n"]}}

        @app.get("/missing")
        def missing():
            return "", 404

        def call(path, method="GET"):
            out = []
            body = app(create_environ(path, method=method), lambda s, h, e=None: out.append(s))
            data = b"".join(body)
            getattr(body, "close", lambda: None)()
            return out[0], data

        assert call("/text") == ("200 OK", b"hi")
        assert call("/json/3?q=x")[1] == b'{{"n":3,"q":"x"}}\\n'
        assert call("/session", "POST")[0] == "200 OK"
        assert call("/missing")[0].startswith("404")
        assert call("/nowhere")[0].startswith("404")
        assert {module!r} not in sys.modules, "serving a sync request imported {module}"
        """
    )


def test_asyncio_is_imported_when_a_coroutine_runs() -> None:
    _run(
        """
        import sys
        from werkzeug.test import create_environ
        from phial import Phial

        app = Phial("lazy")

        @app.get("/")
        async def index():
            return "async"

        out = []
        body = app(create_environ("/"), lambda s, h, e=None: out.append(s))
        assert b"".join(body) == b"async" and out == ["200 OK"]
        assert "asyncio" in sys.modules
        """
    )


def test_app_made_after_asyncio_is_imported_is_marked_asgi3() -> None:
    # phial imported first (no asyncio, so no mark yet); the app made afterwards
    # marks __call__, as uvicorn (asyncio.iscoroutinefunction) expects.
    _run(
        """
        import sys
        import phial
        assert "asyncio" not in sys.modules
        import asyncio
        app = phial.Phial("late")
        assert asyncio.iscoroutinefunction(app.__call__)
        """
    )


def test_uvicorn_serves_an_app_made_before_asyncio_was_imported() -> None:
    pytest.importorskip("uvicorn", reason="uvicorn is not installed")
    # Whatever uvicorn detects (ASGI 3 or, without the mark, ASGI 2), the app answers.
    _run(
        """
        import sys
        import phial
        app = phial.Phial("early")

        @app.get("/")
        def index():
            return "served"

        assert "asyncio" not in sys.modules
        import asyncio
        import uvicorn

        config = uvicorn.Config(app)
        config.load()
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": "/", "raw_path": b"/",
            "query_string": b"", "root_path": "", "headers": [],
            "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
        }
        asyncio.run(config.loaded_app(scope, receive, send))
        assert sent[0]["status"] == 200, sent
        assert b"".join(m.get("body", b"") for m in sent[1:]) == b"served"
        """
    )


# -- the names phial.templating hands out on first access -----------------------------


def test_templating_hands_out_the_jinja_classes() -> None:
    from phial.templating import DispatchingJinjaLoader, Environment

    assert Environment is phial._jinja.Environment
    assert DispatchingJinjaLoader is phial._jinja.DispatchingJinjaLoader
    assert phial.templating.Environment is Environment
    namespace: dict[str, object] = {}
    exec("from phial.templating import *", namespace)
    assert namespace["Environment"] is Environment
    assert namespace["render_template"] is phial.render_template


def test_templating_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        phial.templating.nope  # noqa: B018  # the access is the test


def test_jinja_environment_class_attribute_is_templatings_environment(app: Phial) -> None:
    assert Phial.jinja_environment is phial.templating.Environment
    assert isinstance(app.jinja_env, phial.templating.Environment)


def test_jinja_environment_may_still_be_overridden() -> None:
    class MyEnvironment(phial.templating.Environment):
        pass

    class MyApp(Phial):
        jinja_environment = MyEnvironment

    assert isinstance(MyApp(__name__).jinja_env, MyEnvironment)
    app = Phial(__name__)
    app.jinja_environment = MyEnvironment
    assert isinstance(app.jinja_env, MyEnvironment)


# -- app.cli and Blueprint.cli, made on first access -----------------------------------


def test_app_cli_is_made_on_first_access() -> None:
    from phial.cli import AppGroup

    app = Phial("clilazy")
    assert "cli" not in app.__dict__
    group = app.cli
    assert isinstance(group, AppGroup)
    assert group.name == app.name
    assert app.cli is group


def test_app_cli_may_be_replaced() -> None:
    import click

    app = Phial("clireplace")
    group = click.Group("mine")
    app.cli = group  # type: ignore[assignment]  # a plain click group, as some apps do
    assert app.cli is group


def test_blueprint_without_commands_never_makes_a_group() -> None:
    app = Phial("bpcli")
    bp = phial.Blueprint("bp", __name__)
    app.register_blueprint(bp)
    assert "cli" not in bp.__dict__
    assert "cli" not in app.__dict__


def test_blueprint_commands_still_reach_the_app() -> None:
    app = Phial("bpcli2")
    bp = phial.Blueprint("bp", __name__)

    @bp.cli.command("hello")
    def hello() -> None:
        pass

    app.register_blueprint(bp)
    assert app.cli.commands["bp"].commands["hello"] is hello  # type: ignore[attr-defined]  # a click.Group


# -- lazy_attribute ------------------------------------------------------------------------


def test_lazy_attribute_imports_on_first_read_and_replaces_itself() -> None:
    class Owner:
        attr = lazy_attribute("textwrap", "dedent")

    assert repr(Owner.__dict__["attr"]) == "<lazy textwrap.dedent>"
    assert Owner.attr is textwrap.dedent
    assert Owner.__dict__["attr"] is textwrap.dedent


def test_lazy_attribute_read_from_a_subclass_or_instance() -> None:
    class Owner:
        attr = lazy_attribute("textwrap", "indent")

    class Child(Owner):
        pass

    assert Child().attr is textwrap.indent
    # Replaced on the declaring class, so every class sees the plain value now.
    assert Owner.__dict__["attr"] is textwrap.indent
    assert "attr" not in Child.__dict__


def test_lazy_attribute_yields_to_instance_and_subclass_values() -> None:
    class Owner:
        attr = lazy_attribute("textwrap", "indent")

    class Child(Owner):
        attr = "child"  # type: ignore[assignment]  # overriding the lazy default

    owner = Owner()
    owner.attr = "mine"
    assert owner.attr == "mine"
    assert Child.attr == "child"


def test_blueprint_subclass_with_its_own_cli_still_registers_commands() -> None:
    import click

    group = click.Group("own")

    @group.command("hi")
    def hi() -> None:
        pass

    class OwnCli(phial.Blueprint):
        cli = group  # type: ignore[assignment]  # a class-level group, not the lazy one

    app = Phial("bpcli3")
    app.register_blueprint(OwnCli("own", __name__))
    assert app.cli.commands["own"].commands["hi"] is hi  # type: ignore[attr-defined]  # a click.Group
