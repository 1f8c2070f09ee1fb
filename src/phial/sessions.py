"""Sessions: the session object, the interface that loads and saves it, and the
default implementation, a signed cookie.

The default cookie has Flask's format exactly: tagged JSON
(:class:`~phial.json.tag.TaggedJSONSerializer`) signed by itsdangerous's
:class:`~itsdangerous.URLSafeTimedSerializer` with the salt ``cookie-session``,
HMAC key derivation and SHA-1. An app moving between Flask and phial with the
same ``SECRET_KEY`` keeps its users' sessions.

The session is opened only when a request first touches ``session`` (see
:attr:`phial.ctx.RequestContext.session`). While the interface is not
customised, the cookie is read and written by
:class:`~phial._session_codec.SessionCodec`, which produces and accepts exactly
what that itsdangerous serializer does with its keys derived once per key set;
otherwise the itsdangerous serializer itself is used, built once per key set.
"""

from __future__ import annotations

import collections.abc as cabc
import hashlib
import operator
import time
import typing as t
from datetime import datetime, timezone

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer, want_bytes
from werkzeug.datastructures import CallbackDict

from ._session_codec import INVALID, UNSURE, SessionCodec, SetCookieFormat, cookie_value
from .json.tag import TaggedJSONSerializer
from .wrappers import Response as _Response
from .wrappers import _SafeHeaders

if t.TYPE_CHECKING:
    from .app import Phial
    from .wrappers import Request, Response

__all__ = [
    "NullSession",
    "SecureCookieSession",
    "SecureCookieSessionInterface",
    "SessionInterface",
    "SessionMixin",
    "session_json_serializer",
]

_missing: t.Any = object()

#: The tagged-JSON serializer of the session cookie (Flask's name; server-side
#: session extensions use it to store sessions in the same format).
session_json_serializer = TaggedJSONSerializer()


