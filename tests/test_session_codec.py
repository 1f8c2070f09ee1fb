"""Tests for phial._session_codec: the session cookie written and read without
itsdangerous per request must be the cookie itsdangerous (and Flask) writes and
reads, byte for byte, and the interface must fall back to the general path
whenever it is customised."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import random
import string
import time
import typing as t
import uuid
import warnings
import zlib
from base64 import urlsafe_b64encode
from datetime import datetime, timedelta, timezone

import flask
import pytest
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.http import parse_cookie

import phial.sessions
from phial import Phial
from phial._session_codec import (
    _NEVER_COMPRESSED,
    INVALID,
    UNSURE,
    SessionCodec,
    SetCookieFormat,
    _Hmac,
    cookie_value,
)
from phial.json.tag import TaggedJSONSerializer
from phial.sessions import (
    SecureCookieSession,
    SecureCookieSessionInterface,
    session_json_serializer,
)
from phial.wrappers import Request, Response

SECRET = "codec secret"
NOW = 1_700_000_000
MAX_AGE = 31 * 24 * 3600


def _reference(
    secret: str | list[str] = SECRET, salt: str = "cookie-session"
) -> URLSafeTimedSerializer:
    """itsdangerous configured as Flask configures it, built independently."""
    return URLSafeTimedSerializer(
        secret,
        salt=salt,
        serializer=session_json_serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )


def _signer(secret: str = SECRET) -> TimestampSigner:
    """Signs arbitrary payloads with the session's key, to reach the payload checks."""
    return TimestampSigner(
        secret, salt="cookie-session", key_derivation="hmac", digest_method=hashlib.sha1
    )


def _codec(*keys: str) -> SessionCodec:
    return SessionCodec(list(keys) or [SECRET], "cookie-session", session_json_serializer)


def _reference_loads(value: str, max_age: int = MAX_AGE, secret: str | list[str] = SECRET) -> t.Any:
    try:
        return _reference(secret).loads(value, max_age=max_age)
    except BadData:
        return INVALID


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> t.Callable[[float], None]:
    """Freeze ``time.time`` (read by itsdangerous and the codec) at NOW; the
    returned function moves it."""

    def move(when: float) -> None:
        monkeypatch.setattr(time, "time", lambda: when)

    move(float(NOW))
    return move


_DATA: list[t.Any] = [
    {"n": 1},
    {},
    {"a": "é ü \u2603 \U0001f600", "b": [1, 2.5, None, True, False], "c": {"d": {"e": []}}},
    {"z": 1, "a": 2, "m": {"y": 1, "b": 2}},
    {"t": (1, "two", (3,))},
    {"b": b"\x00bytes\xff"},
    {"m": Markup("<em>safe</em>")},
    {"u": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"d": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)},
    {"x": {" t": "looks like a tag"}},
    {" t": [1, 2]},
    {"x": [{" u": "not a uuid"}, {" di": 1}]},
    {"_flashes": [("message", "hello")], "_permanent": True},
    {"big": "repeat " * 400},  # compressed
    {"token": "0123456789abcdef" * 8, "_user_id": "42", "_fresh": True},
    {"nan": float("inf"), "neg": -0.0, "huge": 10**30},
    {1: "int key"},
]


