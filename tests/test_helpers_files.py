"""send_file, send_from_directory, safe_join, static files and resources."""

from __future__ import annotations

import io
import os
import typing as t
from datetime import datetime, timedelta, timezone

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.http import http_date

from phial import Phial, send_file, send_from_directory
from phial.helpers import get_send_file_max_age, safe_join
from phial.testing import FlaskClient

if t.TYPE_CHECKING:
    from pathlib import Path

    from werkzeug.test import TestResponse

HERE = os.path.dirname(__file__)
HELLO = os.path.join(HERE, "static", "hello.txt")
HELLO_BYTES = b"Hello, static!\n"


class _BufferedClient(FlaskClient):
    """Reads each response whole, so the file it sent is closed at once."""

    def open(self, *args: t.Any, **kwargs: t.Any) -> TestResponse:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _buffered_client(app: Phial) -> None:
    app.test_client_class = _BufferedClient


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.txt"
    path.write_bytes(b"0123456789")
    return path


def _app(**kwargs: t.Any) -> Phial:
    app = Phial(__name__, **kwargs)
    app.test_client_class = _BufferedClient
    return app


def _serve(app: Phial, func: t.Callable[[], t.Any]) -> FlaskClient:
    app.add_url_rule("/f", "f", func)
    return app.test_client()


# -- send_file: paths and file objects ------------------------------------------------


def test_send_file_path(app: Phial, data_file: Path) -> None:
    client = _serve(app, lambda: send_file(data_file))
    rv = client.get("/f")
    assert rv.status_code == 200
    assert rv.data == b"0123456789"
    assert rv.mimetype == "text/plain"
    assert rv.headers["Content-Length"] == "10"
    assert rv.headers["Content-Disposition"] == "inline; filename=data.txt"
    assert rv.headers["Accept-Ranges"] == "bytes"
    rv.close()


def test_send_file_str_path_relative_to_root_path(app: Phial) -> None:
    client = _serve(app, lambda: send_file("static/hello.txt"))
    rv = client.get("/f")
    assert rv.data == HELLO_BYTES
    rv.close()


def test_send_file_missing_path_raises(app: Phial) -> None:
    with app.test_request_context(), pytest.raises(FileNotFoundError):
        send_file("static/missing.txt")


def test_send_file_file_object(app: Phial) -> None:
    client = _serve(app, lambda: send_file(io.BytesIO(b"abc"), mimetype="text/csv"))
    rv = client.get("/f")
    assert rv.data == b"abc"
    assert rv.mimetype == "text/csv"
    assert "Content-Disposition" not in rv.headers


def test_send_file_real_file_object(app: Phial) -> None:
    def view() -> t.Any:
        return send_file(open(HELLO, "rb"), mimetype="text/plain")  # the response closes it

    rv = _serve(app, view).get("/f")
    assert rv.data == HELLO_BYTES
    rv.close()


def test_send_file_object_without_name_or_mimetype(app: Phial) -> None:
    with app.test_request_context(), pytest.raises(TypeError, match="MIME type"):
        send_file(io.BytesIO(b"x"))


def test_send_file_text_file_object_rejected(app: Phial) -> None:
    with app.test_request_context(), pytest.raises(ValueError, match="binary mode"):
        send_file(io.StringIO("x"), mimetype="text/plain")  # type: ignore[arg-type]  # the point


def test_send_file_uses_response_class(app: Phial, data_file: Path) -> None:
    class MyResponse(app.response_class):  # type: ignore[name-defined, misc]  # dynamic base
        pass

    app.response_class = MyResponse
    with app.test_request_context():
        rv = send_file(data_file)
        assert isinstance(rv, MyResponse)
        rv.close()


# -- mimetypes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mimetype"),
    [
        ("a.json", "application/json"),
        ("a.html", "text/html"),
        ("a.png", "image/png"),
        ("a.unknown-ext", "application/octet-stream"),
    ],
)
def test_mimetype_guessed_from_download_name(app: Phial, name: str, mimetype: str) -> None:
    with app.test_request_context():
        rv = send_file(io.BytesIO(b"x"), download_name=name)
        assert rv.mimetype == mimetype


def test_explicit_mimetype_wins(app: Phial, data_file: Path) -> None:
    with app.test_request_context():
        rv = send_file(data_file, mimetype="application/x-custom")
        assert rv.mimetype == "application/x-custom"
        rv.close()


