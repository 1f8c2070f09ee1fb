"""JSON inside an application: views, jsonify, providers and request.get_json."""

from __future__ import annotations

import typing as t
from datetime import datetime, timezone
from decimal import Decimal

import flask
import pytest
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from phial import Phial, jsonify, request
from phial.json.provider import DefaultJSONProvider, OrjsonProvider

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000


def _echo_app(app: Phial) -> Phial:
    @app.post("/echo")
    def echo() -> t.Any:
        return {"got": request.get_json()}

    @app.post("/silent")
    def silent() -> t.Any:
        return {"got": request.get_json(silent=True)}

    @app.post("/force")
    def force() -> t.Any:
        return {"got": request.get_json(force=True)}

    return app


class OrjsonApp(Phial):
    json_provider_class = OrjsonProvider


@pytest.fixture(params=["default", "orjson"])
def any_app(request: pytest.FixtureRequest) -> Phial:
    """An app with the standard library provider, then one with orjson."""
    cls = Phial if request.param == "default" else OrjsonApp
    app = cls(__name__)
    app.config["TESTING"] = True
    return _echo_app(app)


# -- views returning dicts and lists --------------------------------------------------------


def test_dict_and_list_views_are_json(app: Phial) -> None:
    @app.route("/d")
    def d() -> t.Any:
        return {"b": 1, "a": [1, 2]}

    @app.route("/l")
    def lst() -> t.Any:
        return [1, "x", None]

    client = app.test_client()
    rv = client.get("/d")
    assert rv.mimetype == "application/json"
    assert rv.data == b'{"a":[1,2],"b":1}\n'
    assert rv.get_json() == {"a": [1, 2], "b": 1}
    assert client.get("/l").data == b'[1,"x",null]\n'


def test_dict_view_with_status_and_headers(app: Phial) -> None:
    @app.route("/")
    def index() -> t.Any:
        return {"created": True}, 201, {"X-Id": "7"}

    rv = app.test_client().get("/")
    assert rv.status_code == 201
    assert rv.headers["X-Id"] == "7"
    assert rv.json == {"created": True}


def test_dict_view_extra_types(app: Phial) -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

    @app.route("/")
    def index() -> t.Any:
        return {"when": when, "price": Decimal("1.50")}

    assert app.test_client().get("/").json == {
        "when": "Tue, 02 Jan 2024 03:04:05 GMT",
        "price": "1.50",
    }


def test_dict_view_unserializable_is_500(app: Phial) -> None:
    app.config["TESTING"] = False

    @app.route("/")
    def index() -> t.Any:
        return {"x": object()}

    assert app.test_client().get("/").status_code == 500


def test_debug_output_is_indented(app: Phial) -> None:
    app.debug = True

    @app.route("/")
    def index() -> t.Any:
        return {"a": 1}

    assert app.test_client().get("/").data == b'{\n  "a": 1\n}\n'


def test_provider_attributes_apply_to_views(app: Phial) -> None:
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # DefaultJSONProvider
    app.json.compact = False  # type: ignore[attr-defined]  # DefaultJSONProvider
    app.json.mimetype = "application/vnd.api+json"  # type: ignore[attr-defined]  # same

    @app.route("/")
    def index() -> t.Any:
        return {"b": "é", "a": 1}

    rv = app.test_client().get("/")
    assert rv.mimetype == "application/vnd.api+json"
    assert rv.data == '{\n  "b": "é",\n  "a": 1\n}\n'.encode()


def test_compact_true_even_in_debug(app: Phial) -> None:
    app.debug = True
    app.json.compact = True  # type: ignore[attr-defined]  # DefaultJSONProvider

    @app.route("/")
    def index() -> t.Any:
        return jsonify(a=1)

    assert app.test_client().get("/").data == b'{"a":1}\n'


def test_ensure_ascii_default_escapes(app: Phial) -> None:
    @app.route("/")
    def index() -> t.Any:
        return {"a": "é"}

    assert app.test_client().get("/").data == b'{"a":"\\u00e9"}\n'


