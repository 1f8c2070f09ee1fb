"""Tests for phial.json.tag.

Flask's serializer is the reference for the wire format: the same values are
dumped by both and the strings compared, and each side loads the other's output.
"""

from __future__ import annotations

import typing as t
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import flask
import pytest
from flask.json.tag import TaggedJSONSerializer as FlaskSerializer
from itsdangerous import URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.wrappers import Response

from phial.globals import _cv_app
from phial.json.provider import DefaultJSONProvider
from phial.json.tag import (
    JSONTag,
    PassDict,
    PassList,
    TagBytes,
    TagDateTime,
    TagDict,
    TaggedJSONSerializer,
    TagMarkup,
    TagTuple,
    TagUUID,
)

UTC_DT = datetime(2024, 2, 29, 13, 14, 15, tzinfo=timezone.utc)
UID = uuid.UUID("12345678-1234-5678-1234-567812345678")

# One case per tag, plus nesting; each must dump to the same text as Flask.
WIRE_CASES: dict[str, t.Any] = {
    "scalars": [None, True, 1, 2.5, "s", "é"],
    "dict": {"b": 1, "a": {"c": 2}},
    "tag-key dict": {" t": "not a tuple"},
    "tag-key dict, tagged value": {" b": b"\x00"},
    "dict whose key looks tagged": {" t__": 1},
    "two-key dict with tag keys": {" t": 1, " b": 2},
    "tuple": (1, "a", None),
    "empty tuple": (),
    "list": [1, [2, (3,)]],
    "bytes": b"\x00\xffbinary",
    "empty bytes": b"",
    "markup": Markup("<b>safe</b>"),
    "uuid": UID,
    "datetime": UTC_DT,
    "nested": {"items": [(b"x", UID), {" di": Markup("m")}], "when": [UTC_DT]},
}


class FakeApp:
    debug = False
    response_class = Response

    def __init__(self) -> None:
        self.json = DefaultJSONProvider(self)


class FakeAppContext:
    def __init__(self, app: FakeApp) -> None:
        self.app = app


@pytest.fixture
def s() -> TaggedJSONSerializer:
    return TaggedJSONSerializer()


@pytest.fixture
def in_app_context() -> Iterator[None]:
    token = _cv_app.set(FakeAppContext(FakeApp()))  # type: ignore[arg-type]  # a stand-in
    try:
        yield
    finally:
        _cv_app.reset(token)


# --- wire format ----------------------------------------------------------------


@pytest.mark.parametrize("value", WIRE_CASES.values(), ids=WIRE_CASES.keys())
def test_dumps_equals_flask_without_app(s: TaggedJSONSerializer, value: t.Any) -> None:
    assert s.dumps(value) == FlaskSerializer().dumps(value)


@pytest.mark.parametrize("value", WIRE_CASES.values(), ids=WIRE_CASES.keys())
def test_dumps_equals_flask_with_app(
    s: TaggedJSONSerializer, value: t.Any, in_app_context: None
) -> None:
    # Inside an app the provider sorts keys; sessions are always written this way.
    with flask.Flask(__name__).app_context():
        expected = FlaskSerializer().dumps(value)
    assert s.dumps(value) == expected


@pytest.mark.parametrize("value", WIRE_CASES.values(), ids=WIRE_CASES.keys())
def test_each_side_loads_the_others_output(s: TaggedJSONSerializer, value: t.Any) -> None:
    assert s.loads(FlaskSerializer().dumps(value)) == FlaskSerializer().loads(s.dumps(value))
    assert FlaskSerializer().loads(s.dumps(value)) == value


def test_exact_encodings(s: TaggedJSONSerializer) -> None:
    assert s.dumps((1, 2)) == '{" t":[1,2]}'
    assert s.dumps(b"hi") == '{" b":"aGk="}'
    assert s.dumps(Markup("<i>")) == '{" m":"<i>"}'
    assert s.dumps(UID) == '{" u":"12345678123456781234567812345678"}'
    assert s.dumps(UTC_DT) == '{" d":"Thu, 29 Feb 2024 13:14:15 GMT"}'
    assert s.dumps({" t": 1}) == '{" di":{" t__":1}}'
    assert s.dumps({"a": [(1,)]}) == '{"a":[{" t":[1]}]}'


