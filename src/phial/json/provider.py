"""JSON providers: the objects behind ``app.json``.

An application owns one provider instance, ``app.json``, built from
``app.json_provider_class``. Everything in phial that reads or writes JSON
(:func:`phial.json.dumps`, :func:`~phial.json.jsonify`, ``Request.get_json``, the
tagged session serializer) goes through it, so swapping the provider changes JSON
handling everywhere at once.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import typing as t
import uuid
import weakref
from datetime import date

from werkzeug.http import http_date
from werkzeug.utils import get_content_type

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response

# The C accelerators json.JSONEncoder uses (None where CPython lacks them).
_c_make_encoder: t.Any = getattr(json.encoder, "c_make_encoder", None)
_c_encode_ascii: t.Any = getattr(json.encoder, "c_encode_basestring_ascii", None)
_c_encode_text: t.Any = getattr(json.encoder, "c_encode_basestring", None)
if _c_encode_ascii is None or _c_encode_text is None:  # pragma: no cover - CPython has them
    _c_make_encoder = None


class _JSONApp(t.Protocol):
    """What a provider needs from its application.

    Written as a protocol rather than naming the app class so a provider depends
    only on the two attributes it reads; any ``Phial`` (or stand-in) satisfies it.
    """

    @property
    def debug(self) -> bool: ...

    @property
    def response_class(self) -> type[Response]: ...


class JSONProvider:
    """A standard set of JSON operations for an application.

    Subclass this to plug in another JSON library, then set
    ``app.json_provider_class`` (before the app is created) or assign an instance to
    ``app.json``. A subclass must implement :meth:`dumps` and :meth:`loads`; the other
    methods are written in terms of those two.

    The provider keeps only a weak reference to the app, so an app and its provider
    do not form a reference cycle.

    :param app: The application this provider serves.
    """

    def __init__(self, app: _JSONApp) -> None:
        # A proxy rather than a plain weakref: subclasses written for Flask use
        # ``self._app.<attr>`` directly, and a proxy keeps that spelling working.
        self._app: _JSONApp = weakref.proxy(app)
        # The app itself, for the default provider's jsonify() fast path: an
        # attribute read through the proxy costs more than the read itself.
        self._app_ref = weakref.ref(app)

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to a JSON string.

        :param obj: The data to serialize.
        :param kwargs: Options for the underlying JSON library.
        """
        raise NotImplementedError

    def dump(self, obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
        """Serialize ``obj`` as JSON and write it to the text file ``fp``.

        :param obj: The data to serialize.
        :param fp: A file opened for writing text.
        :param kwargs: Options for the underlying JSON library.
        """
        fp.write(self.dumps(obj, **kwargs))

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Deserialize data as JSON from a string or bytes.

        :param s: Text or UTF-8 (or UTF-16/32) encoded bytes.
        :param kwargs: Options for the underlying JSON library.
        """
        raise NotImplementedError

    def load(self, fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
        """Deserialize data as JSON read from the file ``fp``.

        :param fp: A file opened for reading text or bytes.
        :param kwargs: Options for the underlying JSON library.
        """
        return self.loads(fp.read(), **kwargs)

    def _prepare_response_obj(self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]) -> t.Any:
        """Turn :meth:`response`'s arguments into the one object to serialize.

        No arguments give ``None``; one positional argument is used as-is; several
        become a list; keyword arguments become a dict. Mixing both is an error.
        """
        if args and kwargs:
            raise TypeError("app.json.response() takes either args or kwargs, not both")
        if kwargs:
            return kwargs
        if not args:
            return None
        if len(args) == 1:
            return args[0]
        return list(args)

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """Serialize the arguments as JSON and return a response with the
        ``application/json`` mimetype.

        :func:`phial.json.jsonify` calls this method on the current app's provider.
        Pass either positional or keyword arguments, not both: no arguments
        serialize ``None``, one positional argument is serialized as-is, several are
        serialized as a list, and keyword arguments as a dict.
        """
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps(obj), mimetype="application/json")


@functools.lru_cache(maxsize=16)
def _content_type(mimetype: str) -> str:
    """The Content-Type header for ``mimetype`` (charset added where it applies)."""
    return get_content_type(mimetype, "utf-8")


def _default(o: t.Any) -> t.Any:
    """Convert the extra types phial serializes to something :mod:`json` knows.

    Called by the JSON encoder for any object it cannot handle itself.
    """
    # ``datetime`` is a subclass of ``date``, so this covers both.
    if isinstance(o, date):
        return http_date(o)
    if isinstance(o, uuid.UUID):
        return str(o)
    # No Decimal exists before :mod:`decimal` is imported, which phial itself
    # does not need: looked up rather than imported, it costs no import time.
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(o, decimal.Decimal):
        return str(o)
    # ``is_dataclass`` is also true for the class itself, which ``asdict`` rejects.
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    html = getattr(o, "__html__", None)
    if html is not None:
        return str(html())
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


class DefaultJSONProvider(JSONProvider):
    """Serialize data with the standard library's :mod:`json`.

    Besides what :mod:`json` handles natively, :attr:`default` serializes
    :class:`datetime.date` and :class:`datetime.datetime` to RFC 822 strings
    (:func:`werkzeug.http.http_date`), :class:`decimal.Decimal` and
    :class:`uuid.UUID` to strings, dataclasses with :func:`dataclasses.asdict`, and
    objects with an ``__html__`` method (such as :class:`~markupsafe.Markup`) to the
    string it returns.

    The class attributes below may be changed on a subclass or on ``app.json``.
    """

    default: t.Callable[[t.Any], t.Any] = staticmethod(_default)
    """Called for objects :mod:`json` cannot serialize; returns a serializable
    value or raises :exc:`TypeError`."""

    ensure_ascii: bool = True
    """Escape non-ASCII characters as ``\\uXXXX`` sequences."""

    sort_keys: bool = True
    """Sort the keys of every dict in the output. Sorting keeps output stable
    across runs, which helps caching; it also means every key must be a string."""

    compact: bool | None = None
    """If ``True``, :meth:`response` writes compact output; if ``False``, indented
    output. ``None`` (the default) means compact unless ``app.debug`` is on."""

    mimetype: str = "application/json"
    """The mimetype of responses built by :meth:`response`."""

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to a JSON string.

        :attr:`default`, :attr:`ensure_ascii` and :attr:`sort_keys` are applied
        unless ``kwargs`` overrides them; other ``kwargs`` go to :func:`json.dumps`.
        """
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Deserialize JSON from text or bytes with :func:`json.loads`.

        Raises :exc:`json.JSONDecodeError` for malformed JSON and
        :exc:`UnicodeDecodeError` for bytes that are not valid text; both are
        :exc:`ValueError` subclasses, which ``Request.get_json`` relies on.
        """
        return json.loads(s, **kwargs)

    def _encoder(self) -> json.JSONEncoder:
        """An encoder for :meth:`response` with the current settings, made once
        per combination: ``json.dumps`` with options builds one per call."""
        args = self._dump_args()
        key = (self.default, self.ensure_ascii, self.sort_keys, "indent" in args)
        encoders: dict[tuple[t.Any, ...], json.JSONEncoder] = self.__dict__.setdefault(
            "_encoders", {}
        )
        encoder = encoders.get(key)
        if encoder is None:
            encoder = json.JSONEncoder(
                default=self.default,
                ensure_ascii=self.ensure_ascii,
                sort_keys=self.sort_keys,
                **args,
            )
            encoders[key] = encoder
        return encoder

    def _dump_args(self) -> dict[str, t.Any]:
        """Formatting options for :meth:`response`: indented or compact."""
        if self.compact is False or (self.compact is None and self._app.debug):
            return {"indent": 2}
        return {"separators": (",", ":")}

    def _plain_body(self, obj: t.Any, debug: bool) -> tuple[bytes, str] | None:
        """The body and Content-Type :meth:`response` would give ``obj``, made
        faster; ``None`` when it cannot be (indented output, a subclass, or a
        value only the general encoder handles: it then runs and raises its
        own errors).

        :class:`json.JSONEncoder` builds its C encoder on every call, which is
        most of the cost of encoding a small object; the encoder is built
        once per combination of settings here. It runs without circular
        reference tracking (a shared tracker would not be thread safe), so a
        circular value ends in RecursionError, and the general path then
        reports it as :func:`json.dumps` does.
        """
        compact = self.compact
        if compact is False or (compact is None and debug):
            return None
        # The settings the encoder was made with, compared by identity (what
        # the encoder was made from is what it uses; a setting changed on the
        # instance or its class, at any time, is another object), ``default``
        # also by equality (a method of a subclass is a new bound method per
        # read).
        cached = self._c_encoder
        if (
            cached is None
            or ((default := self.default) is not cached[0] and default != cached[0])
            or cached[1] is not self.ensure_ascii
            or cached[2] is not self.sort_keys
            or cached[3] is not self.mimetype
        ):
            cached = self._compact_encoder()
            if cached is None:
                return None  # no C encoder in this Python
        try:
            chunks = cached[4](obj, 0)
        except Exception:
            return None
        return f"{''.join(chunks)}\n".encode(), cached[5]

    #: What :meth:`_compact_encoder` made last (an instance attribute then).
    _c_encoder: tuple[t.Any, ...] | None = None

    def _compact_encoder(self) -> tuple[t.Any, ...] | None:
        """``(default, ensure_ascii, sort_keys, mimetype, C encoder,
        Content-Type)``: the encoder for compact
        output with the current settings, and the settings it was made from;
        made again when one of them is another object. ``None`` where Python
        has no C encoder."""
        if _c_make_encoder is None:  # pragma: no cover - CPython has one
            return None
        default = self.default
        ensure_ascii = self.ensure_ascii
        sort_keys = self.sort_keys
        mimetype = self.mimetype
        escape = _c_encode_ascii if ensure_ascii else _c_encode_text
        encoder = _c_make_encoder(
            None,
            default,
            escape,
            None,
            ":",
            ",",
            sort_keys,
            False,
            True,
        )
        cached = (
            default,
            ensure_ascii,
            sort_keys,
            mimetype,
            encoder,
            _content_type(mimetype),
        )
        self._c_encoder = cached
        return cached

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """Serialize the arguments as JSON and return a response with
        :attr:`mimetype`.

        Output is indented when :attr:`compact` is ``False``, or when it is ``None``
        and the app is in debug mode; otherwise it has no extra whitespace. The body
        ends with a newline, as curl-friendly output should. See
        :meth:`JSONProvider.response` for how the arguments are interpreted.
        """
        return self._response_for(self._prepare_response_obj(args, kwargs))

    def _response_for(self, obj: t.Any) -> Response:
        """The response :meth:`response` gives for the one object ``obj``."""
        app = self._app
        if type(self).dumps is DefaultJSONProvider.dumps:
            if getattr(app, "_text_content_type", None) is not None:
                plain = self._plain_body(obj, app.debug)
                if plain is not None:
                    return app.response_class._from_bytes(*plain)  # type: ignore[attr-defined, no-any-return]  # phial's Response
            body = self._encoder().encode(obj)
        else:
            body = self.dumps(obj, **self._dump_args())
        if getattr(app, "_text_content_type", None) is not None:
            # The app checked at its first request that its response class may
            # be built directly; this is what the constructor would produce.
            return app.response_class._from_bytes(  # type: ignore[attr-defined, no-any-return]  # phial's Response
                f"{body}\n".encode(), _content_type(self.mimetype)
            )
        return app.response_class(f"{body}\n", mimetype=self.mimetype)


# Keyword arguments the orjson fast path understands; anything else (``cls``,
# ``object_hook``, an unusual ``indent``...) falls back to the standard library so
# that every option accepted by DefaultJSONProvider keeps working.
_ORJSON_DUMPS_KWARGS = frozenset({"default", "ensure_ascii", "sort_keys", "indent", "separators"})
_COMPACT_SEPARATORS = (",", ":")
_INDENT_SEPARATORS = (",", ": ")


def _import_orjson() -> t.Any:
    """Import orjson, explaining how to install it when it is missing."""
    try:
        import orjson
    except ImportError as e:
        raise ImportError(
            "OrjsonProvider needs the 'orjson' package; install it with"
            " 'pip install phial[orjson]'."
        ) from e
    return orjson


class OrjsonProvider(DefaultJSONProvider):
    """Serialize data with `orjson <https://github.com/ijl/orjson>`_, a fast JSON
    library, falling back to :mod:`json` for anything orjson cannot do.

    Install it with the ``phial[orjson]`` extra and enable it with
    ``app.json = OrjsonProvider(app)`` or ``json_provider_class = OrjsonProvider``.
    This class is phial's own; Flask offers the same through the separate
    flask-orjson package.

    Output means the same as :class:`DefaultJSONProvider`'s: the same
    :attr:`~DefaultJSONProvider.default` conversions (dates become RFC 822
    strings, not orjson's ISO 8601), :attr:`~DefaultJSONProvider.sort_keys`,
    compact or two-space indented output, and the same :attr:`mimetype`.
    Differences, all in spelling and not in meaning: orjson always writes UTF-8
    rather than ``\\u`` escapes (:attr:`~DefaultJSONProvider.ensure_ascii` is not
    applied), writes ``NaN`` and infinities as ``null``, and serializes
    :class:`enum.Enum` members by value.

    :raises ImportError: If orjson is not installed.
    """

    def __init__(self, app: _JSONApp) -> None:
        super().__init__(app)
        # Import once here so a missing package fails at setup, not on a request.
        self._orjson = _import_orjson()

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to a JSON string with orjson.

        ``default``, ``sort_keys``, ``indent=2`` and compact ``separators`` map to
        orjson options; other options, and values orjson refuses (such as integers
        wider than 64 bits), are handled by :meth:`DefaultJSONProvider.dumps`.
        """
        options = self._options(kwargs)
        if options is None:
            return super().dumps(obj, **kwargs)
        orjson = self._orjson
        try:
            data: bytes = orjson.dumps(
                obj, default=kwargs.get("default", self.default), option=options
            )
        except orjson.JSONEncodeError:
            # Retrying with the standard library both covers orjson's gaps and makes
            # a real failure raise the same TypeError DefaultJSONProvider would.
            return super().dumps(obj, **kwargs)
        return data.decode()

    def _options(self, kwargs: dict[str, t.Any]) -> int | None:
        """The orjson option flags for ``kwargs``, or ``None`` if orjson cannot
        honour them."""
        if not kwargs.keys() <= _ORJSON_DUMPS_KWARGS:
            return None
        orjson = self._orjson
        # Dates and dataclasses go through ``default`` so they come out exactly as
        # DefaultJSONProvider writes them; non-str keys mirror json's coercion of
        # int/float/bool/None keys.
        options: int = (
            orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_DATACLASS
            | orjson.OPT_NON_STR_KEYS
        )
        if kwargs.get("sort_keys", self.sort_keys):
            options |= orjson.OPT_SORT_KEYS
        indent = kwargs.get("indent")
        separators = kwargs.get("separators")
        separators = None if separators is None else tuple(separators)
        if indent is None:
            # orjson's only unindented style is json's compact one.
            if separators not in (None, _COMPACT_SEPARATORS):
                return None
        elif indent == 2 and separators in (None, _INDENT_SEPARATORS):
            options |= orjson.OPT_INDENT_2
        else:
            return None
        return options

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Deserialize JSON from text or bytes with orjson.

        Options in ``kwargs`` (such as ``object_hook``) are not supported by orjson,
        so they send the call to :func:`json.loads`, as do bytes orjson cannot read
        (UTF-16/32 or a byte-order mark). Errors are the same :exc:`ValueError`
        subclasses :class:`DefaultJSONProvider` raises.
        """
        if kwargs:
            return super().loads(s, **kwargs)
        try:
            return self._orjson.loads(s)
        except self._orjson.JSONDecodeError:
            if isinstance(s, str):
                raise
            # json.loads also accepts UTF-16/32 and a UTF-8 BOM, which orjson
            # rejects; on bad input this raises the same error DefaultJSONProvider
            # would, so only the failure path pays for the second attempt.
            return super().loads(s)