def test_text_mimetype_gets_charset(app: Phial, data_file: Path) -> None:
    with app.test_request_context():
        rv = send_file(data_file)
        assert rv.headers["Content-Type"] == "text/plain; charset=utf-8"
        rv.close()


# -- Content-Disposition --------------------------------------------------------------------


def _disposition(app: Phial, **kwargs: t.Any) -> str:
    with app.test_request_context():
        rv = send_file(io.BytesIO(b"x"), mimetype="text/plain", **kwargs)
        value: str = rv.headers["Content-Disposition"]
        return value


def test_as_attachment_uses_path_name(app: Phial, data_file: Path) -> None:
    with app.test_request_context():
        rv = send_file(data_file, as_attachment=True)
        assert rv.headers["Content-Disposition"] == "attachment; filename=data.txt"
        rv.close()


def test_download_name_overrides_path_name(app: Phial, data_file: Path) -> None:
    with app.test_request_context():
        rv = send_file(data_file, as_attachment=True, download_name="report.csv")
        assert rv.headers["Content-Disposition"] == "attachment; filename=report.csv"
        assert rv.mimetype == "text/csv"
        rv.close()


def test_download_name_inline(app: Phial) -> None:
    assert _disposition(app, download_name="a.txt") == "inline; filename=a.txt"


def test_download_name_quoted_when_needed(app: Phial) -> None:
    assert _disposition(app, as_attachment=True, download_name="my file.txt") == (
        'attachment; filename="my file.txt"'
    )
    assert _disposition(app, as_attachment=True, download_name='a"b.txt') == (
        'attachment; filename="a\\"b.txt"'
    )


@pytest.mark.parametrize(
    ("name", "ascii_name", "quoted"),
    [
        (
            "Ñandú\uff0fpingüino.txt",
            "Nandu/pinguino.txt",
            "%C3%91and%C3%BA%EF%BC%8Fping%C3%BCino.txt",
        ),
        ("Vögel.txt", "Vogel.txt", "V%C3%B6gel.txt"),
        ("€.txt", ".txt", "%E2%82%AC.txt"),
    ],
)
def test_non_ascii_download_name(app: Phial, name: str, ascii_name: str, quoted: str) -> None:
    value = _disposition(app, as_attachment=True, download_name=name)
    assert value.startswith("attachment; ")
    assert f"filename*=UTF-8''{quoted}" in value
    assert ascii_name in value
    assert value.isascii()


@pytest.mark.parametrize(
    ("name", "fallback", "quoted"),
    [
        ("a\r\nb.txt", "ab.txt", "a%0D%0Ab.txt"),
        (
            "evil\r\nSet-Cookie: x=1.txt",
            '"evilSet-Cookie: x=1.txt"',
            "evil%0D%0ASet-Cookie%3A%20x%3D1.txt",
        ),
        ("a\x00b.txt", "ab.txt", "a%00b.txt"),
        ("tab\there.txt", "tabhere.txt", "tab%09here.txt"),
        ("del\x7f.txt", "del.txt", "del%7F.txt"),
        ("ü\n.txt", "u.txt", "%C3%BC%0A.txt"),
    ],
)
def test_download_name_control_characters_are_encoded(
    app: Phial, name: str, fallback: str, quoted: str
) -> None:
    value = _disposition(app, as_attachment=True, download_name=name)
    assert value == f"attachment; filename={fallback}; filename*=UTF-8''{quoted}"
    assert not any(ord(c) < 32 or ord(c) == 127 for c in value)


def test_control_characters_in_inline_name(app: Phial) -> None:
    value = _disposition(app, download_name="x\ny.txt")
    assert value == "inline; filename=xy.txt; filename*=UTF-8''x%0Ay.txt"


def test_control_characters_over_http(app: Phial) -> None:
    client = _serve(
        app, lambda: send_file(io.BytesIO(b"x"), as_attachment=True, download_name="a\r\nb.txt")
    )
    rv = client.get("/f")
    assert rv.status_code == 200
    assert rv.mimetype == "text/plain"
    assert "\r" not in rv.headers["Content-Disposition"]


def test_control_characters_in_file_name_on_disk(app: Phial, tmp_path: Path) -> None:
    path = tmp_path / "odd\nname.txt"
    path.write_bytes(b"odd")
    with app.test_request_context():
        rv = send_file(path)
        assert rv.headers["Content-Disposition"] == (
            "inline; filename=oddname.txt; filename*=UTF-8''odd%0Aname.txt"
        )
        assert rv.mimetype == "text/plain"
        rv.close()


