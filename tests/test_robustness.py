"""Hostile input on WSGI: bodies, forms, JSON, headers, paths, cookies, Host.

Each test drives the app as a WSGI server would (or through the test client)
and checks that bad input gets the right 4xx and nothing leaks. The raw-socket
corpus (tests/corpus) repeats the key cases against real servers.
"""

from __future__ import annotations

import base64
import io
import json
import time
import typing as t
import zlib

import pytest
from itsdangerous import URLSafeTimedSerializer
from werkzeug.http import parse_options_header
from werkzeug.test import EnvironBuilder

from phial import Phial, redirect, request, send_file, session, stream_with_context
from phial.json.tag import TaggedJSONSerializer
from phial.wrappers import Response

WSGIResult = tuple[str, dict[str, str], bytes]


def _environ(path: str = "/", method: str = "GET", body: bytes = b"", **kwargs: t.Any) -> t.Any:
    builder = EnvironBuilder(path=path, method=method, input_stream=io.BytesIO(body), **kwargs)
    environ = builder.get_environ()
    environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def _chunked(path: str, body: bytes, content_type: str | None = None) -> t.Any:
    """The environ a server gives for a chunked body it has de-chunked."""
    environ = _environ(path, "POST", body, content_type=content_type)
    del environ["CONTENT_LENGTH"]
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input_terminated"] = True
    return environ