# -- signing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 19, 20, 63, 64, 65, 100, 200])
def test_hmac_matches_the_standard_library(length: int) -> None:
    key = bytes(range(length % 256)) * (length // 256 + 1)
    key = key[:length]
    mac = _Hmac(key)
    for message in (b"", b"x", b"payload.stamp" * 10):
        assert mac.digest(message) == hmac.digest(key, message, "sha1")


@pytest.mark.parametrize("data", _DATA, ids=range(len(_DATA)))
def test_cookie_bytes_match_itsdangerous(data: t.Any, frozen: t.Callable[[float], None]) -> None:
    value = _codec().dumps(data)
    assert value == _reference().dumps(data)
    assert _reference().loads(value, max_age=MAX_AGE) == _reference().loads(
        _reference().dumps(data), max_age=MAX_AGE
    )


@pytest.mark.parametrize("data", _DATA, ids=range(len(_DATA)))
def test_itsdangerous_cookies_open(data: t.Any, frozen: t.Callable[[float], None]) -> None:
    value = _reference().dumps(data)
    assert _codec().loads(value, MAX_AGE) == _reference().loads(value, max_age=MAX_AGE)


def test_cookie_bytes_match_flask(frozen: t.Callable[[float], None]) -> None:
    fapp = flask.Flask("codec_flask")
    fapp.secret_key = SECRET
    data = {"n": 1, "t": (1, 2), "big": "x" * 500, "m": Markup("<b>")}
    with fapp.app_context():
        signer = fapp.session_interface.get_signing_serializer(fapp)  # type: ignore[attr-defined]  # SecureCookieSessionInterface
        assert signer is not None
        expected = signer.dumps(data)
    papp = Phial("codec_phial")
    with papp.app_context():  # both sort keys, as their JSON providers do
        value = _codec().dumps(data)
        assert _codec().loads(expected, MAX_AGE) == data
    assert value == expected
    assert expected.startswith(".")  # the compressed form was compared too
    with fapp.app_context():
        assert signer.loads(value) == data


def test_phial_cookie_opens_in_flask_and_back() -> None:
    fapp = flask.Flask("codec_flask")
    fapp.secret_key = SECRET

    @fapp.route("/")
    def fview() -> str:
        flask.session["seen"] = [*flask.session.get("seen", []), "flask"]
        return ",".join(flask.session["seen"])

    papp = Phial("codec_phial")
    papp.secret_key = SECRET

    @papp.route("/")
    def pview() -> str:
        phial.session["seen"] = [*phial.session.get("seen", []), "phial"]
        return ",".join(phial.session["seen"])

    pclient, fclient = papp.test_client(), fapp.test_client()
    assert pclient.get("/").text == "phial"
    for expected in ("phial,flask", "phial,flask,phial", "phial,flask,phial,flask"):
        source, target = (pclient, fclient) if expected.endswith("flask") else (fclient, pclient)
        cookie = source.get_cookie("session")
        assert cookie is not None
        target.set_cookie("session", cookie.value)
        assert target.get("/").text == expected


def test_compression_is_used_exactly_when_itsdangerous_uses_it(
    frozen: t.Callable[[float], None],
) -> None:
    rng = random.Random(3)
    codec = _codec()
    compressed = 0
    for _ in range(300):
        size = rng.randint(0, 80)
        alphabet = rng.choice(["a", "ab", string.ascii_letters, "{}[]:,"])
        data = {"v": "".join(rng.choice(alphabet) for _ in range(size))}
        value = codec.dumps(data)
        assert value == _reference().dumps(data)
        compressed += value.startswith(".")
    assert 0 < compressed < 300


@pytest.mark.parametrize("length", range(1, _NEVER_COMPRESSED + 1))
def test_short_json_is_never_worth_compressing(length: int) -> None:
    # The most compressible inputs of each length still do not save 2 bytes.
    for raw in (b"a" * length, b"\x00" * length, (b"ab" * length)[:length], b"{}" * length):
        assert len(zlib.compress(raw[:length])) >= length - 1


def test_timestamp_is_written_once_per_second(frozen: t.Callable[[float], None]) -> None:
    codec = _codec()
    first = codec.dumps({"n": 1})
    assert codec.dumps({"n": 1}) == first
    frozen(NOW + 1.5)
    later = codec.dumps({"n": 1})
    assert later != first and later == _reference().dumps({"n": 1})


# -- verifying ------------------------------------------------------------------------------


def test_fallback_keys_verify_and_the_last_key_signs(frozen: t.Callable[[float], None]) -> None:
    old, new = _codec("old"), _codec("old", "new")
    value = old.dumps({"n": 1})
    assert new.loads(value, MAX_AGE) == {"n": 1}
    assert new.dumps({"n": 1}) == _reference(["old", "new"]).dumps({"n": 1})
    assert _codec("new").loads(value, MAX_AGE) is INVALID
    assert _codec("new").loads(new.dumps({"n": 1}), MAX_AGE) == {"n": 1}


@pytest.mark.parametrize("age", [-100, -1, 0, 1, 59, 60, 61, 10**6])
@pytest.mark.parametrize("max_age", [-1, 0, 60])
def test_age_limits_match_itsdangerous(
    age: int, max_age: int, frozen: t.Callable[[float], None]
) -> None:
    value = _reference().dumps({"n": 1})
    frozen(NOW + age + 0.75)  # a fraction of a second changes nothing
    expected = _reference_loads(value, max_age)
    assert _codec().loads(value, max_age) == expected
    assert (expected is INVALID) == (age > max_age or age < 0)


def test_timestamp_shapes_match_itsdangerous(frozen: t.Callable[[float], None]) -> None:
    signer = _signer()
    payload = urlsafe_b64encode(b'{"n":1}').rstrip(b"=").decode()
    stamps = ["", "A", "AA", "AAA", "AAAA", "_____", "AAAAAAAAAAA", "AAAAAAAAAAAA"]
    for size in range(12):
        raw = (NOW - 5).to_bytes(size, "big") if size >= 4 else b"\x01" * size
        stamps.append(urlsafe_b64encode(raw).rstrip(b"=").decode())
    for stamp in stamps:
        value = signer.get_signature(f"{payload}.{stamp}")
        cookie = f"{payload}.{stamp}.{value.decode()}"
        for max_age in (10, 10**12):
            assert _codec().loads(cookie, max_age) == _reference_loads(cookie, max_age), stamp


def _outcome(value: str, codec: SessionCodec | None = None) -> t.Any:
    """What the codec concludes, asking itsdangerous only when it is unsure."""
    result = (codec or _codec()).loads(value, MAX_AGE)
    if result is UNSURE:
        return _reference_loads(value)
    return result


def test_every_flipped_character_matches_itsdangerous(frozen: t.Callable[[float], None]) -> None:
    for data in ({"n": 1}, {"big": "repeat " * 50}):
        value = _reference().dumps(data)
        decided = 0
        for i, replacement in itertools.product(range(len(value)), "A_-.z9!é "):
            if value[i] == replacement:
                continue
            tampered = value[:i] + replacement + value[i + 1 :]
            decided += _codec().loads(tampered, MAX_AGE) is not UNSURE
            assert _outcome(tampered) == _reference_loads(tampered), tampered
        assert decided > len(value) * 4  # the codec itself decided most of them


def test_every_truncation_and_extension_matches_itsdangerous(
    frozen: t.Callable[[float], None],
) -> None:
    value = _reference().dumps({"n": 1, "s": "x" * 40})
    for end in range(len(value) + 1):
        assert _outcome(value[:end]) == _reference_loads(value[:end])
        assert _outcome(value[end:]) == _reference_loads(value[end:])
    for extra in ("A", "=", ".", "..", "AAAA", " "):
        assert _outcome(value + extra) == _reference_loads(value + extra)
        assert _outcome(extra + value) == _reference_loads(extra + value)


def test_the_signature_is_checked_as_itsdangerous_decodes_it(
    frozen: t.Callable[[float], None],
) -> None:
    value = _reference().dumps({"n": 1})
    body, _, signature = value.rpartition(".")
    # The last character of a 27-character signature carries 2 spare bits:
    # itsdangerous ignores them, and so must the codec.
    alphabet = string.ascii_letters + string.digits + "-_"
    accepted = [c for c in alphabet if _reference_loads(f"{body}.{signature[:-1]}{c}") != INVALID]
    assert len(accepted) == 4
    for c in alphabet:
        other = f"{body}.{signature[:-1]}{c}"
        assert _codec().loads(other, MAX_AGE) == _reference_loads(other)


def test_garbage_matches_itsdangerous(frozen: t.Callable[[float], None]) -> None:
    rng = random.Random(7)
    pieces = ["A", "b", "-", "_", ".", "..", "=", "é", "\x00", " ", ";", '"', "eyJuIjoxfQ"]
    for _ in range(2000):
        garbage = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        assert _outcome(garbage) == _reference_loads(garbage), garbage


@pytest.mark.parametrize(
    "raw",
    [
        b'{"n":1}',
        b"[1,2]",
        b'"text"',
        b"",
        b"not json",
        b'{"n":1} ',
        b' {"n":1}',
        b'{"n":1}{}',
        b"\xef\xbb\xbf{}",
        b'{"a":"\xe9"}',
        '{"a":1}'.encode("utf-16"),
        b'{" t":5}',
        b'{" u":"zz"}',
        b'{" b":"!!"}',
        b'{" d":"never"}',
        b'{" t":[1,{" b":"AA=="}]}',
        b'{"x":{" m":"<b>"}}',
        b'{" di":{" t__":1}}',
        b"NaN",
    ],
)
@pytest.mark.parametrize("compress", [False, True])
def test_signed_payloads_match_itsdangerous(
    raw: bytes, compress: bool, frozen: t.Callable[[float], None]
) -> None:
    body = zlib.compress(raw) if compress else raw
    payload = ("." if compress else "") + urlsafe_b64encode(body).rstrip(b"=").decode()
    value = _signer().sign(payload).decode()
    result = _codec().loads(value, MAX_AGE)
    assert result is not UNSURE
    expected = _reference_loads(value)
    # Compared by repr: NaN is not equal to itself.
    assert type(result) is type(expected) and repr(result) == repr(expected)


@pytest.mark.parametrize("payload", ["", ".", "..", "A", "AAAAA", ".AAAA", ".eJwDAAAAAAE"])
def test_signed_odd_payloads_match_itsdangerous(
    payload: str, frozen: t.Callable[[float], None]
) -> None:
    value = _signer().sign(payload).decode()
    assert _outcome(value) == _reference_loads(value)


def test_unusual_values_are_left_to_itsdangerous() -> None:
    codec = _codec()
    for value in ("no dots", "a.b", "a.b.c.d", "a.b!.c", "é.a.b", "a b.c.d", "a=.b.c"):
        assert codec.loads(value, MAX_AGE) is UNSURE


# -- the Set-Cookie header -----------------------------------------------------------------


class _Generic(SecureCookieSessionInterface):
    """The default interface forced onto its general path (itsdangerous and
    ``set_cookie``) by an override that changes nothing."""

    def get_cookie_name(self, app: Phial) -> str:
        return super().get_cookie_name(app)


def _save_headers(
    app: Phial, interface: SecureCookieSessionInterface, data: dict[str, t.Any]
) -> list[tuple[str, str]]:
    with app.test_request_context():
        sess = interface.open_session(app, phial.request)
        assert sess is not None
        sess.update(data)
        response = app.response_class("body")
        interface.save_session(app, sess, response)
        return [(k, v) for k, v in response.headers.items() if k in ("Set-Cookie", "Vary")]


@pytest.fixture
def frozen_clock(frozen: t.Callable[[float], None], monkeypatch: pytest.MonkeyPatch) -> None:
    """Also freeze the clock the general path computes the expiry with."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: t.Any = None) -> Frozen:  # type: ignore[override]  # the test's clock
            return cls.fromtimestamp(time.time(), tz)

    monkeypatch.setattr(phial.sessions, "datetime", Frozen)


_SETTINGS = {
    "SESSION_COOKIE_NAME": ["session", "__Host-s", "my.cookie"],
    "SESSION_COOKIE_DOMAIN": [None, "example.com", ".Example.COM", "bücher.example"],
    "SESSION_COOKIE_PATH": [None, "/app", "/a b;c"],
    "APPLICATION_ROOT": ["/", "/root"],
    "SESSION_COOKIE_SECURE": [False, True],
    "SESSION_COOKIE_HTTPONLY": [True, False],
    "SESSION_COOKIE_SAMESITE": [None, "Lax", "Strict", "None"],
    "SESSION_COOKIE_PARTITIONED": [False, True],
}


def test_set_cookie_header_matches_the_general_path(frozen_clock: None) -> None:
    rng = random.Random(11)
    combos = list(itertools.product(*_SETTINGS.values()))
    fast, generic = SecureCookieSessionInterface(), _Generic()
    for combo in rng.sample(combos, 250):
        for permanent, lifetime in ((False, 3600), (True, 3600), (True, timedelta(days=400))):
            app = Phial("codec_headers")
            app.secret_key = SECRET
            app.config.update(zip(_SETTINGS, combo, strict=True))
            app.config["PERMANENT_SESSION_LIFETIME"] = lifetime
            for data in ({"n": 1}, {"big": "compressed " * 40}):
                data["_permanent"] = permanent
                expected = _save_headers(app, generic, data)
                assert _save_headers(app, fast, data) == expected, combo
    assert fast.__dict__["_formats"]  # the prepared formats were used


def test_set_cookie_format_is_cut_from_set_cookie(frozen_clock: None) -> None:
    response = Response()
    fmt = SetCookieFormat.build(
        response.set_cookie, lambda: response.headers.getlist("Set-Cookie"), "s", path="/"
    )
    assert fmt is not None
    assert fmt.header("v.a.l", None) == "s=v.a.l; Path=/"
    assert fmt.header("v", NOW + 0.9) == "s=v; Expires=Tue, 14 Nov 2023 22:13:20 GMT; Path=/"


def test_invalid_settings_leave_the_error_to_set_cookie() -> None:
    app = Phial("codec_bad_settings")
    app.secret_key = SECRET
    app.config["SESSION_COOKIE_SAMESITE"] = "sometimes"
    with pytest.raises(ValueError, match="SameSite"):
        _save_headers(app, SecureCookieSessionInterface(), {"n": 1})


@pytest.mark.parametrize("lifetime", [timedelta(seconds=-10), timedelta(days=10**6)])
def test_odd_lifetimes_use_the_general_path(lifetime: timedelta, frozen_clock: None) -> None:
    app = Phial("codec_lifetime")
    app.secret_key = SECRET
    app.config["PERMANENT_SESSION_LIFETIME"] = lifetime
    data = {"_permanent": True}
    try:
        expected: t.Any = _save_headers(app, _Generic(), data)
    except OverflowError as e:
        expected = type(e)
    try:
        got: t.Any = _save_headers(app, SecureCookieSessionInterface(), data)
    except OverflowError as e:
        got = type(e)
    assert got == expected


def test_oversized_cookie_warns_like_set_cookie(frozen_clock: None) -> None:
    app = Phial("codec_size")
    app.secret_key = SECRET
    app.config["MAX_COOKIE_SIZE"] = 100
    for interface in (_Generic(), SecureCookieSessionInterface()):
        with pytest.warns(UserWarning, match="cookie is too large"):
            headers = _save_headers(app, interface, {"token": "0123456789abcdef" * 4})
        assert headers[0][0] == "Set-Cookie"
    app.config["MAX_COOKIE_SIZE"] = 4093
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _save_headers(app, SecureCookieSessionInterface(), {"n": 1})


def test_vary_is_added_once_and_joined(frozen_clock: None) -> None:
    app = Phial("codec_vary")
    app.secret_key = SECRET
    with app.test_request_context():
        sess = app.session_interface.open_session(app, phial.request)
        assert sess is not None
        sess["n"] = 1
        response = app.response_class("x", headers={"vary": "Accept"})
        app.session_interface.save_session(app, sess, response)
        assert response.headers.getlist("Vary") == ["Accept, Cookie"]


# -- falling back when customised ------------------------------------------------------------


def _round_trip(app: Phial) -> tuple[str, dict[str, t.Any]]:
    """The cookie value a session {"n": 1} gets, and what it opens as."""
    client = app.test_client()

    @app.route("/write")
    def write() -> str:
        phial.session["n"] = 1
        return ""

    @app.route("/read")
    def read() -> dict[str, t.Any]:
        return dict(phial.session)

    client.get("/write")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value, client.get("/read").json  # type: ignore[return-value]  # a dict


def _keyed(interface: SecureCookieSessionInterface) -> Phial:
    app = Phial("codec_custom")
    app.secret_key = SECRET
    app.session_interface = interface
    return app


def test_custom_salt_is_used_by_the_codec() -> None:
    class Salted(SecureCookieSessionInterface):
        salt = "other salt"

    interface = Salted()
    value, data = _round_trip(_keyed(interface))
    assert data == {"n": 1}
    assert _reference(salt="other salt").loads(value) == {"n": 1}
    assert any(interface.__dict__["_codecs"].values())


@pytest.mark.parametrize(
    ("attribute", "value", "check"),
    [
        (
            "digest_method",
            staticmethod(hashlib.sha256),
            lambda v: URLSafeTimedSerializer(
                SECRET,
                salt="cookie-session",
                serializer=session_json_serializer,
                signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
            ).loads(v),
        ),
        (
            "key_derivation",
            "django-concat",
            lambda v: URLSafeTimedSerializer(
                SECRET,
                salt="cookie-session",
                serializer=session_json_serializer,
                signer_kwargs={"key_derivation": "django-concat", "digest_method": hashlib.sha1},
            ).loads(v),
        ),
    ],
)
def test_other_signing_settings_go_through_itsdangerous(
    attribute: str, value: t.Any, check: t.Callable[[str], t.Any]
) -> None:
    interface = type("Custom", (SecureCookieSessionInterface,), {attribute: value})()
    cookie, data = _round_trip(_keyed(interface))
    assert data == {"n": 1}
    assert check(cookie) == {"n": 1}
    with pytest.raises(BadData):
        _reference().loads(cookie)
    assert not any(interface.__dict__["_codecs"].values())


def test_custom_serializer_goes_through_itsdangerous() -> None:
    class Upper(TaggedJSONSerializer):
        def dumps(self, value: t.Any) -> str:
            return super().dumps({k.upper(): v for k, v in value.items()})

    class Custom(SecureCookieSessionInterface):
        serializer = Upper()

    _, data = _round_trip(_keyed(Custom()))
    assert data == {"N": 1}


def test_overridden_signing_serializer_is_used() -> None:
    class Custom(SecureCookieSessionInterface):
        def get_signing_serializer(self, app: Phial) -> URLSafeTimedSerializer | None:
            return _reference(salt="from override")

    cookie, data = _round_trip(_keyed(Custom()))
    assert data == {"n": 1}
    assert _reference(salt="from override").loads(cookie) == {"n": 1}


def test_method_set_on_the_instance_is_honoured() -> None:
    interface = SecureCookieSessionInterface()
    interface.get_cookie_path = lambda app: "/only-here"  # type: ignore[method-assign]  # the override under test
    app = _keyed(interface)
    with app.test_request_context():
        headers = _save_headers(app, interface, {"n": 1})
    assert "Path=/only-here" in headers[0][1]


def test_method_patched_on_the_class_after_use_is_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    interface = SecureCookieSessionInterface()
    app = _keyed(interface)
    assert "Domain" not in _save_headers(app, interface, {"n": 1})[0][1]
    monkeypatch.setattr(
        SecureCookieSessionInterface, "get_cookie_domain", lambda self, app: "patched.example"
    )
    assert "Domain=patched.example" in _save_headers(app, interface, {"n": 1})[0][1]
    monkeypatch.setattr(SecureCookieSessionInterface, "get_cookie_name", lambda self, app: "other")
    with app.test_request_context(headers={"Cookie": f"other={_reference().dumps({'n': 5})}"}):
        assert interface.open_session(app, phial.request) == {"n": 5}


def test_setting_missing_from_the_config_is_left_to_the_general_path() -> None:
    interface = SecureCookieSessionInterface()
    app = _keyed(interface)
    app.config["SESSION_COOKIE_PATH"] = "/p"
    with app.test_request_context():
        del app.config["APPLICATION_ROOT"]  # not needed while a cookie path is set
        sess = SecureCookieSession()
        sess["n"] = 1
        response = app.response_class()
        interface.save_session(app, sess, response)
    assert "Path=/p" in response.headers["Set-Cookie"]


def test_response_class_set_cookie_override_is_called() -> None:
    calls: list[str] = []

    class Tracking(Response):
        def set_cookie(self, key: str, *args: t.Any, **kwargs: t.Any) -> None:
            calls.append(key)
            super().set_cookie(key, *args, **kwargs)

    app = _keyed(SecureCookieSessionInterface())
    app.response_class = Tracking
    _, data = _round_trip(app)
    assert calls == ["session"] and data == {"n": 1}


def test_custom_tag_is_honoured(frozen: t.Callable[[float], None]) -> None:
    from phial.json.tag import JSONTag

    class TagBigInt(JSONTag):
        __slots__ = ()
        key = " big"

        def check(self, value: t.Any) -> bool:
            return type(value) is int and value > 2**53

        def to_json(self, value: t.Any) -> t.Any:
            return str(value)

        def to_python(self, value: t.Any) -> t.Any:
            return int(value)

    serializer = TaggedJSONSerializer()
    serializer.register(TagBigInt, index=0)
    codec = SessionCodec([SECRET], "cookie-session", serializer)
    value = codec.dumps({"n": 2**60})
    reference = URLSafeTimedSerializer(
        SECRET,
        salt="cookie-session",
        serializer=serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )
    assert value == reference.dumps({"n": 2**60})
    assert codec.loads(value, MAX_AGE) == {"n": 2**60}
    assert serializer.dumps({"n": 2**60}) == '{"n":{" big":"1152921504606846976"}}'
    assert serializer.dumps({"n": 1}) == '{"n":1}'


# -- finding the cookie ---------------------------------------------------------------------


def _request(header: str | None) -> Request:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_NAME": "x", "SERVER_PORT": "80"}
    if header is not None:
        environ["HTTP_COOKIE"] = header
    return Request(environ)


def test_cookie_value_matches_werkzeug_on_random_headers() -> None:
    rng = random.Random(5)
    pieces = [
        "session", "Session", "sess", "session2", "%73ession", "=", ";", "; ", " ", "\t",
        ",", "abc", "a.b-c_d", "x=1", '"', '"a;b"', "\\", "\x01", "é", "__Host-", "a b",
    ]  # fmt: skip
    for _ in range(4000):
        header = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        expected = Request(_request(header).environ).cookies.get("session")
        assert cookie_value(_request(header), "session") == expected, repr(header)


def test_cookie_value_matches_werkzeug_on_random_cookie_lists() -> None:
    rng = random.Random(6)
    names = ["session", " session", "session ", "Session", "sessions", "xsession", "a", ""]
    values = ["abc", "a.b-c_d", "", " v ", "a,b", "a b", "\x01", "a=b", '"q"', "é", "ses"]
    separators = [";", "; ", " ;", ",", ";;"]
    for _ in range(4000):
        parts = [
            f"{rng.choice(names)}{rng.choice(['=', '', ' = '])}{rng.choice(values)}"
            for _ in range(rng.randint(1, 4))
        ]
        header = "".join(p + rng.choice(separators) for p in parts)[: rng.randint(1, 60)]
        expected = _request(header).cookies.get("session")
        assert cookie_value(_request(header), "session") == expected, repr(header)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "session=a\x01b; session=abc",
        "session=a,b; session=abc",
        "session=a b; session=abc",
        "",
        "session=abc.def-_",
        "a=1; session=abc; session=def",
        "a=1;session=abc",
        " session = abc ",
        "session",
        "session=",
        "x=1,session=abc",
        "session=abc def; session=x",
        'a="x;session=evil"; session=good',
        'a="x; session=evil; y"; session=good',
        'a="\\"; session=evil; "; session=good',
        "session\x0b=abc",
        "other=session",
        "sessions=1; session=2",
    ],
)
def test_cookie_value_examples(header: str | None) -> None:
    expected = _request(header).cookies.get("session")
    assert cookie_value(_request(header), "session") == expected


def test_cookie_value_uses_parsed_cookies_and_subclasses() -> None:
    request = _request("session=abc")
    request.__dict__["cookies"] = {"session": "parsed"}
    assert cookie_value(request, "session") == "parsed"

    class Custom(Request):
        @property
        def cookies(self) -> t.Any:  # type: ignore[override]  # the override under test
            return {"session": "custom"}

    assert cookie_value(Custom(_request("session=abc").environ), "session") == "custom"


def test_prefixed_cookie_names_use_phials_rules() -> None:
    header = "__Host-s=first; __Host-s=second"
    assert cookie_value(_request(header), "__Host-s") is None
    assert cookie_value(_request(header), "__Host-s") == _request(header).cookies.get("__Host-s")
    assert dict(parse_cookie(header))["__Host-s"] == "first"


# -- the interface on the fast path ---------------------------------------------------------


def test_open_session_fast_path_gives_the_general_answer(frozen: t.Callable[[float], None]) -> None:
    app = Phial("codec_open")
    app.secret_key = SECRET
    good = _reference().dumps({"n": 1})
    cookies = [
        good,
        good[:-1],
        "garbage",
        "",
        _reference().dumps([1, 2]),
        _reference("other").dumps({"n": 1}),
        "é" + good,
    ]
    fast, generic = SecureCookieSessionInterface(), _Generic()
    for value in cookies:
        with app.test_request_context(headers={"Cookie": f"session={value}"}):
            got = fast.open_session(app, phial.request)
            want = generic.open_session(app, phial.request)
        assert type(got) is SecureCookieSession and got == want, value
    assert any(fast.__dict__["_codecs"].values())


def test_is_null_session_shortcut() -> None:
    interface = SecureCookieSessionInterface()
    assert interface.is_null_session(phial.sessions.NullSession())
    assert not interface.is_null_session(SecureCookieSession())

    class Other(SecureCookieSessionInterface):
        null_session_class = SecureCookieSession  # type: ignore[assignment]  # the odd setting under test

    assert Other().is_null_session(SecureCookieSession())


def test_prepared_codecs_and_formats_are_bounded() -> None:
    interface = SecureCookieSessionInterface()
    app = _keyed(interface)
    for i in range(40):
        app.config["SECRET_KEY"] = f"key {i}"
        app.config["SESSION_COOKIE_DOMAIN"] = f"d{i}.example"
        _save_headers(app, interface, {"n": i})
    assert 0 < len(interface.__dict__["_codecs"]) <= 16
    assert 0 < len(interface.__dict__["_formats"]) <= 16
