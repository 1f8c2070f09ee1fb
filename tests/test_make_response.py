"""Turning view return values into responses (``Phial.make_response`` and the helper)."""

from __future__ import annotations

import typing as t

import pytest
from werkzeug.datastructures import Headers
from werkzeug.exceptions import Forbidden

from phial import Phial, make_response
from phial.testing import FlaskClient
from phial.wrappers import Response


def _serve(app: Phial, rv: t.Any) -> t.Any:
    def view() -> t.Any:
        return rv() if callable(rv) and getattr(rv, "_factory", False) else rv

    app.add_url_rule("/", "view", view)
    return app.test_client().get("/")


def test_str(app: Phial) -> None:
    rv = _serve(app, "héllo")
    assert rv.status_code == 200
    assert rv.mimetype == "text/html"
    assert rv.data == "héllo".encode()


def test_bytes(app: Phial) -> None:
    rv = _serve(app, b"\x00raw")
    assert rv.data == b"\x00raw"
    assert rv.mimetype == "text/html"


def test_dict_is_json(app: Phial) -> None:
    rv = _serve(app, {"a": 1})
    assert rv.mimetype == "application/json"
    assert rv.json == {"a": 1}


def test_list_is_json(app: Phial) -> None:
    rv = _serve(app, [1, "two"])
    assert rv.mimetype == "application/json"
    assert rv.json == [1, "two"]


def test_generator_streamed(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> t.Iterator[str]:
        def gen() -> t.Iterator[str]:
            yield "a"
            yield "b"

        return gen()

    rv = client.get("/")
    assert rv.is_streamed
    assert "Content-Length" not in rv.headers
    assert rv.data == b"ab"


def test_iterator_streamed(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> t.Iterator[bytes]:
        return iter([b"x", b"y"])

    assert client.get("/").data == b"xy"


def test_response_passed_through(app: Phial) -> None:
    resp = Response("custom", status=201, mimetype="text/plain")
    rv = _serve(app, resp)
    assert rv.status_code == 201
    assert rv.mimetype == "text/plain"
    assert rv.data == b"custom"


def test_werkzeug_response_coerced(app: Phial, client: FlaskClient) -> None:
    from werkzeug.wrappers import Response as WzResponse

    @app.route("/")
    def index() -> t.Any:
        return WzResponse("wz", status=202)

    rv = client.get("/")
    assert rv.status_code == 202
    assert rv.data == b"wz"


def test_wsgi_callable(app: Phial) -> None:
    def wsgi(environ: t.Any, start_response: t.Any) -> list[bytes]:
        start_response("203 OK-ISH", [("X-Wsgi", environ["PATH_INFO"])])
        return [b"from wsgi"]

    rv = _serve(app, wsgi)
    assert rv.status_code == 203
    assert rv.headers["X-Wsgi"] == "/"
    assert rv.data == b"from wsgi"


def test_http_exception_returned(app: Phial) -> None:
    rv = _serve(app, Forbidden("nope"))
    assert rv.status_code == 403
    assert b"nope" in rv.data


def test_tuple_body_status_int(app: Phial) -> None:
    rv = _serve(app, ("made", 201))
    assert rv.status_code == 201
    assert rv.data == b"made"


def test_tuple_body_status_str(app: Phial) -> None:
    rv = _serve(app, ("teapot", "418 I'M A TEAPOT"))
    assert rv.status == "418 I'M A TEAPOT"
    assert rv.status_code == 418


def test_tuple_body_headers_dict(app: Phial) -> None:
    rv = _serve(app, ("h", {"X-A": "1"}))
    assert rv.status_code == 200
    assert rv.headers["X-A"] == "1"


def test_tuple_body_headers_list(app: Phial) -> None:
    rv = _serve(app, ("h", [("X-B", "2"), ("X-B", "3")]))
    assert rv.headers.getlist("X-B") == ["2", "3"]


def test_tuple_body_headers_object(app: Phial) -> None:
    rv = _serve(app, ("h", Headers({"X-C": "4"})))
    assert rv.headers["X-C"] == "4"


def test_tuple_body_status_headers(app: Phial) -> None:
    rv = _serve(app, ({"ok": True}, 202, {"X-D": "5", "Content-Type": "application/x-custom"}))
    assert rv.status_code == 202
    assert rv.headers["X-D"] == "5"
    assert rv.headers["Content-Type"] == "application/x-custom"
    assert rv.get_json(force=True) == {"ok": True}


def test_tuple_response_with_status_and_headers(app: Phial) -> None:
    rv = _serve(app, (Response("r"), "404 GONE", {"X-E": "6"}))
    assert rv.status == "404 GONE"
    assert rv.headers["X-E"] == "6"
    assert rv.data == b"r"


@pytest.mark.parametrize("value", [(), ("a",), ("a", 200, {}, "extra")])
def test_invalid_tuple_length(app: Phial, value: tuple[t.Any, ...]) -> None:
    with app.test_request_context(), pytest.raises(TypeError, match="tuple"):
        app.make_response(value)


def test_none_names_the_view(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def forgetful() -> None:
        pass

    with pytest.raises(TypeError, match="'forgetful' did not return a valid response"):
        client.get("/")


def test_none_in_tuple(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def forgetful() -> t.Any:
        return None, 200

    with pytest.raises(TypeError, match=r"forgetful.*returned None"):
        client.get("/")


def test_unsupported_type_names_type(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def numeric() -> t.Any:
        return 42

    with pytest.raises(TypeError, match=r"'numeric'.*it was a int"):
        client.get("/")


def test_bad_callable_names_type(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def odd() -> t.Any:
        return object

    with pytest.raises(TypeError, match=r"'odd'.*type"):
        client.get("/")


def test_unsupported_type_not_testing_is_500(app: Phial, client: FlaskClient) -> None:
    app.testing = False

    @app.route("/")
    def numeric() -> t.Any:
        return 1.5

    rv = client.get("/")
    assert rv.status_code == 500


# -- the make_response() helper -------------------------------------------------------


def test_helper_no_args(app: Phial) -> None:
    with app.test_request_context():
        rv = make_response()
    assert isinstance(rv, Response)
    assert rv.status_code == 200
    assert rv.data == b""


def test_helper_one_arg(app: Phial) -> None:
    with app.test_request_context():
        rv = make_response("body")
        assert make_response(rv) is rv
        assert make_response({"a": 1}).json == {"a": 1}
    assert rv.data == b"body"


def test_helper_many_args(app: Phial) -> None:
    with app.test_request_context():
        rv = make_response("body", 404, {"X-F": "7"})
        tuple_rv = make_response(("body", 201))
    assert rv.status_code == 404
    assert rv.headers["X-F"] == "7"
    assert tuple_rv.status_code == 201


def test_helper_in_view_allows_changes(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> Response:
        resp = make_response("made")
        resp.headers["X-G"] = "8"
        return resp

    rv = client.get("/")
    assert rv.headers["X-G"] == "8"
    assert rv.data == b"made"


def test_helper_needs_app_context() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        make_response("x")
