"""Tests for phial.sessions: the session classes, the signed-cookie interface,
its settings, compatibility with Flask's cookies, and how the app opens sessions
lazily."""

from __future__ import annotations

import time
import typing as t
import uuid
from datetime import datetime, timedelta, timezone

import flask
import pytest
from itsdangerous import URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.http import parse_date

import phial.sessions
from phial import Phial, session
from phial.sessions import (
    NullSession,
    SecureCookieSession,
    SecureCookieSessionInterface,
    SessionInterface,
    SessionMixin,
)

if t.TYPE_CHECKING:
    from werkzeug.test import TestResponse

    from phial.testing import FlaskClient
    from phial.wrappers import Request, Response


# -- helpers -------------------------------------------------------------------------------


def _set_cookie(resp: TestResponse) -> str:
    """The one Set-Cookie header of ``resp``."""
    headers = resp.headers.getlist("Set-Cookie")
    assert len(headers) == 1, headers
    return headers[0]


def _attrs(header: str) -> dict[str, str]:
    """The attributes of a Set-Cookie header, lower-cased names."""
    parts = [p.strip() for p in header.split(";")]
    out = {}
    for part in parts[1:]:
        name, _, value = part.partition("=")
        out[name.lower()] = value
    return out


def _cookie_value(header: str) -> str:
    return header.split(";", 1)[0].partition("=")[2]


def _signer(secret: str | list[str]) -> URLSafeTimedSerializer:
    """An independent serializer with the session cookie's parameters."""
    return SecureCookieSessionInterface().get_signing_serializer(_app_with_key(secret))  # type: ignore[return-value]


def _app_with_key(secret: str | list[str]) -> Phial:
    app = Phial("keyed")
    if isinstance(secret, list):
        app.config["SECRET_KEY"] = secret[-1]
        app.config["SECRET_KEY_FALLBACKS"] = secret[:-1]
    else:
        app.config["SECRET_KEY"] = secret
    return app


@pytest.fixture
def sess_app(app: Phial) -> Phial:
    """An app with views that write, read and clear the session."""

    @app.route("/set/<key>/<value>")
    def set_value(key: str, value: str) -> str:
        session[key] = value
        return "set"

    @app.route("/get/<key>")
    def get_value(key: str) -> str:
        return repr(session.get(key))

    @app.route("/dump")
    def dump() -> str:
        return repr(sorted(session.items()))

    @app.route("/permanent")
    def permanent() -> str:
        session["user"] = "ann"
        session.permanent = True
        return "permanent"

    @app.route("/clear")
    def clear() -> str:
        session.clear()
        return "cleared"

    @app.route("/untouched")
    def untouched() -> str:
        return "untouched"

    return app


@pytest.fixture
def sess_client(sess_app: Phial) -> FlaskClient:
    return sess_app.test_client()


# -- SessionMixin and the session classes --------------------------------------------------


class _PlainSession(dict[str, t.Any], SessionMixin):
    pass


def test_mixin_defaults_for_untracked_sessions() -> None:
    s = _PlainSession()
    assert s.new is False
    assert s.modified is True
    assert s.accessed is True


def test_permanent_is_backed_by_the_permanent_key() -> None:
    s = _PlainSession()
    assert s.permanent is False
    s.permanent = 1  # type: ignore[assignment]  # any truthy value is stored as a bool
    assert s["_permanent"] is True
    assert s.permanent is True
    s.permanent = False
    assert s == {"_permanent": False}


def test_secure_cookie_session_starts_clean() -> None:
    s = SecureCookieSession({"a": 1})
    assert not s.modified
    assert not s.accessed
    assert s.new is False


@pytest.mark.parametrize(
    "write",
    [
        lambda s: s.__setitem__("b", 2),
        lambda s: s.__delitem__("a"),
        lambda s: s.update(c=3),
        lambda s: s.clear(),
        lambda s: s.pop("a"),
        lambda s: s.popitem(),
        lambda s: s.setdefault("new", 1),
        lambda s: setattr(s, "permanent", True),
    ],
)
def test_writes_mark_modified_and_accessed(write: t.Callable[[SecureCookieSession], t.Any]) -> None:
    s = SecureCookieSession({"a": 1})
    write(s)
    assert s.modified
    assert s.accessed


