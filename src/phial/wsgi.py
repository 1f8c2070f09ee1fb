"""The WSGI driver: push the contexts, run the pipeline, hand over the body.

It only orders the steps; what each step does lives in :mod:`phial.app`.
"""

from __future__ import annotations

import collections.abc as cabc
import functools
import typing as t

from werkzeug.wrappers import Response as BaseResponse

from ._async import drive
from .globals import _cv_app

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .app import Phial


def serve_wsgi(
    app: Phial, environ: WSGIEnvironment, start_response: StartResponse
) -> cabc.Iterable[bytes]:
    """Handle one WSGI request with ``app``."""
    if not app._got_first_request:
        app._finish_setup()
    ctx = app.request_context(environ)
    error: BaseException | None = None
    try:
        try:
            ctx.push()
            response = drive(app._full_dispatch(ctx, False))
        except Exception as e:
            error = e
            response = app.handle_exception(e)
        except BaseException as e:
            error = e
            raise
        if hasattr(response.response, "__aiter__"):
            response.response = _iterate_async(app, response.response)
        return _emit(response, environ, start_response)
    finally:
        preserve = environ.get("werkzeug.debug.preserve_context")
        if preserve is not None:
            # The test client re-pushes these after the request (``with client:``).
            preserve(_cv_app.get())
            preserve(ctx)
        if error is not None and app.should_ignore_error(error):
            error = None
        ctx.pop(error)


#: Werkzeug's own emission methods; a response class that keeps all of them
#: may be emitted directly.
_EMIT_METHODS = ("__call__", "get_wsgi_response", "get_wsgi_headers", "get_app_iter")


def _plain_emission(cls: type[BaseResponse]) -> bool:
    return all(getattr(cls, name) is getattr(BaseResponse, name) for name in _EMIT_METHODS)


@functools.lru_cache(maxsize=32)
def _plain_classes(cls: type[BaseResponse]) -> frozenset[type[BaseResponse]]:
    """``{cls}`` when ``cls`` keeps Werkzeug's emission, else empty; memoised
    because response classes are few and fixed."""
    return frozenset((cls,)) if _plain_emission(cls) else frozenset()


def _emit(
    response: BaseResponse, environ: WSGIEnvironment, start_response: StartResponse
) -> cabc.Iterable[bytes]:
    """Send ``response``; a finished single-chunk body goes out directly.

    For such a body Werkzeug's emission only copies the headers and wraps the
    body; skipping that is the same output. Everything else (HEAD, 1xx, 204,
    304, 412, streams, close callbacks, custom response classes) goes through
    Werkzeug, which has special cases for them.
    """
    body = response.response
    status = response.status_code
    if (
        isinstance(body, list)
        and len(body) == 1
        and body[0].__class__ is bytes
        and not response.direct_passthrough
        and not response._on_close
        and status >= 200
        and status not in (204, 304, 412)
        and environ.get("REQUEST_METHOD") != "HEAD"
        and response.__class__ in _plain_classes(response.__class__)  # type: ignore[arg-type]  # classes hash
        and "Content-Length" in response.headers
    ):
        start_response(response.status, response.headers.to_wsgi_list())
        return body
    return response(environ, start_response)


def _iterate_async(app: Phial, body: t.Any) -> cabc.Iterator[t.Any]:
    """Iterate an async iterator body on the thread's persistent event loop."""
    run = app._loops.run
    iterator = body.__aiter__()
    try:
        while True:
            try:
                yield run(iterator.__anext__())
            except StopAsyncIteration:
                return
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            run(aclose())
