"""Functions views call: URLs, aborting, redirects, responses, streaming, files."""

from __future__ import annotations

import os
import typing as t
from functools import update_wrapper

import werkzeug.utils
from werkzeug.exceptions import abort as _wz_abort
from werkzeug.utils import redirect as _wz_redirect

from .globals import _cv_app, _cv_request, current_app, request_ctx
from .signals import _send, message_flashed

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response as BaseResponse

    from .wrappers import Response


def url_for(
    endpoint: str,
    *,
    _anchor: str | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    _external: bool | None = None,
    **values: t.Any,
) -> str:
    """Build a URL for ``endpoint`` with the current app (see :meth:`Phial.url_for`).

    ``.name`` is relative to the current blueprint. ``_external`` makes the URL
    absolute, ``_scheme`` picks its scheme, ``_anchor`` adds a fragment and
    ``_method`` picks among rules for different methods. Unknown values go to
    the query string.
    """
    return current_app.url_for(
        endpoint,
        _anchor=_anchor,
        _method=_method,
        _scheme=_scheme,
        _external=_external,
        **values,
    )


def abort(code: int | BaseResponse, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
    """Raise the HTTP exception for ``code`` (or wrapping a response).

    Uses the current app's :attr:`~Phial.aborter` when an app is active.
    """
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        app_ctx.app.aborter(code, *args, **kwargs)
    _wz_abort(code, *args, **kwargs)


def redirect(
    location: str, code: int = 302, Response: type[BaseResponse] | None = None
) -> BaseResponse:
    """A response redirecting to ``location`` (302 by default).

    With an active app and no ``Response`` class given, uses :meth:`Phial.redirect`.
    """
    app_ctx = _cv_app.get(None)
    if app_ctx is not None and Response is None:
        return t.cast("BaseResponse", app_ctx.app.redirect(location, code=code))
    return _wz_redirect(location, code=code, Response=Response)


def make_response(*args: t.Any) -> Response:
    """Turn view-style return values into a response object.

    No arguments gives an empty response; one argument or several (as a tuple)
    follow the rules of :meth:`Phial.make_response`.
    """
    if not args:
        return current_app.response_class()
    if len(args) == 1:
        args = args[0]
    return current_app.make_response(args)


G = t.TypeVar("G", bound=t.Iterator[t.Any])


def stream_with_context(
    generator_or_function: t.Iterator[t.AnyStr] | t.Callable[..., t.Iterator[t.AnyStr]],
) -> t.Iterator[t.AnyStr]:
    """Keep the request context pushed while a streamed response is produced.

    Wrap a generator (or decorate a generator function) returned from a view so
    that it can still use ``request`` and ``session`` as it yields.
    """
    try:
        gen = iter(generator_or_function)  # type: ignore[arg-type]  # a function raises here
    except TypeError:
        func = t.cast(t.Callable[..., t.Iterator[t.AnyStr]], generator_or_function)

        def decorator(*args: t.Any, **kwargs: t.Any) -> t.Iterator[t.AnyStr]:
            return stream_with_context(func(*args, **kwargs))

        return update_wrapper(decorator, func)  # type: ignore[return-value]  # a decorator

    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'stream_with_context' can only be used when a request context is active,"
            " such as in a view function."
        )

    def generator() -> t.Iterator[t.AnyStr | None]:
        with ctx:
            yield None  # primed below, so the context is captured now
            try:
                yield from gen
            finally:
                close = getattr(gen, "close", None)
                if close is not None:
                    close()

    wrapped = generator()
    next(wrapped)
    return wrapped  # type: ignore[return-value]  # the priming None is consumed


def get_send_file_max_age(filename: str | None) -> int | None:
    """The current app's ``max_age`` for ``filename`` (``SEND_FILE_MAX_AGE_DEFAULT``)."""
    return current_app.get_send_file_max_age(filename)