# -- conditional requests ---------------------------------------------------------------------


def test_etag_and_last_modified(app: Phial, data_file: Path) -> None:
    client = _serve(app, lambda: send_file(data_file))
    rv = client.get("/f")
    etag = rv.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    mtime = datetime.fromtimestamp(int(data_file.stat().st_mtime), timezone.utc)
    assert rv.last_modified == mtime
    rv.close()


def test_if_none_match_gives_304(app: Phial, data_file: Path) -> None:
    client = _serve(app, lambda: send_file(data_file))
    etag = client.get("/f").headers["ETag"]
    rv = client.get("/f", headers={"If-None-Match": etag})
    assert rv.status_code == 304
    assert rv.data == b""
    assert rv.headers["ETag"] == etag
    rv = client.get("/f", headers={"If-None-Match": '"other"'})
    assert rv.status_code == 200
    assert rv.data == b"0123456789"
    rv.close()


def test_if_modified_since_gives_304(app: Phial, data_file: Path) -> None:
    client = _serve(app, lambda: send_file(data_file, etag=False))
    later = datetime.fromtimestamp(data_file.stat().st_mtime + 60, timezone.utc)
    rv = client.get("/f", headers={"If-Modified-Since": http_date(later)})
    assert rv.status_code == 304
    earlier = datetime.fromtimestamp(data_file.stat().st_mtime - 3600, timezone.utc)
    rv = client.get("/f", headers={"If-Modified-Since": http_date(earlier)})
    assert rv.status_code == 200
    rv.close()


def test_conditional_false_ignores_validators(app: Phial, data_file: Path) -> None:
    client = _serve(app, lambda: send_file(data_file, conditional=False))
    rv = client.get("/f")
    etag = rv.headers["ETag"]
    rv.close()
    rv = client.get("/f", headers={"If-None-Match": etag, "Range": "bytes=0-1"})
    assert rv.status_code == 200
    assert rv.data == b"0123456789"
    assert "Accept-Ranges" not in rv.headers
    rv.close()


def test_single_range_gives_206(app: Phial, data_file: Path) -> None:
    client = _serve(app, lambda: send_file(data_file))
    rv = client.get("/f", headers={"Range": "bytes=2-5"})
    assert rv.status_code == 206
    assert rv.data == b"2345"
    assert rv.headers["Content-Range"] == "bytes 2-5/10"
    assert rv.headers["Content-Length"] == "4"
    rv.close()


def test_suffix_range(app: Phial, data_file: Path) -> None:
    client = _serve(app, lambda: send_file(data_file))
    rv = client.get("/f", headers={"Range": "bytes=-3"})
    assert rv.status_code == 206
    assert rv.data == b"789"
    assert rv.headers["Content-Range"] == "bytes 7-9/10"
    rv.close()


def test_range_on_file_object(app: Phial) -> None:
    client = _serve(app, lambda: send_file(io.BytesIO(b"abcdef"), mimetype="text/plain"))
    rv = client.get("/f", headers={"Range": "bytes=1-2"})
    assert rv.status_code == 206
    assert rv.data == b"bc"
    assert rv.headers["Content-Range"] == "bytes 1-2/6"


def test_multiple_ranges_are_416(app: Phial, data_file: Path) -> None:
    # Werkzeug (and so Flask) serves a single range only; several are refused.
    client = _serve(app, lambda: send_file(data_file))
    rv = client.get("/f", headers={"Range": "bytes=0-1,4-5"})
    assert rv.status_code == 416
    assert rv.headers["Content-Range"] == "bytes */10"


def test_unsatisfiable_range_is_416(app: Phial, data_file: Path) -> None:
    client = _serve(app, lambda: send_file(data_file))
    rv = client.get("/f", headers={"Range": "bytes=20-30"})
    assert rv.status_code == 416
    assert rv.headers["Content-Range"] == "bytes */10"


def test_unknown_range_unit_is_416(app: Phial, data_file: Path) -> None:
    # Werkzeug refuses a range it cannot parse rather than ignoring it.
    client = _serve(app, lambda: send_file(data_file))
    assert client.get("/f", headers={"Range": "lines=1-2"}).status_code == 416


