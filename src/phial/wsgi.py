"""The WSGI driver: push the contexts, run the pipeline, hand over the body.

It only orders the steps; what each step does lives in :mod:`phial.app`.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

from werkzeug.wrappers import Response as BaseResponse

from ._async import drive
from ._lane import (
    LANE_CLOSED,
    LANE_HOOKED,
    LANE_OPEN,
    LANE_STATUSES,
    plain_classes,
    sendable_as_is,
)
from ._lane import SPECIAL_METHODS as _SPECIAL_METHODS
from ._routing import MATCHED
from .ctx import RequestContext
from .globals import _cv_app
from .signals import _lifecycle_watch
from .wrappers import _SafeHeaders

# The function itself: looked up on the class it costs more on every request.
_open_context = RequestContext._open

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .app import Phial
    from .wrappers import Response


def serve_wsgi(
    app: Phial, environ: WSGIEnvironment, start_response: StartResponse
) -> cabc.Iterable[bytes]:
    """The WSGI application: handle one request with ``app``.

    It is :attr:`phial.app.Phial.wsgi_app`; wrap that attribute to add WSGI
    middleware.
    """
    classes = app._lane_classes  # what the lane was decided for (see Phial._decide_lane)
    if not app._lane or classes[0] is not app.request_class or classes[1] is not app.response_class:
        return _serve_general(app, environ, start_response)
    # The fast lane (see phial._lane): the general steps' effect, with the
    # view called directly when nothing else observes the request.
    quiet = app._lane_hookless and not _lifecycle_watch.heard  # app._lane_quiet(), inline
    ctx = _open_context(app, environ, quiet)
    error: BaseException | None = None
    try:
        try:
            request = ctx.request
            known = app._routes.match_known(request)
            if known is not MATCHED:
                app._match_request(ctx, known)
            # A quiet app's lane is closed only by HEAD and OPTIONS (see _lane_entry).
            if quiet and environ.get("REQUEST_METHOD") not in _SPECIAL_METHODS:
                entry = LANE_OPEN
            else:
                entry = app._lane_entry(ctx)
            if entry is LANE_CLOSED or (
                # before_request functions run before a routing error is raised.
                entry is LANE_HOOKED and request.routing_exception is not None
            ):
                response = drive(app._full_dispatch(ctx, False))
            elif request.routing_exception is not None:
                output = app._lane_error_output(ctx, request.routing_exception)
                if output is None:
                    response = drive(app._full_dispatch(ctx, False))
                else:
                    start_response(LANE_STATUSES[output[0]], output[1])
                    return [output[2]]
            else:
                try:
                    # A value from a before_request function is the response
                    # instead of the view's, as in the general steps.
                    rv = drive(app._preprocess(ctx, False)) if entry is LANE_HOOKED else None
                    if rv is None:
                        view = app.view_functions[request.url_rule.endpoint]  # type: ignore[union-attr]  # matched
                        sync_view = app._sync_wrappers.get(view) or app.ensure_sync(view)
                        # (Read after the preprocessors, which may change them.)
                        view_args = request.view_args
                        # (A call without ** when there are no arguments is cheaper.)
                        rv = sync_view(**view_args) if view_args else sync_view()
                except Exception as e:
                    # The general steps handle the error and finish the request.
                    rv = drive(app._handle_user_exception(ctx, e, False))
                    response = drive(app._finalize(ctx, rv, False))
                else:
                    result = app._lane_output(ctx, rv, quiet)
                    if result is None:
                        response = drive(app._finalize(ctx, rv, False))
                    elif isinstance(result, tuple):
                        start_response(LANE_STATUSES[result[0]], result[1])
                        return [result[2]]
                    else:
                        response = result
        except Exception as e:
            error = e
            response = app.handle_exception(e)
        except BaseException as e:
            error = e
            raise
        return _emit_response(app, response, environ, start_response)
    finally:
        if "werkzeug.debug.preserve_context" in environ:
            _preserve_context(environ, ctx)
        # should_ignore_error is not overridden when the lane is allowed.
        if not ctx._exit_plain(quiet):
            ctx.pop(error)


def _serve_general(
    app: Phial, environ: WSGIEnvironment, start_response: StartResponse
) -> cabc.Iterable[bytes]:
    """:func:`serve_wsgi` through the general steps only."""
    if not app._got_first_request or app._classes_changed():
        if app._got_first_request:
            app._decide_lane()
        else:
            app._finish_setup()
        if app._lane:
            return serve_wsgi(app, environ, start_response)
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
        return _emit_response(app, response, environ, start_response)
    finally:
        _preserve_context(environ, ctx)
        if error is not None and app.should_ignore_error(error):
            error = None
        ctx.pop(error)


def _preserve_context(environ: WSGIEnvironment, ctx: RequestContext) -> None:
    preserve = environ.get("werkzeug.debug.preserve_context")
    if preserve is not None:
        # The test client re-pushes these after the request (``with client:``).
        preserve(_cv_app.get())
        preserve(ctx)


def _emit_response(
    app: Phial, response: Response, environ: WSGIEnvironment, start_response: StartResponse
) -> cabc.Iterable[bytes]:
    body = response.response
    if (
        body.__class__ is list
        and app._lane  # the response class keeps Werkzeug's emission (see _lane_allowed)
        # (The class the lane checked at the start of this request: with the
        # lane on, the driver compared it with app.response_class already.)
        and response.__class__ is app._lane_classes[1]
        and len(body) == 1
        and body[0].__class__ is bytes
        and response.headers.__class__ is _SafeHeaders
        and sendable_as_is(response.headers._list)
        and not response.direct_passthrough
        and not response._on_close
        # (The property read once: each read runs Python code.)
        and (status := response.status_code) >= 200
        and status not in (204, 304, 412)
        and environ.get("REQUEST_METHOD") != "HEAD"
    ):
        # What _emit checks, in the order that costs least for phial's own
        # responses.
        start_response(response.status, list(response.headers._list))
        return body
    if hasattr(body, "__aiter__"):
        response.response = _iterate_async(app, body)
    return _emit(response, environ, start_response)


def _emit(
    response: BaseResponse, environ: WSGIEnvironment, start_response: StartResponse
) -> cabc.Iterable[bytes]:
    """Send ``response``; a finished single-chunk body goes out directly.

    For such a body Werkzeug's emission only copies the headers and wraps the
    body; skipping that is the same output. Everything else (HEAD, 1xx, 204,
    304, 412, streams, close callbacks, custom response classes, Location
    headers) goes through Werkzeug, which has special cases for them.
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
        and response.__class__ in plain_classes(response.__class__)  # type: ignore[arg-type]  # classes hash
        and sendable_as_is(headers := response.headers.to_wsgi_list())
    ):
        start_response(response.status, headers)
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
