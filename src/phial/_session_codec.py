"""The default session cookie on the wire, without itsdangerous' machinery.

:class:`SessionCodec` writes and reads exactly the cookie values of the
itsdangerous :class:`~itsdangerous.URLSafeTimedSerializer` that
:class:`~phial.sessions.SecureCookieSessionInterface` configures (salt, HMAC key
derivation, SHA-1, tagged JSON)::

    payload "." timestamp "." signature

The payload is the JSON in URL-safe base64, or ``"."`` and the zlib-compressed
JSON when that is shorter; the timestamp is the signing time in seconds as a
big-endian integer, and the signature the HMAC-SHA1 of everything before it,
both in URL-safe base64 without padding. itsdangerous builds a signer, derives
the key and looks up its settings for every cookie; here the keys are derived
once and the HMAC state is prepared once.

Reading gives the same answer as itsdangerous for every value made of the
characters that itsdangerous writes; for anything else the codec answers
:data:`UNSURE` and the caller asks itsdangerous (whose base64 decoding skips
unexpected characters, so such odd values are not worth imitating).

:class:`SetCookieFormat` builds the ``Set-Cookie`` header for one set of cookie
settings from a template that Werkzeug's own ``set_cookie`` wrote, and
:func:`cookie_value` finds one cookie in a ``Cookie`` header without parsing
the others, falling back to Werkzeug's parser whenever the header is unusual.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import time
import typing as t
import zlib
from datetime import datetime, timezone
from hmac import compare_digest

from werkzeug.http import http_date

from .wrappers import Request

if t.TYPE_CHECKING:
    from .json.tag import TaggedJSONSerializer

__all__ = ["INVALID", "UNSURE", "SessionCodec", "SetCookieFormat", "cookie_value"]


class _Answer:
    """A named answer of :meth:`SessionCodec.loads` that is not session data."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: The value is certainly not a valid session: itsdangerous would reject it too.
INVALID: t.Final = _Answer("INVALID")
#: The value is unusual; ask itsdangerous.
UNSURE: t.Final = _Answer("UNSURE")

#: A cookie value in the shape itsdangerous writes, split like its ``rsplit``s do:
#: the payload (a leading dot marks compression), the timestamp, the signature.
_TOKEN = re.compile(r"(\.?[A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)")

_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")

#: JSON of at most this many bytes is never compressed: a zlib stream of any
#: non-empty input takes 9 bytes or more (2 of header, at least 3 of deflate
#: block, 4 of checksum), and compression is used only when it saves 2 bytes.
_NEVER_COMPRESSED = 10