def _call(app: Phial, environ: t.Any) -> WSGIResult:
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc: t.Any = None) -> t.Any:
        started.append((status, headers))

    iterable = app(environ, start_response)
    try:
        body = b"".join(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    status, headers = started[0]
    return status, dict(headers), body


@pytest.fixture
def body_app() -> Phial:
    """An app (not in testing mode: errors are answered, not raised) with views
    that read the body in each way."""
    app = Phial("body_app")
    app.config["SECRET_KEY"] = "test key"

    @app.post("/data")
    def data() -> str:
        return str(len(request.get_data()))

    @app.post("/stream")
    def stream() -> str:
        return str(len(request.stream.read()))

    @app.post("/form")
    def form() -> t.Any:
        return {
            "form": request.form.to_dict(flat=False),
            "files": {k: [f.filename, f.read().decode()] for k, f in request.files.items()},
        }

    @app.post("/json")
    def get_json() -> t.Any:
        return {"value": request.get_json()}

    return app


# -- 1. MAX_CONTENT_LENGTH ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/data", "/stream"])
def test_declared_body_over_limit_is_413(body_app: Phial, path: str) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = 100
    status, _, _ = _call(body_app, _environ(path, "POST", b"a" * 101))
    assert status.startswith("413")


@pytest.mark.parametrize("path", ["/data", "/stream"])
def test_chunked_body_over_limit_is_413_not_truncated(body_app: Phial, path: str) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = 100
    status, _, _ = _call(body_app, _chunked(path, b"a" * 101))
    assert status.startswith("413")


@pytest.mark.parametrize("size", [0, 1, 99, 100])
@pytest.mark.parametrize("path", ["/data", "/stream"])
def test_chunked_body_within_limit_arrives_intact(body_app: Phial, path: str, size: int) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = 100
    status, _, body = _call(body_app, _chunked(path, b"a" * size))
    assert status == "200 OK"
    assert body == str(size).encode()


def test_chunked_body_without_limit_arrives_intact(body_app: Phial) -> None:
    status, _, body = _call(body_app, _chunked("/data", b"a" * 300_000))
    assert (status, body) == ("200 OK", b"300000")


def test_chunked_form_over_limit_is_413(body_app: Phial) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = 100
    environ = _chunked("/form", b"a=" + b"b" * 200, "application/x-www-form-urlencoded")
    assert _call(body_app, environ)[0].startswith("413")


def test_chunked_multipart_over_limit_is_413(body_app: Phial) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = 100
    body = _multipart([("a", None, b"x" * 200)])
    environ = _chunked("/form", body, "multipart/form-data; boundary=B")
    assert _call(body_app, environ)[0].startswith("413")


def test_chunked_json_over_limit_is_413(body_app: Phial) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = 10
    environ = _chunked("/json", b'"' + b"a" * 20 + b'"', "application/json")
    assert _call(body_app, environ)[0].startswith("413")


def test_chunked_stream_readline_stops_at_the_limit(app: Phial) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10
    with app.request_context(_chunked("/", b"01234\n6789")):
        assert request.stream.readline() == b"01234\n"
        assert request.stream.read() == b"6789"
    with app.request_context(_chunked("/", b"x" * 50)):
        with pytest.raises(Exception) as info:
            request.stream.readline()
        assert getattr(info.value, "code", None) == 413
    with app.request_context(_chunked("/", b"0123456789")):
        buffer = bytearray(4)
        assert request.stream.readinto(buffer) == 4
        assert bytes(buffer) == b"0123"
        assert request.stream.read() == b"456789"


class _BrokenInput(io.RawIOBase):
    """A server's input that fails mid-body, as gunicorn's does on a bad chunk."""

    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("Invalid chunk size")
        return b"abc"

    def readline(self, size: int | None = -1) -> bytes:
        raise RuntimeError("Invalid chunk size")


@pytest.mark.parametrize("limit", [None, 100])
@pytest.mark.parametrize("path", ["/data", "/stream", "/form"])
def test_server_error_while_reading_a_chunked_body_is_400(
    body_app: Phial, path: str, limit: int | None
) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = limit
    environ = _chunked(path, b"", "application/x-www-form-urlencoded")
    environ["wsgi.input"] = _BrokenInput()
    status, _, body = _call(body_app, environ)
    assert status.startswith("400")
    assert b"Invalid chunk size" not in body


def test_chunked_stream_readline_without_limit(app: Phial) -> None:
    with app.request_context(_chunked("/", b"ab\ncd")):
        assert request.stream.readline() == b"ab\n"
        assert request.stream.readline(1) == b"c"
        assert request.stream.readline() == b"d"
    environ = _chunked("/", b"")
    environ["wsgi.input"] = _BrokenInput()
    with app.request_context(environ), pytest.raises(Exception) as info:
        request.stream.readline()
    assert getattr(info.value, "code", None) == 400


def test_shallow_request_refuses_to_read_a_chunked_body(app: Phial) -> None:
    from phial.wrappers import Request

    with pytest.raises(RuntimeError, match="shallow"):
        Request(_chunked("/", b"abc"), shallow=True).stream  # noqa: B018


def test_expect_continue_with_oversized_body_is_413(body_app: Phial) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = 100
    environ = _environ("/data", "POST", b"")
    environ["CONTENT_LENGTH"] = "1000000"
    environ["HTTP_EXPECT"] = "100-continue"
    assert _call(body_app, environ)[0].startswith("413")


# -- 2. Forms -------------------------------------------------------------------------------


def _multipart(parts: list[tuple[str, str | None, bytes]], disposition_extra: str = "") -> bytes:
    out = []
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"{disposition_extra}'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out.append(f"--B\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n")
    return b"".join(out) + b"--B--\r\n"


def _post_multipart(app: Phial, body: bytes) -> WSGIResult:
    environ = _environ("/form", "POST", body, content_type="multipart/form-data; boundary=B")
    return _call(app, environ)


def test_urlencoded_body_over_form_memory_size_is_413(body_app: Phial) -> None:
    body_app.config["MAX_FORM_MEMORY_SIZE"] = 10
    environ = _environ(
        "/form", "POST", b"a=" + b"b" * 20, content_type="application/x-www-form-urlencoded"
    )
    assert _call(body_app, environ)[0].startswith("413")


def test_chunked_urlencoded_body_over_form_memory_size_is_413(body_app: Phial) -> None:
    body_app.config["MAX_FORM_MEMORY_SIZE"] = 10
    environ = _chunked("/form", b"a=" + b"b" * 20, "application/x-www-form-urlencoded")
    assert _call(body_app, environ)[0].startswith("413")


def test_urlencoded_body_at_form_memory_size_is_parsed(body_app: Phial) -> None:
    body_app.config["MAX_FORM_MEMORY_SIZE"] = 10
    environ = _chunked("/form", b"a=12345678", "application/x-www-form-urlencoded")
    status, _, body = _call(body_app, environ)
    assert status == "200 OK"
    assert json.loads(body)["form"] == {"a": ["12345678"]}


def test_default_form_memory_size_is_500_kb(body_app: Phial) -> None:
    assert body_app.config["MAX_FORM_MEMORY_SIZE"] == 500_000
    ok = _environ(
        "/form", "POST", b"a=" + b"b" * 499_998, content_type="application/x-www-form-urlencoded"
    )
    assert _call(body_app, ok)[0] == "200 OK"
    big = _environ(
        "/form", "POST", b"a=" + b"b" * 499_999, content_type="application/x-www-form-urlencoded"
    )
    assert _call(body_app, big)[0].startswith("413")


def test_multipart_field_over_form_memory_size_is_413(body_app: Phial) -> None:
    body_app.config["MAX_FORM_MEMORY_SIZE"] = 10
    status, _, _ = _post_multipart(body_app, _multipart([("a", None, b"x" * 11)]))
    assert status.startswith("413")


def test_multipart_file_is_not_bound_by_form_memory_size(body_app: Phial) -> None:
    # Werkzeug's decoder also bounds its read buffer by this limit, so a limit
    # below the 64 KiB read size would refuse files too; keep it realistic.
    body_app.config["MAX_FORM_MEMORY_SIZE"] = 100_000
    body = _multipart([("a", None, b"x" * 100_000), ("f", "f.txt", b"y" * 300_000)])
    status, _, out = _post_multipart(body_app, body)
    assert status == "200 OK"
    assert json.loads(out) == {
        "form": {"a": ["x" * 100_000]},
        "files": {"f": ["f.txt", "y" * 300_000]},
    }
    too_big = _multipart([("a", None, b"x" * 100_001), ("f", "f.txt", b"y" * 300_000)])
    assert _post_multipart(body_app, too_big)[0].startswith("413")


def test_multipart_parts_over_max_form_parts_is_413(body_app: Phial) -> None:
    body_app.config["MAX_FORM_PARTS"] = 3
    body = _multipart([(f"a{i}", None, b"v") for i in range(4)])
    assert _post_multipart(body_app, body)[0].startswith("413")


def test_default_max_form_parts_is_1000(body_app: Phial) -> None:
    assert body_app.config["MAX_FORM_PARTS"] == 1000
    ok = _multipart([("a", None, b"v")] * 999)
    assert _post_multipart(body_app, ok)[0] == "200 OK"
    big = _multipart([("a", None, b"v")] * 1001)
    assert _post_multipart(body_app, big)[0].startswith("413")


@pytest.mark.parametrize(
    "extra",
    [
        "; name*=UTF-8''evil",
        "; NAME*=UTF-8''evil",
        '; name*="evil"',
        "; name*=UTF-8''evil; x=1",
    ],
)
def test_name_star_never_overrides_name(body_app: Phial, extra: str) -> None:
    status, _, out = _post_multipart(body_app, _multipart([("a", None, b"v")], extra))
    assert status == "200 OK"
    assert json.loads(out)["form"] == {"a": ["v"]}


def test_name_star_before_name_does_not_override_it(body_app: Phial) -> None:
    body = (
        b"--B\r\nContent-Disposition: form-data; name*=UTF-8''evil; name=\"a\"\r\n\r\n"
        b"v\r\n--B--\r\n"
    )
    assert json.loads(_post_multipart(body_app, body)[2])["form"] == {"a": ["v"]}


def test_name_star_does_not_rename_files(body_app: Phial) -> None:
    body = _multipart([("f", "x.txt", b"data")], "; name*=UTF-8''evil")
    assert json.loads(_post_multipart(body_app, body)[2])["files"] == {"f": ["x.txt", "data"]}


def test_quoted_filename_containing_name_star_is_kept(body_app: Phial) -> None:
    body = _multipart([("f", "a; name*=x.txt", b"data")])
    files = json.loads(_post_multipart(body_app, body)[2])["files"]
    assert files == {"f": ["a; name*=x.txt", "data"]}


def test_multipart_filename_star_still_gives_the_file_name(body_app: Phial) -> None:
    body = (
        b'--B\r\nContent-Disposition: form-data; name="f"; filename="a.txt";'
        b" filename*=UTF-8''%C3%A9.txt\r\n\r\ndata\r\n--B--\r\n"
    )
    assert json.loads(_post_multipart(body_app, body)[2])["files"] == {"f": ["é.txt", "data"]}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"--B\r\nno end", "multipart/form-data; boundary=B", id="truncated"),
        pytest.param(b"", "multipart/form-data; boundary=B", id="empty"),
        pytest.param(_multipart([("a", None, b"v")]), "multipart/form-data", id="no-boundary"),
        pytest.param(b"x", "multipart/form-data; boundary=" + "b" * 300, id="long-boundary"),
    ],
)
def test_malformed_multipart_gives_an_empty_form(
    body_app: Phial, body: bytes, content_type: str
) -> None:
    environ = _environ("/form", "POST", body, content_type=content_type)
    status, _, out = _call(body_app, environ)
    assert status == "200 OK"
    assert json.loads(out) == {"form": {}, "files": {}}


