"""phial's Request and Response: Werkzeug's, plus what the framework adds.

The request knows the rule it matched and takes its body limits from the
current app's config; JSON errors become 400 or 415 instead of a 500.
"""

from __future__ import annotations

import io
import re
import typing as t
from http import HTTPStatus

from werkzeug.datastructures import (
    EnvironHeaders,
    FileStorage,
    Headers,
    ImmutableMultiDict,
    MultiDict,
)
from werkzeug.exceptions import (
    BadRequest,
    ClientDisconnected,
    HTTPException,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)
from werkzeug.utils import cached_property
from werkzeug.wrappers import Request as RequestBase
from werkzeug.wrappers import Response as ResponseBase

from . import json
from ._asgi_body import ENVIRON_KEY, BlockingBodyRead
from ._formparser import FormDataParser
from ._multidict import ImmutableMultiDict as _ArgsDict
from ._multidict import _new as _new_multidict
from ._multidict import _setitem as _set_field
from ._multidict import from_tokens
from ._urlencoded import split_urlencoded
from .globals import _cv_app

if t.TYPE_CHECKING:
    import typing_extensions as te
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.routing import Rule

_V = t.TypeVar("_V")


class _FromEnviron(t.Generic[_V]):
    """A request attribute computed from the environ on first read, then cached.

    Werkzeug computes eight attributes (method, path, headers, …) when a request
    is created; most requests read two or three of them. Computing on demand
    keeps request creation to storing the environ. Assigning the attribute
    still works: the instance dict wins over this non-data descriptor.
    """

    __slots__ = ("compute", "name")

    def __init__(self, compute: t.Callable[[WSGIEnvironment], _V]) -> None:
        self.compute = compute
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @t.overload
    def __get__(self, obj: None, owner: type | None = None) -> _FromEnviron[_V]: ...
    @t.overload
    def __get__(self, obj: object, owner: type | None = None) -> _V: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> t.Any:
        if obj is None:
            return self
        value = self.compute(obj.environ)  # type: ignore[attr-defined]  # used on Request only
        obj.__dict__[self.name] = value
        return value


class _FormPart(t.Generic[_V]):
    """``form`` or ``files``: parsed from the body on first read, then a plain
    instance attribute.

    Werkzeug's cached properties are data descriptors, so each read of
    ``request.form`` runs Python code even once parsed; with this non-data
    descriptor the instance dict answers. ``_load_form_data`` may leave
    ``files`` unset (an urlencoded body has none): it is then an empty
    ``parameter_storage_class``, made on first read.
    """

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @t.overload
    def __get__(self, obj: None, owner: type | None = None) -> _FormPart[_V]: ...
    @t.overload
    def __get__(self, obj: object, owner: type | None = None) -> _V: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> t.Any:
        if obj is None:
            return self
        obj._load_form_data()  # type: ignore[attr-defined]  # used on Request only
        d = obj.__dict__
        value = d.get(self.name)
        if value is None:
            value = d[self.name] = obj.parameter_storage_class()  # type: ignore[attr-defined]  # used on Request only
        return value


class _QueryArgs:
    """``args``: the query string's arguments, parsed on first read, then a
    plain instance attribute (this non-data descriptor steps aside once the
    instance dict holds them; assigning and deleting work as with Werkzeug's
    cached property).

    An ASCII query string, with the default ``parameter_storage_class``, is
    parsed by :func:`phial._urlencoded.split_urlencoded` (or, for one field
    without escapes, split at its ``=``) into phial's
    :class:`~phial._multidict.ImmutableMultiDict`, which gives what Werkzeug's
    parser gives; anything else goes through Werkzeug's ``args``.

    Unlike Flask, a query string that is not UTF-8 (raw bytes a client sent
    unescaped) is a 400 Bad Request; Werkzeug's parser lets its
    UnicodeDecodeError escape, which Flask answers with a 500.
    """

    @t.overload
    def __get__(self, obj: None, owner: type | None = None) -> _QueryArgs: ...
    @t.overload
    def __get__(self, obj: object, owner: type | None = None) -> MultiDict[str, str]: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> t.Any:
        if obj is None:
            return self
        d = obj.__dict__
        if "query_string" in d:
            # Read (so the environ's) or assigned: it is what Werkzeug parses.
            data = d["query_string"]
            raw = data.decode() if type(data) is bytes and data.isascii() else None
        else:
            raw = obj.environ.get("QUERY_STRING", "")  # type: ignore[attr-defined]  # used on Request only
        storage = obj.parameter_storage_class  # type: ignore[attr-defined]  # used on Request only
        if type(raw) is str and raw.isascii() and storage is ImmutableMultiDict:
            if "&" in raw or "%" in raw or "+" in raw:
                value = from_tokens(split_urlencoded(raw.encode()))
            elif raw:
                # One field without escapes, the usual case: one_field(),
                # inline (a call costs a tenth of this parse).
                name, _, field = raw.partition("=")
                value = _new_multidict(_ArgsDict)
                _set_field(value, name, [field])
            else:
                value = from_tokens([])
            d["args"] = value
            return value
        # Werkzeug's cached property, which stores what it parses as above.
        try:
            return super(Request, obj).args  # type: ignore[misc]  # obj is a Request
        except UnicodeDecodeError:
            raise BadRequest("The query string is not valid UTF-8.") from None


