"""Request and Response: routing attributes, config-driven limits, JSON errors."""

from __future__ import annotations

import io
import typing as t

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_urlencoded import PIECES
from werkzeug.exceptions import BadRequest, NotFound
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
        assert _kind(ours) == _kind(theirs)
        assert repr(ours) == repr(theirs)


def _args_outcome(cls: type[WzRequest], environ: dict[str, t.Any], first: bool = False) -> t.Any:
    """What ``cls(environ).args`` gives (contents, name, repr), or the
    exception it raises (phial's 400 for a query string that is not UTF-8
    stands for Werkzeug's UnicodeDecodeError); ``first``: after reading
    ``query_string``."""
    try:
        req = cls(dict(environ), populate_request=False)
        if first:
            req.query_string  # noqa: B018  # reading it is the point
        args = req.args
    except BadRequest:
        return UnicodeDecodeError
    except Exception as e:  # the outcome to compare, whatever it is
        return type(e)
    return list(args.lists()), _kind(args), repr(args)


#: Query strings for every branch of ``args``: none, one plain field, several,
#: escapes, "+", repeated names, blank names and values, ";", NULs, non-ASCII
#: text (taken by Werkzeug's parser) and bytes that are not UTF-8 (Werkzeug's
#: parser raises).
QUERIES = [
    "", "page=3", "page", "=", "=3", "a=1=2", "&", "a=1&", "&a", "a=1&b=2", "a=1&a=2&b=",
    "a&=x&&b=c=d", "x=%41%20b&y=c+d", "q=caf%C3%A9", "name=%ZZ", "k=v;w=z", "a=%00&b=\x00",
    "a=%ff%C3&b=%ED%A0%80", "a+b=c+d", "%26=%3D", "a=%", "q=caf\xc3\xa9", "a=\xff",
    "a=\xc3\xbc&b=%C3",
]  # fmt: skip


@pytest.mark.parametrize("first", [False, True])
@pytest.mark.parametrize("query", QUERIES)
def test_args_are_werkzeugs(query: str, first: bool) -> None:
    # A WSGI server hands the query string over as latin-1 decoded bytes.
    environ = {"QUERY_STRING": query.encode().decode("unicode_escape")}
    assert _args_outcome(Request, environ, first) == _args_outcome(WzRequest, environ, first)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(PIECES), max_size=20).map(b"".join))
def test_args_are_werkzeugs_for_any_query(raw: bytes) -> None:
    environ = {"QUERY_STRING": raw.decode("latin-1")}
    assert _args_outcome(Request, environ) == _args_outcome(WzRequest, environ)


def test_args_are_werkzeugs_for_seeded_random_queries() -> None:
    import random

    rng = random.Random(20261124)
    alphabet = "ab=&+%;2Fcf0\x00"
    for _ in range(3000):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randrange(14)))
        environ = {"QUERY_STRING": query}
        assert _args_outcome(Request, environ) == _args_outcome(WzRequest, environ), query


@pytest.mark.parametrize("query", ["page=3", "a=1&a=2", "a=%41+b", ""])
def test_args_with_another_storage_class_are_werkzeugs(query: str) -> None:
    from werkzeug.datastructures import MultiDict

    class Mutable(Request):
        parameter_storage_class = MultiDict

    class WzMutable(WzRequest):
        parameter_storage_class = MultiDict

    environ = {"QUERY_STRING": query}
    args = Mutable(environ).args
    assert type(args) is MultiDict
    assert list(args.lists()) == list(WzMutable(environ).args.lists())


@pytest.mark.parametrize("errors", ["strict", "ignore", "surrogateescape"])
def test_args_with_other_encoding_errors_are_werkzeugs(errors: str) -> None:
    class Ours(Request):
        encoding_errors = errors

    class Theirs(WzRequest):
        encoding_errors = errors

    for query in QUERIES:
        environ = {"QUERY_STRING": query.encode().decode("unicode_escape")}
        assert _args_outcome(Ours, environ) == _args_outcome(Theirs, environ), query