def test_malformed_multipart_raises_when_not_silent(app: Phial) -> None:
    environ = _environ("/", "POST", b"--B\r\nno end", content_type="multipart/form-data")
    with app.request_context(environ):
        parser = request.make_form_data_parser()
        parser.silent = False
        with pytest.raises(ValueError):
            parser.parse(request.stream, "multipart/form-data", 12, {"boundary": "B"})


def _timed_multipart(app: Phial, body: bytes) -> tuple[str, float]:
    start = time.perf_counter()
    status = _post_multipart(app, body)[0]
    return status, time.perf_counter() - start


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_multipart([("a", None, b"x" * 1_000_000)]), id="long-line"),
        pytest.param(_multipart([("a", None, b"\r" * 1_000_000)]), id="carriage-returns"),
        pytest.param(_multipart([("a", None, b"\r\n-" * 330_000)]), id="boundary-prefixes"),
        pytest.param(b"y" * 1_000_000 + b"\r\n" + _multipart([("a", None, b"v")]), id="preamble"),
        pytest.param(_multipart([("a", None, b"v")]) + b"y" * 1_000_000, id="epilogue"),
        pytest.param(_multipart([("a", None, b"")] * 999), id="many-tiny-parts"),
    ],
)
def test_multipart_parsing_is_fast_on_pathological_input(body_app: Phial, body: bytes) -> None:
    body_app.config["MAX_FORM_MEMORY_SIZE"] = None
    status, elapsed = _timed_multipart(body_app, body)
    assert status == "200 OK"
    assert elapsed < 2.0


