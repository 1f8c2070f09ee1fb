"""JSON helpers that follow the current application's JSON provider.

Inside an application context each function delegates to ``current_app.json``
(see :mod:`phial.json.provider`), so an app's provider settings apply. Outside one,
:func:`dumps`, :func:`dump`, :func:`loads` and :func:`load` behave like the
standard library with :class:`~phial.json.provider.DefaultJSONProvider`'s
``default`` conversions. :func:`jsonify` always needs an app.
"""

from __future__ import annotations

import json as _json
import typing as t

from ..globals import _cv_app, current_app
from .provider import DefaultJSONProvider, JSONProvider, _default

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response

__all__ = ["dump", "dumps", "jsonify", "load", "loads"]


def _current_provider() -> JSONProvider | None:
    """The active app's provider, or ``None`` outside an application context."""
    ctx = _cv_app.get(None)
    if ctx is None:
        return None
    provider: JSONProvider = ctx.app.json
    return provider


def dumps(obj: t.Any, **kwargs: t.Any) -> str:
    """Serialize ``obj`` to a JSON string.

    With an active app this is ``current_app.json.dumps(obj, **kwargs)``. Without
    one it is :func:`json.dumps` with ``default`` set to the conversions of
    :class:`~phial.json.provider.DefaultJSONProvider` (dates, decimals, UUIDs,
    dataclasses, ``__html__`` objects); keys are not sorted in that case, as in
    Flask.

    :param obj: The data to serialize.
    :param kwargs: Options passed on to the provider or to :func:`json.dumps`.
    """
    provider = _current_provider()
    if provider is not None:
        return provider.dumps(obj, **kwargs)
    kwargs.setdefault("default", _default)
    return _json.dumps(obj, **kwargs)


def dump(obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
    """Serialize ``obj`` as JSON and write it to the text file ``fp``.

    Uses ``current_app.json.dump`` when an app is active, otherwise
    :func:`json.dump` with the default conversions described in :func:`dumps`.

    :param obj: The data to serialize.
    :param fp: A file opened for writing text.
    :param kwargs: Options passed on to the provider or to :func:`json.dump`.
    """
    provider = _current_provider()
    if provider is not None:
        provider.dump(obj, fp, **kwargs)
        return
    kwargs.setdefault("default", _default)
    _json.dump(obj, fp, **kwargs)


def loads(s: str | bytes, **kwargs: t.Any) -> t.Any:
    """Deserialize JSON from text or bytes.

    Uses ``current_app.json.loads`` when an app is active, otherwise
    :func:`json.loads`. Malformed input raises a :exc:`ValueError` subclass.

    :param s: Text, or bytes in UTF-8 (or UTF-16/32).
    :param kwargs: Options passed on to the provider or to :func:`json.loads`.
    """
    provider = _current_provider()
    if provider is not None:
        return provider.loads(s, **kwargs)
    return _json.loads(s, **kwargs)


def load(fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
    """Deserialize JSON read from the file ``fp`` (text or binary).

    Uses ``current_app.json.load`` when an app is active, otherwise
    :func:`json.load`.

    :param fp: A file opened for reading.
    :param kwargs: Options passed on to the provider or to :func:`json.load`.
    """
    provider = _current_provider()
    if provider is not None:
        return provider.load(fp, **kwargs)
    return _json.load(fp, **kwargs)


def jsonify(*args: t.Any, **kwargs: t.Any) -> Response:
    """Serialize the arguments as JSON and return a response with the
    ``application/json`` mimetype.

    This is ``current_app.json.response(*args, **kwargs)``, so it needs an active
    application context. A view may also simply return a dict or list, which is
    turned into a JSON response the same way.

    Pass either positional or keyword arguments, not both: no arguments give
    ``null``, one positional argument is serialized as-is, several become a list,
    and keyword arguments become an object. Output is compact unless the app is in
    debug mode (see :attr:`~phial.json.provider.DefaultJSONProvider.compact`).

    :raises RuntimeError: Outside an application context.
    :raises TypeError: If both positional and keyword arguments are given.
    """
    ctx = _cv_app.get(None)
    if ctx is None:
        # Raises the proxy's explanation of the missing context.
        return current_app.json.response(*args, **kwargs)
    provider = ctx.app.json
    if provider.__class__ is not DefaultJSONProvider or "response" in provider.__dict__:
        # A subclass or an instance may replace response(): it is called.
        return provider.response(*args, **kwargs)
    # Exactly the default provider: its response(), in fewer steps for the
    # usual case (compact output from an app that builds responses directly),
    # without repacking the arguments.
    if kwargs:
        if args:
            raise TypeError("app.json.response() takes either args or kwargs, not both")
        obj: t.Any = kwargs
    elif len(args) == 1:
        obj = args[0]
    else:
        obj = list(args) if args else None
    app: t.Any = provider._app_ref()
    try:
        # Set at a phial app's first request, as is ``_lane``; a stand-in app
        # (or none: the provider's app was collected) has neither.
        direct = app._text_content_type is not None
    except AttributeError:
        direct = False
    if direct:
        # With the lane on, ``debug`` is not overridden (see
        # phial._lane.LANE_STEPS): the config is read directly.
        plain = provider._plain_body(obj, app.config["DEBUG"] if app._lane else app.debug)
        if plain is not None:
            body, content_type = plain
            return app.response_class._from_bytes(body, content_type)  # type: ignore[no-any-return]  # app is Any
    # (Also when the compact encoder refused the value: the general one raises.)
    return provider._response_for(obj)
