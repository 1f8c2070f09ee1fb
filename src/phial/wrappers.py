"""phial's Request and Response: Werkzeug's, plus what the framework adds.

The request knows the rule it matched and takes its body limits from the
current app's config; JSON errors become 400 or 415 instead of a 500.
"""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import EnvironHeaders, Headers
from werkzeug.exceptions import BadRequest, HTTPException, UnsupportedMediaType
from werkzeug.wrappers import Request as RequestBase
from werkzeug.wrappers import Response as ResponseBase

from . import json
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


class _RequestJSON:
    """The ``json_module`` requests parse with: the current app's provider.

    Python's decoder raises RecursionError for deeply nested input; that is bad
    input like any other, so it becomes a ValueError (and so a 400).
    """

    __slots__ = ()

    @staticmethod
    def loads(s: str | bytes, **kwargs: t.Any) -> t.Any:
        try:
            return json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nesting is too deep.") from None

    @staticmethod
    def dumps(obj: t.Any, **kwargs: t.Any) -> str:
        return json.dumps(obj, **kwargs)


class Request(RequestBase):
    """The request object: Werkzeug's :class:`~werkzeug.wrappers.Request` plus
    routing information and config-driven body limits."""

    json_module: t.Any = _RequestJSON()

    method = _FromEnviron(lambda e: str(e.get("REQUEST_METHOD", "GET")).upper())
    scheme = _FromEnviron(lambda e: str(e.get("wsgi.url_scheme", "http")))
    server = _FromEnviron(_server_address)
    root_path = _FromEnviron(lambda e: _decode_wsgi_str(e.get("SCRIPT_NAME") or "").rstrip("/"))
    path = _FromEnviron(lambda e: "/" + _decode_wsgi_str(e.get("PATH_INFO") or "").lstrip("/"))
    query_string = _FromEnviron(lambda e: str(e.get("QUERY_STRING", "")).encode("latin1"))
    headers = _FromEnviron(EnvironHeaders)
    remote_addr = _FromEnviron(lambda e: e.get("REMOTE_ADDR"))

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

    #: The rule that matched, or ``None`` before matching / on failure.
    url_rule: Rule | None = None
    #: The values the rule captured, or ``None``.
    view_args: dict[str, t.Any] | None = None
    #: The routing error (404, 405, redirect) if matching failed; raised at dispatch.
    routing_exception: HTTPException | None = None

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

    def close(self) -> None:
        """Close uploaded files, if the form was parsed at all."""
        if "files" in self.__dict__:
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


class Response(ResponseBase):
    """The response object: Werkzeug's, with ``text/html`` as default mimetype.

    Unlike Werkzeug, a relative ``Location`` header is sent as given, as Flask does.
    """

    default_mimetype: str | None = "text/html"
    json_module: t.Any = json
    autocorrect_location_header = False

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
        headers = Headers()
        headers._list = [
            ("Content-Type", content_type),
            *extra_headers,
            ("Content-Length", str(len(body))),
        ]
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