def test_multipart_file_without_crlf_is_fast(body_app: Phial) -> None:
    status, elapsed = _timed_multipart(body_app, _multipart([("f", "f.bin", b"z" * 2_000_000)]))
    assert status == "200 OK"
    assert elapsed < 2.0


# -- 3. JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{", id="syntax"),
        pytest.param(b"", id="empty"),
        pytest.param(b'"\xff"', id="invalid-utf8"),
        pytest.param(b'"\\ud800"', id="lone-high-surrogate"),
        pytest.param(b'"\\udc00"', id="lone-low-surrogate"),
        pytest.param(b'{"\\uDBFF": 1}', id="lone-surrogate-key"),
        pytest.param(b'[1, {"a": ["x\\ud800y"]}]', id="nested-lone-surrogate"),
        pytest.param('"\\ud800"'.encode("utf-16-le"), id="utf16-lone-surrogate"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep-nesting"),
        pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, id="deep-objects"),
    ],
)
def test_bad_json_is_a_short_400(body_app: Phial, body: bytes) -> None:
    environ = _environ("/json", "POST", body, content_type="application/json")
    status, _, out = _call(body_app, environ)
    assert status.startswith("400")
    assert len(out) < 1000
    assert b"Traceback" not in out


@pytest.mark.parametrize(
    ("body", "value"),
    [
        pytest.param(b'"\\ud83d\\ude00"', "😀", id="surrogate-pair"),
        pytest.param(b'"\\\\ud800"', "\\ud800", id="escaped-backslash"),
        pytest.param(b'{"a": [1, 2.5, null, true]}', {"a": [1, 2.5, None, True]}, id="plain"),
    ],
)
def test_good_json_is_parsed(body_app: Phial, body: bytes, value: t.Any) -> None:
    environ = _environ("/json", "POST", body, content_type="application/json")
    status, _, out = _call(body_app, environ)
    assert status == "200 OK"
    assert json.loads(out) == {"value": value}


def test_bad_json_message_in_debug_mode(body_app: Phial) -> None:
    body_app.debug = True
    environ = _environ("/json", "POST", b'"\\ud800"', content_type="application/json")
    status, _, out = _call(body_app, environ)
    assert status.startswith("400")
    assert b"lone surrogate" in out


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_json_with_wrong_content_type_is_415(body_app: Phial, content_type: str | None) -> None:
    environ = _environ("/json", "POST", b"{}", content_type=content_type)
    assert _call(body_app, environ)[0].startswith("415")


# -- 4. Response headers --------------------------------------------------------------------

_BREAKS = ["a\rb", "a\nb", "a\r\nSet-Cookie: x=1", "a\x00b"]


@pytest.mark.parametrize("value", _BREAKS)
@pytest.mark.parametrize(
    "setter",
    [
        pytest.param(lambda r, v: r.headers.__setitem__("X-A", v), id="setitem"),
        pytest.param(lambda r, v: r.headers.set("X-A", v), id="set"),
        pytest.param(lambda r, v: r.headers.add("X-A", v), id="add"),
        pytest.param(lambda r, v: r.headers.add_header("X-A", v), id="add_header"),
        pytest.param(lambda r, v: r.headers.add("X-A", "a", filename=v), id="option"),
        pytest.param(lambda r, v: r.headers.setdefault("X-A", v), id="setdefault"),
        pytest.param(lambda r, v: r.headers.setlist("X-A", ["ok", v]), id="setlist"),
        pytest.param(lambda r, v: r.headers.extend([("X-A", v)]), id="extend"),
        pytest.param(lambda r, v: r.headers.extend(X_A=v), id="extend-kwargs"),
        pytest.param(lambda r, v: r.headers.update({"X-A": v}), id="update"),
        pytest.param(lambda r, v: r.headers.update({"X-A": ["ok", v]}), id="update-list"),
        pytest.param(lambda r, v: r.headers.__setitem__(0, ("X-A", v)), id="index"),
        pytest.param(lambda r, v: r.headers.__setitem__(slice(0, 1), [("X-A", v)]), id="slice"),
        pytest.param(lambda r, v: r.headers.set("X-" + v, "ok"), id="name"),
        pytest.param(lambda r, v: setattr(r, "location", "/" + v), id="location"),
        pytest.param(lambda r, v: setattr(r, "content_type", "text/" + v), id="content-type"),
        pytest.param(lambda r, v: Response("x", headers={"X-A": v}), id="constructor"),
        pytest.param(lambda r, v: Response("x", headers=[("X-" + v, "1")]), id="constructor-name"),
    ],
)
def test_header_setters_refuse_line_breaks_and_nul(
    setter: t.Callable[[Response, str], t.Any], value: str
) -> None:
    response = Response("x")
    with pytest.raises(ValueError, match="CR, LF and NUL"):
        setter(response, value)