def _decode_wsgi_str(value: str) -> str:
    """PEP 3333 strings are latin-1 decoded bytes; URLs are UTF-8."""
    return value.encode("latin1").decode("utf-8", "replace")


def _server_address(environ: WSGIEnvironment) -> tuple[str, int | None] | None:
    name = environ.get("SERVER_NAME")
    if name is None:
        return None
    try:
        port: int | None = int(environ.get("SERVER_PORT", ""))
    except (TypeError, ValueError):
        port = None
    return name, port


#: A ``\\uD800``-``\\uDFFF`` escape in JSON text (a surrogate, maybe a lone one).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(value: t.Any) -> None:
    """Raise ValueError if a decoded JSON value holds a string that is not
    valid Unicode text (a lone surrogate), which could not be encoded again."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("JSON string contains a lone surrogate.") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class _RequestJSON:
    """The ``json_module`` requests parse with: the current app's provider.

    Python's decoder raises RecursionError for deeply nested input; that is bad
    input like any other, so it becomes a ValueError (and so a 400).
    """

    __slots__ = ()

    @staticmethod
    def loads(s: str | bytes, **kwargs: t.Any) -> t.Any:
        try:
            rv = json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nesting is too deep.") from None
        # In UTF-8 text a lone surrogate can only arrive as a \uD800-\uDFFF
        # escape; only then (or for UTF-16/32 bytes, which start with a NUL
        # within four bytes) is the decoded value walked.
        if isinstance(s, str):
            suspect = _SURROGATE_ESCAPE.search(s) is not None
        else:
            suspect = b"\x00" in s[:4] or _SURROGATE_ESCAPE_BYTES.search(s) is not None
        if suspect:
            _refuse_lone_surrogates(rv)
        return rv

    @staticmethod
    def dumps(obj: t.Any, **kwargs: t.Any) -> str:
        return json.dumps(obj, **kwargs)


class Request(RequestBase):
    """The request object: Werkzeug's :class:`~werkzeug.wrappers.Request` plus
    routing information and config-driven body limits."""

    json_module: t.Any = _RequestJSON()
    form_data_parser_class = FormDataParser

    method = _FromEnviron(lambda e: str(e.get("REQUEST_METHOD", "GET")).upper())
    scheme = _FromEnviron(lambda e: str(e.get("wsgi.url_scheme", "http")))
    server = _FromEnviron(_server_address)
    root_path = _FromEnviron(lambda e: _decode_wsgi_str(e.get("SCRIPT_NAME") or "").rstrip("/"))
    path = _FromEnviron(lambda e: "/" + _decode_wsgi_str(e.get("PATH_INFO") or "").lstrip("/"))
    query_string = _FromEnviron(lambda e: str(e.get("QUERY_STRING", "")).encode("latin1"))
    headers = _FromEnviron(EnvironHeaders)
    remote_addr = _FromEnviron(lambda e: e.get("REMOTE_ADDR"))

    #: Whether reading the body is refused (see Werkzeug's ``Request``); the
    #: class default spares the drivers' fast lane a store per request.
    shallow = False

    def __init__(
        self,
        environ: WSGIEnvironment,
        populate_request: bool = True,
        shallow: bool = False,
    ) -> None:
        # Werkzeug's constructor is not called: the attributes it would set are
        # computed on first access by the descriptors above.
        self.environ = environ
        self.shallow = shallow
        if populate_request and not shallow:
            environ["werkzeug.request"] = self

    #: Whether this class reads, limits and parses a form body as
    #: :class:`Request` does, so :meth:`_load_form_data` may take its
    #: urlencoded fast path. Set for each subclass: one overriding a hook
    #: below (a ``stream`` that decompresses the body, a computed limit)
    #: always goes through the form parser.
    _plain_form_hooks: t.ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._plain_form_hooks = all(
            getattr(cls, name) is getattr(Request, name)
            for name in (
                "stream",
                "content_length",
                "max_content_length",
                "max_form_memory_size",
                "make_form_data_parser",
                "_get_stream_for_parsing",
            )
        )

    #: The rule that matched, or ``None`` before matching / on failure.
    url_rule: Rule | None = None
    #: The values the rule captured, or ``None``.
    view_args: dict[str, t.Any] | None = None
    #: The routing error (404, 405, redirect) if matching failed; raised at dispatch.
    routing_exception: HTTPException | None = None
    #: Whether the body went through the form parser, which may have left
    #: uploaded files to close (the drivers' fast lane closes nothing unless
    #: it did; see RequestContext._exit_plain).
    _form_parsed = False

    _max_content_length: int | None = None
    _max_form_memory_size: int | None = None
    _max_form_parts: int | None = None

    def _limit(self, explicit: int | None, key: str, fallback: int | None) -> int | None:
        if explicit is not None:
            return explicit
        app_ctx = _cv_app.get(None)
        if app_ctx is not None:
            return t.cast("int | None", app_ctx.app.config[key])
        return fallback

    @property
    def max_content_length(self) -> int | None:  # type: ignore[override, unused-ignore]  # property over attribute
        """``MAX_CONTENT_LENGTH`` from config unless set on this request; a larger
        body is answered with 413."""
        return self._limit(self._max_content_length, "MAX_CONTENT_LENGTH", None)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def max_form_memory_size(self) -> int | None:  # type: ignore[override, unused-ignore]  # property over attribute
        """``MAX_FORM_MEMORY_SIZE``: the largest non-file form field, in bytes."""
        return self._limit(self._max_form_memory_size, "MAX_FORM_MEMORY_SIZE", 500_000)

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value

    @property  # type: ignore[override]  # a property over Werkzeug's attribute
    def max_form_parts(self) -> int | None:
        """``MAX_FORM_PARTS``: the most multipart parts a form may have."""
        return self._limit(self._max_form_parts, "MAX_FORM_PARTS", 1_000)

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self._max_form_parts = value

    args = _QueryArgs()

    form = _FormPart[ImmutableMultiDict[str, str]](
        """The form fields of a ``multipart/form-data`` or
        ``application/x-www-form-urlencoded`` body, parsed on first access
        (an empty dict for other bodies). Files are in :attr:`files`."""
    )
    files = _FormPart[ImmutableMultiDict[str, FileStorage]](
        """The files of a ``multipart/form-data`` body (name -> ``FileStorage``),
        parsed on first access; empty for other bodies."""
    )

    def _load_form_data(self) -> None:
        """Parse the body into ``form`` and ``files`` on first access of either
        (or of ``values``, ``data``, ``get_data(parse_form_data=True)``).

        An urlencoded body with a declared ``Content-Length`` within
        :attr:`max_content_length` and :attr:`max_form_memory_size` that nothing
        has read yet is read once and parsed in memory by
        :func:`phial._urlencoded.split_urlencoded`, which gives what the form
        parser would. Every other body goes through :attr:`form_data_parser_class`.
        """
        d = self.__dict__
        if "form" in d:
            return
        # One method, not two, and the usual case first: this runs on every
        # request that reads a form.
        environ = self.environ
        declared = environ.get("CONTENT_LENGTH")
        if (
            (
                environ.get("CONTENT_TYPE") == _URLENCODED
                or ("CONTENT_TYPE" in environ and self.mimetype == _URLENCODED)
            )
            and declared
            and declared.isdigit()
            and declared.isascii()
            and len(declared) <= 18
            and self._plain_form_hooks
            and self.parameter_storage_class is ImmutableMultiDict
            and self.form_data_parser_class is FormDataParser
            and not self.shallow
            and "stream" not in d  # read (or about to be) by someone else
            and "_cached_data" not in d
            and "_form_body" not in d  # parsed once already (``form`` was deleted)
            and environ.get(ENVIRON_KEY) is None  # no ASGI body still to receive
        ):
            body = self._read_urlencoded(environ, int(declared))
            if body is not None:
                d["form"] = from_tokens(split_urlencoded(body))
                # ``files`` is made empty on first read; ``stream`` is the body
                # read to its end (as after the form parser), made from this on
                # first read.
                d["_form_body"] = body
                return
        super()._load_form_data()
        self._form_parsed = True

    def _read_urlencoded(self, environ: WSGIEnvironment, length: int) -> bytes | None:
        """The body, read now; ``None`` (and nothing read) when the form parser
        must take it: a body over a limit (it answers 413), no app context to
        read the limits from, no input stream."""
        # max_content_length and max_form_memory_size, read at once (the
        # class does not override them: see _plain_form_hooks).
        limit = self._max_content_length
        memory = self._max_form_memory_size
        if limit is None or memory is None:
            app_ctx = _cv_app.get(None)
            if app_ctx is None:
                return None
            config = app_ctx.app.config
            if limit is None:
                limit = config["MAX_CONTENT_LENGTH"]
            if memory is None:
                memory = config["MAX_FORM_MEMORY_SIZE"]
        if (limit is not None and length > limit) or (memory is not None and length > memory):
            return None  # the form parser answers 413
        stream = environ.get("wsgi.input")
        if stream is None:
            return None
        try:
            data: bytes = stream.read(length)
        except HTTPException:
            raise
        except Exception as e:  # each server has its own exceptions for a bad body
            raise BadRequest("The request body is malformed or incomplete.") from e
        if len(data) == length:
            return data
        return _read_rest(stream, data, length)

    async def get_data_async(self, cache: bool = True, as_text: bool = False) -> t.Any:
        """The body, like :meth:`get_data`, for async views: a large ASGI body
        that was not received before the view (see :mod:`phial._asgi_body`)
        is awaited instead of blocking the event loop. With ``cache`` (the
        default) ``data``, ``form``, ``files`` and ``get_json()`` then read it
        from memory. Elsewhere (a buffered body, WSGI) it is :meth:`get_data`.
        (Not in Flask.)
        """
        from ._asgi_body import ENVIRON_KEY

        body = self.environ.get(ENVIRON_KEY)
        if body is None or getattr(self, "_cached_data", None) is not None:
            data = self.get_data(cache=cache)
            return data.decode() if as_text else data
        data = await body.read_all()
        if cache:
            # From now on the request reads the body from memory.
            self.environ[ENVIRON_KEY] = None
            self.environ["wsgi.input"] = io.BytesIO(data)
            self.__dict__.pop("stream", None)
            self._cached_data = data
        return data.decode() if as_text else data

    async def iter_body(self) -> t.AsyncIterator[bytes]:
        """Iterate over the body in chunks as they arrive, without holding it
        whole (``async for chunk in request.iter_body()``). Over ASGI a large
        body is received chunk by chunk; otherwise the body stream is read in
        64 KiB pieces. ``MAX_CONTENT_LENGTH`` still applies (413). (Not in Flask.)
        """
        from ._asgi_body import ENVIRON_KEY

        body = self.environ.get(ENVIRON_KEY)
        if body is None:
            stream = self.stream
            while chunk := stream.read(65536):
                yield chunk
            return
        while chunk := await body.next_chunk():
            yield chunk

    @property
    def endpoint(self) -> str | None:
        """The endpoint of the matched rule, or ``None``."""
        if self.url_rule is not None:
            return t.cast("str | None", self.url_rule.endpoint)
        return None

    @property
    def blueprint(self) -> str | None:
        """The dotted name of the blueprint the endpoint belongs to, or ``None``."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def module(self) -> str | None:
        """The Flask 0.6 module of the endpoint: the part before the last dot, or
        ``None`` for an endpoint of the app itself."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The current blueprint and its parents, innermost first."""
        name = self.blueprint
        if name is None:
            return []
        parts = name.split(".")
        return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]

    @cached_property
    def stream(self) -> t.IO[bytes]:
        """The body as a stream, limited as Werkzeug limits it, with two
        differences for a body without ``Content-Length`` (chunked, with
        ``wsgi.input_terminated``): one longer than :attr:`max_content_length`
        raises 413 when read past the limit (Werkzeug silently cuts it at the
        limit), and a server error while reading it (a malformed chunk) is a
        400 instead of escaping as a 500."""
        body = self.__dict__.get("_form_body")
        if body is not None:
            # The urlencoded fast path read it all; as the form parser leaves
            # it, the stream holds the body and is at its end.
            rest = io.BytesIO(body)
            rest.seek(len(body))
            return rest
        environ = self.environ
        if environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH"):
            if self.shallow:
                raise RuntimeError("A shallow request tried to consume form data.")
            return t.cast(
                "t.IO[bytes]", _CappedBody(environ["wsgi.input"], self.max_content_length)
            )
        stream: t.IO[bytes] = super().stream
        length = self.content_length
        if length:
            # Werkzeug hands out a body cut short (the client left mid-body) as if complete.
            return t.cast("t.IO[bytes]", _DeclaredBody(stream, length))
        return stream

    @cached_property
    def cookies(self) -> ImmutableMultiDict[str, str]:
        """The request's cookies, without ambiguous ``__Host-`` / ``__Secure-`` ones.

        Browsers only store a cookie with one of these prefixes when it meets the
        prefix's rules (Secure, and for ``__Host-`` no Domain and Path ``/``), but
        another cookie can still arrive under the same name (a nameless cookie
        whose value is ``__Host-id=...`` set from a sibling domain or over plain
        HTTP, for example), usually first. A prefixed name that appears more than
        once cannot be trusted, so it is left out entirely. (Flask keeps all
        values and returns the first.)
        """
        cookies: ImmutableMultiDict[str, str] = super().cookies
        raw = self.environ.get("HTTP_COOKIE", "")
        if "__Host-" not in raw and "__Secure-" not in raw:
            return cookies
        shadowed = [
            key
            for key, values in cookies.lists()
            if len(values) > 1 and key.startswith(("__Host-", "__Secure-"))
        ]
        if not shadowed:
            return cookies
        return ImmutableMultiDict(
            (key, value) for key, value in cookies.items(multi=True) if key not in shadowed
        )

    def close(self) -> None:
        """Close uploaded files, if the form was parsed and had any."""
        if self.__dict__.get("files"):
            super().close()

    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        """Answer bad JSON with 400 and a non-JSON content type with 415.

        As in Flask, the parser's message is shown only in debug mode; otherwise
        the 400 is generic (the parse error is its ``__cause__``).
        """
        if e is not None:
            app_ctx = _cv_app.get(None)
            if app_ctx is not None and app_ctx.app.debug:
                raise BadRequest(f"Failed to decode JSON object: {e}")
            raise BadRequest() from e
        raise UnsupportedMediaType(
            "Did not attempt to load JSON data because the request"
            " Content-Type was not 'application/json'."
        )


