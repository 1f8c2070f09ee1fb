"""The fast lane (phial._lane): same bytes as the general steps, and it steps
aside whenever something could observe the request."""

from __future__ import annotations

import datetime
import re
import typing as t
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder

from phial import Phial, Response, _lane, after_this_request, jsonify, session
from phial.globals import _cv_request
from phial.signals import request_finished

Output = tuple[str, list[tuple[str, str]], bytes]


def call(app: Phial, path: str, method: str = "GET", **kwargs: t.Any) -> Output:
    """Call ``app`` as a WSGI server would; what it sent, exactly."""
    environ = EnvironBuilder(path=path, method=method, **kwargs).get_environ()
    sent: list[t.Any] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Any:
        sent[:] = [status, headers]

    body = b"".join(app(environ, start_response))
    return sent[0], list(sent[1]), body


#: View return values the lane sends itself.
PLAIN_VALUES: dict[str, t.Any] = {
    "text": "Hello, World!",
    "non_ascii": "héllo \u2013 \u2713",
    "bytes": b"\x00\xffraw",
    "empty": "",
    "dict": {"b": 1, "a": [1, 2.5, None, True], "c": {"z": "é"}},
    "list": [1, "two", {"three": 3}],
    "empty_list": [],
    "status": ("created", 201),
    "status_enum_like": ("teapot", 418),
    "headers": ("text", {"X-One": "1", "X-Two": "two"}),
    "content_type": ("text", {"Content-Type": "text/plain; charset=utf-8"}),
    "lowercase_type": ("text", {"content-type": "application/xml", "x-a": "b"}),
    "all_three": ("gone", 410, {"X-Reason": "moved away", "Content-Type": "text/plain"}),
    "tab_in_value": ("text", {"X-Tab": "a\tb"}),
    "only_lowercase_type": ("text", {"content-type": "application/xml"}),
    "only_type_with_tab": ("text", {"Content-Type": "text/plain;\tcharset=utf-8"}),
    "only_other_header": ("text", {"X-One": "1"}),
    "json_status": ({"error": "nope"}, 400),
    "dates": {"when": datetime.datetime(2020, 1, 2, 3, 4, 5), "id": uuid.UUID(int=7)},
}

#: Values the lane hands to the general steps (same result expected).
GENERAL_VALUES: dict[str, t.Any] = {
    "no_content": ("", 204),
    "string_status": ("text", "201 CREATED"),
    "list_headers": ("text", [("X-A", "1")]),
    "json_with_headers": ({"a": 1}, {"X-A": "1"}),
    "int_header": ("text", {"X-Count": 3}),
    "length_header": ("text", {"Content-Length": "4"}),
    "generator": (c for c in ["a", "b"]),
}

#: Responses of the app's class: the lane sends them as they are.
RESPONSE_VALUES: dict[str, t.Any] = {
    "response": Response("made", 202, {"X-Made": "yes"}),
    "jsonify": None,  # made in the view: jsonify needs a context
}


def make_app(values: dict[str, t.Any]) -> Phial:
    app = Phial(__name__)

    def view(name: str) -> t.Any:
        if name == "jsonify":
            return jsonify(a=1, b=[2])
        value = values[name]
        if name == "generator":
            return (c for c in ["a", "b"])
        return value

    app.add_url_rule("/v/<name>", view_func=view)
    app.add_url_rule("/plain", view_func=lambda: "plain")
    return app


def general_app(values: dict[str, t.Any]) -> Phial:
    """The same app with the lane turned off by an ``after_request`` function
    that changes nothing."""
    app = make_app(values)
    app.after_request(lambda response: response)
    return app


def spy_lane(app: Phial) -> list[t.Any]:
    """Record what the lane's output step returned."""
    seen: list[t.Any] = []
    original = app._lane_output

    def recording(ctx: t.Any, rv: t.Any, quiet: bool = False) -> t.Any:
        out = original(ctx, rv, quiet)
        seen.append(out)
        return out

    app._lane_output = recording  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize("name", sorted(PLAIN_VALUES))
def test_plain_values_are_sent_by_the_lane_as_the_general_steps_send_them(name: str) -> None:
    lane_app = make_app(PLAIN_VALUES)
    seen = spy_lane(lane_app)
    assert call(lane_app, f"/v/{name}") == call(general_app(PLAIN_VALUES), f"/v/{name}")
    assert lane_app._lane is True
    assert seen and seen[0] is not None, "the lane did not send this value itself"


@pytest.mark.parametrize("name", sorted(GENERAL_VALUES))
def test_other_values_go_to_the_general_steps_with_the_same_result(name: str) -> None:
    lane_app = make_app(GENERAL_VALUES)
    seen = spy_lane(lane_app)
    assert call(lane_app, f"/v/{name}") == call(general_app(GENERAL_VALUES), f"/v/{name}")
    assert seen == [None]