# --- round trips --------------------------------------------------------------------


@pytest.mark.parametrize("value", WIRE_CASES.values(), ids=WIRE_CASES.keys())
def test_round_trip(s: TaggedJSONSerializer, value: t.Any) -> None:
    assert s.loads(s.dumps(value)) == value


def test_round_trip_types(s: TaggedJSONSerializer) -> None:
    value = {"t": (1, (2,)), "b": b"x", "m": Markup("<a>"), "u": UID}
    loaded = s.loads(s.dumps(value))
    assert type(loaded["t"]) is tuple and type(loaded["t"][1]) is tuple
    assert type(loaded["b"]) is bytes
    assert type(loaded["m"]) is Markup
    assert type(loaded["u"]) is uuid.UUID


def test_loads_accepts_bytes(s: TaggedJSONSerializer) -> None:
    assert s.loads(b'{" t":[1,{" b":"aGk="}]}') == (1, b"hi")


def test_html_objects_load_as_markup(s: TaggedJSONSerializer) -> None:
    class HTML:
        def __html__(self) -> str:
            return "<p>"

    loaded = s.loads(s.dumps(HTML()))
    assert loaded == Markup("<p>")
    assert type(loaded) is Markup


def test_datetime_precision_and_timezone(s: TaggedJSONSerializer) -> None:
    naive = datetime(2024, 2, 29, 13, 14, 15, 999999)
    loaded = s.loads(s.dumps(naive))
    # Naive datetimes are taken as UTC; the HTTP date format has whole seconds.
    assert loaded == naive.replace(microsecond=0, tzinfo=timezone.utc)
    plus_two = datetime(2024, 2, 29, 15, 14, 15, tzinfo=timezone(timedelta(hours=2)))
    loaded = s.loads(s.dumps(plus_two))
    assert loaded == plus_two
    assert loaded.tzinfo == timezone.utc


def test_unknown_types_fall_through_to_json(s: TaggedJSONSerializer) -> None:
    # Plain dates have no tag; the JSON default turns them into strings.
    from datetime import date

    assert s.tag(date(2020, 1, 1)) == date(2020, 1, 1)
    assert s.dumps(date(2020, 1, 1)) == '"Wed, 01 Jan 2020 00:00:00 GMT"'
    with pytest.raises(TypeError):
        s.dumps({1, 2})


# --- tag / untag --------------------------------------------------------------------


def test_tag_returns_json_ready_structures(s: TaggedJSONSerializer) -> None:
    assert s.tag({"a": (1, b"x")}) == {"a": {" t": [1, {" b": "eA=="}]}}
    assert s.tag("plain") == "plain"


def test_untag_leaves_non_tags_alone(s: TaggedJSONSerializer) -> None:
    assert s.untag({" t": [1]}) == (1,)
    assert s.untag({"a": 1}) == {"a": 1}
    assert s.untag({" nope": 1}) == {" nope": 1}
    assert s.untag({" t": 1, " b": 2}) == {" t": 1, " b": 2}
    assert s.untag({}) == {}


def test_untag_is_shallow(s: TaggedJSONSerializer) -> None:
    assert s.untag({" t": [{" b": "eA=="}]}) == ({" b": "eA=="},)


def test_default_tag_order_and_keys(s: TaggedJSONSerializer) -> None:
    assert [type(tag) for tag in s.order] == [
        TagDict,
        PassDict,
        TagTuple,
        PassList,
        TagBytes,
        TagMarkup,
        TagUUID,
        TagDateTime,
    ]
    assert TaggedJSONSerializer.default_tags == [type(tag) for tag in s.order]
    assert sorted(s.tags) == [" b", " d", " di", " m", " t", " u"]
    assert all(tag.serializer is s for tag in s.order)


# --- register --------------------------------------------------------------------


class TagOrderedDict(JSONTag):
    __slots__ = ()
    key = " od"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, OrderedDict)

    def to_json(self, value: t.Any) -> t.Any:
        return [[k, self.serializer.tag(v)] for k, v in value.items()]

    def to_python(self, value: t.Any) -> t.Any:
        return OrderedDict(value)


