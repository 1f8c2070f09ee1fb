"""The context variables behind phial's proxies, and the proxies themselves.

These ContextVars are the only module-level mutable state in phial. Framework code
reads them through :func:`_cv_app` / :func:`_cv_request` or receives the context
explicitly; the proxies below are for users and for Flask extensions.

Modules that call the variables' methods on every request bind them by
assignment (``_cv_app = globals._cv_app``) instead of ``from .globals import
_cv_app``: for a name bound by an import, CPython 3.11's compiler assumes a
module and compiles ``_cv_app.get(...)`` to an attribute load, which makes a
new bound method on each call (about 0.4k instructions) instead of calling
the method directly.
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

#: LocalProxy's own attributes, looked up on the proxy itself.
_PROXY_OWN = frozenset(("_get_current_object", "_LocalProxy__wrapped"))


def _proxy(var: ContextVar[t.Any], name: str | None, unbound_message: str) -> t.Any:
    """A :class:`~werkzeug.local.LocalProxy` for ``var`` (``name`` of its
    value, if given) whose attribute and item access are direct.

    Werkzeug's proxy reaches the object through its lookup machinery, after
    the normal attribute lookup on the proxy has failed: about 1 µs for
    ``request.args`` or ``session["n"]``, several times the access itself.
    This subclass answers plain attribute names (read, set and deleted) and
    ``[]`` itself; dunder names, the proxy's own attributes and every other
    operator keep Werkzeug's behaviour (it stays a ``LocalProxy`` for
    ``isinstance``).
    """
    get = var.get

    def current() -> t.Any:
        try:
            obj = get()
        except LookupError:
            raise RuntimeError(unbound_message) from None
        return obj if name is None else getattr(obj, name)

    class _ContextProxy(LocalProxy):  # type: ignore[type-arg]  # generic only in stubs
        __slots__ = ()

        def __getattribute__(self, attr: str) -> t.Any:
            if attr[0] == "_" and (attr[:2] == "__" or attr in _PROXY_OWN):
                return object.__getattribute__(self, attr)
            return getattr(current(), attr)

        def __setattr__(self, attr: str, value: t.Any) -> None:
            if attr[0] == "_" and (attr[:2] == "__" or attr in _PROXY_OWN):
                super().__setattr__(attr, value)
            else:
                setattr(current(), attr, value)

        def __delattr__(self, attr: str) -> None:
            if attr[0] == "_" and (attr[:2] == "__" or attr in _PROXY_OWN):
                super().__delattr__(attr)
            else:
                delattr(current(), attr)

        def __getitem__(self, key: t.Any) -> t.Any:
            return current()[key]

        def __setitem__(self, key: t.Any, value: t.Any) -> None:
            current()[key] = value

    return _ContextProxy(var, name, unbound_message=unbound_message)


app_ctx: AppContext = _proxy(_cv_app, None, _no_app_msg)
current_app: Phial = _proxy(_cv_app, "app", _no_app_msg)
g: _AppCtxGlobals = _proxy(_cv_app, "g", _no_app_msg)
request_ctx: RequestContext = _proxy(_cv_request, None, _no_req_msg)
request: Request = _proxy(_cv_request, "request", _no_req_msg)
session: SessionMixin = _proxy(_cv_request, "session", _no_req_msg)

_no_ws_msg = """\
Working outside of a websocket connection.

The websocket proxy is only available in views registered with
@app.websocket(rule), served over ASGI.\
"""
websocket: Websocket = _proxy(_cv_websocket, None, _no_ws_msg)