def test_if_range_with_stale_etag_sends_everything(app: Phial, data_file: Path) -> None:
    client = _serve(app, lambda: send_file(data_file))
    rv = client.get("/f", headers={"Range": "bytes=0-1", "If-Range": '"stale"'})
    assert rv.status_code == 200
    assert rv.data == b"0123456789"
    rv.close()


def test_etag_false(app: Phial, data_file: Path) -> None:
    with app.test_request_context():
        rv = send_file(data_file, etag=False)
        assert "ETag" not in rv.headers
        rv.close()


def test_custom_etag(app: Phial, data_file: Path) -> None:
    client = _serve(app, lambda: send_file(data_file, etag="v1"))
    rv = client.get("/f")
    assert rv.headers["ETag"] == '"v1"'
    rv.close()
    assert client.get("/f", headers={"If-None-Match": '"v1"'}).status_code == 304


def test_file_object_has_no_automatic_etag(app: Phial) -> None:
    with app.test_request_context():
        rv = send_file(io.BytesIO(b"x"), mimetype="text/plain")
        assert "ETag" not in rv.headers


def test_last_modified_argument(app: Phial, data_file: Path) -> None:
    when = datetime(2020, 5, 17, 12, 0, tzinfo=timezone.utc)
    client = _serve(app, lambda: send_file(data_file, last_modified=when, etag=False))
    rv = client.get("/f")
    assert rv.last_modified == when
    rv.close()
    since = http_date(when + timedelta(seconds=1))
    assert client.get("/f", headers={"If-Modified-Since": since}).status_code == 304


def test_last_modified_timestamp(app: Phial) -> None:
    with app.test_request_context():
        rv = send_file(io.BytesIO(b"x"), mimetype="text/plain", last_modified=1_600_000_000)
        assert rv.last_modified == datetime.fromtimestamp(1_600_000_000, timezone.utc)


# -- caching ---------------------------------------------------------------------------------


def test_default_max_age_is_no_cache(app: Phial, data_file: Path) -> None:
    assert app.config["SEND_FILE_MAX_AGE_DEFAULT"] is None
    with app.test_request_context():
        rv = send_file(data_file)
        assert rv.headers["Cache-Control"] == "no-cache"
        assert rv.expires is None
        rv.close()


def test_config_max_age(app: Phial, data_file: Path) -> None:
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 120
    with app.test_request_context():
        rv = send_file(data_file)
        assert rv.cache_control.max_age == 120
        assert rv.cache_control.public
        assert rv.expires is not None
        rv.close()


def test_config_max_age_timedelta(app: Phial, data_file: Path) -> None:
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = timedelta(hours=1)
    with app.test_request_context():
        assert get_send_file_max_age("x.txt") == 3600
        rv = send_file(data_file)
        assert rv.cache_control.max_age == 3600
        rv.close()


def test_max_age_int_argument(app: Phial, data_file: Path) -> None:
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 120
    with app.test_request_context():
        rv = send_file(data_file, max_age=10)
        assert rv.cache_control.max_age == 10
        rv.close()


def test_max_age_callable_gets_file_name(app: Phial, data_file: Path) -> None:
    seen: list[str | None] = []

    def max_age(name: str | None) -> int:
        seen.append(name)
        return 42

    with app.test_request_context():
        rv = send_file(data_file, max_age=max_age)
        assert rv.cache_control.max_age == 42
        rv.close()
    assert seen == [str(data_file)]


def test_get_send_file_max_age_override(data_file: Path) -> None:
    class App(Phial):
        def get_send_file_max_age(self, filename: str | None) -> int | None:
            return 7 if filename and filename.endswith(".txt") else None

    app = App(__name__, root_path=os.path.dirname(__file__))
    with app.test_request_context():
        rv = send_file(data_file)
        assert rv.cache_control.max_age == 7
        rv.close()
        rv = app.send_static_file("sub/index.html")
        assert rv.headers["Cache-Control"] == "no-cache"
        rv.close()
        rv = app.send_static_file("hello.txt")
        assert rv.cache_control.max_age == 7
        rv.close()


def test_get_send_file_max_age_helper(app: Phial) -> None:
    with app.app_context():
        assert get_send_file_max_age("a") is None
        app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 5
        assert get_send_file_max_age("a") == 5
    assert app.get_send_file_max_age(None) == 5


# -- X-Sendfile -------------------------------------------------------------------------------


