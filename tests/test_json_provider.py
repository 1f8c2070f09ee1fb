"""Tests for phial.json and phial.json.provider.

Flask is used only as a reference: the same calls are made on both and the
outputs compared.
"""

from __future__ import annotations

import dataclasses
import decimal
import gc
import io
import json
import sys
import typing as t
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import flask
import flask.json
import pytest
from markupsafe import Markup
from werkzeug.wrappers import Response

import phial.json
from phial.globals import _cv_app
from phial.json.provider import DefaultJSONProvider, JSONProvider, OrjsonProvider, _default


class StandInApp:
    """The two attributes a provider reads, plus ``json`` for the module functions."""

    response_class = Response

    def __init__(self, debug: bool = False, provider: type[JSONProvider] = DefaultJSONProvider):
        self.debug = debug
        self.json = provider(self)


class StandInAppContext:
    def __init__(self, app: StandInApp) -> None:
        self.app = app


@pytest.fixture
def app() -> StandInApp:
    return StandInApp()


@pytest.fixture
def app_ctx(app: StandInApp) -> Iterator[StandInApp]:
    """Make ``app`` the current app the way an AppContext push would."""
    token = _cv_app.set(StandInAppContext(app))  # type: ignore[arg-type]  # a stand-in
    try:
        yield app
    finally:
        _cv_app.reset(token)


@pytest.fixture
def flask_app() -> flask.Flask:
    return flask.Flask(__name__)


@dataclasses.dataclass
class Point:
    x: int
    when: date


class HTMLThing:
    def __html__(self) -> str:
        return "<em>hi</em>"


UID = uuid.UUID("12345678-1234-5678-1234-567812345678")
EXTRA_TYPES: dict[str, t.Any] = {
    "date": date(2024, 2, 29),
    "datetime": datetime(2024, 2, 29, 13, 14, 15),
    "aware": datetime(2024, 2, 29, 13, 14, 15, tzinfo=timezone(timedelta(hours=2))),
    "decimal": decimal.Decimal("10.50"),
    "uuid": UID,
    "point": Point(3, date(2020, 1, 1)),
    "markup": Markup("<b>x</b>"),
    "html": HTMLThing(),
}


# --- _default ---------------------------------------------------------------


def test_default_dates_are_http_dates() -> None:
    assert _default(date(2024, 2, 29)) == "Thu, 29 Feb 2024 00:00:00 GMT"
    assert _default(datetime(2024, 2, 29, 13, 14, 15)) == "Thu, 29 Feb 2024 13:14:15 GMT"
    # An aware datetime is converted to GMT.
    aware = datetime(2024, 2, 29, 13, 14, 15, tzinfo=timezone(timedelta(hours=2)))
    assert _default(aware) == "Thu, 29 Feb 2024 11:14:15 GMT"


def test_default_decimal_uuid_dataclass_html() -> None:
    assert _default(decimal.Decimal("10.50")) == "10.50"
    assert _default(UID) == "12345678-1234-5678-1234-567812345678"
    assert _default(Point(3, date(2020, 1, 1))) == {"x": 3, "when": date(2020, 1, 1)}
    assert _default(HTMLThing()) == "<em>hi</em>"


def test_default_rejects_other_types_naming_them() -> None:
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        _default({1})
    # A dataclass *class* is not an instance and must not reach asdict().
    with pytest.raises(TypeError, match="Object of type type is not JSON serializable"):
        _default(Point)


def test_default_matches_flask_for_every_extra_type(app: StandInApp) -> None:
    for name, value in EXTRA_TYPES.items():
        assert app.json.dumps(value) == flask.json.dumps(value, sort_keys=True), name


# --- DefaultJSONProvider.dumps / loads ----------------------------------------


def test_dumps_sorts_keys_and_escapes_non_ascii(app: StandInApp) -> None:
    assert app.json.dumps({"b": 1, "a": "é"}) == '{"a": "\\u00e9", "b": 1}'