def test_register_custom_tag_at_front(s: TaggedJSONSerializer) -> None:
    s.register(TagOrderedDict, index=0)
    assert isinstance(s.order[0], TagOrderedDict)
    value = OrderedDict([("b", (1,)), ("a", 2)])
    text = s.dumps(value)
    assert text == '{" od":[["b",{" t":[1]}],["a",2]]}'
    loaded = s.loads(text)
    assert type(loaded) is OrderedDict
    assert list(loaded.items()) == [("b", (1,)), ("a", 2)]


def test_register_appends_by_default(s: TaggedJSONSerializer) -> None:
    s.register(TagOrderedDict)
    assert isinstance(s.order[-1], TagOrderedDict)
    # PassDict sees an OrderedDict first, so the new tag never applies.
    assert s.dumps(OrderedDict(a=1)) == '{"a":1}'


def test_register_same_as_flask(s: TaggedJSONSerializer) -> None:
    class FlaskTagOrderedDict(flask.json.tag.JSONTag):
        __slots__ = ()
        key = " od"
        check = TagOrderedDict.check
        to_json = TagOrderedDict.to_json
        to_python = TagOrderedDict.to_python

    reference = FlaskSerializer()
    reference.register(FlaskTagOrderedDict, index=0)
    s.register(TagOrderedDict, index=0)
    value = {"x": OrderedDict(b=b"1", a=(2,))}
    assert s.dumps(value) == reference.dumps(value)


def test_register_duplicate_key_raises(s: TaggedJSONSerializer) -> None:
    class OtherTuple(TagTuple):
        __slots__ = ()

    with pytest.raises(KeyError, match=r"Tag ' t' is already registered\."):
        s.register(OtherTuple)
    assert type(s.tags[" t"]) is TagTuple
    assert len(s.order) == 8


def test_register_force_replaces_loader(s: TaggedJSONSerializer) -> None:
    class ListTuple(TagTuple):
        __slots__ = ()

        def to_python(self, value: t.Any) -> t.Any:
            return ["was", value]

    s.register(ListTuple, force=True)
    assert type(s.tags[" t"]) is ListTuple
    # The old tag is still tried first when dumping; only loading changes.
    assert s.dumps((1,)) == '{" t":[1]}'
    assert s.loads('{" t":[1]}') == ["was", [1]]


def test_register_pass_through_tag_is_not_a_key(s: TaggedJSONSerializer) -> None:
    class PassSet(JSONTag):
        __slots__ = ()

        def check(self, value: t.Any) -> bool:
            return isinstance(value, (set, frozenset))

        def to_json(self, value: t.Any) -> t.Any:
            return sorted(value)

        tag = to_json

    s.register(PassSet)
    s.register(PassSet)  # an empty key never clashes
    assert "" not in s.tags
    assert s.dumps({"s": {3, 1}}) == '{"s":[1,3]}'


def test_base_tag_methods(s: TaggedJSONSerializer) -> None:
    tag = JSONTag(s)
    assert tag.key == ""
    for method in (tag.check, tag.to_json, tag.to_python):
        with pytest.raises(NotImplementedError):
            method(1)


def test_tag_method_wraps_with_key(s: TaggedJSONSerializer) -> None:
    assert TagBytes(s).tag(b"x") == {" b": "eA=="}
    assert PassList(s).tag([(1,)]) == [{" t": [1]}]
    assert PassDict(s).tag({"a": b"x"}) == {"a": {" b": "eA=="}}


def test_tags_have_no_instance_dict(s: TaggedJSONSerializer) -> None:
    for tag in s.order:
        assert not hasattr(tag, "__dict__")


# --- session cookie compatibility ---------------------------------------------------


def _phial_session_signer(secret_key: str) -> URLSafeTimedSerializer:
    # The settings Flask documents for its cookie session.
    return URLSafeTimedSerializer(
        secret_key,
        salt="cookie-session",
        serializer=TaggedJSONSerializer(),
        signer_kwargs={"key_derivation": "hmac", "digest_method": "sha1"},
    )


