"""Application and request contexts, kept on ContextVars.

A context is a cheap object: pushing sets a ContextVar and keeps the token;
popping runs the teardown functions and resets it. The URL adapter and the
session are created on first use, because most requests need neither.
"""

from __future__ import annotations

import contextvars
import sys
import typing as t
from functools import update_wrapper
from types import TracebackType

from werkzeug.exceptions import HTTPException

from . import globals as _globals
from . import typing as ft
from .signals import (
    _send,
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    request_tearing_down,
)

# Bound by assignment, not imported by name: see phial.globals.
_cv_app = _globals._cv_app
_cv_request = _globals._cv_request

if t.TYPE_CHECKING:
    import asyncio

    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.routing import MapAdapter

    from .app import Phial
    from .sessions import SessionMixin
    from .wrappers import Request

_sentinel = object()
_UNSET: t.Any = object()
_new_object = object.__new__
_V = t.TypeVar("_V")


class _MadeOnFirstRead(t.Generic[_V]):
    """An attribute made by ``make(obj)`` on its first read and then stored
    on the instance, where later reads find it directly (a non-data
    descriptor: assigning works as for a plain attribute).

    Contexts use it rather than ``__getattr__``: a class with ``__getattr__``
    makes every attribute read of its instances take a slower path in the
    interpreter, and the drivers read context attributes on every request.
    """

    def __init__(self, make: t.Callable[[t.Any], _V]) -> None:
        self.make = make
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @t.overload
    def __get__(self, obj: None, owner: type | None = None) -> _MadeOnFirstRead[_V]: ...
    @t.overload
    def __get__(self, obj: object, owner: type | None = None) -> _V: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> t.Any:
        if obj is None:
            return self
        value = self.make(obj)
        setattr(obj, self.name, value)
        return value


class _AppCtxGlobals:
    """The ``g`` namespace: a plain object for data shared during one app context.

    Besides attributes it offers ``get``, ``pop``, ``setdefault``, ``in`` and
    iteration over the attribute names.
    """

    def __getattr__(self, name: str) -> t.Any:
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: t.Any) -> None:
        self.__dict__[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: t.Any | None = None) -> t.Any:
        """The attribute ``name``, or ``default`` when it is not set."""
        return self.__dict__.get(name, default)

    def pop(self, name: str, default: t.Any = _sentinel) -> t.Any:
        """Remove and return ``name``; raise KeyError unless ``default`` is given."""
        if default is _sentinel:
            return self.__dict__.pop(name)
        return self.__dict__.pop(name, default)

    def setdefault(self, name: str, default: t.Any = None) -> t.Any:
        """Return ``name``, setting it to ``default`` first if it is missing."""
        return self.__dict__.setdefault(name, default)

    def __contains__(self, item: str) -> bool:
        return item in self.__dict__

    def __iter__(self) -> t.Iterator[str]:
        return iter(self.__dict__)

    def __repr__(self) -> str:
        ctx = _cv_app.get(None)
        if ctx is not None:
            return f"<phial.g of '{ctx.app.name}'>"
        return object.__repr__(self)


def after_this_request(f: ft.AfterRequestCallable[t.Any]) -> ft.AfterRequestCallable[t.Any]:
    """Run ``f(response)`` after the current request only.

    Raises RuntimeError outside a request context.
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'after_this_request' can only be used when a request context is active,"
            " such as in a view function."
        )
    ctx._after_request_functions.append(f)
    return f


F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def copy_current_request_context(f: F) -> F:
    """Decorate ``f`` so it runs inside a copy of the current request context.

    Useful for work handed to another thread or greenlet that still needs
    ``request`` and ``session``.
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_request_context' can only be used when a request context is"
            " active, such as in a view function."
        )
    ctx = ctx.copy()

    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        with ctx:
            return ctx.app.ensure_sync(f)(*args, **kwargs)

    return update_wrapper(wrapper, f)  # type: ignore[return-value]  # same signature as f


def has_request_context() -> bool:
    """Whether a request context is active (``request`` is usable)."""
    return _cv_request.get(None) is not None


def has_app_context() -> bool:
    """Whether an application context is active (``current_app`` is usable)."""
    return _cv_app.get(None) is not None


