"""Request and Response: routing attributes, config-driven limits, JSON errors."""

from __future__ import annotations

import io
import typing as t

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Request as WzRequest
from werkzeug.wrappers import Response as WzResponse

from phial import Phial, request
from phial.testing import FlaskClient
from phial.wrappers import Request, Response


def test_subclasses_of_werkzeug() -> None:
    assert issubclass(Request, WzRequest)
    assert issubclass(Response, WzResponse)


def test_response_default_mimetype() -> None:
    rv = Response("hi")
    assert rv.mimetype == "text/html"
    assert rv.headers["Content-Type"] == "text/html; charset=utf-8"


def test_request_routing_attributes(app: Phial, client: FlaskClient) -> None:
    @app.route("/u/<int:n>")
    def user(n: int) -> dict[str, t.Any]:
        assert request.url_rule is not None
        return {
            "rule": request.url_rule.rule,
            "view_args": request.view_args,
            "endpoint": request.endpoint,
            "blueprint": request.blueprint,
            "blueprints": request.blueprints,
            "routing_exception": repr(request.routing_exception),
        }

    assert client.get("/u/3").json == {
        "rule": "/u/<int:n>",
        "view_args": {"n": 3},
        "endpoint": "user",
        "blueprint": None,
        "blueprints": [],
        "routing_exception": "None",
    }


def test_request_routing_exception_on_404(app: Phial) -> None:
    with app.test_request_context("/missing"):
        assert request.url_rule is None
        assert request.view_args is None
        assert request.endpoint is None
        assert isinstance(request.routing_exception, NotFound)


def test_blueprint_names_from_dotted_endpoint(app: Phial) -> None:
    app.add_url_rule("/n", "outer.inner.view", lambda: "")
    with app.test_request_context("/n"):
        assert request.endpoint == "outer.inner.view"
        assert request.blueprint == "outer.inner"
        assert request.blueprints == ["outer.inner", "outer"]


@pytest.fixture
def echo(app: Phial) -> Phial:
    @app.route("/form", methods=["POST"])
    def form() -> dict[str, t.Any]:
        return {"form": request.form.to_dict(), "files": list(request.files)}

    @app.route("/data", methods=["POST"])
    def data() -> str:
        return str(len(request.get_data()))

    @app.route("/json", methods=["POST"])
    def json_view() -> dict[str, t.Any]:
        return {"got": request.get_json()}

    return app


def test_max_content_length_from_config(echo: Phial, client: FlaskClient) -> None:
    echo.config["MAX_CONTENT_LENGTH"] = 10
    assert client.post("/data", data=b"x" * 10).data == b"10"
    rv = client.post("/form", data={"a": "x" * 100})
    assert rv.status_code == 413
    with echo.test_request_context():
        assert request.max_content_length == 10


def test_max_content_length_per_request_overrides_config(echo: Phial) -> None:
    echo.config["MAX_CONTENT_LENGTH"] = 10
    with echo.test_request_context():
        request.max_content_length = 99
        assert request.max_content_length == 99


def test_limits_outside_app_context() -> None:
    req = Request.from_values()
    assert req.max_content_length is None
    assert req.max_form_memory_size == 500_000
    assert req.max_form_parts == 1_000


def test_max_form_memory_size_from_config(echo: Phial, client: FlaskClient) -> None:
    echo.config["MAX_FORM_MEMORY_SIZE"] = 10
    assert client.post("/form", data={"a": "short"}).json == {"form": {"a": "short"}, "files": []}
    rv = client.post("/form", data={"a": "x" * 50}, content_type="multipart/form-data")
    assert rv.status_code == 413


def test_max_form_parts_from_config(echo: Phial, client: FlaskClient) -> None:
    echo.config["MAX_FORM_PARTS"] = 2
    # Plain fields: Werkzeug's parser leaks the temporary files of file parts
    # when it stops at the limit (Flask too), which would trip ResourceWarning.
    fields = {f"f{i}": "x" for i in range(5)}
    rv = client.post("/form", data=fields, content_type="multipart/form-data")
    assert rv.status_code == 413
    rv = client.post("/form", data={"f": (io.BytesIO(b"x"), "x.txt")})
    assert rv.json == {"form": {}, "files": ["f"]}
    with echo.test_request_context():
        assert request.max_form_parts == 2


def test_get_json_ok(echo: Phial, client: FlaskClient) -> None:
    rv = client.post("/json", json={"a": [1, 2]})
    assert rv.status_code == 200
    assert rv.json == {"got": {"a": [1, 2]}}


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe\xfa",
        b'"\xc3\x28"',
        b"[" * 100_000,
        b"{" * 100_000,
    ],
    ids=["malformed", "not-utf", "bad-utf8-in-string", "deep-list", "deep-object"],
)
def test_get_json_bad_body_is_400(echo: Phial, client: FlaskClient, body: bytes) -> None:
    rv = client.post("/json", data=body, content_type="application/json")
    assert rv.status_code == 400
    assert b"Bad Request" in rv.data


def test_get_json_wrong_content_type_is_415(echo: Phial, client: FlaskClient) -> None:
    rv = client.post("/json", data=b'{"a": 1}', content_type="text/plain")
    assert rv.status_code == 415


def test_get_json_silent_and_force(app: Phial) -> None:
    with app.test_request_context(data=b"{bad", content_type="application/json"):
        assert request.get_json(silent=True) is None
    with app.test_request_context(data=b'{"a": 1}', content_type="text/plain"):
        assert request.get_json(force=True) == {"a": 1}
        assert request.get_json(silent=True) == {"a": 1}


def test_request_json_property(app: Phial) -> None:
    with app.test_request_context(json=[1, "x"]):
        assert request.is_json
        assert request.json == [1, "x"]


def test_deep_json_in_view_never_500(app: Phial, client: FlaskClient) -> None:
    app.testing = False

    @app.route("/j", methods=["POST"])
    def j() -> str:
        return repr(request.json)

    rv = client.post("/j", data=b"[" * 100_000 + b"]" * 100_000, content_type="application/json")
    assert rv.status_code == 400


def test_max_cookie_size_from_config(app: Phial) -> None:
    app.config["MAX_COOKIE_SIZE"] = 100
    with app.app_context():
        assert Response().max_cookie_size == 100
    assert Response().max_cookie_size == 4093


def test_max_content_length_for_raw_body_and_json(echo: Phial, client: FlaskClient) -> None:
    echo.config["MAX_CONTENT_LENGTH"] = 10
    assert client.post("/data", data=b"x" * 50).status_code == 413
    rv = client.post("/json", data=b"[" + b"1," * 20 + b"1]", content_type="application/json")
    assert rv.status_code == 413


@pytest.mark.parametrize(
    "query",
    [
        "",
        "page=3",
        "a=1&a=2&b=",
        "a&=x&&b=c=d",
        "x=%41%20b&y=c+d",
        "q=caf%C3%A9",
        "name=%ZZ",
        "k=v;w=z",
    ],
)
def test_args_match_werkzeugs_parser(app: Phial, query: str) -> None:
    from werkzeug.wrappers import Request as WerkzeugRequest

    with app.test_request_context(f"/?{query}") as ctx:
        ours = ctx.request.args
        theirs = WerkzeugRequest(ctx.request.environ, populate_request=False).args
        assert list(ours.items(multi=True)) == list(theirs.items(multi=True))
        assert type(ours) is type(theirs)
