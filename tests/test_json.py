"""``phial.json.jsonify``: the default provider's shortcut gives exactly the
response Flask's ``jsonify`` gives (status, headers in order, body bytes) for
every setting, raises the same errors, and steps aside for anything it does
not cover (another provider, a replaced ``response``, a custom response
class)."""

from __future__ import annotations

import dataclasses
import decimal
import itertools
import typing as t
import uuid
from datetime import date, datetime, timezone

import flask
import pytest
from markupsafe import Markup

import phial
from phial import Phial, jsonify
from phial.json.provider import DefaultJSONProvider
from phial.wrappers import Response


@dataclasses.dataclass
class _Point:
    x: int
    y: int


_VALUES: list[tuple[tuple[t.Any, ...], dict[str, t.Any]]] = [
    ((), {}),
    ((1,), {}),
    ((1, "two", None), {}),
    (({"b": 1, "a": [1.5, True, None]},), {}),
    (([{"z": {"y": "x"}}, []],), {}),
    (((1, 2),), {}),
    (("caf\u00e9 \u2028 \U0001f600 <&>",), {}),
    ((), {"user_id": 42, "page": 3}),
    ((), {"b": "\u00e9", "a": [1, {"d": 2, "c": 3}]}),
    ((), {"when": date(2024, 1, 2), "at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)}),
    ((), {"price": decimal.Decimal("1.10"), "id": uuid.UUID(int=7), "p": _Point(1, 2)}),
    ((), {"html": Markup("<b>x</b>"), "big": 10**30, "nan": float("nan")}),
    (({1: "int key", None: "none key"},), {}),
]

_SETTINGS = list(
    itertools.product(
        [False, True],  # debug
        [None, True, False],  # compact
        [True, False],  # sort_keys
        [True, False],  # ensure_ascii
        ["application/json", "text/javascript"],  # mimetype
    )
)


def _configure(app: t.Any, settings: tuple[t.Any, ...]) -> None:
    debug, compact, sort_keys, ensure_ascii, mimetype = settings
    app.debug = debug
    app.json.compact = compact
    app.json.sort_keys = sort_keys
    app.json.ensure_ascii = ensure_ascii
    app.json.mimetype = mimetype


def _reply(response: t.Any) -> tuple[t.Any, ...]:
    return response.status, response.headers.to_wsgi_list(), response.get_data()


def _flask_reply(
    settings: tuple[t.Any, ...], args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
) -> tuple[t.Any, ...]:
    flask_app = flask.Flask(__name__)
    _configure(flask_app, settings)
    with flask_app.app_context():
        return _reply(flask.jsonify(*args, **kwargs))


def _served_app() -> Phial:
    """An app that has handled a request, so responses may be built directly."""
    app = Phial(__name__)
    app.add_url_rule("/", "index", lambda: "")
    assert app.test_client().get("/").status_code == 200
    return app


@pytest.mark.parametrize("settings", _SETTINGS)
def test_jsonify_equals_flask_for_every_setting(settings: tuple[t.Any, ...]) -> None:
    app = _served_app()
    _configure(app, settings)
    with app.app_context():
        for args, kwargs in _VALUES:
            if settings[2] and args and isinstance(args[0], dict) and 1 in args[0]:
                continue  # mixed keys cannot be sorted: see the error test
            expected = _flask_reply(settings, args, kwargs)
            response = jsonify(*args, **kwargs)
            assert type(response) is Response
            assert _reply(response) == expected, (args, kwargs)
            # The general path (the provider's response()) agrees too.
            assert _reply(app.json.response(*args, **kwargs)) == expected


def test_jsonify_before_the_first_request_equals_flask() -> None:
    app = Phial(__name__)  # responses are built by the constructor until then
    with app.app_context():
        for args, kwargs in _VALUES[:9]:
            expected = _flask_reply((False, None, True, True, "application/json"), args, kwargs)
            assert _reply(jsonify(*args, **kwargs)) == expected


def test_jsonify_follows_setting_changes() -> None:
    app = _served_app()
    with app.app_context():
        assert jsonify(b=1, a=2).get_data() == b'{"a":2,"b":1}\n'
        app.json.sort_keys = False
        assert jsonify(b=1, a=2).get_data() == b'{"b":1,"a":2}\n'
        app.json.default = lambda o: "custom"
        assert jsonify(x=object()).get_data() == b'{"x":"custom"}\n'
        app.json.mimetype = "application/problem+json"
        assert jsonify(1).headers["Content-Type"] == "application/problem+json"
        app.debug = True
        assert jsonify(a=1).get_data() == b'{\n  "a": 1\n}\n'
        app.json.compact = True
        assert jsonify(a=1).get_data() == b'{"a":1}\n'


def _error(call: t.Callable[[], t.Any]) -> tuple[type[BaseException], str]:
    with pytest.raises(Exception) as info:
        call()
    return info.type, str(info.value)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((object(),), {}),
        ((), {"a": object()}),
        (({1: "a", "b": 2},), {}),
        ((1,), {"a": 2}),
    ],
)
@pytest.mark.parametrize("debug", [False, True])
def test_jsonify_errors_equal_flask(
    args: tuple[t.Any, ...], kwargs: dict[str, t.Any], debug: bool
) -> None:
    app = _served_app()
    app.debug = debug
    flask_app = flask.Flask(__name__)
    flask_app.debug = debug
    with flask_app.app_context():
        expected = _error(lambda: flask.jsonify(*args, **kwargs))
    with app.app_context():
        error = _error(lambda: jsonify(*args, **kwargs))
    assert error[0] is expected[0]
    if "object at 0x" not in expected[1]:
        assert error[1] == expected[1]


