"""URL building: ``url_for`` inside and outside requests."""

from __future__ import annotations

import typing as t

import pytest
from werkzeug.routing import BuildError

from phial import Phial, g, url_for
from phial.testing import FlaskClient


@pytest.fixture
def routed(app: Phial) -> Phial:
    @app.route("/")
    def index() -> str:
        return "index"

    @app.route("/user/<name>")
    def user(name: str) -> str:
        return name

    def item() -> str:
        return ""

    app.add_url_rule("/item/get", "item", item, methods=["GET"])
    app.add_url_rule("/item/post", "item", item, methods=["POST"])
    return app


def test_relative_inside_request(routed: Phial) -> None:
    with routed.test_request_context():
        assert url_for("index") == "/"
        assert url_for("user", name="bob") == "/user/bob"
        assert url_for("user", name="a b?c") == "/user/a%20b%3Fc"


def test_external(routed: Phial) -> None:
    with routed.test_request_context(base_url="https://example.test"):
        assert url_for("index", _external=True) == "https://example.test/"


def test_anchor_quoted(routed: Phial) -> None:
    with routed.test_request_context():
        assert url_for("index", _anchor="top") == "/#top"
        assert url_for("index", _anchor="a b<c>") == "/#a%20b%3Cc%3E"
        assert url_for("index", _anchor="x/y?z=1&w") == "/#x/y?z=1&w"


def test_method(routed: Phial) -> None:
    with routed.test_request_context():
        assert url_for("item", _method="GET") == "/item/get"
        assert url_for("item", _method="POST") == "/item/post"


def test_scheme_requires_external(routed: Phial) -> None:
    with routed.test_request_context():
        assert url_for("index", _scheme="https", _external=True) == "https://localhost/"
        # _scheme alone implies _external inside a request
        assert url_for("index", _scheme="https") == "https://localhost/"
        with pytest.raises(ValueError, match="_external"):
            url_for("index", _scheme="https", _external=False)


def test_extra_values_become_query_string_none_skipped(routed: Phial) -> None:
    with routed.test_request_context():
        rv = url_for("user", name="bob", page=2, q="a b", empty=None)
        assert rv == "/user/bob?page=2&q=a+b"
        assert url_for("index", tags=["a", "b"]) == "/?tags=a&tags=b"


def test_url_defaults(routed: Phial) -> None:
    @routed.url_defaults
    def add_lang(endpoint: str, values: dict[str, t.Any]) -> None:
        if endpoint == "user":
            values.setdefault("name", "default-user")
        values.setdefault("lang", "en")

    with routed.test_request_context():
        assert url_for("user") == "/user/default-user?lang=en"
        assert url_for("user", name="x", lang="de") == "/user/x?lang=de"


def test_url_value_preprocessor(app: Phial, client: FlaskClient) -> None:
    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        assert values is not None
        g.lang = values.pop("lang")
        g.seen_endpoint = endpoint

    @app.route("/<lang>/about")
    def about() -> str:
        return f"{g.lang} {g.seen_endpoint}"

    assert client.get("/fr/about").data == b"fr about"


def test_url_value_preprocessor_runs_before_before_request(app: Phial, client: FlaskClient) -> None:
    order: list[str] = []

    @app.before_request
    def before() -> None:
        order.append("before")

    @app.url_value_preprocessor
    def pre(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        order.append("pre")

    @app.route("/")
    def index() -> str:
        return "x"

    client.get("/")
    assert order == ["pre", "before"]


def test_build_error_for_unknown_endpoint(routed: Phial) -> None:
    with routed.test_request_context(), pytest.raises(BuildError) as info:
        url_for("missing")
    assert "missing" in str(info.value)


def test_build_error_for_missing_argument(routed: Phial) -> None:
    with routed.test_request_context(), pytest.raises(BuildError):
        url_for("user")


def test_url_build_error_handlers(routed: Phial) -> None:
    seen: list[tuple[str, dict[str, t.Any]]] = []

    def first(error: Exception, endpoint: str, values: dict[str, t.Any]) -> str | None:
        seen.append((endpoint, dict(values)))
        return None

    def second(error: Exception, endpoint: str, values: dict[str, t.Any]) -> str:
        if endpoint == "external":
            return "https://elsewhere.test/"
        raise error

    routed.url_build_error_handlers.extend([first, second])
    with routed.test_request_context():
        assert url_for("external", x=1) == "https://elsewhere.test/"
        with pytest.raises(BuildError):
            url_for("unknown")
    assert seen[0][0] == "external"
    assert seen[0][1]["x"] == 1
    assert seen[0][1]["_external"] is False


def test_outside_request_uses_server_name(routed: Phial) -> None:
    routed.config.update(
        SERVER_NAME="example.test:8080",
        APPLICATION_ROOT="/app",
        PREFERRED_URL_SCHEME="https",
    )
    with routed.app_context():
        assert url_for("user", name="x") == "https://example.test:8080/app/user/x"
        assert url_for("index", _external=False) == "/app/"
        assert url_for("index", _scheme="http") == "http://example.test:8080/app/"


def test_app_url_for_without_context(routed: Phial) -> None:
    routed.config["SERVER_NAME"] = "example.test"
    assert routed.url_for("index") == "http://example.test/"


def test_outside_request_without_server_name(routed: Phial) -> None:
    with routed.app_context(), pytest.raises(RuntimeError, match="SERVER_NAME"):
        url_for("index")
    with pytest.raises(RuntimeError, match="SERVER_NAME"):
        routed.url_for("index")


def test_url_for_without_app_context(routed: Phial) -> None:
    with pytest.raises(RuntimeError, match="application context"):
        url_for("index")


def test_url_for_in_view(routed: Phial) -> None:
    @routed.route("/links")
    def links() -> str:
        return url_for("user", name="z", _external=True)

    client = routed.test_client()
    assert client.get("/links").data == b"http://localhost/user/z"


def test_relative_endpoint_without_blueprint(routed: Phial) -> None:
    with routed.test_request_context():
        assert url_for(".index") == "/"


def test_application_root_in_request(routed: Phial) -> None:
    with routed.test_request_context("/", base_url="http://localhost/prefix"):
        assert url_for("index") == "/prefix/"