def test_args_fast_path_and_its_fallbacks() -> None:
    from werkzeug.datastructures import ImmutableMultiDict

    from phial import _multidict

    # ASCII query strings are parsed by phial into its own ImmutableMultiDict...
    for query in ("", "page=3", "a=1&b=%32+x"):
        assert type(Request({"QUERY_STRING": query}).args) is _multidict.ImmutableMultiDict
    # ...anything else by Werkzeug's parser.
    assert type(Request({"QUERY_STRING": "q=caf\xc3\xa9"}).args) is ImmutableMultiDict
    req = Request({"QUERY_STRING": "a=1"})
    req.query_string = "a=2".encode("utf-16")  # Werkzeug's parser says what this gives
    with pytest.raises(BadRequest):
        req.args  # noqa: B018  # parsing is the point
    # The query string read first (it is then cached) does not turn the fast path off.
    req = Request({"QUERY_STRING": "a=1&b=%32"})
    assert req.query_string == b"a=1&b=%32"
    assert type(req.args) is _multidict.ImmutableMultiDict
    assert req.args.to_dict() == {"a": "1", "b": "2"}


def test_args_of_a_query_string_that_is_not_utf8_is_400(app: Phial, client: FlaskClient) -> None:
    @app.get("/")
    def index() -> dict[str, t.Any]:
        return request.args.to_dict()

    with pytest.raises(BadRequest, match="not valid UTF-8"):
        Request({"QUERY_STRING": "a=\xff"}).args  # noqa: B018  # parsing is the point
    rv = client.get("/", environ_overrides={"QUERY_STRING": "a=\xff"})
    assert rv.status_code == 400
    assert b"not valid UTF-8" in rv.data
    # Escaped, the same byte is a value (re-escaped, as Werkzeug gives it).
    assert client.get("/?a=%ff").get_json() == {"a": "%FF"}


@pytest.mark.parametrize("query", [b"b=%32", b"b", b"", "b=\xc3\xbc".encode("latin-1")])
def test_args_parse_an_assigned_query_string(query: bytes) -> None:
    ours = Request({"QUERY_STRING": "a=1"})
    ours.query_string = query
    theirs = WzRequest({"QUERY_STRING": "a=1"})
    theirs.query_string = query
    assert list(ours.args.lists()) == list(theirs.args.lists())
    assert list(ours.args.lists()) != [("a", ["1"])]


def test_args_without_a_query_string() -> None:
    args = Request({}).args
    assert _kind(args) == ("ImmutableMultiDict", True)
    assert not args


def test_args_of_a_query_string_that_is_not_a_str() -> None:
    # Not WSGI: Werkzeug's parser reads it through phial's query_string, as str().
    assert list(Request({"QUERY_STRING": 5}).args.lists()) == [("5", [""])]


def test_args_are_a_plain_attribute_once_parsed() -> None:
    from werkzeug.datastructures import ImmutableMultiDict

    req = Request({"QUERY_STRING": "a=1"})
    args = req.args
    assert req.__dict__["args"] is args
    assert req.args is args
    req.args = ImmutableMultiDict([("b", "2")])
    assert req.args.to_dict() == {"b": "2"}
    del req.args
    assert req.args.to_dict() == {"a": "1"}


def test_args_get_with_type(app: Phial, client: FlaskClient) -> None:
    @app.get("/")
    def index() -> dict[str, t.Any]:
        return {
            "page": request.args.get("page", 1, type=int),
            "size": request.args.get("size", 10, type=int),
            "q": request.args.get("q"),
        }

    assert client.get("/?page=3&size=x").get_json() == {"page": 3, "size": 10, "q": None}
    assert client.get("/?q=a+b%21").get_json() == {"page": 1, "size": 10, "q": "a b!"}


