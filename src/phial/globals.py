"""The context variables behind phial's proxies, and the proxies themselves.

These ContextVars are the only module-level mutable state in phial. Framework code
reads them through :func:`_cv_app` / :func:`_cv_request` or receives the context
explicitly; the proxies below are for users and for Flask extensions.
"""

from __future__ import annotations

import typing as t
from contextvars import ContextVar

from werkzeug.local import LocalProxy

if t.TYPE_CHECKING:
    from .app import Phial
    from .ctx import AppContext, RequestContext, _AppCtxGlobals
    from .sessions import SessionMixin
    from .websocket import Websocket
    from .wrappers import Request

_no_app_msg = """\
Working outside of application context.

This typically means that you attempted to use functionality that needed
the current application. To solve this, set up an application context
with app.app_context(). See the documentation for more information.\
"""
_no_req_msg = """\
Working outside of request context.

This typically means that you attempted to use functionality that needed
an active HTTP request. Consult the documentation on testing for
information about how to avoid this problem.\
"""

_cv_app: ContextVar[AppContext] = ContextVar("phial.app_ctx")
_cv_request: ContextVar[RequestContext] = ContextVar("phial.request_ctx")
_cv_websocket: ContextVar[Websocket] = ContextVar("phial.websocket")

app_ctx: AppContext = LocalProxy(  # type: ignore[assignment]  # a proxy stands in for the object
    _cv_app, unbound_message=_no_app_msg
)
current_app: Phial = LocalProxy(  # type: ignore[assignment]  # a proxy stands in for the object
    _cv_app, "app", unbound_message=_no_app_msg
)
g: _AppCtxGlobals = LocalProxy(  # type: ignore[assignment]  # a proxy stands in for the object
    _cv_app, "g", unbound_message=_no_app_msg
)
request_ctx: RequestContext = LocalProxy(  # type: ignore[assignment]  # a proxy stands in
    _cv_request, unbound_message=_no_req_msg
)
request: Request = LocalProxy(  # type: ignore[assignment]  # a proxy stands in for the object
    _cv_request, "request", unbound_message=_no_req_msg
)
session: SessionMixin = LocalProxy(  # type: ignore[assignment, unused-ignore]  # a proxy stands in
    _cv_request, "session", unbound_message=_no_req_msg
)

_no_ws_msg = """\
Working outside of a websocket connection.

The websocket proxy is only available in views registered with
@app.websocket(rule), served over ASGI.\
"""
websocket: Websocket = LocalProxy(  # type: ignore[assignment]  # a proxy stands in for the object
    _cv_websocket, unbound_message=_no_ws_msg
)