def test_header_setters_accept_plain_values() -> None:
    response = Response("x", headers={"X-A": "1"})
    response.headers.update({"X-B": ["2", "3"]}, **{"X-C": "4"})
    response.headers.extend({"X-D": "5"})
    response.headers.setlist("X-E", ["6"])
    response.headers[0] = ("X-A", "7")
    assert response.headers.getlist("X-B") == ["2", "3"]
    assert response.headers["X-A"] == "7"
    assert response.headers["X-C"] == "4"
    assert response.headers["X-D"] == "5"
    assert response.headers["X-E"] == "6"


@pytest.mark.parametrize("value", _BREAKS)
def test_redirect_refuses_line_breaks_and_nul(app: Phial, value: str) -> None:
    with app.app_context(), pytest.raises(ValueError, match="Location"):
        redirect("/next" + value)


@pytest.mark.parametrize("value", _BREAKS)
def test_view_returning_a_bad_header_is_a_500_without_the_header(value: str) -> None:
    app = Phial("headers")

    @app.route("/")
    def index() -> t.Any:
        return "x", {"X-A": value}

    status, headers, _ = _call(app, _environ())
    assert status.startswith("500")
    assert "X-A" not in headers and "Set-Cookie" not in headers


@pytest.mark.parametrize("name", ["a\r\nb.txt", "a\x00b.txt", "evil\"; filename*=x'.txt", "ü\n"])
def test_send_file_encodes_unusual_download_names(app: Phial, name: str) -> None:
    with app.test_request_context():
        response = send_file(io.BytesIO(b"x"), download_name=name, mimetype="text/plain")
        disposition = response.headers["Content-Disposition"]
        response.close()
    assert not any(c in disposition for c in "\r\n\x00")
    # A client reading the header (filename* first) gets the exact name back.
    _, options = parse_options_header(disposition)
    assert options["filename"] == name


# -- 5. Paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/static/../conftest.py",
        "/static/..%2Fconftest.py",
        "/static/%2e%2e/conftest.py",
        "/static/%2E%2E%2Fconftest.py",
        "/static/..\\conftest.py",
        "/static/..%5Cconftest.py",
        "/static//etc/passwd",
        "/static/%2Fetc%2Fpasswd",
        "/static/C:%5Cwindows%5Cwin.ini",
        "/static/index.html%00.txt",
        "/static/CON",
        "/static/nul.txt",
        "/static/COM1.css",
        "/static/sub/../../conftest.py",
    ],
)
def test_static_files_stay_in_their_folder(path: str) -> None:
    import os

    app = Phial("static_app", root_path=os.path.dirname(__file__))
    from urllib.parse import unquote_to_bytes

    environ = _environ()
    # Servers decode percent-escapes before PATH_INFO; do the same.
    environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin1")
    status, _, body = _call(app, environ)
    assert status[:3] in ("404", "400", "308"), status
    assert b"import" not in body and b"root:" not in body


@pytest.mark.parametrize("path", ["/x%0A", "/x%0a", "/x%0D", "/x%00", "/x%20", "/x%09"])
def test_literal_routes_match_whole_paths_only(path: str) -> None:
    app = Phial("routes")
    app.add_url_rule("/x", "x", lambda: "x")
    assert _call(app, _environ(path))[0].startswith("404")


@pytest.mark.parametrize("path", ["/n/1%0A", "/n/1%0a", "/n/%0A1", "/n/1%00"])
def test_converter_routes_match_whole_paths_only(path: str) -> None:
    app = Phial("routes")
    app.add_url_rule("/n/<int:n>", "n", lambda n: str(n))
    assert _call(app, _environ(path))[0].startswith("404")


@pytest.mark.parametrize(
    "path",
    [
        "//evil.example/dir",
        "//evil.example/",
        "///evil.example/dir",
        "/\\evil.example/dir",
        "/\\\\evil.example/dir",
        "/%2F%2Fevil.example/dir",
        "/%5Cevil.example/dir",
        "//evil.example",
        "//dir",
        "/dir",
    ],
)
def test_strict_slash_redirects_stay_on_the_site(path: str) -> None:
    from urllib.parse import unquote_to_bytes, urlsplit

    app = Phial("slashes")
    app.add_url_rule("/dir/", "dir", lambda: "dir")
    app.add_url_rule("/<path:p>/", "any", lambda p: p)
    environ = _environ()
    environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin1")
    status, headers, _ = _call(app, environ)
    assert status[:3] in ("200", "308", "404"), status
    location = headers.get("Location")
    if location is not None:
        assert not location.startswith(("//", "/\\", "\\"))
        assert urlsplit(location).netloc in ("", "localhost")


# -- 6. Sessions and cookies ----------------------------------------------------------------