def test_args_and_form_as_json_are_werkzeugs(app: Phial, client: FlaskClient) -> None:
    from werkzeug.datastructures import ImmutableMultiDict

    from phial import jsonify

    @app.post("/")
    def index() -> t.Any:
        return jsonify(args=request.args, form=request.form)

    @app.post("/werkzeug")
    def werkzeug() -> t.Any:
        return jsonify(
            args=ImmutableMultiDict(request.args.items(multi=True)),
            form=ImmutableMultiDict(request.form.items(multi=True)),
        )

    for url in ("/", "/werkzeug"):
        rv = client.post(f"{url}?x=1&x=2&y=", data={"a": ["1", "2"], "b": "x"})
        assert rv.get_json() == {"args": {"x": "1", "y": ""}, "form": {"a": "1", "b": "x"}}


def test_values_combine_args_and_form(app: Phial) -> None:
    with app.app_context():
        environ = _form_environ(b"a=form&b=2")
        environ["QUERY_STRING"] = "a=query&c=3"
        ours = Request(environ).values
        environ = _form_environ(b"a=form&b=2")
        environ["QUERY_STRING"] = "a=query&c=3"
        theirs = WzRequest(environ).values
        assert list(ours.lists()) == list(theirs.lists())
        assert ours.to_dict() == theirs.to_dict() == {"a": "query", "b": "2", "c": "3"}


# -- the urlencoded fast path ---------------------------------------------------------

URLENCODED = "application/x-www-form-urlencoded"


def _form_environ(
    body: bytes, content_type: str | None = URLENCODED, length: str | None = "auto"
) -> dict[str, t.Any]:
    environ: dict[str, t.Any] = {
        "REQUEST_METHOD": "POST",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
    }
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    if length == "auto":
        environ["CONTENT_LENGTH"] = str(len(body))
    elif length is not None:
        environ["CONTENT_LENGTH"] = length
    return environ


class _GeneralPath(Request):
    """A request class that always parses forms with the form parser (it
    overrides a parsing hook, which turns the fast path off)."""

    def make_form_data_parser(self) -> t.Any:
        return super().make_form_data_parser()


def _kind(value: t.Any) -> tuple[str, bool]:
    """What a parsed ``args``/``form`` looks like from outside: phial's own
    ImmutableMultiDict is a subclass of Werkzeug's with the same name."""
    from werkzeug.datastructures import ImmutableMultiDict

    return type(value).__name__, isinstance(value, ImmutableMultiDict)


def _parsed(cls: type[Request], environ: dict[str, t.Any]) -> t.Any:
    req = cls(environ)
    try:
        form = req.form
    except Exception as e:  # the outcome to compare, whatever it is
        return type(e), getattr(e, "code", None)
    return (
        _kind(form),
        list(form.lists()),
        _kind(req.files),
        list(req.files.lists()),
        req.get_data(),
        req.stream.read(),
    )


