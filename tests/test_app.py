"""The application object: identity, paths, config, attributes and class hooks."""

from __future__ import annotations

import logging
import os
import sys
import types
import typing as t

import flask
import pytest
from werkzeug.exceptions import Aborter, NotFound
from werkzeug.routing import Map, Rule

import phial
from phial import Phial
from phial.config import Config
from phial.ctx import _AppCtxGlobals
from phial.testing import FlaskClient, FlaskCliRunner
from phial.wrappers import Request, Response

HERE = os.path.dirname(os.path.abspath(__file__))


def test_flask_alias() -> None:
    assert phial.Flask is Phial


def test_import_name_and_name() -> None:
    app = Phial("some.module", root_path=HERE)
    assert app.import_name == "some.module"
    assert app.name == "some.module"
    assert repr(app) == "<Phial 'some.module'>"


def test_name_of_main_is_script_name(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("__main__")
    fake.__file__ = "/srv/project/serve.py"
    monkeypatch.setitem(sys.modules, "__main__", fake)
    assert Phial("__main__", root_path=HERE).name == "serve"


def test_name_of_main_without_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    assert Phial("__main__", root_path=HERE).name == "__main__"


def test_root_path_from_module() -> None:
    app = Phial(__name__)
    assert app.root_path == HERE


def test_root_path_given() -> None:
    assert Phial("x", root_path="/srv/app").root_path == "/srv/app"


def test_instance_path_default_beside_module() -> None:
    app = Phial(__name__)
    assert app.instance_path == os.path.join(HERE, "instance")


def test_instance_path_absolute_given() -> None:
    app = Phial("x", root_path=HERE, instance_path="/srv/inst")
    assert app.instance_path == "/srv/inst"


def test_instance_path_relative_raises() -> None:
    with pytest.raises(ValueError, match="must be absolute"):
        Phial("x", root_path=HERE, instance_path="inst")


def test_instance_relative_config(tmp_path: t.Any) -> None:
    (tmp_path / "settings.py").write_text("ANSWER = 42\n")
    app = Phial("x", root_path=HERE, instance_path=str(tmp_path), instance_relative_config=True)
    assert app.config.root_path == str(tmp_path)
    assert app.config.from_pyfile("settings.py")
    assert app.config["ANSWER"] == 42
    plain = Phial("x", root_path=HERE, instance_path=str(tmp_path))
    assert plain.config.root_path == HERE


def test_static_defaults() -> None:
    app = Phial("x", root_path=HERE)
    assert app.static_folder == os.path.join(HERE, "static")
    assert app.static_url_path == "/static"
    assert app.has_static_folder
    rule = next(app.url_map.iter_rules("static"))
    assert rule.rule == "/static/<path:filename>"
    assert rule.host is None


def test_static_url_path_custom() -> None:
    app = Phial("x", root_path=HERE, static_url_path="/assets/")
    assert app.static_url_path == "/assets"
    assert next(app.url_map.iter_rules("static")).rule == "/assets/<path:filename>"


def test_static_url_path_follows_folder_name() -> None:
    app = Phial("x", root_path=HERE, static_folder="public/files")
    assert app.static_url_path == "/files"
    assert app.static_folder == os.path.join(HERE, "public", "files")


def test_static_url_path_empty_serves_from_root() -> None:
    app = Phial("x", root_path=HERE, static_url_path="")
    assert next(app.url_map.iter_rules("static")).rule == "/<path:filename>"


def test_no_static_folder_no_static_route() -> None:
    app = Phial("x", root_path=HERE, static_folder=None)
    assert app.static_folder is None
    assert app.static_url_path is None
    assert not app.has_static_folder
    assert "static" not in app.view_functions
    with app.test_request_context(), pytest.raises(RuntimeError, match="static_folder"):
        app.send_static_file("x.txt")


def test_static_host_with_host_matching() -> None:
    app = Phial("x", root_path=HERE, host_matching=True, static_host="cdn.example")
    assert app.url_map.host_matching
    assert next(app.url_map.iter_rules("static")).host == "cdn.example"


@pytest.mark.parametrize(("static_host", "host_matching"), [("cdn.example", False), (None, True)])
def test_static_host_host_matching_mismatch(static_host: str | None, host_matching: bool) -> None:
    with pytest.raises(AssertionError, match="static_host"):
        Phial("x", root_path=HERE, static_host=static_host, host_matching=host_matching)


def test_host_matching_without_static_folder_is_fine() -> None:
    app = Phial("x", root_path=HERE, host_matching=True, static_folder=None)
    assert app.url_map.host_matching


def test_template_folder() -> None:
    assert Phial("x", root_path=HERE).template_folder == "templates"
    assert Phial("x", root_path=HERE, template_folder="tpl").template_folder == "tpl"
    assert Phial("x", root_path=HERE, template_folder=None).template_folder is None


def test_config_defaults_match_flask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("PHIAL_DEBUG", raising=False)
    ours = Phial("x", root_path=HERE).config
    theirs = flask.Flask("x", root_path=HERE).config
    assert isinstance(ours, Config)
    assert set(ours) == set(theirs)
    for key in theirs:
        assert ours[key] == theirs[key], key


def test_config_debug_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert Phial("x", root_path=HERE).debug is True
    monkeypatch.setenv("FLASK_DEBUG", "0")
    assert Phial("x", root_path=HERE).debug is False


def test_debug_testing_secret_key_attributes() -> None:
    app = Phial("x", root_path=HERE)
    app.debug = True
    assert app.config["DEBUG"] is True
    app.config["DEBUG"] = False
    assert app.debug is False
    app.testing = True
    assert app.config["TESTING"] is True
    app.config["TESTING"] = False
    assert app.testing is False
    app.secret_key = "s3"
    assert app.config["SECRET_KEY"] == "s3"
    app.config["SECRET_KEY"] = b"b"
    assert app.secret_key == b"b"


def test_extensions_dict_per_app() -> None:
    a = Phial("a", root_path=HERE)
    b = Phial("b", root_path=HERE)
    a.extensions["thing"] = 1
    assert a.extensions == {"thing": 1}
    assert b.extensions == {}


def test_logger_named_after_app() -> None:
    app = Phial("my.app", root_path=HERE)
    assert isinstance(app.logger, logging.Logger)
    assert app.logger.name == "my.app"
    assert app.logger is app.logger


def test_default_classes() -> None:
    app = Phial("x", root_path=HERE)
    assert app.request_class is Request
    assert app.response_class is Response
    assert app.config_class is Config
    assert app.aborter_class is Aborter
    assert app.app_ctx_globals_class is _AppCtxGlobals
    assert app.url_rule_class is Rule
    assert app.url_map_class is Map
    assert isinstance(app.test_client(), FlaskClient)
    assert isinstance(app.test_cli_runner(), FlaskCliRunner)


class _MyRequest(Request):
    pass


class _MyResponse(Response):
    pass


class _MyConfig(Config):
    pass


class _MyAborter(Aborter):
    pass


class _MyGlobals(_AppCtxGlobals):
    pass


class _MyRule(Rule):
    pass


class _MyMap(Map):
    pass


class _MyClient(FlaskClient):
    pass


class _MyRunner(FlaskCliRunner):
    pass


class _CustomApp(Phial):
    request_class = _MyRequest
    response_class = _MyResponse
    config_class = _MyConfig
    aborter_class = _MyAborter
    app_ctx_globals_class = _MyGlobals
    url_rule_class = _MyRule
    url_map_class = _MyMap
    test_client_class = _MyClient
    test_cli_runner_class = _MyRunner


def test_class_hooks_are_used() -> None:
    app = _CustomApp("x", root_path=HERE)
    seen: dict[str, t.Any] = {}

    @app.route("/")
    def index() -> str:
        seen["request"] = type(phial.request._get_current_object())  # type: ignore[attr-defined]  # proxy method
        seen["g"] = type(phial.g._get_current_object())  # type: ignore[attr-defined]  # proxy method
        seen["rule"] = type(phial.request.url_rule)
        return "hi"

    assert isinstance(app.config, _MyConfig)
    assert isinstance(app.aborter, _MyAborter)
    assert isinstance(app.url_map, _MyMap)
    client = app.test_client()
    assert isinstance(client, _MyClient)
    assert isinstance(app.test_cli_runner(), _MyRunner)
    rv = client.get("/")
    assert rv.data == b"hi"
    assert seen == {"request": _MyRequest, "g": _MyGlobals, "rule": _MyRule}
    with app.test_request_context():
        assert isinstance(app.make_response("x"), _MyResponse)
        assert isinstance(app.make_response({"a": 1}), _MyResponse)
        assert isinstance(phial.make_response(), _MyResponse)


def test_setup_methods_raise_after_first_request(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        return "ok"

    assert client.get("/").status_code == 200

    def view() -> str:
        return ""

    calls: list[t.Callable[[], t.Any]] = [
        lambda: app.add_url_rule("/late", view_func=view),
        lambda: app.route("/late2"),
        lambda: app.get("/late3"),
        lambda: app.before_request(view),
        lambda: app.after_request(view),
        lambda: app.teardown_request(view),
        lambda: app.teardown_appcontext(view),
        lambda: app.errorhandler(404),
        lambda: app.register_error_handler(404, view),
        lambda: app.url_value_preprocessor(view),
        lambda: app.url_defaults(view),
        lambda: app.endpoint("late"),
    ]
    for call in calls:
        with pytest.raises(AssertionError, match="first request"):
            call()


def test_call_with_wrong_arity_raises(app: Phial) -> None:
    with pytest.raises(TypeError, match="WSGI"):
        app(1)


def test_wsgi_app_is_wrappable(app: Phial) -> None:
    # WSGI middleware wraps the WSGI entry point, so this is a WSGI-only test
    # (tests/test_asgi.py covers wrapping asgi_app).
    client = app.test_client(protocol="wsgi")

    @app.route("/")
    def index() -> str:
        return "inner"

    inner = app.wsgi_app

    def middleware(environ: t.Any, start_response: t.Any) -> t.Any:
        environ["PATH_INFO"] = "/"
        return inner(environ, start_response)

    app.wsgi_app = middleware  # type: ignore[method-assign]  # WSGI middleware, as in Flask
    assert client.get("/elsewhere").data == b"inner"


def test_not_found_without_routes(client: FlaskClient) -> None:
    rv = client.get("/nothing")
    assert rv.status_code == 404
    assert NotFound.description.encode() in rv.data


def test_asgi_app_becomes_the_driver_and_subclass_overrides_stay() -> None:
    import asyncio

    from phial import asgi

    seen: list[str] = []

    class Logged(Phial):
        def asgi_app(self, scope: t.Any, receive: t.Any, send: t.Any) -> t.Any:
            seen.append(scope["path"])
            return super().asgi_app(scope, receive, send)

    plain, logged = Phial(__name__), Logged(__name__)
    for app in (plain, logged):
        app.add_url_rule("/", view_func=lambda: "hi")
        response = app.test_client(protocol="asgi").get("/")
        assert response.data == b"hi"
    assert Phial.__dict__["asgi_app"] is asgi.serve_asgi
    assert Logged.__dict__["asgi_app"] is not asgi.serve_asgi
    assert seen == ["/"]
    assert asyncio.iscoroutinefunction(plain.asgi_app)