@pytest.mark.parametrize(
    "read",
    [
        lambda s: s["a"],
        lambda s: s.get("a"),
        lambda s: s.get("missing", 0),
        lambda s: s.setdefault("a", 5),
        lambda s: "a" in s,
        lambda s: len(s),
        lambda s: list(s),
        lambda s: s.keys(),
        lambda s: s.values(),
        lambda s: s.items(),
        lambda s: s.pop("missing", None),
        lambda s: s.permanent,
    ],
)
def test_reads_mark_accessed_only(read: t.Callable[[SecureCookieSession], t.Any]) -> None:
    s = SecureCookieSession({"a": 1})
    read(s)
    assert s.accessed
    assert not s.modified


def test_session_read_results() -> None:
    s = SecureCookieSession({"a": 1})
    assert s["a"] == 1
    assert s.get("missing") is None
    assert s.setdefault("a", 5) == 1
    assert s.pop("missing", "d") == "d"
    with pytest.raises(KeyError):
        s.pop("missing")
    assert s.pop("a") == 1
    assert s == {}


def test_nested_mutation_needs_modified_set_by_hand() -> None:
    s = SecureCookieSession({"cart": []})
    s["cart"].append(1)
    assert not s.modified  # only the dict itself is watched
    s.modified = True
    assert s.modified


def test_null_session_reads_as_empty() -> None:
    s = NullSession()
    assert s.get("x") is None
    assert "x" not in s
    assert len(s) == 0
    assert list(s) == []
    assert s.permanent is False
    with pytest.raises(KeyError):
        s["x"]


@pytest.mark.parametrize(
    "write",
    [
        lambda s: s.__setitem__("a", 1),
        lambda s: s.__delitem__("a"),
        lambda s: s.update(a=1),
        lambda s: s.clear(),
        lambda s: s.pop("a", None),
        lambda s: s.popitem(),
        lambda s: s.setdefault("a", 1),
        lambda s: s.__ior__({"a": 1}),
        lambda s: setattr(s, "permanent", True),
    ],
)
def test_null_session_writes_raise(write: t.Callable[[NullSession], t.Any]) -> None:
    with pytest.raises(RuntimeError) as info:
        write(NullSession())
    message = str(info.value)
    assert "no secret key was set" in message
    assert "app.secret_key = ..." in message
    assert "SECRET_KEY" in message


# -- SessionInterface -----------------------------------------------------------------------


def test_base_interface_open_and_save_are_abstract(app: Phial) -> None:
    iface = SessionInterface()
    with app.test_request_context():
        with pytest.raises(NotImplementedError):
            iface.open_session(app, t.cast("Request", None))
        with pytest.raises(NotImplementedError):
            iface.save_session(app, SecureCookieSession(), app.response_class())


def test_base_interface_null_session(app: Phial) -> None:
    iface = SessionInterface()
    assert iface.pickle_based is False
    null = iface.make_null_session(app)
    assert isinstance(null, NullSession)
    assert iface.is_null_session(null)
    assert not iface.is_null_session(SecureCookieSession())

    class OtherNull(NullSession):
        pass

    class Custom(SessionInterface):
        null_session_class = OtherNull

    assert isinstance(Custom().make_null_session(app), OtherNull)


def test_cookie_settings_read_from_config(app: Phial) -> None:
    iface = SessionInterface()
    assert iface.get_cookie_name(app) == "session"
    assert iface.get_cookie_domain(app) is None
    assert iface.get_cookie_path(app) == "/"
    assert iface.get_cookie_httponly(app) is True
    assert iface.get_cookie_secure(app) is False
    assert iface.get_cookie_samesite(app) is None
    assert iface.get_cookie_partitioned(app) is False
    app.config.update(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PARTITIONED=True,
        APPLICATION_ROOT="/app",
    )
    assert iface.get_cookie_name(app) == "sid"
    assert iface.get_cookie_domain(app) == "example.com"
    assert iface.get_cookie_path(app) == "/app"  # APPLICATION_ROOT when no path is set
    app.config["SESSION_COOKIE_PATH"] = "/p"
    assert iface.get_cookie_path(app) == "/p"
    assert iface.get_cookie_httponly(app) is False
    assert iface.get_cookie_secure(app) is True
    assert iface.get_cookie_samesite(app) == "Lax"
    assert iface.get_cookie_partitioned(app) is True