def test_jsonify_circular_value_is_flasks_error() -> None:
    app = _served_app()
    circular: list[t.Any] = []
    circular.append(circular)
    flask_app = flask.Flask(__name__)
    with flask_app.app_context():
        expected = _error(lambda: flask.jsonify(circular))
    with app.app_context():
        assert _error(lambda: jsonify(circular)) == expected


def test_jsonify_needs_an_app_context() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        jsonify(a=1)


def test_jsonify_calls_a_subclass_response() -> None:
    class Custom(DefaultJSONProvider):
        def response(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
            return ("custom", args, kwargs)

    app = _served_app()
    app.json = Custom(app)
    with app.app_context():
        assert jsonify(1, 2) == ("custom", (1, 2), {})
        assert jsonify(a=1) == ("custom", (), {"a": 1})


def test_jsonify_calls_a_response_set_on_the_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _served_app()
    monkeypatch.setattr(app.json, "response", lambda *a, **k: ("patched", a, k))
    with app.app_context():
        assert jsonify(3, page=1) == ("patched", (3,), {"page": 1})


def test_jsonify_uses_a_subclass_dumps() -> None:
    class Loud(DefaultJSONProvider):
        def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
            return super().dumps(obj, **kwargs).upper()

    app = _served_app()
    app.json = Loud(app)
    with app.app_context():
        response = jsonify(word="quiet")
    assert response.get_data() == b'{"WORD":"QUIET"}\n'
    assert response.headers.to_wsgi_list() == [
        ("Content-Type", "application/json"),
        ("Content-Length", "17"),
    ]


def test_jsonify_with_a_custom_response_class() -> None:
    built: list[t.Any] = []

    class Tracked(Response):
        def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
            built.append(args)
            super().__init__(*args, **kwargs)

    app = _served_app()
    app.response_class = Tracked
    app.test_client().get("/")  # the app notices the new class
    built.clear()
    with app.app_context():
        response = jsonify(user_id=1)
    assert type(response) is Tracked
    assert built == [('{"user_id":1}\n',)]
    assert _reply(response) == _flask_reply(
        (False, None, True, True, "application/json"), (), {"user_id": 1}
    )


def test_jsonify_does_not_call_response_on_the_default_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The shortcut is taken: the general method is not involved.
    app = _served_app()

    def general(*args: t.Any, **kwargs: t.Any) -> t.Any:
        raise AssertionError("the general path ran")

    monkeypatch.setattr(DefaultJSONProvider, "response", general)
    with app.app_context():
        assert jsonify(a=1).get_data() == b'{"a":1}\n'


def test_jsonify_is_the_public_name() -> None:
    assert phial.jsonify is jsonify


def test_jsonify_reads_an_overridden_debug() -> None:
    # With ``debug`` overridden the lane is off, and the shortcut asks the
    # property rather than the config (as the general path does).
    class AlwaysDebug(Phial):
        @property  # type: ignore[override]  # a read-only override, for the test
        def debug(self) -> bool:
            return True

    app = AlwaysDebug(__name__)
    app.add_url_rule("/", "index", lambda: "")
    assert app.test_client().get("/").status_code == 200
    assert app._lane is False
    assert app.config["DEBUG"] is False
    with app.app_context():
        assert jsonify(a=1).get_data() == b'{\n  "a": 1\n}\n'
        assert _reply(jsonify(a=1)) == _reply(app.json.response(a=1))


def test_jsonify_reads_the_config_debug_with_the_lane_on() -> None:
    app = _served_app()
    assert app._lane is True
    with app.app_context():
        app.config["DEBUG"] = True
        assert jsonify(a=1).get_data() == b'{\n  "a": 1\n}\n'
        app.config["DEBUG"] = False
        assert jsonify(a=1).get_data() == b'{"a":1}\n'


def test_jsonify_of_a_provider_whose_app_is_gone_raises_as_before() -> None:
    # The shortcut reads the app through a weak reference; once the app is
    # gone it steps aside and the general path raises the proxy's error.
    app = _served_app()
    provider = t.cast(DefaultJSONProvider, app.json)
    del app
    import gc

    gc.collect()
    other = _served_app()
    other.json = provider
    with other.app_context(), pytest.raises(ReferenceError):
        jsonify(a=1)


def test_fast_json_body_follows_changes_on_the_instance_and_the_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _served_app()
    value = {"b": "\u00e9", "a": 1}
    provider = app.json
    assert provider._plain_body(value, False) == (  # type: ignore[attr-defined]
        b'{"a":1,"b":"\\u00e9"}\n',
        "application/json",
    )
    # Class attributes changed after the encoder was made.
    monkeypatch.setattr(DefaultJSONProvider, "sort_keys", False)
    assert provider._plain_body(value, False)[0] == b'{"b":"\\u00e9","a":1}\n'  # type: ignore[attr-defined]
    monkeypatch.setattr(DefaultJSONProvider, "ensure_ascii", False)
    assert provider._plain_body(value, False)[0] == '{"b":"\u00e9","a":1}\n'.encode()  # type: ignore[attr-defined]
    monkeypatch.setattr(DefaultJSONProvider, "mimetype", "application/x+json")
    assert provider._plain_body(value, False)[1] == "application/x+json"  # type: ignore[attr-defined]
    monkeypatch.setattr(DefaultJSONProvider, "default", staticmethod(lambda o: "class"))
    assert provider._plain_body({"o": object()}, False)[0] == b'{"o":"class"}\n'  # type: ignore[attr-defined]
    # Instance attributes, then deleting them (the class's values again).
    provider.sort_keys = True  # type: ignore[attr-defined]
    provider.default = lambda o: "instance"  # type: ignore[attr-defined]
    assert provider._plain_body({"o": object(), "a": 1}, False)[0] == b'{"a":1,"o":"instance"}\n'  # type: ignore[attr-defined]
    del provider.sort_keys  # type: ignore[attr-defined]
    del provider.default  # type: ignore[attr-defined]
    assert provider._plain_body({"o": object(), "a": 1}, False)[0] == b'{"o":"class","a":1}\n'  # type: ignore[attr-defined]
    with app.app_context():
        # jsonify uses the same body.
        assert jsonify(o=object(), a=1).get_data() == b'{"o":"class","a":1}\n'


def test_fast_json_body_of_a_subclass_with_a_default_method() -> None:
    class Custom(DefaultJSONProvider):
        sort_keys = False

        def default(self, o: t.Any) -> t.Any:  # type: ignore[override]
            return "custom"

    app = Phial(__name__)
    app.json = Custom(app)
    first = app.json._plain_body({"z": object(), "a": 1}, False)  # type: ignore[attr-defined]
    assert first == (b'{"z":"custom","a":1}\n', "application/json")
    encoder = app.json._c_encoder  # type: ignore[attr-defined]
    # A bound method is a new object on every read: equal ones keep the encoder.
    assert app.json._plain_body({"a": 1}, False) == (b'{"a":1}\n', "application/json")  # type: ignore[attr-defined]
    assert app.json._c_encoder is encoder  # type: ignore[attr-defined]
    with app.app_context():
        assert app.json.response(z=object()).get_data() == b'{"z":"custom"}\n'


class _Text(str):
    pass


class _Number(int):
    def __repr__(self) -> str:
        return "number"


_ONE_KEY_VALUES: list[t.Any] = [
    {"message": "Hello, World!"},
    {"m": ""},
    {"": "x"},
    {"q": 'quote " back \\ nl \n tab \t nul \x00'},
    {"caf\u00e9": "\u00e9\u4e2d\U0001f600"},
    {"id": 0},
    {"id": -42},
    {"id": 10**30},
    {"flag": True},
    {"none": None},
    {"f": 1.5},
    {"f": float("nan")},
    {"sub": _Text("x")},
    {"sub": _Number(3)},
    {_Text("k"): "v"},
    {1: "int key"},
    {None: "none key"},
    {"nested": {"b": 1, "a": 2}},
    {"list": [1, "a"]},
]


@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("sort_keys", [True, False])
@pytest.mark.parametrize("value", _ONE_KEY_VALUES)
def test_the_fast_json_body_of_small_dicts_is_what_the_encoder_writes(
    value: t.Any, ensure_ascii: bool, sort_keys: bool
) -> None:
    app = Phial(__name__)
    app.json.ensure_ascii = ensure_ascii  # type: ignore[attr-defined]
    app.json.sort_keys = sort_keys  # type: ignore[attr-defined]
    expected = f"{app.json._encoder().encode(value)}\n".encode()  # type: ignore[attr-defined]
    assert app.json._plain_body(value, False) == (expected, "application/json")  # type: ignore[attr-defined]


def test_the_fast_json_body_steps_aside_where_the_encoder_fails() -> None:
    app = Phial(__name__)
    # Too many digits for int -> str: the general path raises its own error.
    # Text that cannot be UTF-8 raises as it does on the general path.
    assert app.json._plain_body({"n": 10**5000}, False) is None  # type: ignore[attr-defined]
    assert app.json._plain_body({"o": object()}, False) is None  # type: ignore[attr-defined]
    # A lone surrogate is escaped as ASCII, and cannot be UTF-8 otherwise.
    assert app.json._plain_body({"s": "\ud800"}, False) == (  # type: ignore[attr-defined]
        b'{"s":"\\ud800"}\n',
        "application/json",
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.add_url_rule("/", "plain", lambda: {"s": "\ud800"})
    app.add_url_rule("/j", "jsonify", lambda: jsonify(s="\ud800"))
    app.testing = True
    client = app.test_client()
    with pytest.raises(UnicodeEncodeError):
        client.get("/")
    with pytest.raises(UnicodeEncodeError):
        client.get("/j")