def test_dumps_class_attributes_can_be_changed_per_instance(app: StandInApp) -> None:
    provider = t.cast(DefaultJSONProvider, app.json)
    provider.sort_keys = False
    provider.ensure_ascii = False
    assert provider.dumps({"b": 1, "a": "é"}) == '{"b": 1, "a": "é"}'


def test_dumps_kwargs_override_attributes(app: StandInApp) -> None:
    out = app.json.dumps({"b": 1, "a": "é"}, sort_keys=False, ensure_ascii=False)
    assert out == '{"b": 1, "a": "é"}'
    assert app.json.dumps({1}, default=sorted) == "[1]"


def test_custom_default_on_subclass(app: StandInApp) -> None:
    class SetProvider(DefaultJSONProvider):
        @staticmethod
        def default(o: t.Any) -> t.Any:
            if isinstance(o, set):
                return sorted(o)
            return _default(o)

    provider = SetProvider(app)
    assert provider.dumps({"s": {3, 1}, "d": decimal.Decimal("1")}) == '{"d": "1", "s": [1, 3]}'


def test_dumps_unknown_type_raises(app: StandInApp) -> None:
    with pytest.raises(TypeError, match="object is not JSON serializable"):
        app.json.dumps({"x": object()})


def test_loads_str_and_bytes(app: StandInApp) -> None:
    assert app.json.loads('{"a": [1, "é"]}') == {"a": [1, "é"]}
    assert app.json.loads('{"a": [1, "é"]}'.encode()) == {"a": [1, "é"]}
    # json.loads detects UTF-16 and UTF-32 from the bytes themselves.
    assert app.json.loads('{"a": "é"}'.encode("utf-16")) == {"a": "é"}
    assert app.json.loads('{"a": "é"}'.encode("utf-32-le")) == {"a": "é"}


def test_loads_invalid_json_raises_value_error(app: StandInApp) -> None:
    with pytest.raises(json.JSONDecodeError) as exc_info:
        app.json.loads('{"a": ')
    assert isinstance(exc_info.value, ValueError)
    with pytest.raises(ValueError):
        app.json.loads(b"")


def test_loads_invalid_utf8_raises_value_error(app: StandInApp) -> None:
    with pytest.raises(UnicodeDecodeError) as exc_info:
        app.json.loads(b'"\xff\xfe\xfa"')
    assert isinstance(exc_info.value, ValueError)


def test_loads_kwargs_are_passed_on(app: StandInApp) -> None:
    assert app.json.loads('{"a": 1.5}', parse_float=decimal.Decimal) == {
        "a": decimal.Decimal("1.5")
    }


def test_dump_and_load_files(app: StandInApp) -> None:
    out = io.StringIO()
    app.json.dump({"b": UID, "a": 1}, out)
    assert out.getvalue() == '{"a": 1, "b": "12345678-1234-5678-1234-567812345678"}'
    assert app.json.load(io.StringIO(out.getvalue())) == {"a": 1, "b": str(UID)}
    assert app.json.load(io.BytesIO(b'{"x": [true]}')) == {"x": [True]}


# --- DefaultJSONProvider.response ---------------------------------------------


def test_response_compact_when_not_debug(app: StandInApp) -> None:
    rv = app.json.response({"b": [1, 2], "a": None})
    assert isinstance(rv, Response)
    assert rv.mimetype == "application/json"
    assert rv.get_data() == b'{"a":null,"b":[1,2]}\n'


def test_response_indented_in_debug() -> None:
    app = StandInApp(debug=True)
    rv = app.json.response({"b": [1], "a": None})
    assert rv.get_data(as_text=True) == '{\n  "a": null,\n  "b": [\n    1\n  ]\n}\n'


def test_response_compact_attribute_overrides_debug() -> None:
    debug_app = StandInApp(debug=True)
    t.cast(DefaultJSONProvider, debug_app.json).compact = True
    assert debug_app.json.response([1, 2]).get_data() == b"[1,2]\n"

    quiet_app = StandInApp(debug=False)
    t.cast(DefaultJSONProvider, quiet_app.json).compact = False
    assert quiet_app.json.response([1]).get_data() == b"[\n  1\n]\n"