def test_expiration_time(app: Phial) -> None:
    iface = SessionInterface()
    s = SecureCookieSession()
    assert iface.get_expiration_time(app, s) is None
    s.permanent = True
    app.config["PERMANENT_SESSION_LIFETIME"] = 3600  # seconds are accepted too
    expires = iface.get_expiration_time(app, s)
    assert expires is not None
    expected = datetime.now(timezone.utc) + timedelta(hours=1)
    assert abs((expires - expected).total_seconds()) < 5


def test_should_set_cookie(app: Phial) -> None:
    iface = SessionInterface()
    s = SecureCookieSession({"a": 1})
    assert not iface.should_set_cookie(app, s)
    s["b"] = 2
    assert iface.should_set_cookie(app, s)
    permanent = SecureCookieSession({"_permanent": True})
    assert iface.should_set_cookie(app, permanent)
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    assert not iface.should_set_cookie(app, permanent)


def test_default_interface(app: Phial) -> None:
    assert isinstance(app.session_interface, SecureCookieSessionInterface)
    assert app.session_interface.pickle_based is False
    iface = SecureCookieSessionInterface()
    assert iface.salt == "cookie-session"
    assert iface.key_derivation == "hmac"


# -- the signed cookie through requests --------------------------------------------------------


def test_session_round_trip(sess_client: FlaskClient) -> None:
    sess_client.get("/set/name/ann")
    assert sess_client.get("/get/name").text == "'ann'"
    sess_client.get("/set/other/x")
    assert sess_client.get("/dump").text == "[('name', 'ann'), ('other', 'x')]"


def test_default_cookie_attributes(sess_client: FlaskClient) -> None:
    resp = sess_client.get("/set/a/b")
    header = _set_cookie(resp)
    assert header.startswith("session=")
    attrs = _attrs(header)
    assert attrs["path"] == "/"
    assert "httponly" in attrs
    assert "expires" not in attrs  # a browser-session cookie
    for absent in ("domain", "secure", "samesite", "partitioned", "max-age"):
        assert absent not in attrs
    assert "Cookie" in resp.headers["Vary"]


def test_configured_cookie_attributes(sess_app: Phial) -> None:
    sess_app.config.update(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_PATH="/shop",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PARTITIONED=True,
    )
    client = sess_app.test_client()
    header = _set_cookie(client.get("/set/a/b"))
    assert header.startswith("sid=")
    attrs = _attrs(header)
    assert attrs["domain"] == "example.com"
    assert attrs["path"] == "/shop"
    assert "httponly" not in attrs
    assert "secure" in attrs
    assert attrs["samesite"] == "Strict"
    assert "partitioned" in attrs


def test_application_root_is_the_default_path(sess_app: Phial) -> None:
    sess_app.config["APPLICATION_ROOT"] = "/app"
    client = sess_app.test_client()
    resp = client.get("/set/a/b", base_url="http://localhost/")
    assert _attrs(_set_cookie(resp))["path"] == "/app"


def test_permanent_session_expires(sess_app: Phial, sess_client: FlaskClient) -> None:
    sess_app.permanent_session_lifetime = timedelta(days=2)
    resp = sess_client.get("/permanent")
    attrs = _attrs(_set_cookie(resp))
    expires = parse_date(attrs["expires"])
    assert expires is not None
    expected = datetime.now(timezone.utc) + timedelta(days=2)
    assert abs((expires - expected).total_seconds()) < 5
    assert sess_client.get("/get/_permanent").text == "True"


def test_read_only_access_sets_vary_but_no_cookie(sess_client: FlaskClient) -> None:
    sess_client.get("/set/a/b")
    resp = sess_client.get("/get/a")
    assert resp.headers.getlist("Set-Cookie") == []
    assert "Cookie" in resp.headers["Vary"]


@pytest.mark.parametrize(
    "read",
    [
        lambda: "a" in session,
        lambda: len(session),
        lambda: session.keys(),
        lambda: list(session),
        lambda: session.get("a"),
        lambda: session.items(),
    ],
)
def test_vary_cookie_on_any_read(app: Phial, read: t.Callable[[], t.Any]) -> None:
    @app.route("/")
    def index() -> str:
        read()
        return "ok"

    resp = app.test_client().get("/")
    assert resp.headers.get("Vary") == "Cookie"
    assert resp.headers.getlist("Set-Cookie") == []


def test_no_vary_when_session_untouched(sess_client: FlaskClient) -> None:
    resp = sess_client.get("/untouched")
    assert "Vary" not in resp.headers
    assert "Set-Cookie" not in resp.headers