@pytest.mark.parametrize("value", ["text/plain\nX-Injected: 1", "text/plain\r", "a\x00b"])
def test_a_lone_content_type_with_a_line_break_is_refused_by_the_general_steps(
    value: str,
) -> None:
    values = {"broken": ("text", {"Content-Type": value})}
    lane_app = make_app(values)
    seen = spy_lane(lane_app)
    for _ in range(2):  # refused each time: a refused value is never remembered
        status, headers, _ = call(lane_app, "/v/broken")
        assert status == "500 INTERNAL SERVER ERROR"
        assert ("X-Injected", "1") not in headers
    assert seen == [None, None]
    assert value not in _lane.CONTENT_TYPE_HEADERS


def test_the_lane_header_caches_are_bounded_and_exact() -> None:
    app = Phial(__name__)

    @app.route("/<int:n>")
    def sized(n: int) -> tuple[str, dict[str, str]]:
        return "x" * n, {"Content-Type": f"text/x-{n}"}

    for n in range(_lane._HEADER_CACHE_SIZE + 20):
        status, headers, body = call(app, f"/{n}")
        assert status == "200 OK" and body == b"x" * n
        assert headers == [("Content-Type", f"text/x-{n}"), ("Content-Length", str(n))]
    assert len(_lane.CONTENT_TYPE_HEADERS) <= _lane._HEADER_CACHE_SIZE
    assert len(_lane.LENGTH_HEADERS) <= _lane._HEADER_CACHE_SIZE


@pytest.mark.parametrize("name", sorted(RESPONSE_VALUES))
def test_responses_are_sent_as_they_are(name: str) -> None:
    lane_app = make_app(RESPONSE_VALUES)
    seen = spy_lane(lane_app)
    assert call(lane_app, f"/v/{name}") == call(general_app(RESPONSE_VALUES), f"/v/{name}")
    assert len(seen) == 1 and isinstance(seen[0], Response)


