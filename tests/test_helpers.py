"""Helpers views call: redirect and static files."""

from __future__ import annotations

import os

import pytest

from phial import Phial, redirect
from phial.testing import FlaskClient
from phial.wrappers import Response

HERE = os.path.dirname(os.path.abspath(__file__))
HELLO = b"Hello, static!\n"


def test_redirect_default_302(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> Response:
        return redirect("/target")  # type: ignore[return-value]  # our response class

    rv = client.get("/")
    assert rv.status_code == 302
    assert rv.headers["Location"] == "/target"
    assert b"/target" in rv.data
    assert isinstance(rv, Response)


@pytest.mark.parametrize("code", [301, 303, 307, 308])
def test_redirect_codes(app: Phial, client: FlaskClient, code: int) -> None:
    @app.route("/")
    def index() -> Response:
        return redirect("https://example.test/x", code=code)  # type: ignore[return-value]  # ours

    rv = client.get("/")
    assert rv.status_code == code
    assert rv.headers["Location"] == "https://example.test/x"


def test_redirect_relative_location_kept(app: Phial, client: FlaskClient) -> None:
    @app.route("/a/b")
    def index() -> Response:
        return redirect("../c")  # type: ignore[return-value]  # our response class

    assert client.get("/a/b").headers["Location"] == "../c"


def test_redirect_follow(app: Phial, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> Response:
        return redirect("/target")  # type: ignore[return-value]  # our response class

    @app.route("/target")
    def target() -> str:
        return "arrived"

    rv = client.get("/", follow_redirects=True)
    assert rv.data == b"arrived"
    assert [r.status_code for r in rv.history] == [302]


def test_redirect_outside_app_uses_werkzeug() -> None:
    rv = redirect("/x", 303)
    assert rv.status_code == 303
    assert rv.headers["Location"] == "/x"


def test_redirect_uses_app_response_class() -> None:
    class MyResponse(Response):
        pass

    class App(Phial):
        response_class = MyResponse

    app = App("x")
    with app.app_context():
        assert isinstance(redirect("/x"), MyResponse)


@pytest.mark.parametrize("location", ["/a\r\nSet-Cookie: x=1", "/a\nX-Evil: 1", "/a\rb"])
def test_redirect_refuses_header_injection(app: Phial, location: str) -> None:
    with app.test_request_context(), pytest.raises(ValueError, match="line break"):
        redirect(location)


def test_static_endpoint(app: Phial, client: FlaskClient) -> None:
    rv = client.get("/static/hello.txt")
    assert rv.status_code == 200
    assert rv.data == HELLO
    assert rv.mimetype == "text/plain"
    assert "Last-Modified" in rv.headers
    rv.close()


def test_static_missing_and_traversal(app: Phial, client: FlaskClient) -> None:
    assert client.get("/static/missing.txt").status_code == 404
    assert client.get("/static/../conftest.py").status_code == 404
    assert client.get("/static/%2E%2E/conftest.py").status_code == 404


def test_static_url_path(client: FlaskClient) -> None:
    app = Phial("x", root_path=HERE, static_url_path="/assets")
    c = app.test_client()
    rv = c.get("/assets/hello.txt")
    assert rv.data == HELLO
    rv.close()
    assert c.get("/static/hello.txt").status_code == 404
    with app.test_request_context():
        assert app.url_for("static", filename="hello.txt") == "/assets/hello.txt"


def test_send_static_file(app: Phial) -> None:
    with app.test_request_context():
        rv = app.send_static_file("hello.txt")
        rv.direct_passthrough = False
        assert rv.status_code == 200
        assert rv.get_data() == HELLO
        rv.close()


def test_static_max_age(app: Phial, client: FlaskClient) -> None:
    rv = client.get("/static/hello.txt")
    assert rv.cache_control.max_age is None
    rv.close()
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 60
    rv = client.get("/static/hello.txt")
    assert rv.cache_control.max_age == 60
    rv.close()


def test_static_conditional_304(app: Phial, client: FlaskClient) -> None:
    first = client.get("/static/hello.txt")
    first.close()
    etag = first.headers["ETag"]
    rv = client.get("/static/hello.txt", headers={"If-None-Match": etag})
    assert rv.status_code == 304
    assert rv.data == b""
    rv.close()  # closes the file send_file opened, as with Flask