def test_response_debug_is_read_at_call_time(app: StandInApp) -> None:
    assert app.json.response([1]).get_data() == b"[1]\n"
    app.debug = True
    assert app.json.response([1]).get_data() == b"[\n  1\n]\n"


def test_response_custom_mimetype(app: StandInApp) -> None:
    t.cast(DefaultJSONProvider, app.json).mimetype = "application/vnd.api+json"
    assert app.json.response(1).mimetype == "application/vnd.api+json"


def test_response_argument_shapes(app: StandInApp) -> None:
    def body(*args: t.Any, **kwargs: t.Any) -> bytes:
        return app.json.response(*args, **kwargs).get_data()

    assert body() == b"null\n"
    assert body(1) == b"1\n"
    assert body([1, 2]) == b"[1,2]\n"
    assert body((1, 2)) == b"[1,2]\n"
    assert body(1, "a", None) == b'[1,"a",null]\n'
    assert body(b=2, a=1) == b'{"a":1,"b":2}\n'
    assert body(EXTRA_TYPES["decimal"]) == b'"10.50"\n'


def test_response_rejects_args_and_kwargs(app: StandInApp) -> None:
    with pytest.raises(TypeError, match="either args or kwargs, not both"):
        app.json.response(1, a=2)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1,), {}), (({"b": 1, "a": [1, 2]},), {}), ((1, 2, 3), {}), ((), {"z": 1, "y": 2})],
)
def test_response_matches_flask_jsonify(
    flask_app: flask.Flask, debug: bool, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
) -> None:
    app = StandInApp(debug=debug)
    flask_app.debug = debug
    with flask_app.app_context():
        expected = flask.jsonify(*args, **kwargs)
    rv = app.json.response(*args, **kwargs)
    assert rv.get_data() == expected.get_data()
    assert rv.headers["Content-Type"] == expected.headers["Content-Type"]


# --- JSONProvider base --------------------------------------------------------


def test_base_provider_requires_dumps_and_loads(app: StandInApp) -> None:
    provider = JSONProvider(app)
    with pytest.raises(NotImplementedError):
        provider.dumps(1)
    with pytest.raises(NotImplementedError):
        provider.loads("1")


class ReprProvider(JSONProvider):
    """A deliberately odd provider, to show the base methods use dumps/loads."""

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        return f"<{obj!r}|{sorted(kwargs)}>"

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        return ("loaded", s, kwargs)


def test_base_provider_builds_on_dumps_and_loads(app: StandInApp) -> None:
    provider = ReprProvider(app)
    out = io.StringIO()
    provider.dump(1, out, x=1)
    assert out.getvalue() == "<1|['x']>"
    assert provider.load(io.StringIO("abc"), y=2) == ("loaded", "abc", {"y": 2})
    rv = provider.response(1, 2)
    # Like Flask's base class: no formatting options and no trailing newline.
    assert rv.get_data() == b"<[1, 2]|[]>"
    assert rv.mimetype == "application/json"


def test_base_response_matches_flask(flask_app: flask.Flask) -> None:
    class FlaskRepr(flask.json.provider.JSONProvider):
        dumps = ReprProvider.dumps

    expected: t.Any = FlaskRepr(flask_app).response(a=1)
    assert ReprProvider(StandInApp()).response(a=1).get_data() == expected.get_data()


def test_provider_holds_app_weakly() -> None:
    app = StandInApp()
    provider = app.json
    assert provider._app.debug is False
    del app
    gc.collect()
    with pytest.raises(ReferenceError):
        provider.response(1)


# --- phial.json module functions ------------------------------------------------


@pytest.mark.parametrize("value", [*EXTRA_TYPES.values(), {"b": 1, "a": "é"}, [1, None]])
def test_module_dumps_without_app_matches_flask(value: t.Any) -> None:
    assert phial.json.dumps(value) == flask.json.dumps(value)


def test_module_dumps_without_app_does_not_sort() -> None:
    assert phial.json.dumps({"b": 1, "a": 2}) == '{"b": 1, "a": 2}'
    assert phial.json.dumps({"b": 1, "a": 2}, sort_keys=True) == '{"a": 2, "b": 1}'
    assert phial.json.dumps({1}, default=list) == "[1]"