@pytest.mark.parametrize(
    ("path", "method"),
    [("/nowhere", "GET"), ("/plain", "POST"), ("/plain", "HEAD"), ("/plain", "OPTIONS")],
)
def test_errors_and_special_methods_match_the_general_steps(path: str, method: str) -> None:
    lane_app = make_app(PLAIN_VALUES)
    status, headers, body = call(lane_app, path, method)
    assert (status, headers, body) == call(general_app(PLAIN_VALUES), path, method)
    if method == "POST":
        assert status == "405 METHOD NOT ALLOWED"
        assert set(dict(headers)["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    if method == "HEAD":
        assert body == b""
        assert dict(headers)["Content-Length"] == "5"


def test_a_404_handler_replaces_the_lanes_page() -> None:
    app = make_app(PLAIN_VALUES)
    app.register_error_handler(404, lambda e: ("custom", 404))
    assert call(app, "/nowhere")[2] == b"custom"


def test_a_handler_for_another_code_keeps_the_404_page() -> None:
    app = make_app(PLAIN_VALUES)
    app.register_error_handler(500, lambda e: ("oops", 500))
    status, _, body = call(app, "/nowhere")
    assert status == "404 NOT FOUND"
    assert b"Not Found" in body


def test_trap_http_exceptions_still_raises_from_the_lane() -> None:
    app = make_app(PLAIN_VALUES)
    app.config["TRAP_HTTP_EXCEPTIONS"] = True
    app.testing = True
    with pytest.raises(Exception, match="404"):
        call(app, "/nowhere")


def test_after_this_request_runs_for_a_plain_value() -> None:
    app = Phial(__name__)

    @app.route("/")
    def index() -> str:
        @after_this_request
        def tag(response: Response) -> Response:
            response.headers["X-Tagged"] = "yes"
            return response

        return "body"

    _, headers, body = call(app, "/")
    assert ("X-Tagged", "yes") in headers
    assert body == b"body"


def test_a_session_written_by_the_view_is_saved() -> None:
    app = Phial(__name__)
    app.secret_key = "k"

    @app.route("/")
    def index() -> str:
        session["n"] = 1
        return "body"

    _, headers, _ = call(app, "/")
    assert any(name == "Set-Cookie" and value.startswith("session=") for name, value in headers)
    assert ("Vary", "Cookie") in headers


def test_a_permanent_session_cookie_is_refreshed_on_an_untouched_request() -> None:
    app = Phial(__name__)
    app.secret_key = "k"

    @app.route("/login")
    def login() -> str:
        session.permanent = True
        session["user"] = "u"
        return "in"

    @app.route("/")
    def index() -> str:
        return "untouched"

    _, headers, _ = call(app, "/login")
    cookie = dict(headers)["Set-Cookie"].split(";")[0]
    _, headers, body = call(app, "/", headers={"Cookie": cookie})
    assert body == b"untouched"
    assert "Set-Cookie" in dict(headers)


def test_request_finished_receivers_see_a_response_object() -> None:
    app = make_app(PLAIN_VALUES)
    received: list[Response] = []

    def receiver(sender: Phial, response: Response, **extra: t.Any) -> None:
        received.append(response)

    with request_finished.connected_to(receiver, app):
        assert call(app, "/plain")[2] == b"plain"
    assert len(received) == 1 and received[0].get_data() == b"plain"


def test_before_request_and_teardown_functions_run() -> None:
    app = make_app(PLAIN_VALUES)
    events: list[str] = []
    app.before_request(lambda: events.append("before"))
    app.teardown_request(lambda exc: events.append(f"teardown {exc!r}"))
    app.teardown_appcontext(lambda exc: events.append("app teardown"))
    assert call(app, "/plain")[2] == b"plain"
    assert events == ["before", "teardown None", "app teardown"]


def test_an_exception_in_the_view_gets_the_error_handler() -> None:
    app = Phial(__name__)

    @app.route("/")
    def index() -> str:
        raise KeyError("boom")

    app.register_error_handler(KeyError, lambda e: (f"handled {e}", 418))
    status, _, body = call(app, "/")
    assert status == "418 I'M A TEAPOT"
    assert body == b"handled 'boom'"


def test_an_unhandled_exception_is_a_500_with_the_teardown_seeing_it() -> None:
    app = Phial(__name__)
    seen: list[t.Any] = []
    app.teardown_request(seen.append)

    @app.route("/")
    def index() -> str:
        raise RuntimeError("boom")

    status, _, body = call(app, "/")
    assert status == "500 INTERNAL SERVER ERROR"
    assert b"boom" not in body
    assert isinstance(seen[0], RuntimeError)


def test_a_view_that_leaves_a_context_pushed_is_reported() -> None:
    app = Phial(__name__)

    @app.route("/")
    def index() -> str:
        app.test_request_context().push()
        return "leaky"

    with pytest.raises(AssertionError, match="Popped the wrong request context"):
        call(app, "/")
    # Clean up what the view pushed (and the request it displaced).
    while _cv_request.get(None) is not None:
        _cv_request.get().pop()


def test_an_overridden_make_response_turns_the_lane_off() -> None:
    class Shouting(Phial):
        def make_response(self, rv: t.Any) -> Response:
            return super().make_response(rv.upper() if isinstance(rv, str) else rv)

    app = Shouting(__name__)
    app.add_url_rule("/", view_func=lambda: "quiet")
    assert call(app, "/")[2] == b"QUIET"
    assert app._lane is False


def test_a_response_class_with_its_own_emission_turns_the_lane_off() -> None:
    class Stamped(Response):
        def get_wsgi_headers(self, environ: t.Any) -> t.Any:
            headers = super().get_wsgi_headers(environ)
            headers["X-Stamped"] = "1"
            return headers

    app = Phial(__name__)
    app.response_class = Stamped
    app.add_url_rule("/", view_func=lambda: "x")
    assert ("X-Stamped", "1") in call(app, "/")[1]
    assert app._lane is False


def test_the_lane_keeps_a_wsgi_middleware_wrapping_wsgi_app() -> None:
    app = make_app(PLAIN_VALUES)
    inner = app.wsgi_app

    def middleware(environ: t.Any, start_response: t.Any) -> t.Any:
        environ["PATH_INFO"] = "/plain"
        return inner(environ, start_response)

    app.wsgi_app = middleware  # type: ignore[method-assign]
    assert call(app, "/anything")[2] == b"plain"


def _nested(inner: st.SearchStrategy[t.Any]) -> st.SearchStrategy[t.Any]:
    return (
        inner
        | st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    )


#: JSON values: scalars in up to two levels of lists and dicts.
json_values = _nested(
    _nested(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text())
)


@settings(max_examples=150, deadline=None)
@given(json_values, st.booleans(), st.booleans())
def test_the_json_fast_body_is_what_the_encoder_writes(
    value: t.Any, ensure_ascii: bool, sort_keys: bool
) -> None:
    app = Phial(__name__)
    app.json.ensure_ascii = ensure_ascii  # type: ignore[attr-defined]
    app.json.sort_keys = sort_keys  # type: ignore[attr-defined]
    plain = app.json._plain_body(value, False)  # type: ignore[attr-defined]
    assert plain is not None
    expected = app.json._encoder().encode(value)  # type: ignore[attr-defined]
    assert plain == (f"{expected}\n".encode(), "application/json")


def test_the_json_fast_body_steps_aside_for_circular_and_indented_values() -> None:
    app = Phial(__name__)
    circular: list[t.Any] = []
    circular.append(circular)
    assert app.json._plain_body(circular, False) is None  # type: ignore[attr-defined]
    assert app.json._plain_body({"a": 1}, True) is None  # type: ignore[attr-defined]
    app.add_url_rule("/", view_func=lambda: circular)
    assert call(app, "/")[0] == "500 INTERNAL SERVER ERROR"


def _werkzeug_emission(response: Response, environ: dict[str, t.Any]) -> Output:
    sent: list[t.Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc: t.Any = None) -> t.Any:
        sent[:] = [status, headers]

    body = b"".join(response(environ, start_response))
    return sent[0], list(sent[1]), body


def _phial_emission(app: Phial, response: Response, environ: dict[str, t.Any]) -> Output:
    from phial.wsgi import _emit_response

    sent: list[t.Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc: t.Any = None) -> t.Any:
        sent[:] = [status, headers]

    body = b"".join(_emit_response(app, response, environ, start_response))
    return sent[0], list(sent[1]), body


RESPONSES: dict[str, t.Callable[[Phial], Response]] = {
    "made_directly": lambda app: app.make_response("hello"),
    "json": lambda app: jsonify(a=1),
    "status_and_headers": lambda app: app.make_response(("x", 201, {"X-A": "1"})),
    "constructed": lambda app: Response("body", 202, {"X-B": "2"}),
    "data_replaced": lambda app: _with_data(app.make_response("old"), b"new body"),
    "cookie_set": lambda app: _with_cookie(app.make_response("c")),
    "length_removed": lambda app: _without_length(app.make_response("n")),
    "no_content": lambda app: Response("", 204),
    "not_modified": lambda app: Response("x", 304),
    "bytes_list": lambda app: Response([b"a", b"b"]),
}


def _with_data(response: Response, data: bytes) -> Response:
    response.set_data(data)
    return response


def _with_cookie(response: Response) -> Response:
    response.set_cookie("k", "v")
    return response


def _without_length(response: Response) -> Response:
    del response.headers["Content-Length"]
    return response


@pytest.mark.parametrize("name", sorted(RESPONSES))
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_phials_emission_of_a_response_is_werkzeugs(name: str, method: str) -> None:
    app = make_app(PLAIN_VALUES)
    call(app, "/plain")  # the first request decides the lane
    assert app._lane
    environ = EnvironBuilder(path="/", method=method).get_environ()
    with app.test_request_context():
        ours = _phial_emission(app, RESPONSES[name](app), environ)
        theirs = _werkzeug_emission(RESPONSES[name](app), environ)
    assert ours == theirs


def test_a_response_made_by_phial_skips_werkzeugs_emission(monkeypatch: pytest.MonkeyPatch) -> None:
    import phial.wsgi

    app = make_app(PLAIN_VALUES)
    call(app, "/plain")

    def refuse(*args: t.Any) -> t.Any:
        raise AssertionError("the general emission was used")

    monkeypatch.setattr(phial.wsgi, "_emit", refuse)
    environ = EnvironBuilder(path="/").get_environ()
    with app.test_request_context():
        assert _phial_emission(app, jsonify(a=1), environ)[2] == b'{"a":1}\n'
        with pytest.raises(AssertionError, match="general emission"):
            _phial_emission(app, Response([b"a", b"b"]), environ)


def _session_app(general: bool) -> Phial:
    app = Phial(__name__)
    app.secret_key = "k"

    @app.route("/write")
    def write() -> str:
        session["n"] = session.get("n", 0) + 1
        return "written"

    @app.route("/read")
    def read() -> dict[str, t.Any]:
        return {"n": session.get("n")}

    @app.route("/clear")
    def clear() -> str:
        session.clear()
        return "cleared"

    if general:
        app.after_request(lambda response: response)
    return app


@pytest.mark.parametrize("path", ["/write", "/read", "/clear"])
@pytest.mark.parametrize("with_cookie", [False, True])
def test_a_session_request_in_the_lane_is_the_general_one(path: str, with_cookie: bool) -> None:
    cookie = "session=eyJuIjoxfQ.aSPHjQ.bad"  # tampered: opens empty, like a real one would
    if with_cookie:
        lane_app = _session_app(general=False)
        good = dict(call(lane_app, "/write")[1])["Set-Cookie"].split(";")[0]
        cookie = good
    kwargs: dict[str, t.Any] = {"headers": {"Cookie": cookie}}
    lane_app = _session_app(general=False)
    seen = spy_lane(lane_app)
    lane = _without_timestamps(call(lane_app, path, **kwargs))
    assert lane == _without_timestamps(call(_session_app(general=True), path, **kwargs))
    assert isinstance(seen[0], Response)


def _without_timestamps(output: Output) -> Output:
    """The output with each signed cookie's timestamp and signature blanked:
    the two calls compared may fall in different seconds."""
    status, headers, body = output
    blanked = [
        (name, re.sub(r"^(session=[^.;]*)\.[^;]*", r"\1.TS.SIG", value))
        if name == "Set-Cookie"
        else (name, value)
        for name, value in headers
    ]
    return status, blanked, body


def test_a_blueprints_hooks_keep_the_lane_for_other_requests() -> None:
    from phial import Blueprint

    app = Phial(__name__)
    events: list[str] = []
    bp = Blueprint("bp", __name__)
    bp.before_request(lambda: events.append("before"))
    bp.url_value_preprocessor(lambda endpoint, values: events.append("preprocess"))

    @bp.after_request
    def after(response: Response) -> Response:
        response.headers["X-Bp"] = "yes"
        return response

    bp.teardown_request(lambda exc: events.append("teardown"))
    bp.add_url_rule("/inside", view_func=lambda: "in")
    app.register_blueprint(bp)
    app.add_url_rule("/outside", view_func=lambda: "out")
    seen = spy_lane(app)

    _, headers, body = call(app, "/outside")
    assert body == b"out" and "X-Bp" not in dict(headers)
    assert isinstance(seen.pop(), tuple)  # sent by the lane
    assert events == []

    _, headers, body = call(app, "/inside")
    assert body == b"in" and dict(headers)["X-Bp"] == "yes"
    assert events == ["preprocess", "before", "teardown"]
    # The lane ran the blueprint's preprocessor and before_request function,
    # then left the response to the general steps (an after_request applies).
    assert seen == [None]


def _asgi_get(app: Phial, path: str, method: str = "GET") -> Output:
    response = app.test_client(protocol="asgi").open(path, method=method)
    return response.status, list(response.headers.items()), response.get_data()


@pytest.mark.parametrize(
    "path",
    [f"/v/{name}" for name in sorted(PLAIN_VALUES)] + ["/v/jsonify", "/nowhere", "/plain"],
)
def test_the_asgi_lane_sends_what_the_general_steps_send(path: str) -> None:
    values = {**PLAIN_VALUES, **RESPONSE_VALUES}
    lane_app = make_app(values)
    seen = spy_lane(lane_app)
    assert _asgi_get(lane_app, path) == _asgi_get(general_app(values), path)
    if path.startswith("/v/"):
        assert seen and seen[0] is not None, "the ASGI lane did not send this value itself"


def test_replacing_the_response_class_after_the_first_request_is_honoured() -> None:
    class Xml(Response):
        default_mimetype = "application/xml"

    app = make_app(PLAIN_VALUES)
    assert dict(call(app, "/plain")[1])["Content-Type"] == "text/html; charset=utf-8"
    app.response_class = Xml
    assert dict(call(app, "/plain")[1])["Content-Type"] == "application/xml; charset=utf-8"
    assert _asgi_get(app, "/plain")[1][0] == ("Content-Type", "application/xml; charset=utf-8")


def test_replacing_the_request_class_after_the_first_request_is_honoured() -> None:
    from phial import Request, request

    class Tagged(Request):
        def __init__(self, environ: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
            super().__init__(environ, *args, **kwargs)
            self.tag = "tagged"

    app = Phial(__name__)
    app.add_url_rule("/", view_func=lambda: getattr(request, "tag", "plain"))
    assert call(app, "/")[2] == b"plain"
    app.request_class = Tagged
    assert call(app, "/")[2] == b"tagged"
    assert _asgi_get(app, "/")[2] == b"tagged"


def test_a_request_class_with_its_own_close_turns_the_lane_off_and_is_closed() -> None:
    from phial import Request

    closed: list[str] = []

    class Closing(Request):
        def close(self) -> None:
            closed.append(self.path)
            super().close()

    app = Phial(__name__)
    app.request_class = Closing
    app.add_url_rule("/", view_func=lambda: "x")
    assert call(app, "/")[2] == b"x"
    assert app._lane is False
    assert closed == ["/"]


def test_a_request_class_with_its_own_new_turns_the_lane_off_and_is_used() -> None:
    from phial import Request, request

    made: list[str] = []

    class Counted(Request):
        def __new__(cls, *args: t.Any, **kwargs: t.Any) -> Counted:
            made.append(cls.__name__)
            return super().__new__(cls)

    app = Phial(__name__)
    app.request_class = Counted
    app.add_url_rule("/", view_func=lambda: type(request._get_current_object()).__name__)  # type: ignore[attr-defined]  # proxy method
    assert call(app, "/")[2] == b"Counted"
    assert _asgi_get(app, "/")[2] == b"Counted"
    assert app._lane is False
    assert made == ["Counted", "Counted"]


def test_uploaded_files_are_closed_after_a_lane_request() -> None:
    import io

    from phial import request

    kept: list[t.Any] = []

    def upload() -> str:
        kept.append(request.files["doc"])
        return "stored"

    app = Phial(__name__)
    app.add_url_rule("/", view_func=upload, methods=["POST"])
    output = call(app, "/", method="POST", data={"doc": (io.BytesIO(b"x" * 10), "a.txt")})
    assert output[2] == b"stored"
    assert app._lane is True
    assert kept[0].stream.closed
    assert _cv_request.get(None) is None


def test_a_hookless_app_is_quiet_until_a_lifecycle_receiver_connects() -> None:
    from phial.signals import request_tearing_down

    app = Phial(__name__)
    app.add_url_rule("/", view_func=lambda: "x")
    assert call(app, "/")[2] == b"x"
    assert app._lane_quiet()
    torn: list[t.Any] = []

    def receiver(sender: t.Any, **kwargs: t.Any) -> None:
        torn.append(kwargs)

    with request_tearing_down.connected_to(receiver, app):
        assert not app._lane_quiet()
        assert call(app, "/")[2] == b"x"
    assert torn == [{"exc": None}]


@pytest.mark.parametrize("protocol", ["wsgi", "asgi"])
@pytest.mark.parametrize(
    "signal_name",
    [
        "appcontext_pushed",
        "request_started",
        "request_finished",
        "appcontext_popped",
        "appcontext_tearing_down",
    ],
)
def test_receivers_connected_after_the_first_request_are_sent_to(
    signal_name: str, protocol: str
) -> None:
    from phial import signals

    async def view() -> str:  # (the ASGI lane awaits it directly)
        return "x"

    app = Phial(__name__)
    app.add_url_rule("/", view_func=view)
    get = call if protocol == "wsgi" else _asgi_get
    get(app, "/")
    assert app._lane_quiet()
    seen: list[t.Any] = []

    def receiver(sender: t.Any, **kwargs: t.Any) -> None:
        seen.append(sender)

    with getattr(signals, signal_name).connected_to(receiver, app):
        assert get(app, "/")[2] == b"x"
    assert seen == [app]


@pytest.mark.parametrize(
    "hook",
    [
        "before_request",
        "after_request",
        "teardown_request",
        "teardown_appcontext",
        "url_value_preprocessor",
    ],
)
def test_an_app_with_any_hook_is_not_quiet(hook: str) -> None:
    app = Phial(__name__)
    app.add_url_rule("/", view_func=lambda: "x")
    getattr(app, hook)(lambda *args: args[0] if hook == "after_request" else None)
    assert call(app, "/")[2] == b"x"
    assert app._lane and not app._lane_quiet()


def test_an_app_class_with_its_own_debug_property_turns_the_lane_off() -> None:
    class AlwaysDebug(Phial):
        @property  # type: ignore[override]  # read-only on purpose
        def debug(self) -> bool:
            return True

    app = AlwaysDebug(__name__)
    app.add_url_rule("/", view_func=lambda: {"a": 1})
    # Debug output is indented, as make_response writes it for a debug app.
    assert call(app, "/")[2] == b'{\n  "a": 1\n}\n'
    assert app._lane is False


def test_a_view_that_leaves_an_app_context_pushed_is_reported() -> None:
    from phial.globals import _cv_app

    app = Phial(__name__)
    other = Phial("other")

    @app.route("/")
    def index() -> str:
        other.app_context().push()
        return "leaky"

    with pytest.raises(AssertionError, match="Popped the wrong app context"):
        call(app, "/")
    while _cv_app.get(None) is not None:
        _cv_app.get().pop()


@pytest.mark.parametrize("hooked", [False, True])
@pytest.mark.parametrize("which", ["request", "app"])
def test_a_view_that_pushes_its_own_context_again_finishes_cleanly(
    which: str, hooked: bool
) -> None:
    from phial.globals import _cv_app, app_ctx, request_ctx

    app = Phial(__name__)
    torn: list[t.Any] = []
    if hooked:
        app.teardown_appcontext(torn.append)

    @app.route("/")
    def index() -> str:
        own = (request_ctx if which == "request" else app_ctx)._get_current_object()
        own.push()
        own.pop()
        return "again"

    for _ in range(2):
        assert call(app, "/")[2] == b"again"
    # The app context was torn down once per request, by the last pop only.
    assert torn == ([None, None] if hooked else [])
    assert _cv_request.get(None) is None and _cv_app.get(None) is None


def test_contexts_pushed_and_popped_inside_a_view_leave_the_request_intact() -> None:
    from phial import current_app, request
    from phial.globals import _cv_app

    app = Phial(__name__)
    other = Phial("other")

    @app.route("/")
    def index() -> str:
        with other.app_context():
            inner = current_app.name
        with app.test_request_context("/inner"):
            inner += " " + request.path
        return f"{inner} {request.path} {current_app.name}"

    assert call(app, "/")[2] == f"other /inner / {app.name}".encode()
    assert _cv_request.get(None) is None and _cv_app.get(None) is None


def _hooked_app() -> tuple[Phial, list[str]]:
    """An app whose before_request functions and URL value preprocessors
    do each thing the general steps must honour."""
    from phial import abort, g, request

    app = Phial(__name__)
    events: list[str] = []

    @app.url_value_preprocessor
    def take_lang(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        events.append(f"preprocess {endpoint}")
        if values is not None and "lang" in values:
            g.lang = values.pop("lang")

    @app.before_request
    def before() -> t.Any:
        events.append("before")
        g.user = "ada"
        action = request.args.get("before")
        if action == "text":
            return "from before"
        if action == "tuple":
            return {"stopped": True}, 202
        if action == "abort":
            abort(403)
        if action == "raise":
            raise LookupError("before failed")
        return None

    @app.errorhandler(LookupError)
    def lookup_error(e: LookupError) -> tuple[str, int]:
        return f"handled {e}", 409

    @app.route("/<lang>/hello")
    def hello() -> str:
        return f"{g.lang}: hello {g.user}"

    @app.route("/plain")
    def plain() -> dict[str, str]:
        return {"user": g.user}

    return app, events


#: Requests to _hooked_app(), and those the lane answers itself (the others
#: raise, before the view or as a 404, and the general steps answer).
_HOOKED_PATHS = [
    "/en/hello",
    "/plain",
    "/plain?before=text",
    "/plain?before=tuple",
    "/plain?before=abort",
    "/plain?before=raise",
    "/missing",
]
_HOOKED_PATHS_THE_LANE_SENDS = _HOOKED_PATHS[:4]


@pytest.mark.parametrize("path", _HOOKED_PATHS)
def test_before_request_functions_run_in_the_lane_as_in_the_general_steps(path: str) -> None:
    lane_app, lane_events = _hooked_app()
    seen = spy_lane(lane_app)
    general, general_events = _hooked_app()
    general._finish_setup()
    general._lane = False  # every request through the general steps
    assert call(lane_app, path) == call(general, path)
    assert lane_events == general_events
    assert lane_events[-1] == "before"  # they ran, even before a 404
    if path in _HOOKED_PATHS_THE_LANE_SENDS:
        assert seen and seen[0] is not None, "the lane did not send this itself"


#: Views whose Location or Content-Location header Werkzeug's emission
#: rewrites (as a URI; absolute with autocorrect_location_header).
_LOCATION_VIEWS: dict[str, t.Any] = {
    "tuple_location": lambda: ("moved", 302, {"Location": "/ta rget/é"}),
    "tuple_lowercase": lambda: ("moved", 302, {"location": "/é"}),
    "content_location": lambda: ("here", 200, {"Content-Location": "/é x"}),
    "redirect": lambda: _redirect("/ta rget/✓"),
    "autocorrected": lambda: _autocorrected(_redirect("/target")),
    "response_header": lambda: _with_location(),
}


def _redirect(location: str) -> t.Any:
    from flask import has_request_context

    if has_request_context():
        import flask

        return flask.redirect(location)
    from phial import redirect

    return redirect(location)


def _autocorrected(response: t.Any) -> t.Any:
    response.autocorrect_location_header = True
    return response


def _with_location() -> t.Any:
    from flask import has_request_context

    if has_request_context():
        import flask

        response = flask.make_response("made")
    else:
        from phial import make_response

        response = make_response("made")
    response.headers["Location"] = "/é"
    return response


def _location_apps() -> tuple[Phial, t.Any]:
    import flask

    ours = Phial(__name__)
    theirs = flask.Flask(__name__)
    for name, view in _LOCATION_VIEWS.items():
        ours.add_url_rule(f"/{name}", name, view)
        theirs.add_url_rule(f"/{name}", name, view)
    return ours, theirs


def _unordered(sent: Output) -> tuple[str, list[tuple[str, str]], bytes]:
    """``sent`` with its headers sorted: phial puts a view's extra headers
    after Content-Type, Flask before (see docs/flask.md)."""
    return sent[0], sorted(sent[1]), sent[2]


@pytest.mark.parametrize("name", sorted(_LOCATION_VIEWS))
def test_location_headers_are_sent_as_flask_sends_them(name: str) -> None:
    ours, theirs = _location_apps()
    assert _unordered(call(ours, f"/{name}")) == _unordered(call(theirs, f"/{name}"))


def test_a_response_class_that_autocorrects_locations_is_honoured() -> None:
    import flask

    from phial import redirect

    class Absolute(Response):
        autocorrect_location_header = True

    class FlaskAbsolute(flask.Response):
        autocorrect_location_header = True

    ours = Phial(__name__)
    ours.response_class = Absolute
    ours.add_url_rule("/", "index", lambda: redirect("/target"))
    theirs = flask.Flask(__name__)
    theirs.response_class = FlaskAbsolute
    theirs.add_url_rule("/", "index", lambda: flask.redirect("/target"))
    sent = call(ours, "/")
    assert ("Location", "http://localhost/target") in sent[1]
    assert sent == call(theirs, "/")


def _raw_asgi(app: t.Any, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Serve ``path`` over ASGI as a server would (no test client, so the
    driver's direct sending runs); status, headers and body."""
    import asyncio

    async def main() -> list[dict[str, t.Any]]:
        sent: list[dict[str, t.Any]] = []

        async def receive() -> dict[str, t.Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: t.Any) -> None:
            sent.append(dict(message))

        raw_path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"localhost")],
            "client": ("127.0.0.1", 5000),
            "server": ("localhost", 80),
        }
        await app(scope, receive, send)
        return sent

    sent = asyncio.run(main())
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in sent[0]["headers"]]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return sent[0]["status"], sorted(headers), body


@pytest.mark.parametrize("name", sorted(_LOCATION_VIEWS))
def test_location_headers_are_sent_over_asgi_as_flask_sends_them(name: str) -> None:
    ours, theirs = _location_apps()
    status, headers, body = _unordered(call(theirs, f"/{name}"))
    flask_sent = (int(status.split()[0]), [(k.lower(), v) for k, v in headers], body)
    assert _raw_asgi(ours, f"/{name}") == flask_sent
    assert _unordered(_asgi_get(ours, f"/{name}")) == _unordered(call(ours, f"/{name}"))


@pytest.mark.parametrize("path", _HOOKED_PATHS)
def test_before_request_functions_run_in_the_asgi_lane_as_in_the_general_steps(
    path: str,
) -> None:
    lane_app, lane_events = _hooked_app()
    seen = spy_lane(lane_app)
    general, general_events = _hooked_app()
    general._finish_setup()
    general._lane = False
    assert _raw_asgi(lane_app, path) == _raw_asgi(general, path)
    assert _asgi_get(lane_app, path) == _asgi_get(general, path)
    assert lane_events == general_events
    if path in _HOOKED_PATHS_THE_LANE_SENDS:
        assert seen and seen[0] is not None, "the ASGI lane did not send this itself"


def test_the_asgi_lane_tells_async_views_from_others_whatever_they_are() -> None:
    import functools
    import threading

    from phial import asgi

    app = Phial(__name__)
    loop_thread: list[str] = []

    async def coroutine_view() -> str:
        loop_thread.append(threading.current_thread().name)
        return "async"

    def sync_view() -> str:
        return "sync in " + (
            "the loop" if threading.current_thread().name in loop_thread else "a worker"
        )

    class Unhashable:
        __hash__ = None  # type: ignore[assignment]  # a callable view that is not hashable

        def __eq__(self, other: object) -> bool:
            return True

        def __call__(self) -> str:
            return "callable object"

    app.add_url_rule("/a", "a", coroutine_view)
    app.add_url_rule("/s", "s", sync_view)
    app.add_url_rule("/u", "u", Unhashable())
    app.add_url_rule("/p", "p", functools.partial(coroutine_view))
    for _ in range(2):  # the second time from what the lane remembered
        assert _raw_asgi(app, "/a")[2] == b"async"
        assert _raw_asgi(app, "/s")[2] == b"sync in a worker"
        assert _raw_asgi(app, "/u")[2] == b"callable object"
        assert _raw_asgi(app, "/p")[2] == b"async"
    assert asgi._PLAIN_ASYNC[coroutine_view] is True
    assert asgi._PLAIN_ASYNC[sync_view] is False
    assert len(asgi._PLAIN_ASYNC) <= 1024