class UpperProvider(DefaultJSONProvider):
    """Serializes every string upper-case, to see which provider ran."""

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        return super().dumps(obj, **kwargs).upper()

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        rv = super().loads(s, **kwargs)
        return {"provider": "upper", "value": rv}


def test_json_provider_class_on_subclass() -> None:
    class App(Phial):
        json_provider_class = UpperProvider

    app = _echo_app(App(__name__))
    assert isinstance(app.json, UpperProvider)

    @app.route("/")
    def index() -> t.Any:
        return {"a": "b"}

    client = app.test_client()
    assert client.get("/").data == b'{"A":"B"}\n'
    rv = client.post("/echo", json={"x": 1})
    assert rv.data == b'{"GOT":{"PROVIDER":"UPPER","VALUE":{"X":1}}}\n'


def test_assigning_app_json(app: Phial) -> None:
    app.json = UpperProvider(app)
    _echo_app(app)

    @app.route("/")
    def index() -> t.Any:
        return jsonify(["x"])

    client = app.test_client()
    assert client.get("/").data == b'["X"]\n'
    assert client.post("/echo", json=[1]).data == b'{"GOT":{"PROVIDER":"UPPER","VALUE":[1]}}\n'


def test_phial_json_functions_use_app_provider(app: Phial) -> None:
    import phial.json

    app.json = UpperProvider(app)
    with app.app_context():
        assert phial.json.dumps({"a": "b"}) == '{"A": "B"}'
        assert phial.json.loads("[1]") == {"provider": "upper", "value": [1]}
    assert phial.json.dumps({"a": "b"}) == '{"a": "b"}'


def test_test_client_json_uses_app_provider(app: Phial) -> None:
    app.json = UpperProvider(app)

    @app.route("/")
    def index() -> t.Any:
        return "[1]"

    assert app.test_client().get("/").get_json(force=True) == {"provider": "upper", "value": [1]}


# -- jsonify ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "body"),
    [
        ((), {}, b"null\n"),
        ((1,), {}, b"1\n"),
        (("a", "b"), {}, b'["a","b"]\n'),
        (({"z": 1, "a": 2},), {}, b'{"a":2,"z":1}\n'),
        ((), {"b": 1, "a": [True]}, b'{"a":[true],"b":1}\n'),
    ],
)
def test_jsonify_shapes(
    app: Phial, args: tuple[t.Any, ...], kwargs: dict[str, t.Any], body: bytes
) -> None:
    @app.route("/")
    def index() -> t.Any:
        return jsonify(*args, **kwargs)

    rv = app.test_client().get("/")
    assert rv.mimetype == "application/json"
    assert rv.data == body
    flask_app = flask.Flask(__name__)
    with flask_app.app_context():
        assert flask.jsonify(*args, **kwargs).data == body


def test_jsonify_with_status_tuple(app: Phial) -> None:
    @app.route("/")
    def index() -> t.Any:
        return jsonify(error="missing"), 404

    @app.route("/h")
    def headers() -> t.Any:
        return jsonify(ok=True), 202, [("X-A", "b")]

    client = app.test_client()
    rv = client.get("/")
    assert rv.status_code == 404
    assert rv.json == {"error": "missing"}
    rv = client.get("/h")
    assert (rv.status_code, rv.headers["X-A"]) == (202, "b")


def test_jsonify_args_and_kwargs_is_type_error(app: Phial) -> None:
    with app.app_context(), pytest.raises(TypeError, match="either args or kwargs"):
        jsonify(1, a=2)


def test_jsonify_needs_app() -> None:
    with pytest.raises(RuntimeError):
        jsonify(a=1)


def test_jsonify_uses_response_class(app: Phial) -> None:
    class MyResponse(app.response_class):  # type: ignore[name-defined, misc]  # dynamic base
        pass

    app.response_class = MyResponse
    with app.app_context():
        assert isinstance(jsonify(1), MyResponse)