_BLOCK = 64  # SHA-1's block size, for HMAC's key padding (RFC 2104)
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def _b64encode(data: bytes) -> str:
    """URL-safe base64 without padding, as itsdangerous writes it."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    """Decode URL-safe base64 with the padding restored, as itsdangerous does;
    raises :exc:`binascii.Error` when the length is impossible. Only called on
    text of the URL-safe alphabet (checked by :data:`_TOKEN`)."""
    data = (text + "=" * (-len(text) % 4)).encode("ascii")
    return binascii.a2b_base64(data.translate(_FROM_URLSAFE))


class _Hmac:
    """HMAC-SHA1 with one key, the padded key states hashed once.

    Copying the two prepared SHA-1 states costs less than copying an
    :mod:`hmac` object, and the result is the same (RFC 2104).
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha1(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha1(key.translate(_IPAD))
        self._outer = hashlib.sha1(key.translate(_OPAD))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def _want_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


class SessionCodec:
    """Sign and verify session cookie values with fixed keys and serializer.

    :param secret_keys: The keys that verify, the signing key last (the order
        itsdangerous takes them in).
    :param salt: The salt the signing keys are derived with.
    :param serializer: Turns the session into JSON text and back.
    """

    __slots__ = ("_seen", "_sign", "_stamp", "_verify", "serializer")

    def __init__(
        self,
        secret_keys: t.Sequence[str | bytes],
        salt: str | bytes,
        serializer: TaggedJSONSerializer,
    ) -> None:
        salt = _want_bytes(salt)
        # itsdangerous' "hmac" key derivation: HMAC(secret, salt).
        derived = [_Hmac(_want_bytes(key)).digest(salt) for key in secret_keys]
        self._sign = _Hmac(derived[-1])
        # Newest first: the signing key matches nearly every cookie.
        self._verify = tuple(_Hmac(key) for key in reversed(derived))
        self.serializer = serializer
        #: The last timestamp written, encoded: it changes once a second.
        self._stamp: tuple[int, str] = (-1, "")
        #: The last timestamp read, and its value.
        self._seen: tuple[str, int] = ("", 0)

    def dumps(self, data: t.Any) -> str:
        """The signed cookie value for ``data``, stamped with the current time."""
        raw = self.serializer.dumps(data).encode()
        if len(raw) > _NEVER_COMPRESSED:
            packed = zlib.compress(raw)
            payload = f".{_b64encode(packed)}" if len(packed) < len(raw) - 1 else _b64encode(raw)
        else:
            payload = _b64encode(raw)
        now = int(time.time())
        stamp = self._stamp
        if stamp[0] != now:
            stamp = self._stamp = (
                now,
                _b64encode(now.to_bytes((now.bit_length() + 7) // 8, "big")),
            )
        value = f"{payload}.{stamp[1]}"
        return f"{value}.{_b64encode(self._sign.digest(value.encode()))}"

    def loads(self, value: str, max_age: int) -> t.Any:
        """The data of a signed cookie value that is at most ``max_age`` seconds
        old; :data:`INVALID` when itsdangerous would reject it, :data:`UNSURE`
        when the value does not have the shape itsdangerous writes."""
        match = _TOKEN.fullmatch(value)
        if match is None:
            return UNSURE
        payload, stamp, signature = match.groups()
        signed = value[: len(value) - len(signature) - 1].encode()
        # Nearly every cookie carries the signing key's signature exactly as it
        # was written; anything else is compared the way itsdangerous does.
        if _b64encode(self._sign.digest(signed)) != signature and not self._verify_decoded(
            signed, signature
        ):
            return INVALID
        seen = self._seen
        if seen[0] == stamp:
            signed_at = seen[1]
        else:
            try:
                raw_stamp = _b64decode(stamp)
            except binascii.Error:
                return INVALID
            if len(raw_stamp) > 8:  # itsdangerous reads at most a 64-bit integer
                return INVALID
            signed_at = int.from_bytes(raw_stamp, "big")
            self._seen = (stamp, signed_at)
        age = int(time.time()) - signed_at
        if age > max_age or age < 0:  # expired, or signed in the future
            return INVALID
        try:
            if payload[:1] == ".":
                raw = zlib.decompress(_b64decode(payload[1:]))
            else:
                raw = _b64decode(payload)
            return self.serializer.loads(raw.decode())
        except Exception:  # itsdangerous turns any failure to load into BadPayload
            return INVALID

    def _verify_decoded(self, signed: bytes, signature: str) -> bool:
        """Check ``signature`` decoded, against every key: itsdangerous accepts
        any text that decodes to the right digest."""
        try:
            expected = _b64decode(signature)
        except binascii.Error:
            return False
        return any(compare_digest(expected, key.digest(signed)) for key in self._verify)


#: Stand-ins written into the template header, then cut out of it.
_VALUE_MARK = "PhialSessionValueMark"
_EXPIRES_MARK = datetime(2001, 2, 3, 4, 5, 6, tzinfo=timezone.utc)


class SetCookieFormat:
    """The ``Set-Cookie`` header of the session cookie for one set of settings.

    The header is cut from one that the response's own ``set_cookie`` wrote
    with stand-in values, so quoting, ``Domain`` normalization and attribute
    order are Werkzeug's. Build it with :meth:`build`, which returns ``None``
    when the settings make that impossible (the caller then uses
    ``set_cookie``, which also raises any error about the settings).
    """

    __slots__ = ("_expiry", "_head", "_middle", "_tail", "_tail_session")

    def __init__(self, head: str, middle: str, tail: str, tail_session: str) -> None:
        self._head = head
        self._middle = middle
        self._tail = tail
        self._tail_session = tail_session
        #: The last expiry written, as (seconds since the epoch, HTTP date).
        self._expiry: tuple[int, str] = (-1, "")

    @classmethod
    def build(
        cls,
        set_cookie: t.Callable[..., None],
        headers: t.Callable[[], list[str]],
        name: str,
        **settings: t.Any,
    ) -> SetCookieFormat | None:
        """Cut the format out of two headers written by ``set_cookie``.

        :param set_cookie: A fresh response's ``set_cookie``.
        :param headers: Returns the ``Set-Cookie`` headers written so far.
        :param settings: ``domain``, ``path``, ``secure``, ``httponly``,
            ``samesite`` and ``partitioned``, as ``set_cookie`` takes them.
        """
        try:
            set_cookie(name, _VALUE_MARK, expires=_EXPIRES_MARK, **settings)
            set_cookie(name, _VALUE_MARK, **settings)
        except Exception:
            return None
        written = headers()
        if len(written) != 2:
            return None
        permanent, session = written
        date = http_date(_EXPIRES_MARK)
        if (
            permanent.count(_VALUE_MARK) != 1
            or permanent.count(date) != 1
            or session.count(_VALUE_MARK) != 1
            or permanent.index(_VALUE_MARK) > permanent.index(date)
        ):
            return None
        head, rest = permanent.split(_VALUE_MARK)
        middle, tail = rest.split(date)
        session_head, tail_session = session.split(_VALUE_MARK)
        if session_head != head:
            return None
        return cls(head, middle, tail, tail_session)

    def header(self, value: str, expires: float | None) -> str:
        """The header for cookie ``value``; ``expires`` is the expiry in seconds
        since the epoch, or ``None`` for a cookie that ends with the browser
        session."""
        if expires is None:
            return f"{self._head}{value}{self._tail_session}"
        seconds = int(expires)
        expiry = self._expiry
        if expiry[0] != seconds:
            expiry = self._expiry = (seconds, http_date(seconds))
        return f"{self._head}{value}{self._middle}{expiry[1]}{self._tail}"


#: A cookie name that needs no quoting and cannot be confused with separators.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
#: What itsdangerous writes; any other value is left to Werkzeug's parser.
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.-]*")


def cookie_value(request: Request, name: str) -> str | None:
    """``request.cookies.get(name)``, without parsing the other cookies.

    The raw header is split only when it is plain ASCII without quotes or
    backslashes (so no value is quoted) and the first part that mentions
    ``name`` is exactly ``name=value`` with a value itsdangerous could have
    written; otherwise Werkzeug's parser decides. The cookies are parsed
    anyway when something already did, or when the name has a ``__Host-`` /
    ``__Secure-`` prefix (phial drops such cookies when repeated).
    """
    if (
        getattr(type(request), "cookies", None) is not _COOKIES  # a subclass, or a proxy
        or "cookies" in request.__dict__  # already parsed
        or name.startswith(("__Host-", "__Secure-"))
    ):
        return _parsed(request, name)
    header: str | None = request.environ.get("HTTP_COOKIE")
    if not header:
        return None
    if not _plain_header(header):
        return _parsed(request, name)
    if name not in header:
        # Without quoting Werkzeug decodes nothing, so a cookie it finds has
        # its name verbatim in the header.
        return None
    # (An ASCII header holds an alphanumeric name only when it is ASCII.)
    if name.isalnum() or _PLAIN_NAME.fullmatch(name):
        for part in header.split(";"):
            if name not in part:
                continue
            key, _, value = part.partition("=")
            if key.strip(" \t") == name:
                value = value.strip(" \t")
                if _PLAIN_VALUE.fullmatch(value):
                    return value
            break
    return _parsed(request, name)


def _parsed(request: Request, name: str) -> str | None:
    """The answer of the request's own cookie parser."""
    return request.cookies.get(name)


#: phial's ``Request.cookies``: a subclass may parse cookies its own way.
_COOKIES = Request.cookies


def _plain_header(header: str) -> bool:
    """Whether the header can be split without Werkzeug's parser."""
    return header.isascii() and '"' not in header and "\\" not in header