def test_module_functions_without_app() -> None:
    out = io.StringIO()
    phial.json.dump({"u": UID}, out)
    assert out.getvalue() == '{"u": "12345678-1234-5678-1234-567812345678"}'
    assert phial.json.loads(b'{"a": 1}') == {"a": 1}
    assert phial.json.loads("[1.5]", parse_float=decimal.Decimal) == [decimal.Decimal("1.5")]
    assert phial.json.load(io.BytesIO(b"[true]")) == [True]
    with pytest.raises(ValueError):
        phial.json.loads(b"{")


def test_module_dumps_with_app_uses_provider(app_ctx: StandInApp, flask_app: flask.Flask) -> None:
    value = {"b": EXTRA_TYPES["datetime"], "a": "é"}
    assert phial.json.dumps(value) == app_ctx.json.dumps(value)
    with flask_app.app_context():
        assert phial.json.dumps(value) == flask.json.dumps(value)


class RecordingProvider(JSONProvider):
    def __init__(self, app: t.Any) -> None:
        super().__init__(app)
        self.calls: list[tuple[str, t.Any, dict[str, t.Any]]] = []

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        self.calls.append(("dumps", obj, kwargs))
        return "D"

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        self.calls.append(("loads", s, kwargs))
        return "L"


def test_module_functions_delegate_to_app_json() -> None:
    app = StandInApp(provider=RecordingProvider)
    token = _cv_app.set(StandInAppContext(app))  # type: ignore[arg-type]  # a stand-in
    try:
        out = io.StringIO()
        assert phial.json.dumps(1, indent=3) == "D"
        phial.json.dump(2, out)
        assert out.getvalue() == "D"
        assert phial.json.loads("x", k=1) == "L"
        assert phial.json.load(io.StringIO("y")) == "L"
        rv = phial.json.jsonify(a=1)
    finally:
        _cv_app.reset(token)
    calls = t.cast(RecordingProvider, app.json).calls
    assert calls == [
        ("dumps", 1, {"indent": 3}),
        ("dumps", 2, {}),
        ("loads", "x", {"k": 1}),
        ("loads", "y", {}),
        ("dumps", {"a": 1}, {}),
    ]
    assert rv.get_data() == b"D"


def test_jsonify_requires_app_context() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        phial.json.jsonify(1)


def test_jsonify_with_app(app_ctx: StandInApp) -> None:
    rv = phial.json.jsonify(b=EXTRA_TYPES["uuid"], a=[1])
    assert rv.get_data() == b'{"a":[1],"b":"12345678-1234-5678-1234-567812345678"}\n'
    assert rv.mimetype == "application/json"


# --- OrjsonProvider -----------------------------------------------------------


@pytest.fixture
def orjson_app() -> StandInApp:
    return StandInApp(provider=OrjsonProvider)


EQUIVALENCE_CASES: list[t.Any] = [
    None,
    True,
    0,
    -12,
    2.5,
    1e100,
    "plain",
    'quote" slash\\ newline\n tab\t ctrl\x01',
    [],
    {},
    [1, [2, [3, {}]]],
    {"z": 1, "a": {"y": 2, "b": [3, {"x": None}]}},
    (1, 2),
    {"nested": [EXTRA_TYPES]},
    *EXTRA_TYPES.values(),
]


@pytest.mark.parametrize("value", EQUIVALENCE_CASES)
def test_orjson_output_equals_default_provider(orjson_app: StandInApp, value: t.Any) -> None:
    reference = DefaultJSONProvider(orjson_app)
    compact = (",", ":")
    assert orjson_app.json.dumps(value) == reference.dumps(value, separators=compact)
    assert orjson_app.json.dumps(value, indent=2) == reference.dumps(value, indent=2)
    assert orjson_app.json.dumps(value, separators=compact) == reference.dumps(
        value, separators=compact
    )