def test_use_x_sendfile(app: Phial, data_file: Path) -> None:
    app.config["USE_X_SENDFILE"] = True
    client = _serve(app, lambda: send_file(data_file))
    rv = client.get("/f")
    assert rv.headers["X-Sendfile"] == str(data_file)
    assert rv.data == b""
    assert rv.mimetype == "text/plain"


def test_use_x_sendfile_relative_path_is_absolute(app: Phial) -> None:
    app.config["USE_X_SENDFILE"] = True
    with app.test_request_context():
        rv = send_file("static/hello.txt")
        assert rv.headers["X-Sendfile"] == HELLO


def test_x_sendfile_not_used_for_file_objects(app: Phial) -> None:
    app.config["USE_X_SENDFILE"] = True
    with app.test_request_context():
        rv = send_file(io.BytesIO(b"abc"), mimetype="text/plain")
        assert "X-Sendfile" not in rv.headers
        assert b"".join(rv.response) == b"abc"


def test_x_sendfile_off_by_default(app: Phial, data_file: Path) -> None:
    with app.test_request_context():
        rv = send_file(data_file)
        assert "X-Sendfile" not in rv.headers
        rv.close()


# -- safe_join -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "..",
        "../secret",
        "a/../../secret",
        "/etc/passwd",
        "..\\secret",
        "a\\b",
        "a\x00b",
        "CON",
        "con.txt",
        "sub/NUL",
        "Aux.tar.gz",
        "COM1",
        "lpt9.log",
        "PRN ",
    ],
)
def test_safe_join_refuses(path: str) -> None:
    assert safe_join("/srv/static", path) is None


@pytest.mark.parametrize(
    ("path", "joined"),
    [
        ("a.txt", "/srv/static/a.txt"),
        ("sub/a.txt", "/srv/static/sub/a.txt"),
        ("sub/../a.txt", "/srv/static/a.txt"),
        ("console.txt", "/srv/static/console.txt"),
        ("COM10", "/srv/static/COM10"),
        ("%2e%2e", "/srv/static/%2e%2e"),
    ],
)
def test_safe_join_allows(path: str, joined: str) -> None:
    assert safe_join("/srv/static", path) == joined


def test_safe_join_several_parts() -> None:
    assert safe_join("/srv", "a", "b.txt") == "/srv/a/b.txt"
    assert safe_join("/srv", "a", "..", "..", "x") is None
    assert safe_join("/srv", "a", "CON") is None


# -- send_from_directory ---------------------------------------------------------------------


def test_send_from_directory(app: Phial) -> None:
    client = _serve(app, lambda: send_from_directory("static", "hello.txt"))
    rv = client.get("/f")
    assert rv.data == HELLO_BYTES
    assert rv.headers["Cache-Control"] == "no-cache"
    rv.close()


def test_send_from_directory_passes_options(app: Phial, tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"abc")
    with app.test_request_context():
        rv = send_from_directory(
            tmp_path, "a.bin", as_attachment=True, download_name="b.txt", max_age=9
        )
        assert rv.headers["Content-Disposition"] == "attachment; filename=b.txt"
        assert rv.mimetype == "text/plain"
        assert rv.cache_control.max_age == 9
        rv.close()


def test_send_from_directory_uses_config(app: Phial) -> None:
    app.config.update(USE_X_SENDFILE=True, SEND_FILE_MAX_AGE_DEFAULT=60)
    with app.test_request_context():
        rv = send_from_directory("static", "hello.txt")
        assert rv.headers["X-Sendfile"] == HELLO
        assert rv.cache_control.max_age == 60


@pytest.mark.parametrize(
    "path",
    [
        "missing.txt",
        "sub",
        "../conftest.py",
        "sub/../../conftest.py",
        HELLO,
        "..\\conftest.py",
        "sub\\index.html",
        "hello.txt\x00.png",
        "CON",
        "nul.txt",
    ],
)
def test_send_from_directory_404(app: Phial, path: str) -> None:
    with app.test_request_context(), pytest.raises(NotFound):
        send_from_directory("static", path)


def test_send_from_directory_backslash_refused_even_if_file_exists(
    app: Phial, tmp_path: Path
) -> None:
    (tmp_path / "a\\b.txt").write_bytes(b"x")
    with app.test_request_context(), pytest.raises(NotFound):
        send_from_directory(tmp_path, "a\\b.txt")