def test_reads_a_flask_session_cookie() -> None:
    app = flask.Flask(__name__)
    app.secret_key = "dev"
    session = {"user": 7, "cart": (1, b"x"), "when": UTC_DT, "id": UID}

    @app.route("/")
    def set_session() -> str:
        flask.session.update(session)
        return ""

    client = app.test_client()
    client.get("/")
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert _phial_session_signer("dev").loads(cookie.value) == session


def test_flask_reads_a_phial_session_cookie() -> None:
    app = flask.Flask(__name__)
    app.secret_key = "dev"
    session = {"user": 7, "cart": (1, b"x"), "msg": Markup("<b>")}
    token = _phial_session_signer("dev").dumps(session)
    seen: dict[str, t.Any] = {}

    @app.route("/")
    def read_session() -> str:
        seen.update(flask.session)
        return ""

    client = app.test_client()
    client.set_cookie("session", token)
    client.get("/")
    assert seen == session


# --- the shortcut for data without tags ----------------------------------------------


PLAIN_CASES: dict[str, t.Any] = {
    "flat": {"n": 1, "s": "x", "f": 2.5, "b": False, "none": None},
    "nested": {"z": [1, {"y": [None, "é"]}], "a": {"c": {}, "b": []}},
    "scalar": "text",
    "list": [1, "2", [3.0]],
    "unsorted": {"b": 1, "a": 2, "c": {"z": 1, "y": 2}},
    "floats": {"inf": float("inf"), "neg": -0.0, "big": 10**40},
    "int keys": {1: "a", 2: "b"},
    "tag-like key among others": {" t": 1, "x": 2},
}
# Data the tags must see: exact types only (Markup is a str, an IntEnum an int).
TAGGED_CASES: dict[str, t.Any] = {
    "markup value": {"m": Markup("<b>")},
    "tag-key dict": {"x": {" t": [1]}},
    "tag-key top level": {" b": "x"},
    "tuple in list": [1, (2,)],
    "dict subclass": {"o": OrderedDict(a=1)},
    "str subclass": {"s": type("S", (str,), {})("x")},
    "bool-like int subclass": {"i": type("I", (int,), {})(3)},
}


def _reference_dumps(s: TaggedJSONSerializer, value: t.Any) -> str:
    """What dumps wrote before the shortcut: the tagging pass, then the JSON
    helper with compact separators."""
    from phial.json import dumps

    return dumps(s.tag(value), separators=(",", ":"))


@pytest.mark.parametrize("value", [*PLAIN_CASES.values(), *TAGGED_CASES.values()])
@pytest.mark.parametrize("context", [False, True])
def test_dumps_equals_the_tagging_pass(
    s: TaggedJSONSerializer, value: t.Any, context: bool
) -> None:
    if context:
        token = _cv_app.set(FakeAppContext(FakeApp()))  # type: ignore[arg-type]  # a stand-in
    try:
        assert s.dumps(value) == _reference_dumps(s, value)
    finally:
        if context:
            _cv_app.reset(token)