@pytest.fixture
def session_app() -> Phial:
    app = Phial("sessions")
    app.config["SECRET_KEY"] = "test key"

    @app.route("/set")
    def set_value() -> str:
        session["user"] = "alice"
        return "set"

    @app.route("/dump")
    def dump() -> t.Any:
        return {"session": dict(session)}

    @app.route("/cookies")
    def cookies() -> t.Any:
        return {"cookies": request.cookies.to_dict(flat=False)}

    return app


def _signer(key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        key,
        salt="cookie-session",
        serializer=TaggedJSONSerializer(),
        signer_kwargs={"key_derivation": "hmac", "digest_method": __import__("hashlib").sha1},
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _dump_with_cookie(app: Phial, cookie: str) -> t.Any:
    environ = _environ("/dump")
    environ["HTTP_COOKIE"] = cookie
    status, headers, body = _call(app, environ)
    assert status == "200 OK"
    return json.loads(body)["session"], headers


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(lambda good: good[:-2] + ("BB" if good.endswith("AA") else "AA"), id="sig"),
        pytest.param(lambda good: good[:-5], id="truncated-signature"),
        pytest.param(lambda good: good[:10], id="truncated"),
        pytest.param(lambda good: _b64(b'{"user":"mallory"}') + good[good.index(".") :], id="swap"),
        pytest.param(
            lambda good: "." + _b64(zlib.compress(b'{"user":"mallory"}')) + ".AAAAAA.forged",
            id="compressed-forged",
        ),
        pytest.param(
            lambda good: "." + _b64(zlib.compress(b"[" * 10_000)) + ".AAAAAA.forged",
            id="compressed-bomb",
        ),
        pytest.param(lambda good: _signer("other key").dumps({"user": "mallory"}), id="other-key"),
        pytest.param(lambda good: "\x00\xff", id="binary"),
    ],
)
def test_bad_session_cookies_give_an_empty_session(
    session_app: Phial, value: t.Callable[[str], str]
) -> None:
    good = _signer("test key").dumps({"user": "alice"})
    assert _dump_with_cookie(session_app, f"session={good}")[0] == {"user": "alice"}
    assert _dump_with_cookie(session_app, f"session={value(good)}")[0] == {}


def test_signature_is_checked_before_the_payload_is_decoded(
    session_app: Phial, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[t.Any] = []
    original = TaggedJSONSerializer.loads

    def spy(self: TaggedJSONSerializer, value: t.Any) -> t.Any:
        calls.append(value)
        return original(self, value)

    monkeypatch.setattr(TaggedJSONSerializer, "loads", spy)
    forged = "." + _b64(zlib.compress(b'{"user":"mallory"}')) + ".AAAAAA.forged"
    assert _dump_with_cookie(session_app, f"session={forged}")[0] == {}
    signed = _signer("test key").dumps({"user": "alice"})
    # Change a character well inside the signature: the last one carries two
    # spare bits, so changing only the end may leave the signature valid.
    tampered = signed[:-5] + ("A" if signed[-5] != "A" else "B") + signed[-4:]
    assert _dump_with_cookie(session_app, f"session={tampered}")[0] == {}
    assert calls == []
    good = _signer("test key").dumps({"user": "alice"})
    assert _dump_with_cookie(session_app, f"session={good}")[0] == {"user": "alice"}
    assert len(calls) == 1


def test_vary_cookie_when_the_session_is_read(session_app: Phial) -> None:
    _, headers = _dump_with_cookie(session_app, "session=garbage")
    assert "Cookie" in headers["Vary"]


@pytest.mark.parametrize("prefix", ["__Host-", "__Secure-"])
def test_duplicated_prefixed_cookies_are_ignored(session_app: Phial, prefix: str) -> None:
    environ = _environ("/cookies")
    environ["HTTP_COOKIE"] = f"{prefix}id=evil; a=1; {prefix}id=good; a=2; {prefix}other=ok"
    cookies = json.loads(_call(session_app, environ)[2])["cookies"]
    assert cookies == {"a": ["1", "2"], f"{prefix}other": ["ok"]}


def test_single_prefixed_cookie_is_kept(session_app: Phial) -> None:
    environ = _environ("/cookies")
    environ["HTTP_COOKIE"] = "__Host-id=good; __host-id=other; __Secure-s=1"
    cookies = json.loads(_call(session_app, environ)[2])["cookies"]
    assert cookies == {"__Host-id": ["good"], "__host-id": ["other"], "__Secure-s": ["1"]}


def test_shadowed_prefixed_session_cookie_gives_an_empty_session(session_app: Phial) -> None:
    session_app.config["SESSION_COOKIE_NAME"] = "__Host-session"
    good = _signer("test key").dumps({"user": "alice"})
    evil = _signer("test key").dumps({"user": "mallory"})  # e.g. a cookie stolen earlier
    assert _dump_with_cookie(session_app, f"__Host-session={good}")[0] == {"user": "alice"}
    shadowed = f"__Host-session={evil}; __Host-session={good}"
    assert _dump_with_cookie(session_app, shadowed)[0] == {}


# -- 7. Host, tracebacks --------------------------------------------------------------------


def _host_app(**config: t.Any) -> Phial:
    app = Phial("hosts")
    app.config.update(config)
    app.add_url_rule("/", "index", lambda: "index")
    app.add_url_rule("/n/<int:n>", "n", lambda n: str(n))
    app.add_url_rule("/p/<path:p>", "p", lambda p: p)
    return app


def _get_with_host(app: Phial, host: str, path: str = "/") -> str:
    environ = _environ(path)
    environ["HTTP_HOST"] = host
    return _call(app, environ)[0]


@pytest.mark.parametrize("path", ["/", "/n/1", "/p/a/b", "/missing"])
@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "good.example.evil"])
def test_untrusted_host_is_400_on_every_route(path: str, host: str) -> None:
    app = _host_app(TRUSTED_HOSTS=["good.example"])
    assert _get_with_host(app, host, path).startswith("400")


