"""Functions views call: URLs, aborting, redirects, responses, streaming, files."""

from __future__ import annotations

import os
import typing as t
import unicodedata
from datetime import timedelta
from functools import update_wrapper
from urllib.parse import quote

import werkzeug.utils
from werkzeug.exceptions import NotFound
from werkzeug.exceptions import abort as _wz_abort
from werkzeug.security import safe_join as _wz_safe_join
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

    The mimetype is guessed from ``download_name`` or the path unless given.
    ``Content-Disposition`` is ``attachment`` or ``inline`` with the file name;
    non-ASCII names are sent as ``filename*=UTF-8''...``. With ``conditional``
    the response honours ``If-None-Match``/``If-Modified-Since`` (304) and a
    single byte range (206; a range it cannot serve is 416). ``etag`` may be
    ``False`` or a string to use; ``max_age`` (seconds, or a callable taking the
    file name) defaults to :meth:`~phial.Phial.get_send_file_max_age`; without
    one, ``Cache-Control: no-cache`` asks browsers to revalidate.
    ``USE_X_SENDFILE`` hands sending to the server with ``X-Sendfile``.

    Unlike Flask, a file name with control characters (CR, LF, NUL...) does
    not fail with a 500: they are dropped from ``filename`` and percent-encoded
    in ``filename*``, so no raw control character reaches the header.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # proxy method
    if max_age is None:
        max_age = app.get_send_file_max_age
    name = download_name
    if name is None and isinstance(path_or_file, (str, os.PathLike)):
        name = os.path.basename(os.fspath(path_or_file))
    unsafe_name = name is not None and _has_control_chars(name)
    rv = werkzeug.utils.send_file(
        path_or_file,
        request_ctx.request.environ,
        mimetype=mimetype,
        as_attachment=as_attachment,
        # Werkzeug would put the control characters in the header (or fail on
        # CR/LF); give it a clean name and write the header below instead.
        download_name=_strip_control_chars(name) if unsafe_name else download_name,  # type: ignore[arg-type]  # name is set when unsafe
        conditional=conditional,
        etag=etag,
        last_modified=last_modified,
        max_age=max_age,
        use_x_sendfile=app.config["USE_X_SENDFILE"],
        response_class=app.response_class,
        _root_path=app.root_path,
    )
    if unsafe_name:
        _set_content_disposition(rv, as_attachment, t.cast(str, name))
    return t.cast("Response", rv)


def _has_control_chars(name: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in name)


def _strip_control_chars(name: str) -> str:
    return "".join(c for c in name if ord(c) >= 32 and ord(c) != 127)


def _set_content_disposition(rv: BaseResponse, as_attachment: bool, name: str) -> None:
    """``Content-Disposition`` for a name with control characters: an ASCII
    ``filename`` without them and the exact name percent-encoded in ``filename*``."""
    fallback = (
        unicodedata.normalize("NFKD", _strip_control_chars(name))
        .encode("ascii", "ignore")
        .decode("ascii")
    )
    quoted = quote(name, safe="!#$&+^`|~")
    rv.headers.set(
        "Content-Disposition",
        "attachment" if as_attachment else "inline",
        **{"filename": fallback, "filename*": f"UTF-8''{quoted}"},
    )


# Names Windows maps to devices in any folder, with any extension; refused on
# every platform so an app behaves the same wherever it is deployed.
_WINDOWS_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{n}" for port in ("COM", "LPT") for n in "123456789"}
)


def safe_join(directory: str, *pathnames: str) -> str | None:
    """Join ``pathnames`` onto ``directory``, or return ``None`` if the result
    could leave it.

    Refuses what :func:`werkzeug.security.safe_join` refuses (``..`` above the
    folder, absolute paths) and, on every platform, backslashes, NUL bytes and
    Windows device names (``CON``, ``NUL``, ``COM1``... with or without an
    extension). Flask 3.1 has no public ``safe_join``; phial keeps one here.
    """
    for pathname in pathnames:
        if "\\" in pathname or "\x00" in pathname:
            return None
        for part in pathname.split("/"):
            if part.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_DEVICE_NAMES:
                return None
    return _wz_safe_join(directory, *pathnames)


def send_from_directory(
    directory: os.PathLike[str] | str,
    path: os.PathLike[str] | str,
    **kwargs: t.Any,
) -> Response:
    """Send ``path`` from inside ``directory`` (relative to the app's root) with
    :func:`send_file`; ``kwargs`` are its options.

    ``directory`` must come from the app, never from the client; ``path`` may.
    A path that would leave the folder (see :func:`safe_join`) or names no file
    is a 404.
    """
    joined = safe_join(os.fspath(directory), os.fspath(path))
    if joined is None:
        raise NotFound()
    full = os.path.join(current_app.root_path, joined)
    if not os.path.isfile(full):
        raise NotFound()
    return send_file(full, **kwargs)


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


def _max_age_from_config(config: t.Mapping[str, t.Any]) -> int | None:
    """``SEND_FILE_MAX_AGE_DEFAULT`` in seconds (``None``: the browser revalidates)."""
    value = config["SEND_FILE_MAX_AGE_DEFAULT"]
    if value is None:
        return None
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value)


def _send_static_file(scaffold: t.Any, filename: str) -> Response:
    """``send_static_file`` of the app and of blueprints: ``filename`` from the
    object's static folder, with its own ``get_send_file_max_age``."""
    if not scaffold.has_static_folder:
        raise RuntimeError("'static_folder' must be set to serve static_files.")
    max_age = scaffold.get_send_file_max_age(filename)
    return send_from_directory(t.cast(str, scaffold.static_folder), filename, max_age=max_age)