@pytest.mark.parametrize("value", PLAIN_CASES.values(), ids=PLAIN_CASES.keys())
def test_plain_data_skips_the_tagging_pass(
    s: TaggedJSONSerializer, value: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[t.Any] = []
    monkeypatch.setattr(TagDict, "check", lambda self, v: calls.append(v) or False)
    s.dumps(value)
    assert calls == []


@pytest.mark.parametrize("value", TAGGED_CASES.values(), ids=TAGGED_CASES.keys())
def test_other_data_goes_through_the_tags(s: TaggedJSONSerializer, value: t.Any) -> None:
    from phial.json.tag import _is_plain

    assert not _is_plain(value, s.tags)


def test_provider_settings_apply(in_app_context: None) -> None:
    s = TaggedJSONSerializer()
    provider = _cv_app.get().app.json
    value = {"b": "é", "a": 1}
    assert s.dumps(value) == '{"a":1,"b":"\\u00e9"}'
    provider.sort_keys = False
    provider.ensure_ascii = False
    assert s.dumps(value) == '{"b":"é","a":1}'
    provider.sort_keys = True
    assert s.dumps(value) == '{"a":1,"b":"é"}'


def test_encoder_cache_is_bounded(in_app_context: None) -> None:
    s = TaggedJSONSerializer()
    provider = _cv_app.get().app.json
    for i in range(20):
        provider.default = lambda o, i=i: i  # a new function each time
        s.dumps({"x": object()})
    assert len(s._encoders) <= 8


def test_custom_provider_is_used() -> None:
    class Shouting(DefaultJSONProvider):
        def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
            return super().dumps(obj, **kwargs).upper()

        def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
            return super().loads(s, object_pairs_hook=OrderedDict, parse_float=Decimal)

    app = FakeApp()
    app.json = Shouting(app)
    token = _cv_app.set(FakeAppContext(app))  # type: ignore[arg-type]  # a stand-in
    try:
        s = TaggedJSONSerializer()
        assert s.dumps({"a": "b"}) == '{"A":"B"}'
        loaded = s.loads('{"a": {"b": 1.5}}')
        assert loaded == {"a": {"b": Decimal("1.5")}}
        # The tag scan rebuilds plain dicts from whatever the provider made.
        assert type(loaded) is dict and type(loaded["a"]) is dict
    finally:
        _cv_app.reset(token)


def test_pass_through_tag_disables_the_shortcut(s: TaggedJSONSerializer) -> None:
    class Rounding(JSONTag):
        __slots__ = ()

        def check(self, value: t.Any) -> bool:
            return type(value) is float

        def tag(self, value: t.Any) -> t.Any:
            return round(value)

    s.register(Rounding, index=0)
    assert s.dumps({"f": 2.75}) == '{"f":3}'


def test_replaced_tag_disables_the_shortcut(s: TaggedJSONSerializer) -> None:
    class TupleAsText(TagTuple):
        __slots__ = ()

        def check(self, value: t.Any) -> bool:
            return isinstance(value, (tuple, str)) and value != ""

        def to_json(self, value: t.Any) -> t.Any:
            return str(value)

    s.register(TupleAsText, force=True, index=0)
    assert s.dumps({"s": "x"}) == '{"s":{" t":"x"}}'


def test_changed_default_tags_disable_the_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    class Never(JSONTag):
        __slots__ = ()
        key = " never"

        def check(self, value: t.Any) -> bool:
            return value == 1

        def to_json(self, value: t.Any) -> t.Any:
            return "one"

    monkeypatch.setattr(
        TaggedJSONSerializer, "default_tags", [Never, *TaggedJSONSerializer.default_tags]
    )
    assert TaggedJSONSerializer().dumps({"n": 1}) == '{"n":{" never":"one"}}'


def test_subclass_overriding_tag_is_honoured() -> None:
    class Doubling(TaggedJSONSerializer):
        __slots__ = ()

        def tag(self, value: t.Any) -> t.Any:
            return {k: v * 2 for k, v in value.items()}

        def untag(self, value: dict[str, t.Any]) -> t.Any:
            return {k: v // 2 for k, v in value.items()}

    s = Doubling()
    assert s.dumps({"n": 2}) == '{"n":4}'
    assert s.loads('{"n":4}') == {"n": 2}


@pytest.mark.parametrize(
    "text",
    ['{"n":1}', ' {"n":1}', '{"n":1} ', '{"n":1}\n', "[1] [2]", "", "nul", "\ufeff{}", "1", '"s"'],
)
def test_loads_matches_json_loads(s: TaggedJSONSerializer, text: str) -> None:
    import json

    try:
        expected: t.Any = json.loads(text)
    except ValueError as e:
        with pytest.raises(type(e)) as info:
            s.loads(text)
        assert str(info.value) == str(e)
    else:
        assert s.loads(text) == expected


def test_loads_untags_only_when_needed(s: TaggedJSONSerializer) -> None:
    assert s.loads('{"a":[{"b":{" t":[1]}}]}') == {"a": [{"b": (1,)}]}
    assert s.loads('{"a":[{"b":{" t":[1],"c":2}}]}') == {"a": [{"b": {" t": [1], "c": 2}}]}
    assert s.loads('[[{" u":"12345678123456781234567812345678"}]]') == [[UID]]