def test_emptied_session_deletes_cookie(sess_app: Phial) -> None:
    sess_app.config.update(
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PARTITIONED=True,
    )
    client = sess_app.test_client()
    base = "https://www.example.com"
    client.get("/set/a/b", base_url=base)
    assert client.get_cookie("session", domain="example.com") is not None
    resp = client.get("/clear", base_url=base)
    header = _set_cookie(resp)
    attrs = _attrs(header)
    assert _cookie_value(header) == ""
    assert attrs["max-age"] == "0"
    expires = parse_date(attrs["expires"])
    assert expires is not None and expires < datetime.now(timezone.utc)
    assert attrs["domain"] == "example.com"
    assert attrs["path"] == "/"
    assert "secure" in attrs
    assert attrs["samesite"] == "Lax"
    assert "partitioned" in attrs
    assert "httponly" in attrs
    assert "Cookie" in resp.headers["Vary"]
    assert client.get_cookie("session", domain="example.com") is None


def test_empty_unmodified_session_sets_nothing(sess_client: FlaskClient) -> None:
    resp = sess_client.get("/get/a")
    assert resp.text == "None"
    assert "Set-Cookie" not in resp.headers


def test_modified_flag_set_by_hand_saves(app: Phial) -> None:
    @app.route("/add")
    def add() -> str:
        session.setdefault("items", []).append(len(session["items"]))
        session.modified = True
        return "ok"

    @app.route("/items")
    def items() -> str:
        return repr(session["items"])

    client = app.test_client()
    client.get("/add")
    client.get("/add")
    assert client.get("/items").text == "[0, 1]"


def test_tagged_types_survive(app: Phial) -> None:
    uid = uuid.uuid4()
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)

    @app.route("/set")
    def set_values() -> str:
        session.update(
            t=(1, 2), b=b"\x00\xff", m=Markup("<b>x</b>"), u=uid, d=now, n={"x": [1, {"y": None}]}
        )
        return "ok"

    @app.route("/get")
    def get_values() -> str:
        assert session["t"] == (1, 2)
        assert session["b"] == b"\x00\xff"
        assert isinstance(session["m"], Markup) and session["m"] == "<b>x</b>"
        assert session["u"] == uid
        assert session["d"] == now
        assert session["n"] == {"x": [1, {"y": None}]}
        return "checked"

    client = app.test_client()
    client.get("/set")
    assert client.get("/get").text == "checked"