def send_file(
    path_or_file: os.PathLike[str] | str | t.IO[bytes],
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: t.Any = None,
    max_age: int | t.Callable[[str | None], int | None] | None = None,
) -> Response:
    """Send a file (a path, relative to the app's root, or a binary file object).

    Handles ``Content-Disposition`` (non-ASCII names as ``filename*``),
    conditional requests (ETag, Last-Modified, 304), byte ranges (206, 416),
    ``USE_X_SENDFILE`` and cache max-age (``SEND_FILE_MAX_AGE_DEFAULT``).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # proxy method
    return werkzeug.utils.send_file(  # type: ignore[return-value]  # response_class is ours
        path_or_file,
        request_ctx.request.environ,
        mimetype=mimetype,
        as_attachment=as_attachment,
        download_name=download_name,
        conditional=conditional,
        etag=etag,
        last_modified=last_modified,
        max_age=max_age if max_age is not None else app.get_send_file_max_age,
        use_x_sendfile=app.config["USE_X_SENDFILE"],
        response_class=app.response_class,
        _root_path=app.root_path,
    )


def send_from_directory(
    directory: os.PathLike[str] | str,
    path: os.PathLike[str] | str,
    **kwargs: t.Any,
) -> Response:
    """Send ``path`` from inside ``directory``; anything that would leave the
    folder (``..``, absolute paths, backslashes, NUL) is a 404."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # proxy method
    kwargs.setdefault("max_age", app.get_send_file_max_age)
    kwargs.setdefault("use_x_sendfile", app.config["USE_X_SENDFILE"])
    return werkzeug.utils.send_from_directory(  # type: ignore[return-value]  # ours
        directory,
        path,
        request_ctx.request.environ,
        response_class=app.response_class,
        _root_path=app.root_path,
        **kwargs,
    )


def flash(message: str, category: str = "message") -> None:
    """Store ``message`` in the session for the next request to show.

    Messages are kept, in order, as ``(category, message)`` pairs under the
    session's ``_flashes`` key until :func:`get_flashed_messages` takes them.
    The :data:`~phial.signals.message_flashed` signal is sent with ``message``
    and ``category``. Raises RuntimeError outside a request or without a
    secret key.
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'flash' can only be used when a request context is active, such as in a view function."
        )
    session = ctx.session
    flashes = session.get("_flashes", [])
    flashes.append((category, message))
    # Assigned back, not only appended: that is what marks the session modified.
    session["_flashes"] = flashes
    app = ctx.app
    _send(
        message_flashed,
        app,
        _async_wrapper=app.ensure_sync,
        message=message,
        category=category,
    )


def get_flashed_messages(
    with_categories: bool = False, category_filter: t.Iterable[str] = ()
) -> list[str] | list[tuple[str, str]]:
    """Take the flashed messages out of the session and return them.

    The first call in a request removes them from the session; later calls in
    the same request return the same messages again. ``with_categories=True``
    returns ``(category, message)`` pairs; ``category_filter`` keeps only the
    messages of those categories. Outside a request context this raises
    RuntimeError.
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'get_flashed_messages' can only be used when a request context is active,"
            " such as in a view function or template."
        )
    flashes = ctx.flashes
    if flashes is None:
        session = ctx.session
        flashes = session.pop("_flashes") if "_flashes" in session else []
        ctx.flashes = flashes
    if category_filter:
        wanted = set(category_filter)
        flashes = [f for f in flashes if f[0] in wanted]
    if with_categories:
        return flashes
    return [f[1] for f in flashes]


def get_template_attribute(template_name: str, attribute: str) -> t.Any:
    """Load a template of the current app and return one of its exported names.

    Useful to call a macro from Python: ``get_template_attribute("_m.html", "hello")("World")``.

    :param template_name: the template to load.
    :param attribute: the macro or variable the template defines.
    """
    return getattr(current_app.jinja_env.get_template(template_name).module, attribute)