@pytest.mark.parametrize("path", ["/", "/n/1", "/p/a/b"])
@pytest.mark.parametrize("host", ["good.example", "good.example:8080", "sub.any.example"])
def test_trusted_host_is_served(path: str, host: str) -> None:
    app = _host_app(TRUSTED_HOSTS=["good.example", ".any.example"])
    assert _get_with_host(app, host, path) == "200 OK"


def test_trusted_hosts_disable_the_fast_route_table() -> None:
    app = _host_app(TRUSTED_HOSTS=["good.example"])
    _get_with_host(app, "good.example")
    assert not app._routes.enabled
    open_app = _host_app()
    _get_with_host(open_app, "good.example")
    assert open_app._routes.enabled


@pytest.mark.parametrize(
    "host",
    [
        "a b",
        "exa mple.com:80x",
        "example.com:80x",
        "example.com:",
        "example.com:0",
        "example.com:99999",
        "exa\x00mple.com",
        "exa\tmple.com",
        "exa\x7fmple.com",
        "user@example.com",
        "example.com/path",
        "example.com\\x",
        "[::1",
        "::1",
        "a:1:2",
        "ex%41mple.com",
    ],
)
@pytest.mark.parametrize("trusted", [None, ["example.com"]])
@pytest.mark.parametrize("path", ["/", "/n/1", "/missing"])
def test_malformed_host_is_400(host: str, trusted: list[str] | None, path: str) -> None:
    app = _host_app(TRUSTED_HOSTS=trusted)
    for _ in range(2):  # the first request compiles the route table
        assert _get_with_host(app, host, path).startswith("400")


@pytest.mark.parametrize(
    "host", ["example.com", "example.com:8080", "[::1]", "[::1]:80", "web_1:8000", "127.0.0.1"]
)
def test_well_formed_hosts_are_served(host: str) -> None:
    app = _host_app()
    assert _get_with_host(app, host) == "200 OK"
    assert _get_with_host(app, host) == "200 OK"


def test_missing_or_empty_host_is_served() -> None:
    app = _host_app()
    environ = _environ()
    del environ["HTTP_HOST"]
    assert _call(app, environ)[0] == "200 OK"
    assert _get_with_host(app, "") == "200 OK"


def test_remembered_hosts_are_bounded() -> None:
    app = _host_app()
    for i in range(200):
        assert _get_with_host(app, f"h{i}.example") == "200 OK"
    assert len(app._routes._good_hosts) <= 64


def test_malformed_host_reaches_the_400_error_handler() -> None:
    app = _host_app()

    @app.errorhandler(400)
    def bad_request(e: Exception) -> tuple[str, int]:
        return "custom 400", 400

    environ = _environ()
    environ["HTTP_HOST"] = "a b"
    assert _call(app, environ)[2] == b"custom 400"


def test_no_traceback_outside_debug_mode() -> None:
    app = Phial("errors")

    @app.route("/")
    def index() -> str:
        raise RuntimeError("secret detail 1234")

    status, headers, body = _call(app, _environ())
    assert status.startswith("500")
    assert b"secret detail" not in body
    assert b"Traceback" not in body
    assert b"RuntimeError" not in body
    assert headers["Content-Type"].startswith("text/html")


# -- 8. Streaming responses are closed with the iterable ------------------------------------


@pytest.mark.parametrize("with_context", [False, True])
def test_close_stops_a_streaming_response_and_tears_down_once(with_context: bool) -> None:
    app = Phial("stream")
    events: list[str] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    @app.route("/")
    def index() -> t.Any:
        def generate() -> t.Iterator[str]:
            try:
                for i in range(1_000_000):
                    yield f"{i}\n"
            finally:
                events.append("closed")

        return stream_with_context(generate()) if with_context else generate()

    started: list[str] = []
    iterable = app(_environ(), lambda status, headers, exc=None: started.append(status))
    iterator = iter(iterable)
    assert next(iterator) == b"0\n"
    assert next(iterator) == b"1\n"
    iterable.close()  # type: ignore[attr-defined]  # the server calls close() when the client leaves
    assert events.count("closed") == 1
    assert events.count("teardown") == 1
    assert started == ["200 OK"]