# -- request.get_json ----------------------------------------------------------------------


def test_get_json(any_app: Phial) -> None:
    client = any_app.test_client()
    assert client.post("/echo", json={"a": [1, "é"]}).json == {"got": {"a": [1, "é"]}}
    rv = client.post("/echo", data=b'{"a":1}', content_type="application/vnd.api+json")
    assert rv.json == {"got": {"a": 1}}
    rv = client.post("/echo", data=b"\xef\xbb\xbf[1]", content_type="application/json")
    assert rv.json == {"got": [1]}


@pytest.mark.parametrize(
    "body",
    [
        b"{bad",
        b"",
        b"[1,]",
        b"NaNx",
        b'"\xff\xfe"',
        b'{"a": "\xc3"}',
        b"\xed\xa0\x80",
        DEEP,
        DEEP_OBJECT,
    ],
    ids=[
        "malformed",
        "empty",
        "trailing-comma",
        "garbage",
        "invalid-utf8",
        "truncated-utf8",
        "surrogate",
        "deep-list",
        "deep-object",
    ],
)
def test_bad_json_is_400(any_app: Phial, body: bytes) -> None:
    any_app.config["TESTING"] = False
    client = any_app.test_client()
    rv = client.post("/echo", data=body, content_type="application/json")
    assert rv.status_code == 400
    assert b"Bad Request" in rv.data
    assert client.post("/silent", data=body, content_type="application/json").json == {"got": None}


def test_bad_json_is_400_when_testing(any_app: Phial) -> None:
    # HTTP errors are responses even when exceptions propagate.
    rv = any_app.test_client().post("/echo", data=DEEP, content_type="application/json")
    assert rv.status_code == 400


def test_bad_json_message_hidden_unless_debug(app: Phial) -> None:
    _echo_app(app)
    client = app.test_client()
    rv = client.post("/echo", data=b"{bad", content_type="application/json")
    assert rv.status_code == 400
    assert b"Failed to decode" not in rv.data
    assert BadRequest.description.encode() in rv.data  # type: ignore[union-attr]  # set on the class

    app.debug = True
    app.config["TRAP_BAD_REQUEST_ERRORS"] = False
    rv = client.post("/echo", data=b"{bad", content_type="application/json")
    assert rv.status_code == 400
    assert b"Failed to decode JSON object: Expecting property name" in rv.data


def test_bad_json_cause_is_the_parse_error(app: Phial) -> None:
    with app.test_request_context(data=b"[1", content_type="application/json"):
        with pytest.raises(BadRequest) as info:
            request.get_json()
        assert isinstance(info.value.__cause__, ValueError)


def test_deep_nesting_is_value_error_cause(app: Phial) -> None:
    with app.test_request_context(data=DEEP, content_type="application/json"):
        with pytest.raises(BadRequest) as info:
            request.get_json()
        assert "too deep" in str(info.value.__cause__)


def test_deep_nesting_is_not_recursion_error_in_debug(app: Phial) -> None:
    app.debug = True
    with (
        app.test_request_context(data=DEEP, content_type="application/json"),
        pytest.raises(BadRequest, match="nesting is too deep"),
    ):
        request.get_json()


def test_reasonable_nesting_is_fine(any_app: Phial) -> None:
    body = b"[" * 200 + b"]" * 200
    rv = any_app.test_client().post("/echo", data=body, content_type="application/json")
    assert rv.status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(any_app: Phial, content_type: str | None) -> None:
    any_app.config["TESTING"] = False
    client = any_app.test_client()
    rv = client.post("/echo", data=b'{"a":1}', content_type=content_type)
    assert rv.status_code == 415
    assert b"application/json" in rv.data
    rv = client.post("/silent", data=b'{"a":1}', content_type=content_type)
    assert rv.json == {"got": None}


def test_wrong_content_type_is_415_in_debug(app: Phial) -> None:
    app.debug = True
    with app.test_request_context(data=b"{}", content_type="text/plain"):
        with pytest.raises(UnsupportedMediaType):
            request.get_json()
        assert request.get_json(silent=True) is None