class SessionMixin(cabc.MutableMapping[str, t.Any]):
    """The attributes every session has on top of being a mutable mapping."""

    @property
    def permanent(self) -> bool:
        """Whether the session outlives the browser session; stored under the
        ``_permanent`` key. A permanent session expires after
        ``PERMANENT_SESSION_LIFETIME``."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)

    #: Whether the session was just created. Few implementations can tell, so
    #: this is ``False`` unless one sets it.
    new = False

    #: Whether the session was changed. Implementations that cannot track changes
    #: leave this ``True`` so the session is always saved.
    modified = True

    #: Whether the session was read or written. Implementations that cannot track
    #: it leave this ``True``, which adds ``Vary: Cookie`` to every response that
    #: saves the session.
    accessed = True


class SecureCookieSession(CallbackDict[str, t.Any], SessionMixin):
    """The session of :class:`SecureCookieSessionInterface`: a dict that records
    whether it was read (:attr:`accessed`) or changed (:attr:`modified`).

    Only the dict itself is watched: after changing a mutable value in place
    (``session["cart"].append(item)``) set ``session.modified = True``. Reading
    covers item access, ``get``, ``in``, ``len``, iteration, ``keys``,
    ``values`` and ``items``: a response that depends on the session in any
    of these ways gets ``Vary: Cookie``. (Flask marks only item access, ``get``
    and ``setdefault``.)
    """

    #: Set when the session is changed; the cookie is written only then (or to
    #: refresh a permanent session).
    modified = False
    #: Set when the session is read or changed; adds ``Vary: Cookie``.
    accessed = False

    def __init__(
        self,
        initial: cabc.Mapping[str, t.Any] | cabc.Iterable[tuple[str, t.Any]] | None = None,
    ) -> None:
        super().__init__(initial, _mark_changed)

    def __getitem__(self, key: str) -> t.Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: t.Any = None) -> t.Any:
        self.accessed = True
        return super().get(key, default)

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        self.accessed = True
        return super().setdefault(key, default)

    def pop(self, key: str, default: t.Any = _missing) -> t.Any:
        # A pop of a missing key is a read: the response may depend on its absence.
        self.accessed = True
        if default is _missing:  # no default given: raise KeyError when missing
            return super().pop(key)
        return super().pop(key, default)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)

    def __len__(self) -> int:
        self.accessed = True
        return super().__len__()

    def __iter__(self) -> t.Iterator[str]:
        self.accessed = True
        return super().__iter__()

    def keys(self) -> t.Any:
        self.accessed = True
        return super().keys()

    def values(self) -> t.Any:
        self.accessed = True
        return super().values()

    def items(self) -> t.Any:
        self.accessed = True
        return super().items()


def _mark_changed(session: SecureCookieSession) -> None:
    """The update callback of every :class:`SecureCookieSession` (one function
    for all of them, not a closure per session)."""
    session.modified = True
    session.accessed = True


class NullSession(SecureCookieSession):
    """The session when no secret key is set: it reads as empty, and any change
    raises a RuntimeError that says how to set a key."""

    def _fail(self, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise RuntimeError(
            "The session is unavailable because no secret key was set. Set"
            " 'app.secret_key = ...' or the 'SECRET_KEY' config value to something"
            " unique and secret."
        )

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail
    __ior__ = _fail


class SessionInterface:
    """How an app loads and saves sessions; assign an instance of a subclass to
    :attr:`phial.Phial.session_interface` to replace the signed cookie.

    A subclass implements :meth:`open_session` and :meth:`save_session`; the
    ``get_cookie_*`` methods read the ``SESSION_COOKIE_*`` settings for it.
    :meth:`open_session` is called the first time a request touches ``session``
    (and, for a request that carries the session cookie, before the response is
    sent when ``SESSION_REFRESH_EACH_REQUEST`` is on); :meth:`save_session` is
    called after the ``after_request`` functions for every session that was
    opened and is not a null session.
    """

    #: What :meth:`make_null_session` creates.
    null_session_class: type[SessionMixin] = NullSession

    #: Whether sessions are pickled; phial's never are. Kept for extensions that
    #: read it.
    pickle_based = False

    def make_null_session(self, app: Phial) -> SessionMixin:
        """The stand-in session used when :meth:`open_session` returns ``None``:
        reading works, writing raises an error explaining what is missing."""
        return self.null_session_class()

    def is_null_session(self, obj: object) -> bool:
        """Whether ``obj`` is a null session (never saved)."""
        if type(obj) is SecureCookieSession and self.null_session_class is NullSession:
            return False  # the usual case, without the ABC instance check
        return isinstance(obj, self.null_session_class)

    def get_cookie_name(self, app: Phial) -> str:
        """The cookie's name: ``SESSION_COOKIE_NAME``."""
        return t.cast(str, app.config["SESSION_COOKIE_NAME"])

    def get_cookie_domain(self, app: Phial) -> str | None:
        """The cookie's ``Domain``: ``SESSION_COOKIE_DOMAIN``; ``None`` (the
        default) limits the cookie to the exact host that set it."""
        return t.cast("str | None", app.config["SESSION_COOKIE_DOMAIN"] or None)

    def get_cookie_path(self, app: Phial) -> str:
        """The cookie's ``Path``: ``SESSION_COOKIE_PATH``, else ``APPLICATION_ROOT``."""
        return t.cast(str, app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"])

    def get_cookie_httponly(self, app: Phial) -> bool:
        """Whether the cookie is ``HttpOnly``: ``SESSION_COOKIE_HTTPONLY``."""
        return bool(app.config["SESSION_COOKIE_HTTPONLY"])

    def get_cookie_secure(self, app: Phial) -> bool:
        """Whether the cookie is ``Secure``: ``SESSION_COOKIE_SECURE``."""
        return bool(app.config["SESSION_COOKIE_SECURE"])

    def get_cookie_samesite(self, app: Phial) -> str | None:
        """The cookie's ``SameSite``: ``SESSION_COOKIE_SAMESITE``."""
        return t.cast("str | None", app.config["SESSION_COOKIE_SAMESITE"])

    def get_cookie_partitioned(self, app: Phial) -> bool:
        """Whether the cookie is ``Partitioned`` (CHIPS): ``SESSION_COOKIE_PARTITIONED``."""
        return bool(app.config["SESSION_COOKIE_PARTITIONED"])

    def get_expiration_time(self, app: Phial, session: SessionMixin) -> datetime | None:
        """When the cookie expires: now plus ``PERMANENT_SESSION_LIFETIME`` for a
        permanent session, ``None`` (when the browser closes) otherwise."""
        if session.permanent:
            return datetime.now(timezone.utc) + app.permanent_session_lifetime
        return None

    def should_set_cookie(self, app: Phial, session: SessionMixin) -> bool:
        """Whether :meth:`save_session` writes the cookie: when the session was
        modified, or when it is permanent and ``SESSION_REFRESH_EACH_REQUEST`` is
        on (so its expiry moves forward)."""
        return bool(
            session.modified or (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"])
        )

    def open_session(self, app: Phial, request: Request) -> SessionMixin | None:
        """Load the session for ``request``; ``None`` means sessions are not
        available, and a null session is used instead."""
        raise NotImplementedError

    def save_session(self, app: Phial, session: SessionMixin, response: Response) -> None:
        """Store ``session`` (usually by setting a cookie on ``response``)."""
        raise NotImplementedError


_CACHE_LIMIT = 16  # distinct key sets kept; more only happens when keys keep changing


class SecureCookieSessionInterface(SessionInterface):
    """The default interface: the whole session, signed, in one cookie.

    The cookie is readable by the client but cannot be changed without the
    secret key. ``SECRET_KEY`` signs; ``SECRET_KEY_FALLBACKS`` (newest first)
    are also accepted when reading, so keys can be rotated without signing
    everybody out. A cookie older than ``PERMANENT_SESSION_LIFETIME``, or one
    that is tampered with, truncated or not a session at all, gives an empty
    session.
    """

    #: The itsdangerous salt; Flask's value, for compatible cookies.
    salt = "cookie-session"
    #: The digest of the signature (SHA-1, as in Flask).
    digest_method = staticmethod(hashlib.sha1)
    #: How the signing key is derived from the secret key.
    key_derivation = "hmac"
    #: Turns the session into the cookie's payload; register extra tags on it.
    serializer = session_json_serializer
    #: The class of the sessions :meth:`open_session` returns.
    session_class = SecureCookieSession

    def get_signing_serializer(self, app: Phial) -> URLSafeTimedSerializer | None:
        """The serializer that signs the cookie, or ``None`` without a secret key.

        It is built once per key set (and signing settings) and reused: building
        one per request was about 30% of Flask's time for a minimal request.
        """
        config = app.config
        cache_key = self._signing_settings(config)
        if cache_key is None:
            return None
        cache: dict[t.Any, URLSafeTimedSerializer] | None = self.__dict__.get("_signers")
        if cache is None:
            cache = self.__dict__["_signers"] = {}
        else:
            signer = cache.get(cache_key)
            if signer is not None:
                return signer
        # itsdangerous signs with the last key and accepts all of them; the
        # fallbacks are listed newest first, so reverse them to keep that order.
        keys = [*reversed(cache_key[1]), cache_key[0]]
        signer = URLSafeTimedSerializer(
            keys,
            salt=self.salt,
            serializer=self.serializer,
            signer=_KeyCachingSigner,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
                "derived_keys": {},
            },
        )
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[cache_key] = signer
        return signer

    def open_session(self, app: Phial, request: Request) -> SecureCookieSession | None:
        """Verify and load the cookie; a missing or invalid cookie gives an empty
        session, no secret key gives ``None`` (a null session)."""
        if self._plain_interface(_open_methods, _OPEN_ORIGINALS):
            config = app.config
            codec = self._codec(config)
            if codec is not None:
                value = cookie_value(request, config["SESSION_COOKIE_NAME"])
                if not value:
                    return self.session_class()
                data = codec.loads(value, int(app.permanent_session_lifetime.total_seconds()))
                if data is not UNSURE:
                    if data is INVALID or not isinstance(data, dict):
                        return self.session_class()
                    return self.session_class(data)
        signer = self.get_signing_serializer(app)
        if signer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = signer.loads(value, max_age=max_age)
        except BadData:  # bad signature, expired, truncated, undecodable payload
            return self.session_class()
        if not isinstance(data, dict):  # signed with our key and salt, but not a session
            return self.session_class()
        return self.session_class(data)

    def save_session(self, app: Phial, session: SessionMixin, response: Response) -> None:
        """Write the cookie when :meth:`should_set_cookie` says so, delete it when
        the session was emptied, and add ``Vary: Cookie`` whenever the session
        was read or the cookie changed."""
        # Read first: the checks below read the session themselves.
        accessed = session.accessed
        if self._write_cookie(app, session, response) or accessed:
            _add_vary_cookie(response)

    def _write_cookie(self, app: Phial, session: SessionMixin, response: Response) -> bool:
        """Set or delete the cookie as the session requires; report whether it did.

        The usual case, a session to write while no settings method is
        overridden, uses the prepared codec and header format; the header is
        the same as the general path's.
        """
        if session and self._plain_interface(_save_methods, _SAVE_ORIGINALS):
            config = app.config
            if not (
                session.modified or (session.permanent and config["SESSION_REFRESH_EACH_REQUEST"])
            ):
                return False
            codec = self._codec(config)
            if codec is not None and type(response).set_cookie is _SET_COOKIE:
                header = self._set_cookie_header(app, codec, session)
                if header is not None:
                    max_size = response.max_cookie_size
                    if not max_size or len(header) <= max_size:  # else set_cookie warns
                        headers = response.headers
                        if type(headers) is _SafeHeaders:
                            # What add() stores; the format was checked when made.
                            headers._list.append(("Set-Cookie", header))
                        else:
                            headers.add("Set-Cookie", header)
                        return True
        return self._write_cookie_generic(app, session, response)

    def _set_cookie_header(
        self, app: Phial, codec: SessionCodec, session: SessionMixin
    ) -> str | None:
        """The ``Set-Cookie`` header for ``session`` with the cookie settings in
        the config; ``None`` when ``set_cookie`` must write it."""
        try:
            settings = _cookie_settings(app.config)
        except KeyError:  # a setting removed from the config: the general path says which
            return None
        formats: dict[t.Any, SetCookieFormat | None] | None = self.__dict__.get("_formats")
        if formats is None:
            formats = self.__dict__["_formats"] = {}
        # One get, not "in" then a lookup: another thread may clear the cache.
        found = formats.get(settings, _missing)
        if found is _missing:
            found = _cookie_format(*settings)
            if len(formats) >= _CACHE_LIMIT:
                formats.clear()
            formats[settings] = found
        cookie_format = t.cast("SetCookieFormat | None", found)
        if cookie_format is None:
            return None
        if type(session) is SecureCookieSession:
            # What session.permanent reads, without its two method calls.
            permanent = bool(dict.get(session, "_permanent", False))
        else:
            permanent = session.permanent
        expires = None
        if permanent:
            lifetime = app.permanent_session_lifetime.total_seconds()
            if not 0 <= lifetime <= _LONGEST_LIFETIME:
                return None  # datetime arithmetic decides what such a lifetime gives
            expires = time.time() + lifetime
        # SecureCookieSession's reading methods only mark it accessed, so the
        # plain dict copy holds what dict(session) would.
        data = dict.copy(session) if type(session) is SecureCookieSession else dict(session)
        return cookie_format.header(codec.dumps(data), expires)

    def _write_cookie_generic(self, app: Phial, session: SessionMixin, response: Response) -> bool:
        """:meth:`_write_cookie` through the overridable settings methods and
        itsdangerous."""
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        samesite = self.get_cookie_samesite(app)
        partitioned = self.get_cookie_partitioned(app)
        httponly = self.get_cookie_httponly(app)
        if not session:
            if not session.modified:
                return False
            response.delete_cookie(
                name,
                domain=domain,
                path=path,
                secure=secure,
                samesite=samesite,
                partitioned=partitioned,
                httponly=httponly,
            )
            return True
        if not self.should_set_cookie(app, session):
            return False
        signer = self.get_signing_serializer(app)
        if signer is None:  # the key was removed after the session was opened
            return False
        value = signer.dumps(dict(session))
        response.set_cookie(
            name,
            value,
            expires=self.get_expiration_time(app, session),
            httponly=httponly,
            domain=domain,
            path=path,
            secure=secure,
            samesite=samesite,
            partitioned=partitioned,
        )
        return True

    def _plain_interface(self, methods: operator.attrgetter[t.Any], originals: t.Any) -> bool:
        """Whether this interface reads and writes the cookie as the default one
        does: none of ``methods`` is overridden or patched (``originals`` are
        the methods as defined here), and nothing is set on the instance. Then
        :class:`~phial._session_codec.SessionCodec` and
        :class:`~phial._session_codec.SetCookieFormat` may do the work.

        Checked on every call, which costs one C-level attribute fetch: a test
        may patch a method on the class at any time.
        """
        return self.__dict__.keys() <= _CACHE_ATTRIBUTES and methods(type(self)) == originals

    def _signing_settings(self, config: t.Mapping[str, t.Any]) -> tuple[t.Any, ...] | None:
        """The configured keys and this interface's signing settings, the key
        of the signer and codec caches; ``None`` without a secret key."""
        secret_key = config["SECRET_KEY"]
        if not secret_key:
            return None
        fallbacks = config["SECRET_KEY_FALLBACKS"]
        return (
            secret_key,
            tuple(fallbacks) if fallbacks else (),
            self.salt,
            self.digest_method,
            self.key_derivation,
            self.serializer,
        )

    def _codec(self, config: t.Mapping[str, t.Any]) -> SessionCodec | None:
        """The codec for the configured keys and this interface's signing
        settings, made once per combination; ``None`` without a secret key, or
        when the settings are not the default ones (itsdangerous then does the
        work). Only for a plain interface (see :meth:`_plain_interface`)."""
        cache_key = self._signing_settings(config)
        if cache_key is None:
            return None
        codecs: dict[t.Any, SessionCodec | None] | None = self.__dict__.get("_codecs")
        if codecs is None:
            codecs = self.__dict__["_codecs"] = {}
        else:
            found = codecs.get(cache_key, _missing)
            if found is not _missing:
                return t.cast("SessionCodec | None", found)
        codec = None
        keys = [*reversed(cache_key[1]), cache_key[0]]  # as get_signing_serializer orders them
        if (
            self.digest_method is hashlib.sha1
            and self.key_derivation == "hmac"
            and isinstance(self.salt, (str, bytes))
            # A subclass may write bytes, which itsdangerous handles differently.
            and type(self.serializer) is TaggedJSONSerializer
            and all(isinstance(key, (str, bytes)) for key in keys)
        ):
            codec = SessionCodec(keys, self.salt, self.serializer)
        if len(codecs) >= _CACHE_LIMIT:
            codecs.clear()
        codecs[cache_key] = codec
        return codec


#: The methods whose overriding makes the interface open the cookie, or write
#: it, through the general path; and the methods as defined here.
_open_methods = operator.attrgetter("get_signing_serializer", "get_cookie_name")
_save_methods = operator.attrgetter(
    "get_signing_serializer",
    "get_cookie_name",
    "get_cookie_domain",
    "get_cookie_path",
    "get_cookie_httponly",
    "get_cookie_secure",
    "get_cookie_samesite",
    "get_cookie_partitioned",
    "get_expiration_time",
    "should_set_cookie",
)
_OPEN_ORIGINALS = _open_methods(SecureCookieSessionInterface)
_SAVE_ORIGINALS = _save_methods(SecureCookieSessionInterface)
#: What the interface itself keeps in its ``__dict__``: anything else there is an
#: override set on the instance.
_CACHE_ATTRIBUTES = frozenset({"_signers", "_codecs", "_formats"})
#: Werkzeug's ``set_cookie``, which the prepared header formats imitate.
_SET_COOKIE = _Response.set_cookie
#: Lifetimes (in seconds) up to this are computed with float timestamps; longer
#: ones go through datetime, which decides whether they overflow.
_LONGEST_LIFETIME = 10**9


class _TemplateResponse(_Response):
    """A response for writing template headers: no size check, whose warning
    would be about the stand-in value."""

    max_cookie_size = 0


#: The config values the cookie's header depends on, read in one call.
_cookie_settings = operator.itemgetter(
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_DOMAIN",
    "SESSION_COOKIE_PATH",
    "APPLICATION_ROOT",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_PARTITIONED",
    "SESSION_COOKIE_HTTPONLY",
)


def _cookie_format(
    name: str,
    domain: str | None,
    path: str | None,
    root: str,
    secure: bool,
    samesite: str | None,
    partitioned: bool,
    httponly: bool,
) -> SetCookieFormat | None:
    """The session cookie's header format for these config values, read as the
    ``get_cookie_*`` methods read them (``None`` when ``set_cookie`` refuses
    them; the general path then raises the error)."""
    scratch = _TemplateResponse()
    return SetCookieFormat.build(
        scratch.set_cookie,
        lambda: scratch.headers.getlist("Set-Cookie"),
        name,
        domain=domain or None,
        path=path or root,
        secure=bool(secure),
        samesite=samesite,
        partitioned=bool(partitioned),
        httponly=bool(httponly),
    )


class _KeyCachingSigner(TimestampSigner):
    """itsdangerous' :class:`~itsdangerous.TimestampSigner`, deriving each key once.

    The serializer makes a signer for every ``dumps``/``loads``, and the signer
    derives its HMAC key from the secret each time, although the result only
    depends on the secret and the signer's fixed settings. The derived keys are
    kept in a dict that the serializer passes to each of its signers; the
    signatures are byte for byte the same.
    """

    def __init__(self, *args: t.Any, derived_keys: dict[bytes, bytes], **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived_keys = derived_keys

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        derived = self._derived_keys.get(key)
        if derived is None:
            derived = self._derived_keys[key] = super().derive_key(key)
        return derived


def _add_vary_cookie(response: t.Any) -> None:
    """Add ``Cookie`` to the response's ``Vary`` header.

    The common case, no ``Vary`` yet, adds the header directly; parsing the
    header into a set and writing it back costs more than the signature.
    """
    headers = response.headers
    if type(headers) is _SafeHeaders:
        # What ``"Vary" in headers`` and ``add`` do, on the list they keep.
        for key, _ in headers._list:
            if key.lower() == "vary":
                break
        else:
            headers._list.append(("Vary", "Cookie"))
            return
    elif "Vary" not in headers:
        headers.add("Vary", "Cookie")
        return
    response.vary.add("Cookie")