class _TrickleInput(io.RawIOBase):
    """A server input that returns one byte per read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._data.read(1)

    def readinto(self, buffer: t.Any) -> int:
        data = self.read(1)
        buffer[: len(data)] = data
        return len(data)


@pytest.mark.parametrize("chunked", [False, True])
def test_urlencoded_form_survives_short_reads(body_app: Phial, chunked: bool) -> None:
    body = b"a=" + b"b" * 100 + b"&c=d"
    content_type = "application/x-www-form-urlencoded"
    if chunked:
        environ = _chunked("/form", body, content_type)
    else:
        environ = _environ("/form", "POST", body, content_type=content_type)
    environ["wsgi.input"] = _TrickleInput(body)
    status, _, out = _call(body_app, environ)
    assert status == "200 OK"
    assert json.loads(out)["form"] == {"a": ["b" * 100], "c": ["d"]}


_SPLIT_BODY = (
    b'--BND\r\nContent-Disposition: form-data; name="a"\r\n\r\n\r\n--BND\r\n'
    b'Content-Disposition: form-data; name="b"\r\n\r\nx\r\r\n\r\n--BND\r\n'
    b'Content-Disposition: form-data; name="f"; filename="f"\r\n\r\n\r\n--BN\r\n--BND--\r\n'
)


class _Pieces(io.RawIOBase):
    """A server input that returns the given pieces, one per read."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = pieces

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._pieces.pop(0) if self._pieces else b""


@pytest.mark.parametrize("split", range(1, len(_SPLIT_BODY)))
def test_multipart_result_does_not_depend_on_where_reads_split(
    split: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phial import _formparser

    # Hand each piece to the decoder as it is read (the parser normally
    # gathers 64 KiB first), so every split position reaches the decoder.
    monkeypatch.setattr(_formparser, "_read_up_to", lambda stream, size: stream.read(size))
    parser = _formparser.FormDataParser(silent=False)
    pieces = [_SPLIT_BODY[:split], _SPLIT_BODY[split:]]
    _, form, files = parser.parse(_Pieces(pieces), "multipart/form-data", None, {"boundary": "BND"})
    read = [(k, f.read()) for k, f in files.items(multi=True)]
    for f in files.values():
        f.close()
    assert list(form.items(multi=True)) == [("a", ""), ("b", "x\r\r\n")]
    assert read == [("f", b"\r\n--BN")]


# -- a body cut short (the client left mid-body) ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/data", None, b"a" * 40),
        ("/stream", None, b"a" * 40),
        ("/form", "application/x-www-form-urlencoded", b"a=" + b"b" * 40),
        (
            "/form",
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nbbbb',
        ),
        ("/json", "application/json", b'{"a": "' + b"b" * 40),
    ],
)
@pytest.mark.parametrize("terminated", [True, False])
def test_body_shorter_than_content_length_is_400_not_truncated(
    body_app: Phial, path: str, content_type: str | None, body: bytes, terminated: bool
) -> None:
    """gunicorn sets ``wsgi.input_terminated`` and, when a client leaves
    mid-body, hands the app what arrived; Werkzeug then reads that truncated
    body as if it were complete."""
    environ = _environ(path, "POST", body, content_type=content_type)
    environ["CONTENT_LENGTH"] = str(len(body) + 100)
    environ["wsgi.input_terminated"] = terminated
    status, _, page = _call(body_app, environ)
    assert status.startswith("400"), page


def test_body_of_exactly_content_length_is_read_whole(body_app: Phial) -> None:
    environ = _environ("/stream", "POST", b"a" * 70_000)
    environ["wsgi.input_terminated"] = True
    status, _, page = _call(body_app, environ)
    assert (status, page) == ("200 OK", b"70000")


def test_stream_readline_of_a_declared_body(app: Phial) -> None:
    @app.post("/")
    def lines() -> t.Any:
        stream = request.stream
        return [stream.readline().decode(), stream.readline().decode(), stream.readline().decode()]

    environ = _environ("/", "POST", b"one\ntwo")
    environ["wsgi.input_terminated"] = True
    status, _, page = _call(app, environ)
    assert (status, json.loads(page)) == ("200 OK", ["one\n", "two", ""])


def test_declared_body_never_reads_with_a_negative_size(app: Phial) -> None:

    class SizedOnly(io.BytesIO):
        """An input like granian's: a negative size is an error."""

        def read(self, size: int | None = -1) -> bytes:
            if size is None or size < 0:
                raise OverflowError("can't convert negative int to unsigned")
            return super().read(size)

    @app.post("/echo")
    def echo() -> bytes:
        return request.get_data()

    body = b'{"a": 1}'
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/echo",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": SizedOnly(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
    }
    out: list[str] = []
    chunks = app.wsgi_app(environ, lambda status, headers, exc=None: out.append(status))
    assert out == ["200 OK"]
    assert b"".join(chunks) == body