def test_force_ignores_content_type(any_app: Phial) -> None:
    client = any_app.test_client()
    rv = client.post("/force", data=b'{"a":1}', content_type="text/plain")
    assert rv.json == {"got": {"a": 1}}
    assert client.post("/force", data=b"{bad", content_type="text/plain").status_code == 400


def test_request_json_property(app: Phial) -> None:
    with app.test_request_context(json={"a": 1}):
        assert request.json == {"a": 1}
        assert request.is_json
    with app.test_request_context(data=b"{}", content_type="text/plain"):
        assert not request.is_json
        with pytest.raises(UnsupportedMediaType):
            request.json  # noqa: B018  # the property raises


def test_get_json_is_cached(app: Phial) -> None:
    with app.test_request_context(json=[1, 2]):
        first = request.get_json()
        assert request.get_json() is first
        assert request.get_json(cache=False) == [1, 2]


def test_error_handler_sees_bad_json(app: Phial) -> None:
    _echo_app(app)

    @app.errorhandler(400)
    def bad_request(e: BadRequest) -> t.Any:
        return {"error": "bad json", "code": e.code}, 400

    @app.errorhandler(415)
    def wrong_type(e: UnsupportedMediaType) -> t.Any:
        return {"error": "send json", "code": e.code}, 415

    client = app.test_client()
    rv = client.post("/echo", data=DEEP, content_type="application/json")
    assert rv.json == {"error": "bad json", "code": 400}
    rv = client.post("/echo", data=b"{}", content_type="text/plain")
    assert rv.json == {"error": "send json", "code": 415}


def test_on_json_loading_failed_override(app: Phial) -> None:
    class Request(app.request_class):  # type: ignore[name-defined, misc]  # dynamic base
        def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
            return {"fallback": e is None}

    app.request_class = Request
    _echo_app(app)
    client = app.test_client()
    assert client.post("/echo", data=b"{", content_type="application/json").json == {
        "got": {"fallback": False}
    }
    assert client.post("/echo", data=b"{}", content_type="text/plain").json == {
        "got": {"fallback": True}
    }


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{bad", "application/json", 400),
        (b'"\xff"', "application/json", 400),
        (b"{}", "text/plain", 415),
        (b'{"a":1}', "application/json", 200),
    ],
)
def test_status_codes_match_flask(app: Phial, body: bytes, content_type: str, status: int) -> None:
    _echo_app(app)
    flask_app = flask.Flask(__name__)

    @flask_app.post("/echo")
    def echo() -> t.Any:
        return {"got": flask.request.get_json()}

    assert (
        app.test_client().post("/echo", data=body, content_type=content_type).status_code
        == (flask_app.test_client().post("/echo", data=body, content_type=content_type).status_code)
        == status
    )


# -- the orjson provider in an app ------------------------------------------------------------


def test_orjson_provider_selected_by_class_attribute() -> None:
    app = OrjsonApp(__name__)
    assert type(app.json) is OrjsonProvider

    @app.route("/")
    def index() -> t.Any:
        return {"b": [1, 2.5, None], "a": "é", "when": datetime(2024, 1, 2, tzinfo=timezone.utc)}

    rv = app.test_client().get("/")
    assert rv.mimetype == "application/json"
    assert rv.data == (
        '{"a":"é","b":[1,2.5,null],"when":"Tue, 02 Jan 2024 00:00:00 GMT"}\n'.encode()
    )


def test_orjson_provider_assigned() -> None:
    app = _echo_app(Phial(__name__))
    app.json = OrjsonProvider(app)
    app.debug = True

    @app.route("/")
    def index() -> t.Any:
        return jsonify(a=1)

    client = app.test_client()
    assert client.get("/").data == b'{\n  "a": 1\n}\n'
    assert client.post("/echo", json={"x": [1]}).json == {"got": {"x": [1]}}
