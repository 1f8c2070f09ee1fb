"""The WSGI driver: push the contexts, run the pipeline, hand over the body.

It only orders the steps; what each step does lives in :mod:`phial.app`.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

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
        return response(environ, start_response)
    finally:
        preserve = environ.get("werkzeug.debug.preserve_context")
        if preserve is not None:
            # The test client re-pushes these after the request (``with client:``).
            preserve(_cv_app.get())
            preserve(ctx)
        if error is not None and app.should_ignore_error(error):
            error = None
        ctx.pop(error)


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
