"""The test client, the environ builder, and ``app.run()``."""

from __future__ import annotations

import typing as t

import pytest
import werkzeug.serving
from werkzeug.test import Client

from phial import Phial, g, request
from phial.ctx import RequestContext
from phial.globals import _cv_request
from phial.testing import EnvironBuilder, FlaskClient


@pytest.fixture
def echo(app: Phial) -> Phial:
    @app.route("/echo", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def echo_view() -> dict[str, t.Any]:
        return {
            "method": request.method,
            "args": request.args.to_dict(flat=False),
            "form": request.form.to_dict(),
            "json": request.get_json(silent=True),
            "data": request.get_data(as_text=True) if not request.form else "",
            "header": request.headers.get("X-Test"),
            "remote": request.remote_addr,
            "agent": request.user_agent.string,
        }

    return app


def test_client_is_werkzeug_client(app: Phial) -> None:
    client = app.test_client()
    assert isinstance(client, Client)
    assert isinstance(client, FlaskClient)
    assert client.application is app


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_methods(echo: Phial, client: FlaskClient, method: str) -> None:
    rv = getattr(client, method)("/echo")
    assert rv.status_code == 200
    assert rv.json["method"] == method.upper()


def test_head_and_options(echo: Phial, client: FlaskClient) -> None:
    assert client.head("/echo").data == b""
    assert "POST" in client.options("/echo").allow


def test_json_argument(echo: Phial, client: FlaskClient) -> None:
    rv = client.post("/echo", json={"a": [1, 2]})
    assert rv.json["json"] == {"a": [1, 2]}
    assert rv.get_json()["json"] == {"a": [1, 2]}


def test_data_argument(echo: Phial, client: FlaskClient) -> None:
    assert client.post("/echo", data={"k": "v"}).json["form"] == {"k": "v"}
    assert client.post("/echo", data="raw text").json["data"] == "raw text"


def test_query_string_argument(echo: Phial, client: FlaskClient) -> None:
    rv = client.get("/echo", query_string={"a": ["1", "2"], "b": "x"})
    assert rv.json["args"] == {"a": ["1", "2"], "b": ["x"]}
    assert client.get("/echo?c=3").json["args"] == {"c": ["3"]}


def test_headers_argument(echo: Phial, client: FlaskClient) -> None:
    assert client.get("/echo", headers={"X-Test": "yes"}).json["header"] == "yes"


def test_default_environ_base(echo: Phial, client: FlaskClient) -> None:
    rv = client.get("/echo")
    assert rv.json["remote"] == "127.0.0.1"
    assert rv.json["agent"].startswith("Werkzeug/")


def test_environ_base_argument(echo: Phial, client: FlaskClient) -> None:
    rv = client.get("/echo", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert rv.json["remote"] == "10.0.0.9"
    assert rv.json["agent"].startswith("Werkzeug/")
    client.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    assert client.get("/echo").json["remote"] == "10.0.0.1"


def test_follow_redirects(app: Phial, client: FlaskClient) -> None:
    @app.route("/start")
    def start() -> t.Any:
        return "", 302, {"Location": "/end"}

    @app.route("/end")
    def end() -> str:
        return "end"

    rv = client.get("/start")
    assert rv.status_code == 302
    rv = client.get("/start", follow_redirects=True)
    assert rv.status_code == 200
    assert rv.data == b"end"
    assert rv.request.path == "/end"


def test_open_with_builder_and_environ(echo: Phial, client: FlaskClient) -> None:
    builder = EnvironBuilder(echo, "/echo", method="PUT")
    rv = client.open(builder)
    builder.close()
    assert rv.json["method"] == "PUT"
    assert rv.json["remote"] == "127.0.0.1"
    environ = EnvironBuilder(echo, "/echo", method="PATCH").get_environ()
    assert client.open(environ).json["method"] == "PATCH"


def test_with_client_keeps_last_request_context(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        g.value = request.args.get("v")
        return "x"

    with client:
        client.get("/?v=1")
        first = _cv_request.get()
        assert request.args["v"] == "1"
        assert g.value == "1"
        client.get("/?v=2")
        assert request.args["v"] == "2"
        assert g.value == "2"
        assert _cv_request.get() is not first
    assert _cv_request.get(None) is None


def test_with_client_cannot_nest(client: FlaskClient) -> None:
    with client, pytest.raises(RuntimeError, match="nest"):
        client.__enter__()


def test_without_with_nothing_stays_pushed(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        return "x"

    client.get("/")
    assert _cv_request.get(None) is None


def test_with_client_teardown_runs_at_exit(app: Phial, client: FlaskClient) -> None:
    torn: list[t.Any] = []
    app.teardown_request(torn.append)

    @app.route("/")
    def index() -> str:
        return "x"

    with client:
        client.get("/")
        n = len(torn)
        assert n >= 1
    assert len(torn) == n + 1


def test_environ_builder_base_url_from_config(app: Phial) -> None:
    app.config.update(
        SERVER_NAME="example.test:8080", APPLICATION_ROOT="/root", PREFERRED_URL_SCHEME="https"
    )
    builder = EnvironBuilder(app, "/path?q=1")
    try:
        assert builder.base_url == "https://example.test:8080/root/"
        environ = builder.get_environ()
    finally:
        builder.close()
    assert environ["SCRIPT_NAME"] == "/root"
    assert environ["PATH_INFO"] == "/path"
    assert environ["QUERY_STRING"] == "q=1"
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["HTTP_HOST"] == "example.test:8080"


def test_environ_builder_defaults(app: Phial) -> None:
    builder = EnvironBuilder(app)
    assert builder.base_url == "http://localhost/"
    builder.close()


def test_environ_builder_subdomain_and_scheme(app: Phial) -> None:
    app.config["SERVER_NAME"] = "example.test"
    builder = EnvironBuilder(app, "/", subdomain="api", url_scheme="https")
    assert builder.base_url == "https://api.example.test/"
    builder.close()


def test_environ_builder_full_url_path(app: Phial) -> None:
    builder = EnvironBuilder(app, "https://other.test/p?x=1")
    environ = builder.get_environ()
    builder.close()
    assert environ["HTTP_HOST"] == "other.test"
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["PATH_INFO"] == "/p"
    assert environ["QUERY_STRING"] == "x=1"


def test_environ_builder_base_url_with_subdomain_refused(app: Phial) -> None:
    with pytest.raises(AssertionError, match="base_url"):
        EnvironBuilder(app, "/", base_url="http://x.test", subdomain="a")


def test_environ_builder_json_uses_app_provider(app: Phial) -> None:
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider option
    builder = EnvironBuilder(app, json={"b": 1, "a": 2})
    try:
        assert builder.get_environ()["wsgi.input"].read() == b'{"b": 1, "a": 2}'
    finally:
        builder.close()


def test_test_request_context_path_and_query(app: Phial) -> None:
    with app.test_request_context("/p/q?a=1&a=2", method="POST") as ctx:
        assert isinstance(ctx, RequestContext)
        assert request.path == "/p/q"
        assert request.args.getlist("a") == ["1", "2"]
        assert request.method == "POST"
    with app.test_request_context("/x", query_string={"b": "2"}):
        assert request.args["b"] == "2"


# -- app.run() -------------------------------------------------------------------------


@pytest.fixture
def run_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[t.Any, ...]]:
    calls: list[tuple[t.Any, ...]] = []

    def fake_run_simple(host: str, port: int, app: t.Any, **options: t.Any) -> None:
        calls.append((host, port, app, options))

    monkeypatch.setattr(werkzeug.serving, "run_simple", fake_run_simple)
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    return calls


def test_run_defaults(app: Phial, run_calls: list[tuple[t.Any, ...]]) -> None:
    app.run()
    host, port, served, options = run_calls[0]
    assert (host, port) == ("127.0.0.1", 5000)
    assert served is app
    assert options == {"use_reloader": False, "use_debugger": False, "threaded": True}


def test_run_host_port_debug(app: Phial, run_calls: list[tuple[t.Any, ...]]) -> None:
    app.run(host="0.0.0.0", port=8080, debug=True)
    host, port, _, options = run_calls[0]
    assert (host, port) == ("0.0.0.0", 8080)
    assert app.debug is True
    assert options["use_reloader"] is True
    assert options["use_debugger"] is True


def test_run_port_zero_and_string(app: Phial, run_calls: list[tuple[t.Any, ...]]) -> None:
    app.run(port=0)
    app.run(port="5050")  # type: ignore[arg-type]  # Flask accepts a numeric string
    assert [c[1] for c in run_calls] == [0, 5050]


def test_run_reloader_option(app: Phial, run_calls: list[tuple[t.Any, ...]]) -> None:
    app.run(debug=True, use_reloader=False, threaded=False)
    options = run_calls[0][3]
    assert options["use_reloader"] is False
    assert options["use_debugger"] is True
    assert options["threaded"] is False


@pytest.mark.parametrize(
    ("server_name", "kwargs", "expected"),
    [
        ("example.test:7000", {}, ("example.test", 7000)),
        ("example.test", {}, ("example.test", 5000)),
        ("example.test:7000", {"port": 9000}, ("example.test", 9000)),
        ("example.test:7000", {"host": "0.0.0.0"}, ("0.0.0.0", 7000)),
    ],
)
def test_run_server_name(
    app: Phial,
    run_calls: list[tuple[t.Any, ...]],
    server_name: str,
    kwargs: dict[str, t.Any],
    expected: tuple[str, int],
) -> None:
    app.config["SERVER_NAME"] = server_name
    app.run(**kwargs)
    assert run_calls[0][:2] == expected


def test_run_debug_from_env(
    app: Phial, run_calls: list[tuple[t.Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app.run()
    assert app.debug is True
    assert run_calls[0][3]["use_debugger"] is True


def test_run_ignored_under_flask_run(
    app: Phial,
    run_calls: list[tuple[t.Any, ...]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    app.run()
    assert "Ignoring a call to 'app.run()'" in capsys.readouterr().out
    # also inside the reloader's child process, where the CLI serves already
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    app.run()
    assert run_calls == []


def test_run_allows_serving_again(app: Phial, run_calls: list[tuple[t.Any, ...]]) -> None:
    @app.route("/")
    def index() -> str:
        return "x"

    app.test_client().get("/")
    app.run()
    # after run() returns, setup is open again (as in Flask)
    app.add_url_rule("/later", "later", lambda: "later")
    assert app.test_client().get("/later").data == b"later"


# -- the same tests over ASGI ------------------------------------------------------------


def test_asgi_client_keeps_status_line_and_header_spelling(app: Phial) -> None:
    @app.route("/")
    def index() -> t.Any:
        return "tea", "418 I'M A TEAPOT", {"X-ETag-Like": "1"}

    wsgi = app.test_client(protocol="wsgi").get("/")
    asgi = app.test_client(protocol="asgi").get("/")
    assert asgi.status == wsgi.status == "418 I'M A TEAPOT"
    assert list(asgi.headers) == list(wsgi.headers)
    assert ("X-ETag-Like", "1") in list(asgi.headers)


def test_asgi_client_logs_to_the_errors_stream(app: Phial) -> None:
    import io

    @app.route("/")
    def index() -> str:
        app.logger.warning("careful over asgi")
        return "ok"

    from phial.logging import default_handler

    app.logger.addHandler(default_handler)  # pytest's capture would stand in for it
    try:
        errors = io.StringIO()
        app.test_client(protocol="asgi").get("/", errors_stream=errors)
    finally:
        app.logger.removeHandler(default_handler)
    assert "careful over asgi" in errors.getvalue()


def test_asgi_client_streams_unbuffered_responses(app: Phial) -> None:
    produced: list[int] = []

    @app.route("/stream")
    def stream() -> t.Any:
        def chunks() -> t.Iterator[str]:
            for i in range(3):
                produced.append(i)
                yield f"{i};"

        return chunks()

    response = app.test_client(protocol="asgi").get("/stream", buffered=False)
    body = iter(response.response)
    assert next(body) == b"0;"
    # The rest is produced as it is read (the driver may read one chunk ahead).
    assert produced in ([0], [0, 1])
    assert b"".join(body) == b"1;2;"
    response.close()
    assert produced == [0, 1, 2]


def test_asgi_client_close_ends_an_endless_stream(app: Phial) -> None:
    closed: list[bool] = []

    @app.route("/forever")
    def forever() -> t.Any:
        def chunks() -> t.Iterator[str]:
            try:
                while True:
                    yield "tick;"
            finally:
                closed.append(True)

        return chunks()

    response = app.test_client(protocol="asgi").get("/forever", buffered=False)
    assert next(iter(response.response)) == b"tick;"
    response.close()
    assert closed == [True]