@pytest.fixture
def spy_parser(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The mimetypes the form parser was asked to parse."""
    from phial import _formparser

    calls: list[str] = []
    parse = _formparser.FormDataParser.parse

    def spy(self: t.Any, stream: t.Any, mimetype: str, *args: t.Any, **kwargs: t.Any) -> t.Any:
        calls.append(mimetype)
        return parse(self, stream, mimetype, *args, **kwargs)

    monkeypatch.setattr(_formparser.FormDataParser, "parse", spy)
    return calls


FAST_BODIES = [
    b"",
    b"a=1",
    b"name=Ada+Lovelace&subject=Engines+%26+numbers&city=Z%C3%BCrich",
    b"a=1&b=2&a=3",
    b"a&b=&=c&&",
    b"a=1;b=2",
    b"a=%zz%4%&b=%ff%C3",
    b"a=\xc3\xbc",
    b"a=1&b=\xff",
    b"a=%00\x00",
]


@pytest.mark.parametrize("body", FAST_BODIES)
def test_urlencoded_fast_path_matches_form_parser(
    app: Phial, body: bytes, spy_parser: list[str]
) -> None:
    with app.app_context():
        fast = _parsed(Request, _form_environ(body))
        assert spy_parser == []  # the form parser was not involved
        general = _parsed(_GeneralPath, _form_environ(body))
        assert spy_parser == [URLENCODED]
    assert fast == general


def test_urlencoded_fast_path_with_charset_parameter(app: Phial, spy_parser: list[str]) -> None:
    environ = _form_environ(b"a=%C3%BC", URLENCODED + "; charset=UTF-8")
    with app.app_context():
        assert Request(environ).form.to_dict() == {"a": "ü"}
    assert spy_parser == []


@pytest.mark.parametrize("length", [None, "", "x", "-1", "+3", " 3", "\xb3", "9" * 30])
def test_urlencoded_without_a_plain_length_takes_the_form_parser(
    app: Phial, length: str | None, spy_parser: list[str]
) -> None:
    with app.app_context():
        fast = _parsed(Request, _form_environ(b"a=1", length=length))
        general = _parsed(_GeneralPath, _form_environ(b"a=1", length=length))
    assert fast == general
    assert len(spy_parser) == 2


def test_urlencoded_chunked_body_takes_the_form_parser(app: Phial, spy_parser: list[str]) -> None:
    environ = _form_environ(b"a=1", length=None)
    environ["wsgi.input_terminated"] = True
    with app.app_context():
        assert Request(environ).form.to_dict() == {"a": "1"}
    assert spy_parser == [URLENCODED]


@pytest.mark.parametrize("key", ["MAX_CONTENT_LENGTH", "MAX_FORM_MEMORY_SIZE"])
def test_urlencoded_limits_still_apply(app: Phial, key: str) -> None:
    from werkzeug.exceptions import RequestEntityTooLarge

    app.config[key] = 5
    with app.app_context():
        assert Request(_form_environ(b"a=123")).form.to_dict() == {"a": "123"}
        with pytest.raises(RequestEntityTooLarge):
            Request(_form_environ(b"a=1234")).form  # noqa: B018  # parsing is the point


def test_urlencoded_per_request_limit_applies(app: Phial) -> None:
    from werkzeug.exceptions import RequestEntityTooLarge

    with app.app_context():
        req = Request(_form_environ(b"a=1234"))
        req.max_form_memory_size = 3
        with pytest.raises(RequestEntityTooLarge):
            req.form  # noqa: B018  # parsing is the point


def test_urlencoded_fields_are_not_limited_by_max_form_parts(app: Phial) -> None:
    # MAX_FORM_PARTS counts multipart parts only, in Werkzeug as here.
    app.config["MAX_FORM_PARTS"] = 2
    body = b"a=1&b=2&c=3&d=4"
    with app.app_context():
        assert list(Request(_form_environ(body)).form) == ["a", "b", "c", "d"]
        assert _parsed(Request, _form_environ(body)) == _parsed(_GeneralPath, _form_environ(body))


def test_urlencoded_body_shorter_than_declared_is_400(app: Phial) -> None:
    from werkzeug.exceptions import ClientDisconnected

    with app.app_context():
        with pytest.raises(ClientDisconnected):
            Request(_form_environ(b"a=1", length="10")).form  # noqa: B018  # parsing is the point
        assert _parsed(_GeneralPath, _form_environ(b"a=1", length="10"))[0] is ClientDisconnected


def test_urlencoded_body_longer_than_declared_is_cut(app: Phial) -> None:
    with app.app_context():
        req = Request(_form_environ(b"a=1&b=2", length="3"))
        assert req.form.to_dict() == {"a": "1"}


class _TrickleInput(io.RawIOBase):
    """A server input returning at most two bytes per read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._data.read(2 if size is None or size < 0 else min(size, 2))


def test_urlencoded_body_read_in_short_pieces(app: Phial, spy_parser: list[str]) -> None:
    environ = _form_environ(b"a=12345&b=678")
    environ["wsgi.input"] = _TrickleInput(b"a=12345&b=678")
    with app.app_context():
        assert Request(environ).form.to_dict() == {"a": "12345", "b": "678"}
    assert spy_parser == []


class _BrokenInput(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        raise OSError("connection reset")


def test_urlencoded_body_read_error_is_400(app: Phial) -> None:
    from werkzeug.exceptions import BadRequest

    environ = _form_environ(b"a=1")
    environ["wsgi.input"] = _BrokenInput()
    with app.app_context(), pytest.raises(BadRequest, match="malformed or incomplete"):
        Request(environ).form  # noqa: B018  # parsing is the point


def test_get_data_after_urlencoded_form(app: Phial) -> None:
    # As with Werkzeug's parser: the body went into the form; the stream is
    # read to its end, and rewinding it gives the body again.
    with app.app_context():
        for cls in (Request, _GeneralPath):
            req = cls(_form_environ(b"a=1&b=2"))
            assert req.form.to_dict() == {"a": "1", "b": "2"}
            assert req.get_data() == b""
            assert req.data == b""
            req.stream.seek(0)
            assert req.stream.read() == b"a=1&b=2"


def test_get_data_before_urlencoded_form(app: Phial, spy_parser: list[str]) -> None:
    with app.app_context():
        req = Request(_form_environ(b"a=1&b=2"))
        assert req.get_data() == b"a=1&b=2"
        assert req.form.to_dict() == {"a": "1", "b": "2"}  # parsed from the cached body
        assert req.get_data() == b"a=1&b=2"
        assert spy_parser == [URLENCODED]


def test_uncached_get_data_before_urlencoded_form(app: Phial) -> None:
    with app.app_context():
        req = Request(_form_environ(b"a=1&b=2"))
        assert req.get_data(cache=False) == b"a=1&b=2"
        assert req.form.to_dict() == {}  # the body was consumed


def test_get_data_parse_form_data_with_urlencoded(app: Phial) -> None:
    with app.app_context():
        req = Request(_form_environ(b"a=1"))
        assert req.get_data(parse_form_data=True) == b""
        assert req.form.to_dict() == {"a": "1"}


def test_urlencoded_stream_read_first_takes_the_form_parser(
    app: Phial, spy_parser: list[str]
) -> None:
    with app.app_context():
        req = Request(_form_environ(b"a=1&b=2"))
        assert req.stream.read(2) == b"a="
        assert req.form.to_dict() == {"1": "", "b": "2"}
    assert spy_parser == [URLENCODED]


def test_urlencoded_files_and_values(app: Phial, spy_parser: list[str]) -> None:
    with app.app_context():
        req = Request(_form_environ(b"a=1"))
        assert req.files.to_dict() == {}
        assert req.form.to_dict() == {"a": "1"}
        assert req.values.to_dict() == {"a": "1"}
    assert spy_parser == []


def test_shallow_request_refuses_urlencoded_form(app: Phial) -> None:
    with app.app_context():
        req = Request(_form_environ(b"a=1"), shallow=True)
        with pytest.raises(RuntimeError, match="shallow"):
            req.form  # noqa: B018  # parsing is the point


def test_custom_storage_class_takes_the_form_parser(app: Phial, spy_parser: list[str]) -> None:
    from werkzeug.datastructures import ImmutableMultiDict

    class Storage(ImmutableMultiDict[str, str]):
        pass

    class Custom(Request):
        parameter_storage_class = Storage

    with app.app_context():
        req = Custom(_form_environ(b"a=1&b=2&a=3"))
        assert type(req.form) is Storage
        assert type(req.files) is Storage
        assert list(req.form.lists()) == [("a", ["1", "3"]), ("b", ["2"])]
    assert spy_parser == [URLENCODED]


def test_custom_parser_class_takes_it(app: Phial) -> None:
    from phial._formparser import FormDataParser

    class Upper(FormDataParser):
        def parse(self, stream: t.Any, mimetype: str, *args: t.Any, **kwargs: t.Any) -> t.Any:
            stream, form, files = super().parse(stream, mimetype, *args, **kwargs)
            return stream, self.cls((k.upper(), v) for k, v in form.items(multi=True)), files

    class Custom(Request):
        form_data_parser_class = Upper

    with app.app_context():
        assert Custom(_form_environ(b"a=1")).form.to_dict() == {"A": "1"}


def test_stream_override_is_read_by_the_form_parser(app: Phial) -> None:
    from werkzeug.utils import cached_property

    class Rot(Request):
        @cached_property
        def stream(self) -> t.IO[bytes]:
            return io.BytesIO(self.environ["wsgi.input"].read().replace(b"1", b"2"))

    assert Rot._plain_form_hooks is False
    assert Request._plain_form_hooks is True
    with app.app_context():
        assert Rot(_form_environ(b"a=1")).form.to_dict() == {"a": "2"}


def test_urlencoded_form_through_the_client(
    echo: Phial, client: FlaskClient, spy_parser: list[str]
) -> None:
    fields = {"name": "Ada Lovelace", "note": "1 + 1 = 2; 100%", "c": "Zürich"}
    rv = client.post("/form", data=fields)
    assert rv.json == {"form": fields, "files": []}
    assert spy_parser == []  # WSGI and ASGI (a buffered body) both take the fast path
    echo.config["MAX_FORM_MEMORY_SIZE"] = 10
    assert client.post("/form", data={"a": "x" * 20}).status_code == 413


def test_urlencoded_limit_property_override_takes_the_form_parser(
    app: Phial, spy_parser: list[str]
) -> None:
    from werkzeug.exceptions import RequestEntityTooLarge

    class Small(Request):
        @property
        def max_form_memory_size(self) -> int | None:
            return 3

    assert Small._plain_form_hooks is False
    with app.app_context():
        assert Small(_form_environ(b"a=1")).form.to_dict() == {"a": "1"}
        with pytest.raises(RequestEntityTooLarge):
            Small(_form_environ(b"a=12")).form  # noqa: B018  # parsing is the point
    assert spy_parser == [URLENCODED, URLENCODED]


def test_urlencoded_outside_an_app_context(spy_parser: list[str]) -> None:
    # Without an app there is no config to read limits from: the form parser
    # applies its defaults.
    assert Request(_form_environ(b"a=1")).form.to_dict() == {"a": "1"}
    assert spy_parser == [URLENCODED]


def test_form_and_files_are_plain_attributes_once_parsed(app: Phial) -> None:
    from werkzeug.datastructures import ImmutableMultiDict

    with app.app_context():
        req = Request(_form_environ(b"a=1"))
        assert "files" not in req.__dict__  # made on first read
        form = req.form
        assert req.__dict__["form"] is form
        files = req.files
        assert req.__dict__["files"] is files
        assert req.files is files
        req.form = ImmutableMultiDict([("b", "2")])
        assert req.form.to_dict() == {"b": "2"}


def test_deleted_form_parses_again_as_werkzeug_does(app: Phial) -> None:
    # The body was read by the first parse: parsing again finds it consumed.
    with app.app_context():
        for cls in (Request, _GeneralPath):
            req = cls(_form_environ(b"a=1"))
            assert req.form.to_dict() == {"a": "1"}
            del req.form
            assert req.form.to_dict() == {}


def test_urlencoded_server_giving_more_than_asked(app: Phial) -> None:
    class Generous(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int | None = -1) -> bytes:
            return b"a=1&b=2"

    environ = _form_environ(b"a=1", length="3")
    environ["wsgi.input"] = Generous()
    with app.app_context():
        assert Request(environ).form.to_dict() == {"a": "1"}


def test_close_skips_empty_files(app: Phial, monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[bool] = []
    close = WzRequest.close

    def spy(self: WzRequest) -> None:
        closed.append(True)
        close(self)

    monkeypatch.setattr(WzRequest, "close", spy)
    with app.app_context():
        req = Request(_form_environ(b"a=1"))
        req.form  # noqa: B018  # parsing is the point
        req.close()
        assert closed == []
        req = Request(
            _form_environ(
                b"--B\r\nContent-Disposition: form-data; name=f; filename=x\r\n\r\nhi\r\n--B--\r\n",
                "multipart/form-data; boundary=B",
            )
        )
        assert req.files["f"].read() == b"hi"
        req.close()
        assert closed == [True]


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.sampled_from(PIECES), max_size=25).map(b"".join))
def test_urlencoded_fast_path_matches_form_parser_for_any_body(body: bytes) -> None:
    app = Phial(__name__)
    with app.app_context():
        assert _parsed(Request, _form_environ(body)) == _parsed(_GeneralPath, _form_environ(body))