def test_send_from_directory_device_name_refused_even_if_file_exists(
    app: Phial, tmp_path: Path
) -> None:
    (tmp_path / "con.txt").write_bytes(b"x")
    with app.test_request_context(), pytest.raises(NotFound):
        send_from_directory(tmp_path, "con.txt")


@pytest.mark.parametrize(
    "url",
    [
        "/files/../conftest.py",
        "/files/%2e%2e/conftest.py",
        "/files/%2E%2E%2Fconftest.py",
        "/files/..%2fconftest.py",
        "/files/..%5cconftest.py",
        "/files/%2Fetc%2Fpasswd",
        "//etc/passwd",
        "/files/hello.txt%00.png",
        "/files/CON",
        "/files/sub%5cindex.html",
    ],
)
def test_path_traversal_over_http_is_404(app: Phial, url: str) -> None:
    @app.route("/files/<path:name>")
    def files(name: str) -> t.Any:
        return send_from_directory("static", name)

    # ``//`` is merged by routing (a redirect), and the target is then a 404.
    rv = app.test_client().get(url, follow_redirects=True)
    assert rv.status_code == 404


def test_path_from_url_served(app: Phial) -> None:
    @app.route("/files/<path:name>")
    def files(name: str) -> t.Any:
        return send_from_directory("static", name)

    rv = app.test_client().get("/files/sub/index.html")
    assert rv.status_code == 200
    assert rv.mimetype == "text/html"
    rv.close()


# -- static files ----------------------------------------------------------------------------


def test_static_route(client: FlaskClient) -> None:
    rv = client.get("/static/hello.txt")
    assert rv.status_code == 200
    assert rv.data == HELLO_BYTES
    assert rv.headers["Cache-Control"] == "no-cache"
    rv.close()
    assert client.get("/static/missing.txt").status_code == 404
    assert client.get("/static/../conftest.py").status_code == 404
    assert client.get("/static/%2e%2e/conftest.py").status_code == 404


def test_static_route_conditional(client: FlaskClient) -> None:
    rv = client.get("/static/hello.txt")
    etag = rv.headers["ETag"]
    rv.close()
    assert client.get("/static/hello.txt", headers={"If-None-Match": etag}).status_code == 304
    rv = client.get("/static/hello.txt", headers={"Range": "bytes=0-4"})
    assert rv.status_code == 206
    assert rv.data == b"Hello"
    rv.close()


def test_static_route_max_age(app: Phial, client: FlaskClient) -> None:
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 300
    rv = client.get("/static/hello.txt")
    assert rv.cache_control.max_age == 300
    rv.close()


def test_static_url_for(app: Phial) -> None:
    with app.test_request_context():
        from phial import url_for

        assert url_for("static", filename="sub/index.html") == "/static/sub/index.html"


def test_static_url_path() -> None:
    app = _app(root_path=HERE, static_url_path="/assets")
    client = app.test_client()
    rv = client.get("/assets/hello.txt")
    assert rv.data == HELLO_BYTES
    rv.close()
    assert client.get("/static/hello.txt").status_code == 404


def test_empty_static_url_path() -> None:
    app = _app(root_path=HERE, static_url_path="")
    rv = app.test_client().get("/hello.txt")
    assert rv.data == HELLO_BYTES
    rv.close()