_URLENCODED = "application/x-www-form-urlencoded"


def _read_rest(stream: t.IO[bytes], data: bytes, length: int) -> bytes:
    """``data`` and what follows it in a body stream, up to ``length`` bytes in
    all (a stream may return less than asked before its end); 400 when it ends
    sooner (the client went away mid-body) or the server fails to read it."""
    if len(data) >= length:
        return data[:length]  # a server that gave more than asked
    chunks = [data]
    left = length - len(data)
    try:
        while left > 0 and (chunk := stream.read(left)):
            chunks.append(chunk)
            left -= len(chunk)
    except HTTPException:
        raise
    except Exception as e:  # each server has its own exceptions for a bad body
        raise BadRequest("The request body is malformed or incomplete.") from e
    if left > 0:
        raise ClientDisconnected("The request body ended before its declared Content-Length.")
    return b"".join(chunks)


class _CappedBody(io.RawIOBase):
    """A body stream of unknown length that raises 413 once more than ``limit``
    bytes (if any limit) have been read from it, and 400 when the server fails
    to read it (a malformed chunk, a client that went away)."""

    def __init__(self, stream: t.IO[bytes], limit: int | None) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def readable(self) -> bool:
        return True

    def _count(self, data: bytes) -> bytes:
        self._read += len(data)
        if self._limit is not None and self._read > self._limit:
            raise RequestEntityTooLarge()
        return data

    def _read_raw(self, size: int, line: bool = False) -> bytes:
        try:
            data = self._stream.readline(size) if line else self._stream.read(size)
        except (HTTPException, BlockingBodyRead):
            raise  # phial's streamed ASGI body: 413, 400 or a misuse, already clear
        except Exception as e:  # each server has its own exceptions for a bad body
            raise BadRequest("The request body is malformed or incomplete.") from e
        return self._count(data)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            chunks = []
            while chunk := self._read_raw(64 * 1024):
                chunks.append(chunk)
            return b"".join(chunks)
        return self._read_raw(size)

    def readline(self, size: int | None = -1) -> bytes:
        # Never more than one byte past the limit, so a line without a newline
        # cannot be read into memory whole.
        if self._limit is not None:
            room = self._limit - self._read + 1
            if size is None or size < 0 or size > room:
                size = room
        return self._read_raw(-1 if size is None else size, line=True)

    def readinto(self, buffer: t.Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _DeclaredBody(io.RawIOBase):
    """A body with a ``Content-Length``: 400 when it ends before that many
    bytes arrived (the client went away mid-body), never a truncated body,
    and 400 when the server fails to read it."""

    def __init__(self, stream: t.IO[bytes], length: int) -> None:
        self._stream = stream
        self._left = length

    def readable(self) -> bool:
        return True

    def _read_raw(self, size: int, line: bool = False) -> bytes:
        if self._left <= 0:
            return b""
        # Never ask for more than is left, and never pass -1: some servers'
        # inputs (granian's) reject a negative size.
        wanted = self._left if size < 0 else min(size, self._left)
        try:
            data = self._stream.readline(wanted) if line else self._stream.read(wanted)
        except BadRequest:
            raise
        except Exception as e:  # each server has its own exceptions for a bad body
            raise BadRequest("The request body is malformed or incomplete.") from e
        self._left -= len(data)
        if self._left > 0 and (not data or (size < 0 and not line)):
            raise BadRequest("The request body ended before its declared Content-Length.")
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._read_raw(-1 if size is None else size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._read_raw(-1 if size is None else size, line=True)

    def readinto(self, buffer: t.Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


#: What no header name or value may contain: a line break ends the header.
_HEADER_BREAK = re.compile(r"[\r\n\x00]")


def _check_header(key: t.Any, value: t.Any) -> None:
    for part in (key, value):
        if isinstance(part, str) and _HEADER_BREAK.search(part):
            raise ValueError(
                f"Header {key!r} would contain a line break or NUL ({part!r});"
                " CR, LF and NUL are refused in header names and values."
            )


class _SafeHeaders(Headers):
    """Response headers that refuse CR, LF and NUL in names and values.

    Werkzeug refuses CR and LF in values only; a NUL or a line break in a name
    would still reach the server.
    """

    def __init__(self, defaults: t.Any = None) -> None:
        super().__init__()
        if defaults:
            self.extend(defaults)

    def add(self, key: str, value: t.Any, /, **kwargs: t.Any) -> None:
        _check_header(key, value)
        for option in kwargs.values():
            _check_header(key, option)
        super().add(key, value, **kwargs)

    def set(self, key: str, value: t.Any, /, **kwargs: t.Any) -> None:
        _check_header(key, value)
        for option in kwargs.values():
            _check_header(key, option)
        super().set(key, value, **kwargs)

    def setdefault(self, key: str, default: t.Any) -> t.Any:
        _check_header(key, default)
        return super().setdefault(key, default)

    def setlist(self, key: str, values: t.Iterable[t.Any]) -> None:
        values = list(values)
        for value in values:
            _check_header(key, value)
        super().setlist(key, values)

    def __setitem__(self, key: t.Any, value: t.Any) -> None:
        if isinstance(key, str):
            _check_header(key, value)
        elif isinstance(key, int):
            _check_header(*value)
        else:
            for item in value:
                _check_header(*item)
        super().__setitem__(key, value)

    def extend(self, arg: t.Any = None, /, **kwargs: t.Any) -> None:
        items = _header_items(arg, kwargs)
        for key, value in items:
            _check_header(key, value)
        super().extend(items)

    def update(self, arg: t.Any = None, /, **kwargs: t.Any) -> None:
        items = _header_items(arg, kwargs)
        for key, value in items:
            _check_header(key, value)
        super().update(_as_multidict(items))

    add_header = add


#: ``str(n)`` for the body lengths of most small responses: converting an
#: int to text costs more than finding it here (see Response._from_bytes).
_LENGTHS: tuple[str, ...] = tuple(map(str, range(512)))

#: Makes a header object without running ``__init__`` (see Response._from_bytes).
_new_headers = Headers.__new__


def _header_items(arg: t.Any, kwargs: dict[str, t.Any]) -> list[tuple[str, t.Any]]:
    """``(key, value)`` pairs from what ``extend``/``update`` accept."""
    items: list[tuple[str, t.Any]] = []
    sources: list[t.Any] = [arg, kwargs] if arg is not None else [kwargs]
    for source in sources:
        if isinstance(source, Headers):
            items.extend(source.items())
        elif hasattr(source, "items"):
            pairs = source.items(multi=True) if hasattr(source, "getlist") else source.items()
            for key, value in pairs:
                if isinstance(value, (list, tuple, set)):
                    items.extend((key, v) for v in value)
                else:
                    items.append((key, value))
        else:
            items.extend(source)
    return items


def _as_multidict(items: list[tuple[str, t.Any]]) -> t.Any:
    from werkzeug.datastructures import MultiDict

    return MultiDict(items)


class Response(ResponseBase):
    """The response object: Werkzeug's, with ``text/html`` as default mimetype.

    Unlike Werkzeug, a relative ``Location`` header is sent as given, as Flask does.
    """

    default_mimetype: str | None = "text/html"
    json_module: t.Any = json
    autocorrect_location_header = False

    def __init__(
        self,
        response: t.Any = None,
        status: int | str | HTTPStatus | None = None,
        headers: t.Any = None,
        mimetype: str | None = None,
        content_type: str | None = None,
        direct_passthrough: bool = False,
    ) -> None:
        # The headers refuse CR, LF and NUL in names and values (see _SafeHeaders).
        if not isinstance(headers, _SafeHeaders):
            headers = _SafeHeaders(headers)
        super().__init__(response, status, headers, mimetype, content_type, direct_passthrough)

    @classmethod
    def _from_bytes(
        cls,
        body: bytes,
        content_type: str,
        status_code: int = 200,
        extra_headers: t.Iterable[tuple[str, str]] = (),
    ) -> te.Self:
        """A response with ``body``, skipping the general-purpose constructor.

        Only valid for classes whose ``__init__`` is this one's; the app checks
        that once. The result is what ``cls(body, status_code, headers,
        content_type=...)`` builds, header order included.
        """
        rv = cls.__new__(cls)
        # An empty _SafeHeaders() is only its list; made without __init__.
        headers = _new_headers(_SafeHeaders)
        size = len(body)
        length = _LENGTHS[size] if size < 512 else str(size)
        if extra_headers:
            headers._list = [
                ("Content-Type", content_type),
                *extra_headers,
                ("Content-Length", length),
            ]
        else:
            headers._list = [("Content-Type", content_type), ("Content-Length", length)]
        rv.headers = headers
        if status_code == 200:
            rv._status = "200 OK"
            rv._status_code = 200
        else:
            rv.status_code = status_code
        rv.direct_passthrough = False
        rv._on_close = []
        rv.response = [body]
        return rv

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override, unused-ignore]  # property over attribute
        """``MAX_COOKIE_SIZE`` from the current app's config (4093 by default)."""
        app_ctx = _cv_app.get(None)
        if app_ctx is not None:
            return t.cast(int, app_ctx.app.config["MAX_COOKIE_SIZE"])
        return super().max_cookie_size