class AppContext:
    """Makes an application current: ``current_app`` and ``g`` point at it.

    Pushed implicitly with each request, or explicitly with
    ``with app.app_context():`` in scripts, CLI commands and tests.
    """

    #: Made on first use (URL building outside a request); see :attr:`url_adapter`.
    _url_adapter: MapAdapter | None = _UNSET
    #: ``g``: made on first read (most requests never use it).
    g = _MadeOnFirstRead[_AppCtxGlobals](lambda ctx: ctx.app.app_ctx_globals_class())
    #: The token of the latest push (``None``: not pushed). Pushing a context
    #: that is already pushed is rare: only then are the earlier tokens kept,
    #: in :attr:`_earlier_tokens`. (No list per context: making and dropping
    #: one per request measured as a tenth of the lane's cost.)
    _token: contextvars.Token[AppContext] | None = None
    _earlier_tokens: list[contextvars.Token[AppContext]] | None = None

    def __init__(self, app: Phial) -> None:
        self.app = app

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The URL map bound to ``SERVER_NAME``, or ``None``; made on first use."""
        if self._url_adapter is _UNSET:
            self._url_adapter = self.app.create_url_adapter(None)
        return self._url_adapter

    @url_adapter.setter
    def url_adapter(self, value: MapAdapter | None) -> None:
        self._url_adapter = value

    def push(self) -> None:
        """Make this context current."""
        _mark_disturbed()
        token = _cv_app.set(self)
        if self._token is not None:
            if self._earlier_tokens is None:
                self._earlier_tokens = []
            self._earlier_tokens.append(self._token)
        self._token = token
        if appcontext_pushed.receivers:
            _send(appcontext_pushed, self.app, _async_wrapper=self.app.ensure_sync)

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]  # sentinel means "the current exception"
        """Pop this context; the last pop runs the teardown_appcontext functions."""
        try:
            if self._pushed_once():
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_appcontext(exc)
        finally:
            ctx = self._reset()
        self._popped(ctx)

    async def _apop(self, exc: BaseException | None) -> None:
        """:meth:`pop` for the ASGI driver: the teardown functions are awaited."""
        try:
            # Skipped (not awaited) when there is nothing to run: one coroutine less.
            if self._pushed_once() and (
                self.app.teardown_appcontext_funcs or appcontext_tearing_down.receivers
            ):
                await self.app._teardown_appcontext(exc, True)
        finally:
            ctx = self._reset()
        self._popped(ctx)

    def _pushed_once(self) -> bool:
        """Whether this context is pushed exactly once (its pop is the last)."""
        return self._token is not None and not self._earlier_tokens

    def _reset(self) -> AppContext:
        token = self._token
        if token is None:
            raise RuntimeError(f"{self!r} is not pushed: there is nothing to pop.")
        ctx = _cv_app.get()
        self._token = self._earlier_tokens.pop() if self._earlier_tokens else None
        _cv_app.reset(token)
        return ctx

    def _popped(self, ctx: AppContext) -> None:
        if ctx is not self:
            raise AssertionError(f"Popped the wrong app context ({ctx!r} instead of {self!r}).")
        if appcontext_popped.receivers:
            _send(appcontext_popped, self.app, _async_wrapper=self.app.ensure_sync)

    def __enter__(self) -> AppContext:
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.pop(exc_value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.app.name!r}>"


class RequestContext:
    """Everything about one request: the request object, its match, its session.

    Pushing it also pushes an application context when the app is not already
    current. The session is opened the first time it is read.
    """

    #: Over ASGI: the context the request's sync callables run in (see phial.asgi).
    _asgi_context: contextvars.Context | None = None
    #: Over ASGI: the server's event loop (see phial._async.server_loop).
    _asgi_loop: asyncio.AbstractEventLoop | None = None

    def __init__(
        self,
        app: Phial,
        environ: WSGIEnvironment,
        request: Request | None = None,
        session: SessionMixin | None = None,
    ) -> None:
        self.app = app
        if request is None:
            request = app.request_class(environ)
        self.request: Request = request
        if session is not None:
            self._session = session

    # Class-level defaults: a request that never builds URLs, flashes, touches
    # the session or registers after_this_request functions never stores them.
    _url_adapter: MapAdapter | None = _UNSET
    flashes: list[tuple[str, str]] | None = None
    _session: SessionMixin | None = None
    #: ``after_this_request`` functions: made on first read.
    _after_request_functions = _MadeOnFirstRead[list[ft.AfterRequestCallable[t.Any]]](
        lambda ctx: ctx._new_after_request_functions()
    )
    #: Whether that list was made (read without making it, unlike the list).
    _has_after_request_functions = False
    #: Whether a context was pushed while this one was current (see
    #: _mark_disturbed): its exit then takes the general pop.
    _disturbed = False
    #: The latest push: its token, and the app context it pushed (``None``
    #: when the app was already current). Earlier pushes of the same context
    #: (rare) are kept in :attr:`_earlier_pushes`. (As AppContext: no list.)
    _token: contextvars.Token[RequestContext] | None = None
    _pushed_app_ctx: AppContext | None = None
    _earlier_pushes: list[tuple[contextvars.Token[RequestContext], AppContext | None]] | None = None

    def _new_after_request_functions(self) -> list[ft.AfterRequestCallable[t.Any]]:
        self._has_after_request_functions = True
        return []

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The URL map bound to this request; made on first use (URL building,
        or matching that the fast route table could not answer)."""
        if self._url_adapter is _UNSET:
            try:
                self._url_adapter = self.app.create_url_adapter(self.request)
            except HTTPException as e:
                self._url_adapter = None
                self.request.routing_exception = e
        return self._url_adapter

    @url_adapter.setter
    def url_adapter(self, value: MapAdapter | None) -> None:
        self._url_adapter = value

    @property
    def session(self) -> SessionMixin:
        """The session, opened through ``app.session_interface`` on first access."""
        session = self._session
        if session is None:
            session = self._session = self.app._open_session(self.request)
        return session

    @session.setter
    def session(self, value: SessionMixin) -> None:
        self._session = value

    def copy(self) -> RequestContext:
        """A new context for the same request object and session."""
        return self.__class__(
            self.app, self.request.environ, request=self.request, session=self._session
        )

    def match_request(self) -> None:
        """Match the request to a rule; a routing failure is stored, not raised."""
        self.app._match_request(self)

    def push(self) -> None:
        """Make this request current, pushing an app context if needed."""
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not self.app:
            app_ctx = self.app.app_context()
            app_ctx.push()
        else:
            app_ctx = None
        _mark_disturbed()
        token = _cv_request.set(self)
        if self._token is not None:
            if self._earlier_pushes is None:
                self._earlier_pushes = []
            self._earlier_pushes.append((self._token, self._pushed_app_ctx))
        self._token = token
        self._pushed_app_ctx = app_ctx
        if self.request.url_rule is None and self.request.routing_exception is None:
            self.match_request()

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]  # sentinel means "the current exception"
        """Pop this context; the last pop runs the teardown_request functions."""
        clear_request = self._pushed_once()
        try:
            if clear_request:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_request(exc)
                self._close_request()
        finally:
            ctx, app_ctx = self._reset(clear_request)
            if app_ctx is not None:
                app_ctx.pop(exc)
            self._check_popped(ctx)

    async def _apop(self, exc: BaseException | None) -> None:
        """:meth:`pop` for the ASGI driver: the teardown functions are awaited."""
        clear_request = self._pushed_once()
        try:
            if clear_request:
                # Skipped (not awaited) when there is nothing to run: one coroutine less.
                if self.app.teardown_request_funcs or request_tearing_down.receivers:
                    await self.app._teardown_request(self, exc, True)
                self._close_request()
        finally:
            ctx, app_ctx = self._reset(clear_request)
            if app_ctx is not None:
                await app_ctx._apop(exc)
            self._check_popped(ctx)

    @staticmethod  # (not a classmethod: no bound method made per request)
    def _open(app: Phial, environ: WSGIEnvironment, quiet: bool = False) -> RequestContext:
        """A new context for ``environ``, pushed: what
        ``app.request_context(environ).push()`` does before matching, in
        fewer steps, for the drivers' fast lane (which then matches the
        request). The lane runs only for apps that override neither
        :meth:`~phial.app.Phial.request_context` nor
        :meth:`~phial.app.Phial.app_context` and whose request class keeps
        phial's constructor (see :meth:`~phial.app.Phial._lane_allowed`).
        ``quiet`` (from ``Phial._lane_quiet``) skips asking for
        ``appcontext_pushed`` receivers."""
        # object.__new__ called directly: looked up on each class it costs
        # more (Phial._lane_allowed requires a request class without __new__).
        # The drivers checked that the request class is still the lane's.
        request = _new_object(app._lane_classes[0])
        request.environ = environ  # (shallow: the class says False)
        request.routing_exception = None
        environ["werkzeug.request"] = request
        self = _new_object(RequestContext)
        self.app = app
        self.request = request
        # The class defaults, stored: the lane reads them, and an instance's
        # own attributes are read faster than its class's.
        self._session = None
        self._has_after_request_functions = False
        self._disturbed = False
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not app:
            app_ctx = _new_object(AppContext)
            app_ctx.app = app
            app_ctx._token = _cv_app.set(app_ctx)
            if not quiet and appcontext_pushed.receivers:
                _send(appcontext_pushed, app, _async_wrapper=app.ensure_sync)
            self._pushed_app_ctx = app_ctx
        self._token = _cv_request.set(self)
        return self

    def _exit_plain(self, quiet: bool = False) -> bool:
        """Pop this context the cheap way when there is nothing to do but
        reset the context variables: no teardown functions or receivers at
        either level, no parsed files to close, pushed once and no other
        context pushed while it was current. ``False`` (and nothing done)
        otherwise: the driver then calls :meth:`pop` (or awaits
        :meth:`_apop`), which also reports a context popped out of order.
        (The lane runs only for a request class whose ``close`` is phial's,
        see ``Phial._lane_allowed``.)
        ``quiet`` (from ``Phial._lane_quiet``) skips asking for teardown
        functions and receivers."""
        token = self._token
        if token is None:
            return False
        app_ctx = self._pushed_app_ctx
        app = self.app
        request = self.request
        if (
            not quiet
            and (
                (app.teardown_request_funcs and _hooks_apply(app.teardown_request_funcs, request))
                or app.teardown_appcontext_funcs
                or request_tearing_down.receivers
                or appcontext_tearing_down.receivers
                or appcontext_popped.receivers
            )
        ) or (
            # Any context pushed meanwhile (and perhaps left pushed), this
            # one or its app context pushed again included, marked this one:
            # the general pop then checks the order. (Cheaper than reading
            # both context variables back; and so there are no earlier
            # pushes to undo here.)
            self._disturbed
            # Files left by the form parser are closed by the general pop.
            # (A flag: reading the request's __dict__ would make one.)
            or request._form_parsed
        ):
            return False
        self._token = None
        _cv_request.reset(token)
        request.environ["werkzeug.request"] = None
        if app_ctx is not None:
            _cv_app.reset(app_ctx._token)  # type: ignore[arg-type]  # pushed by _open or push
            app_ctx._token = None
        return True

    def _pushed_once(self) -> bool:
        """Whether this context is pushed exactly once (its pop is the last)."""
        return self._token is not None and not self._earlier_pushes

    def _close_request(self) -> None:
        request_close = getattr(self.request, "close", None)
        if request_close is not None:
            request_close()

    def _reset(self, clear_request: bool) -> tuple[RequestContext, AppContext | None]:
        token, app_ctx = self._token, self._pushed_app_ctx
        if token is None:
            raise RuntimeError(f"{self!r} is not pushed: there is nothing to pop.")
        ctx = _cv_request.get()
        if self._earlier_pushes:
            self._token, self._pushed_app_ctx = self._earlier_pushes.pop()
        else:
            self._token = self._pushed_app_ctx = None
        _cv_request.reset(token)
        if clear_request:
            ctx.request.environ["werkzeug.request"] = None
        return ctx, app_ctx

    def _check_popped(self, ctx: RequestContext) -> None:
        if ctx is not self:
            raise AssertionError(f"Popped the wrong request context ({ctx!r} instead of {self!r}).")

    def __enter__(self) -> RequestContext:
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.pop(exc_value)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.request.url!r}"
            f" [{self.request.method}] of {self.app.name}>"
        )


def _mark_disturbed() -> None:
    """Tell the current request context (if any) that a context is being
    pushed over it, so it leaves by the general pop, which checks the order
    (see :meth:`RequestContext._exit_plain`)."""
    outer = _cv_request.get(None)
    if outer is not None:
        outer._disturbed = True


def _hooks_apply(hooks: t.Mapping[str | None, t.Sequence[t.Any]], request: Request) -> bool:
    """Whether any of ``hooks`` (a registry keyed by blueprint name, ``None``
    for the app) applies to ``request``: the app's, or its blueprints'.
    Callers test the registry's truth first: most are empty."""
    if hooks.get(None):
        return True
    return any(hooks.get(name) for name in request.blueprints)