def test_orjson_non_ascii_is_utf8_but_same_meaning(orjson_app: StandInApp) -> None:
    value = {"name": "é☃𝄞"}
    out = orjson_app.json.dumps(value)
    assert out == '{"name":"é☃𝄞"}'
    assert json.loads(out) == json.loads(DefaultJSONProvider(orjson_app).dumps(value))


def test_orjson_sort_keys(orjson_app: StandInApp) -> None:
    value = {"b": 1, "a": {"d": 1, "c": 2}}
    assert orjson_app.json.dumps(value) == '{"a":{"c":2,"d":1},"b":1}'
    assert orjson_app.json.dumps(value, sort_keys=False) == '{"b":1,"a":{"d":1,"c":2}}'
    t.cast(OrjsonProvider, orjson_app.json).sort_keys = False
    assert orjson_app.json.dumps(value) == '{"b":1,"a":{"d":1,"c":2}}'


def test_orjson_non_string_keys_like_json(orjson_app: StandInApp) -> None:
    value = {1: "a", None: "b", 1.5: "c", False: "d"}
    reference = DefaultJSONProvider(orjson_app)
    expected = reference.dumps(value, sort_keys=False, separators=(",", ":"))
    assert orjson_app.json.dumps(value, sort_keys=False) == expected


def test_orjson_falls_back_for_other_options(orjson_app: StandInApp) -> None:
    value = {"b": [1], "a": 2}
    reference = DefaultJSONProvider(orjson_app)
    for kwargs in (
        {"indent": 4},
        {"indent": "\t"},
        {"separators": (", ", ": ")},
        {"indent": 2, "separators": (",", ":")},
        {"cls": json.JSONEncoder},
    ):
        assert orjson_app.json.dumps(value, **kwargs) == reference.dumps(value, **kwargs), kwargs
    assert orjson_app.json.dumps(value, indent=2, separators=[",", ": "]) == reference.dumps(
        value, indent=2
    )


def test_orjson_falls_back_for_values_it_refuses(orjson_app: StandInApp) -> None:
    big = 2**70
    assert orjson_app.json.dumps({"n": big}) == '{"n": 1180591620717411303424}'
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        orjson_app.json.dumps({"x": object()})


def test_orjson_custom_default(orjson_app: StandInApp) -> None:
    assert orjson_app.json.dumps({3, 1}, default=sorted) == "[1,3]"
    t.cast(OrjsonProvider, orjson_app.json).default = lambda o: "custom"
    assert orjson_app.json.dumps([decimal.Decimal(1)]) == '["custom"]'


def test_orjson_loads(orjson_app: StandInApp) -> None:
    data = '{"a": [1, "é", null]}'
    assert orjson_app.json.loads(data) == {"a": [1, "é", None]}
    assert orjson_app.json.loads(data.encode()) == {"a": [1, "é", None]}
    assert orjson_app.json.loads(data.encode("utf-16")) == {"a": [1, "é", None]}
    assert orjson_app.json.loads("[1.5]", parse_float=decimal.Decimal) == [decimal.Decimal("1.5")]
    assert orjson_app.json.load(io.BytesIO(b"[1]")) == [1]


def test_orjson_loads_errors_are_value_errors(orjson_app: StandInApp) -> None:
    with pytest.raises(json.JSONDecodeError):
        orjson_app.json.loads("{")
    with pytest.raises(json.JSONDecodeError):
        orjson_app.json.loads(b"{")
    with pytest.raises(ValueError):
        orjson_app.json.loads(b'"\xff\xfe\xfa"')


def test_orjson_response_matches_default_provider(orjson_app: StandInApp) -> None:
    value = {"b": EXTRA_TYPES, "a": [1, 2]}
    for debug in (False, True):
        orjson_app.debug = debug
        reference = DefaultJSONProvider(orjson_app).response(value)
        rv = orjson_app.json.response(value)
        assert rv.get_data() == reference.get_data()
        assert rv.mimetype == reference.mimetype == "application/json"


def test_orjson_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes ``import orjson`` raise ImportError.
    monkeypatch.setitem(sys.modules, "orjson", None)
    with pytest.raises(ImportError, match=r"phial\[orjson\]"):
        OrjsonProvider(StandInApp())