@pytest.mark.parametrize(
    "make_value",
    [
        pytest.param(lambda good: good[:-3] + ("AAA" if good[-3:] != "AAA" else "BBB"), id="sig"),
        pytest.param(lambda good: "x" + good, id="payload"),
        pytest.param(lambda good: good[: len(good) // 2], id="truncated"),
        pytest.param(lambda good: "garbage", id="garbage"),
        pytest.param(lambda good: "....", id="dots"),
        pytest.param(lambda good: "ééé.ü.ö", id="non-ascii"),
        pytest.param(lambda good: _signer("other key").dumps({"a": "evil"}), id="other-key"),
    ],
)
def test_bad_cookies_give_an_empty_session(
    sess_client: FlaskClient, make_value: t.Callable[[str], str]
) -> None:
    sess_client.get("/set/a/good")
    cookie = sess_client.get_cookie("session")
    assert cookie is not None
    sess_client.set_cookie("session", make_value(cookie.value))
    resp = sess_client.get("/dump")
    assert resp.status_code == 200
    assert resp.text == "[]"


def test_signed_non_dict_payload_gives_an_empty_session(sess_client: FlaskClient) -> None:
    sess_client.set_cookie("session", _signer("test key").dumps([1, 2, 3]))
    resp = sess_client.get("/dump")
    assert resp.status_code == 200
    assert resp.text == "[]"


def test_expired_cookie_gives_an_empty_session(
    sess_app: Phial, sess_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sess_app.permanent_session_lifetime = timedelta(minutes=10)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 3600)
    old = _signer("test key").dumps({"a": "stale"})
    monkeypatch.setattr(time, "time", real_time)
    fresh = _signer("test key").dumps({"a": "fresh"})
    sess_client.set_cookie("session", old)
    resp = sess_client.get("/get/a")
    assert (resp.status_code, resp.text) == (200, "None")
    sess_client.set_cookie("session", fresh)
    assert sess_client.get("/get/a").text == "'fresh'"


def test_lifetime_is_the_max_age_for_any_session(
    sess_app: Phial, sess_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A non-permanent cookie is also refused once it is older than the lifetime.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 120)
    old = _signer("test key").dumps({"a": "old"})
    monkeypatch.setattr(time, "time", real_time)
    sess_client.set_cookie("session", old)
    sess_app.config["PERMANENT_SESSION_LIFETIME"] = 3600
    assert sess_client.get("/get/a").text == "'old'"
    sess_app.config["PERMANENT_SESSION_LIFETIME"] = 60
    assert sess_client.get("/get/a").text == "None"


# -- secret keys ----------------------------------------------------------------------------------


def test_fallback_keys_read_current_key_signs(sess_app: Phial, sess_client: FlaskClient) -> None:
    sess_app.config["SECRET_KEY"] = "new"
    sess_app.config["SECRET_KEY_FALLBACKS"] = ["previous", "oldest"]
    for old_key in ("previous", "oldest"):
        sess_client.set_cookie("session", _signer(old_key).dumps({"a": old_key}))
        assert sess_client.get("/get/a").text == repr(old_key)
    sess_client.set_cookie("session", _signer("unknown").dumps({"a": "x"}))
    assert sess_client.get("/get/a").text == "None"

    sess_client.get("/set/a/fresh")
    cookie = sess_client.get_cookie("session")
    assert cookie is not None
    # Signed with the current key only: a serializer knowing only "new" reads it,
    # one knowing only the old keys does not.
    assert _signer("new").loads(cookie.value) == {"a": "fresh"}
    for old_key in ("previous", "oldest"):
        with pytest.raises(Exception, match="Signature"):
            _signer(old_key).loads(cookie.value)


def test_no_secret_key_reads_work_writes_raise(app: Phial) -> None:
    app.config["SECRET_KEY"] = None

    @app.route("/read")
    def read() -> str:
        assert isinstance(session._get_current_object(), NullSession)  # type: ignore[attr-defined]  # proxy method
        return repr((session.get("a"), "a" in session, len(session)))

    @app.route("/write")
    def write() -> str:
        session["a"] = 1
        return "unreachable"

    client = app.test_client()
    client.set_cookie("session", _signer("test key").dumps({"a": 1}))
    resp = client.get("/read")
    assert resp.text == "(None, False, 0)"
    assert "Set-Cookie" not in resp.headers
    with pytest.raises(RuntimeError, match="no secret key was set"):
        client.get("/write")


def test_no_secret_key_write_is_a_500_when_not_testing(app: Phial) -> None:
    app.config.update(SECRET_KEY=None, TESTING=False)

    @app.route("/write")
    def write() -> str:
        session["a"] = 1
        return "unreachable"

    assert app.test_client().get("/write").status_code == 500


def test_key_removed_during_request_saves_nothing(app: Phial) -> None:
    @app.route("/")
    def index() -> str:
        session["a"] = 1
        app.config["SECRET_KEY"] = None
        return "ok"

    resp = app.test_client().get("/")
    assert resp.status_code == 200
    assert "Set-Cookie" not in resp.headers


def test_signing_serializer_is_built_once_per_key_set(
    app: Phial, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    real = URLSafeTimedSerializer

    def counting(*args: t.Any, **kwargs: t.Any) -> URLSafeTimedSerializer:
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(phial.sessions, "URLSafeTimedSerializer", counting)

    class Renamed(SecureCookieSessionInterface):
        # An overridden settings method sends every cookie through itsdangerous.
        def get_cookie_name(self, app: Phial) -> str:
            return "renamed"

    iface = Renamed()
    monkeypatch.setattr(app, "session_interface", iface)

    @app.route("/")
    def index() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    client = app.test_client()
    for _ in range(5):
        client.get("/")
    assert client.get("/").text == "6"
    assert len(built) == 1
    assert iface.get_signing_serializer(app) is iface.get_signing_serializer(app)

    app.config["SECRET_KEY_FALLBACKS"] = ["test key"]
    app.config["SECRET_KEY"] = "rotated"
    assert client.get("/").text == "7"  # the old cookie is still accepted
    assert len(built) == 2
    client.get("/")
    assert len(built) == 2

    app.config["SECRET_KEY"] = None
    assert iface.get_signing_serializer(app) is None


def test_serializer_cache_is_bounded(app: Phial) -> None:
    iface = SecureCookieSessionInterface()
    for i in range(40):
        app.config["SECRET_KEY"] = f"key {i}"
        assert iface.get_signing_serializer(app) is not None
    assert len(iface.__dict__["_signers"]) <= 16


def test_serializer_is_shared_by_apps_with_the_same_keys() -> None:
    one, two = _app_with_key("same"), _app_with_key("same")
    iface = one.session_interface
    assert iface is two.session_interface
    assert iface.get_signing_serializer(one) is iface.get_signing_serializer(two)  # type: ignore[attr-defined]  # SecureCookieSessionInterface


# -- compatibility with Flask's cookies ----------------------------------------------------------


_TAGGED_DATA: dict[str, t.Any] = {
    "z": "last key first",
    "t": (1, "two", (3,)),
    "b": b"bytes\x00",
    "m": Markup("<em>hi</em>"),
    "u": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "d": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    "n": {" t": "looks like a tag", "list": [1, 2.5, None, True]},
    "_permanent": True,
}


def _flask_app(secret: str = "shared key") -> flask.Flask:
    fapp = flask.Flask("flask_ref")
    fapp.secret_key = secret

    @fapp.route("/set")
    def set_values() -> str:
        flask.session.update(_TAGGED_DATA)
        return "ok"

    @fapp.route("/dump")
    def dump() -> str:
        return repr(sorted(flask.session.items()))

    return fapp


def _phial_app(secret: str = "shared key") -> Phial:
    app = Phial("phial_ref")
    app.secret_key = secret

    @app.route("/set")
    def set_values() -> str:
        session.update(_TAGGED_DATA)
        return "ok"

    @app.route("/dump")
    def dump() -> str:
        return repr(sorted(session.items()))

    return app


def test_flask_cookie_opens_in_phial() -> None:
    fclient = _flask_app().test_client()
    fclient.get("/set")
    cookie = fclient.get_cookie("session")
    assert cookie is not None
    pclient = _phial_app().test_client()
    pclient.set_cookie("session", cookie.value)
    assert pclient.get("/dump").text == repr(sorted(_TAGGED_DATA.items()))


def test_phial_cookie_opens_in_flask() -> None:
    pclient = _phial_app().test_client()
    pclient.get("/set")
    cookie = pclient.get_cookie("session")
    assert cookie is not None
    fclient = _flask_app().test_client()
    fclient.set_cookie("session", cookie.value)
    assert fclient.get("/dump").text == repr(sorted(_TAGGED_DATA.items()))


def test_cookie_bytes_match_flask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.0)
    fapp, papp = _flask_app(), _phial_app()
    with fapp.app_context():
        fsigner = fapp.session_interface.get_signing_serializer(fapp)  # type: ignore[attr-defined]  # SecureCookieSessionInterface
        assert fsigner is not None
        expected = fsigner.dumps(dict(_TAGGED_DATA))
    with papp.app_context():
        psigner = papp.session_interface.get_signing_serializer(papp)  # type: ignore[attr-defined]  # SecureCookieSessionInterface
        assert psigner is not None
        assert psigner.dumps(dict(_TAGGED_DATA)) == expected


def test_flask_fallback_cookie_opens_in_phial() -> None:
    fclient = _flask_app("old key").test_client()
    fclient.get("/set")
    cookie = fclient.get_cookie("session")
    assert cookie is not None
    papp = _phial_app("new key")
    papp.config["SECRET_KEY_FALLBACKS"] = ["old key"]
    pclient = papp.test_client()
    pclient.set_cookie("session", cookie.value)
    assert pclient.get("/dump").text == repr(sorted(_TAGGED_DATA.items()))


# -- laziness and refreshing -------------------------------------------------------------------


@pytest.fixture
def open_calls(sess_app: Phial, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Counts calls of the app's session interface's ``open_session``."""
    calls: list[object] = []
    iface = SecureCookieSessionInterface()
    real_open = iface.open_session

    def counting_open(app: Phial, request: Request) -> SecureCookieSession | None:
        calls.append(request)
        return real_open(app, request)

    monkeypatch.setattr(iface, "open_session", counting_open)
    monkeypatch.setattr(sess_app, "session_interface", iface)
    return calls


def test_untouched_session_is_never_opened(
    sess_client: FlaskClient, open_calls: list[object]
) -> None:
    resp = sess_client.get("/untouched")
    assert resp.text == "untouched"
    assert open_calls == []
    resp = sess_client.get("/untouched", headers={"Cookie": "theme=dark; lang=en"})
    assert open_calls == []


def test_touched_session_is_opened_once(sess_client: FlaskClient, open_calls: list[object]) -> None:
    sess_client.get("/dump")
    assert len(open_calls) == 1
    sess_client.get("/set/a/b")
    assert len(open_calls) == 2
    sess_client.get("/get/a")  # with the cookie: still one open
    assert len(open_calls) == 3


def test_untouched_with_cookie_but_no_refresh_is_not_opened(
    sess_app: Phial, sess_client: FlaskClient, open_calls: list[object]
) -> None:
    sess_app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    sess_client.get("/permanent")
    open_calls.clear()
    resp = sess_client.get("/untouched")
    assert open_calls == []
    assert "Set-Cookie" not in resp.headers


def test_permanent_session_refreshed_on_untouched_request(
    sess_client: FlaskClient, open_calls: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    sess_client.get("/permanent")
    first = sess_client.get_cookie("session")
    assert first is not None and first.expires is not None
    open_calls.clear()
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 2)  # a later timestamp
    resp = sess_client.get("/untouched")
    assert len(open_calls) == 1
    header = _set_cookie(resp)
    assert _cookie_value(header) != first.value  # re-signed with a new timestamp
    assert "expires" in _attrs(header)
    assert "Cookie" in resp.headers["Vary"]
    assert sess_client.get("/get/user").text == "'ann'"


def test_permanent_session_refreshed_on_read_only_request(sess_client: FlaskClient) -> None:
    sess_client.get("/permanent")
    resp = sess_client.get("/get/user")
    assert resp.text == "'ann'"
    assert "expires" in _attrs(_set_cookie(resp))


def test_non_permanent_session_not_refreshed(
    sess_client: FlaskClient, open_calls: list[object]
) -> None:
    sess_client.get("/set/a/b")
    open_calls.clear()
    resp = sess_client.get("/untouched")
    assert len(open_calls) == 1  # opened to learn whether it is permanent
    assert "Set-Cookie" not in resp.headers
    assert "Vary" not in resp.headers


def test_no_refresh_setting_keeps_permanent_cookie(
    sess_app: Phial, sess_client: FlaskClient
) -> None:
    sess_app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    sess_client.get("/permanent")
    resp = sess_client.get("/get/user")
    assert resp.text == "'ann'"
    assert "Set-Cookie" not in resp.headers


def test_refresh_with_custom_cookie_name(sess_app: Phial, open_calls: list[object]) -> None:
    sess_app.config["SESSION_COOKIE_NAME"] = "sid"
    client = sess_app.test_client()
    client.get("/permanent")
    open_calls.clear()
    resp = client.get("/untouched")
    assert len(open_calls) == 1
    assert _set_cookie(resp).startswith("sid=")
    client.set_cookie("session", "not ours")
    client.delete_cookie("sid")
    open_calls.clear()
    client.get("/untouched")
    assert open_calls == []


def test_refresh_skipped_for_null_session(
    sess_app: Phial, sess_client: FlaskClient, open_calls: list[object]
) -> None:
    sess_client.get("/permanent")
    open_calls.clear()
    sess_app.config["SECRET_KEY"] = None
    resp = sess_client.get("/untouched")
    assert resp.status_code == 200
    assert len(open_calls) == 1
    assert "Set-Cookie" not in resp.headers


# -- a custom interface ----------------------------------------------------------------------


class _MemorySession(dict[str, t.Any], SessionMixin):
    pass


class _MemoryInterface(SessionInterface):
    """Server-side sessions in a dict, keyed by a fixed cookie value."""

    def __init__(self) -> None:
        self.store: dict[str, dict[str, t.Any]] = {}
        self.saved = 0

    def open_session(self, app: Phial, request: Request) -> _MemorySession | None:
        sid = request.cookies.get(self.get_cookie_name(app), "")
        return _MemorySession(self.store.get(sid, {}))

    def save_session(self, app: Phial, session: SessionMixin, response: Response) -> None:
        self.saved += 1
        self.store["sid1"] = dict(session)
        response.set_cookie(self.get_cookie_name(app), "sid1")


def test_custom_session_interface(app: Phial) -> None:
    iface = _MemoryInterface()
    app.session_interface = iface

    @app.route("/set")
    def set_value() -> str:
        session["a"] = 1
        return "ok"

    @app.route("/get")
    def get_value() -> str:
        return repr(session.get("a"))

    client = app.test_client()
    client.get("/set")
    assert iface.store == {"sid1": {"a": 1}}
    assert client.get("/get").text == "1"
    assert iface.saved == 2


def test_custom_interface_returning_none_gives_null_session(app: Phial) -> None:
    class NoSessions(SessionInterface):
        def open_session(self, app: Phial, request: Request) -> None:
            return None

    app.session_interface = NoSessions()

    @app.route("/")
    def index() -> str:
        assert isinstance(session._get_current_object(), NullSession)  # type: ignore[attr-defined]  # proxy method
        return repr(session.get("a"))

    assert app.test_client().get("/").text == "None"


# -- the test client's session_transaction ------------------------------------------------------


def test_session_transaction_sets_values(sess_client: FlaskClient) -> None:
    with sess_client.session_transaction() as sess:
        assert sess == {}
        sess["a"] = "from test"
    assert sess_client.get("/get/a").text == "'from test'"


def test_session_transaction_sees_request_changes(sess_client: FlaskClient) -> None:
    sess_client.get("/set/a/b")
    with sess_client.session_transaction() as sess:
        assert sess["a"] == "b"
        sess["c"] = "d"
    assert sess_client.get("/dump").text == "[('a', 'b'), ('c', 'd')]"
    with sess_client.session_transaction() as sess:
        sess.clear()
    assert sess_client.get("/dump").text == "[]"
    assert sess_client.get_cookie("session") is None


def test_session_transaction_with_path_and_settings(sess_app: Phial) -> None:
    sess_app.config.update(SESSION_COOKIE_NAME="sid", SESSION_COOKIE_PATH="/get")
    client = sess_app.test_client()
    with client.session_transaction("/get/a") as sess:
        sess["a"] = 1
    assert client.get("/get/a").text == "1"
    assert client.get("/dump").text == "[]"  # the cookie's path excludes /dump


def test_session_transaction_needs_cookies(sess_app: Phial) -> None:
    client = sess_app.test_client(use_cookies=False)
    with pytest.raises(TypeError, match="Cookies are disabled"), client.session_transaction():
        pass


def test_session_transaction_without_secret_key(sess_app: Phial) -> None:
    sess_app.config["SECRET_KEY"] = None
    client = sess_app.test_client()
    with pytest.raises(RuntimeError, match="did not open a session"), client.session_transaction():
        pass


def test_session_transaction_with_null_session_interface(app: Phial) -> None:
    class AlwaysNull(SessionInterface):
        def open_session(self, app: Phial, request: Request) -> NullSession:
            return NullSession()

    app.session_interface = AlwaysNull()
    client = app.test_client()
    with client.session_transaction() as sess:
        assert sess.get("a") is None
    assert client.get_cookie("session") is None


def test_session_json_serializer_is_the_cookie_serializer() -> None:
    # Flask's module-level name, used by server-side session extensions.
    serializer = phial.sessions.session_json_serializer
    assert SecureCookieSessionInterface.serializer is serializer
    payload = {"when": datetime(2024, 1, 2, tzinfo=timezone.utc), "pair": (1, 2)}
    assert serializer.loads(serializer.dumps(payload)) == payload
    assert serializer.dumps(payload) == flask.sessions.session_json_serializer.dumps(payload)


def test_signing_key_is_derived_once_per_secret(
    app: Phial, monkeypatch: pytest.MonkeyPatch
) -> None:
    from itsdangerous import TimestampSigner

    calls: list[bytes] = []
    original = TimestampSigner.derive_key

    def counting(self: TimestampSigner, secret_key: str | bytes | None = None) -> bytes:
        calls.append(secret_key if isinstance(secret_key, bytes) else b"")
        return original(self, secret_key)

    monkeypatch.setattr(TimestampSigner, "derive_key", counting)
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    tokens = [serializer.dumps({"n": i}) for i in range(3)]
    assert [serializer.loads(tok) for tok in tokens] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert len(calls) == 1


def test_vary_cookie_joins_an_existing_vary_header_once(app: Phial) -> None:
    @app.route("/v")
    def v() -> tuple[str, dict[str, str]]:
        session["x"] = 1
        return "ok", {"Vary": "Accept-Encoding"}

    rv = app.test_client().get("/v")
    assert rv.headers.getlist("Vary") == ["Accept-Encoding, Cookie"]
    assert "session=" in rv.headers["Set-Cookie"]