def test_custom_static_folder(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app.js").write_bytes(b"let x = 1;")
    app = _app(root_path=str(tmp_path), static_folder="assets")
    assert app.static_url_path == "/assets"
    rv = app.test_client().get("/assets/app.js")
    assert rv.data == b"let x = 1;"
    assert rv.mimetype == "text/javascript"
    rv.close()


def test_absolute_static_folder(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_bytes(b"s")
    app = _app(root_path=HERE, static_folder=str(tmp_path), static_url_path="/s")
    assert app.static_folder == str(tmp_path)
    rv = app.test_client().get("/s/s.txt")
    assert rv.data == b"s"
    rv.close()


def test_no_static_folder() -> None:
    app = _app(root_path=HERE, static_folder=None)
    assert not app.has_static_folder
    assert "static" not in app.view_functions
    assert app.test_client().get("/static/hello.txt").status_code == 404
    with app.test_request_context(), pytest.raises(RuntimeError, match="static_folder"):
        app.send_static_file("hello.txt")


def test_send_static_file(app: Phial) -> None:
    with app.test_request_context():
        rv = app.send_static_file("hello.txt")
        assert b"".join(rv.response) == HELLO_BYTES
        rv.close()
        with pytest.raises(NotFound):
            app.send_static_file("../conftest.py")


def test_static_host_with_host_matching() -> None:
    app = _app(root_path=HERE, host_matching=True, static_host="cdn.example.com")

    @app.route("/", host="example.com")
    def index() -> str:
        return "index"

    client = app.test_client()
    rv = client.get("/static/hello.txt", base_url="http://cdn.example.com")
    assert rv.data == HELLO_BYTES
    rv.close()
    assert client.get("/static/hello.txt", base_url="http://example.com").status_code == 404
    assert client.get("/", base_url="http://example.com").data == b"index"
    with app.test_request_context(base_url="http://example.com"):
        from phial import url_for

        assert url_for("static", filename="hello.txt") == (
            "http://cdn.example.com/static/hello.txt"
        )


@pytest.mark.parametrize("kwargs", [{"static_host": "cdn.example.com"}, {"host_matching": True}])
def test_static_host_requires_host_matching(kwargs: dict[str, t.Any]) -> None:
    with pytest.raises(AssertionError, match="static_host"):
        Phial(__name__, root_path=HERE, **kwargs)


def test_host_matching_without_static_folder_needs_no_static_host() -> None:
    app = _app(root_path=HERE, host_matching=True, static_folder=None)
    assert app.url_map.host_matching


# -- resources --------------------------------------------------------------------------------


def test_open_resource_binary(app: Phial) -> None:
    with app.open_resource("static/hello.txt") as f:
        assert f.read() == HELLO_BYTES


@pytest.mark.parametrize("mode", ["r", "rt"])
def test_open_resource_text(app: Phial, mode: str) -> None:
    with app.open_resource("static/hello.txt", mode, encoding="utf-8") as f:
        assert f.read() == "Hello, static!\n"


@pytest.mark.parametrize("mode", ["w", "a", "r+", "wb", "x"])
def test_open_resource_is_read_only(app: Phial, mode: str) -> None:
    with pytest.raises(ValueError, match="reading"):
        app.open_resource("static/hello.txt", mode)


def test_open_resource_encoding(tmp_path: Path) -> None:
    (tmp_path / "latin.txt").write_bytes("é".encode("latin-1"))
    app = _app(root_path=str(tmp_path))
    with app.open_resource("latin.txt", "r", encoding="latin-1") as f:
        assert f.read() == "é"


def test_open_instance_resource(tmp_path: Path) -> None:
    app = _app(root_path=HERE, instance_path=str(tmp_path))
    with app.open_instance_resource("settings.cfg", "w") as f:
        f.write("DEBUG = False\nname = 'ü'\n")
    with app.open_instance_resource("settings.cfg") as fb:
        assert fb.read() == "DEBUG = False\nname = 'ü'\n".encode()
    with app.open_instance_resource("settings.cfg", "r") as ft:
        assert ft.read() == "DEBUG = False\nname = 'ü'\n"
    with app.open_instance_resource("settings.cfg", "rb") as fb:
        assert fb.read().startswith(b"DEBUG")


# -- parity with Flask -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "headers"),
    [
        ({}, {}),
        ({"as_attachment": True, "download_name": "Vögel report.csv"}, {}),
        ({"mimetype": "application/x-thing", "etag": "v2", "max_age": 30}, {}),
        ({}, {"Range": "bytes=1-3"}),
        ({"conditional": False}, {"Range": "bytes=1-3"}),
        ({"etag": False, "last_modified": 1_600_000_000}, {}),
    ],
)
def test_send_file_matches_flask(
    data_file: Path, kwargs: dict[str, t.Any], headers: dict[str, str]
) -> None:
    import flask

    flask_app = flask.Flask(__name__)
    flask_app.add_url_rule("/f", "f", lambda: flask.send_file(data_file, **kwargs))
    app = _app(root_path=HERE)
    app.add_url_rule("/f", "f", lambda: send_file(data_file, **kwargs))
    theirs = flask_app.test_client().get("/f", headers=headers, buffered=True)
    ours = app.test_client().get("/f", headers=headers)
    assert ours.status_code == theirs.status_code
    assert ours.data == theirs.data
    skip = {"Date", "Expires"}
    assert [h for h in ours.headers if h[0] not in skip] == [
        h for h in theirs.headers if h[0] not in skip
    ]
