"""The application object: :class:`Phial`, also exported as ``Flask``.

The request pipeline is written once here, as coroutines that take an ``aio``
flag. Over WSGI (``aio=False``) every user callable is made synchronous and
:func:`~phial._async.drive` runs the pipeline without an event loop; over ASGI
(``aio=True``) the driver awaits it. Flask's public step methods
(``preprocess_request``, ``process_response``, ``handle_exception``, …) run the
same steps synchronously, and when an app overrides one of them the pipeline
calls the override instead.
"""

from __future__ import annotations

import collections.abc as cabc
import os
import sys
import typing as t
from functools import partial
from itertools import chain

from werkzeug.datastructures import Headers
from werkzeug.exceptions import (
    BadRequest,
    BadRequestKeyError,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
)
from werkzeug.routing import RequestRedirect, Rule, WebsocketMismatch
from werkzeug.utils import cached_property
from werkzeug.wrappers import Response as BaseResponse

from . import globals as _globals
from . import typing as ft
from ._async import LoopPerThread, drive, is_async_callable, mark_asgi3, mark_pending_asgi3
from ._lane import (
    _REWRITTEN_HEADERS,
    CONTENT_TYPE_HEADERS,
    LANE_CLOSED,
    LANE_HOOKED,
    LANE_OPEN,
    LANE_STATUSES,
    LANE_STEPS,
    LENGTH_HEADERS,
    SPECIAL_METHODS,
    _Entry,
    content_type_header,
    length_header,
    plain_classes,
)
from ._lazy import lazy_attribute
from ._routing import MATCHED, NO_LITERAL, RouteTable
from .ctx import AppContext, RequestContext, _AppCtxGlobals, _hooks_apply
from .json.provider import DefaultJSONProvider
from .sansio.app import App
from .sessions import SecureCookieSessionInterface, SessionInterface
from .signals import (
    _asend,
    _lifecycle_watch,
    _send,
    appcontext_tearing_down,
    got_request_exception,
    request_finished,
    request_started,
    request_tearing_down,
)
from .templating import _default_template_ctx_processor
from .urls import build_url
from .wrappers import _HEADER_BREAK, Request, Response
from .wsgi import serve_wsgi

# Bound by assignment, not imported by name: see phial.globals.
_cv_request = _globals._cv_request

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from .cli import AppGroup
    from .sessions import SessionMixin
    from .templating import DispatchingJinjaLoader, Environment
    from .testing import FlaskClient, FlaskCliRunner

T = t.TypeVar("T")
_sentinel: t.Any = object()
#: An argument __call__ was not given.
_NO_ARG: t.Any = object()
#: Most callables ``ensure_sync`` remembers before it starts over.
_SYNC_CACHE_SIZE = 1024

#: The pipeline steps an app may override; the pipeline then calls the override.
_OVERRIDABLE_STEPS = (
    "full_dispatch_request",
    "preprocess_request",
    "dispatch_request",
    "finalize_request",
    "process_response",
    "handle_user_exception",
    "handle_http_exception",
    "handle_exception",
)


class Phial(App):
    """A phial application: a WSGI and ASGI callable built like a Flask app.

    ``app = Phial(__name__)`` (or ``Flask(__name__)``) creates it; decorators
    register views and hooks; ``app.run()`` starts the development server.
    """

    #: The class of ``request``.
    request_class: type[Request] = Request
    #: The class of the responses phial creates.
    response_class: type[Response] = Response
    #: The class of ``g``.
    app_ctx_globals_class = _AppCtxGlobals
    #: The class :meth:`test_client` returns; ``None`` means phial's client.
    test_client_class: type[FlaskClient] | None = None
    #: The class :meth:`test_cli_runner` returns; ``None`` means phial's runner.
    test_cli_runner_class: type[FlaskCliRunner] | None = None
    #: The object that opens and saves sessions; see :mod:`phial.sessions`.
    session_interface: SessionInterface = SecureCookieSessionInterface()
    #: The class of :attr:`jinja_env`.
    jinja_environment: type[Environment] = lazy_attribute("phial.templating", "Environment")
    #: The ASGI driver's thread pool for sync callables (made on first use).
    _asgi_pool: t.Any = None

    def __init__(
        self,
        import_name: str,
        static_url_path: str | None = None,
        static_folder: str | os.PathLike[str] | None = "static",
        static_host: str | None = None,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        template_folder: str | os.PathLike[str] | None = "templates",
        instance_path: str | None = None,
        instance_relative_config: bool = False,
        root_path: str | None = None,
    ) -> None:
        super().__init__(
            import_name=import_name,
            static_url_path=static_url_path,
            static_folder=static_folder,
            static_host=static_host,
            host_matching=host_matching,
            subdomain_matching=subdomain_matching,
            template_folder=template_folder,
            instance_path=instance_path,
            instance_relative_config=instance_relative_config,
            root_path=root_path,
        )
        self._loops = LoopPerThread()
        mark_pending_asgi3()  # asyncio may have been imported since phial was
        self._sync_wrappers: dict[t.Any, t.Callable[..., t.Any]] = {}
        self._overrides: dict[str, t.Callable[..., t.Any]] = {}
        self._routes = RouteTable(self)
        #: Running background tasks over ASGI (see :mod:`phial.background`).
        self._background_tasks: set[t.Any] = set()
        #: The Content-Type of text responses when they may be built directly
        #: (see :meth:`Response._from_bytes`); ``None`` disables that path.
        self._text_content_type: str | None = None
        #: Whether the drivers may take the fast lane; decided at the first request.
        self._lane = False
        #: The (request, response) classes the lane was decided for.
        self._lane_classes: tuple[type[Request], type[Response]] = (Request, Response)
        self._error_pages: dict[tuple[type, int | None, str], bytes] = {}
        self.template_context_processors[None].append(_default_template_ctx_processor)

        if self.has_static_folder:
            if bool(static_host) != host_matching:
                raise AssertionError(
                    "Invalid static_host/host_matching combination: set both or neither."
                    " static_host is required when host_matching is on, and only then."
                )
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=self._static_view(),
            )

    @cached_property
    def cli(self) -> AppGroup:
        """The click group of this app's commands (``phial <command>``); commands
        added with ``@app.cli.command()`` run inside an app context.

        Made on first use, so that an app that is only served never imports click.
        """
        from .cli import AppGroup  # here, not at the top: the CLI imports this module

        return AppGroup(self.name)

    def _static_view(self) -> t.Callable[..., Response]:
        import weakref

        app_ref = weakref.ref(self)

        def static(filename: str) -> Response:
            app = app_ref()
            assert app is not None, "the application was garbage collected"
            return app.send_static_file(filename)

        return static

    # -- protocol entry points ------------------------------------------------------

    @mark_asgi3
    def __call__(
        self, first: t.Any, second: t.Any = _NO_ARG, third: t.Any = _NO_ARG, *rest: t.Any
    ) -> t.Any:
        """WSGI with ``(environ, start_response)``; ASGI with ``(scope, receive, send)``."""
        # Named parameters rather than *args: the common calls bind without
        # building a tuple, and self.wsgi_app(...) is a method call without a
        # bound method object.
        if third is _NO_ARG:
            if second is not _NO_ARG:
                return self.wsgi_app(first, second)
            if isinstance(first, dict) and "type" in first:
                # ASGI 2 (scope) -> (receive, send): what a server that found no ASGI 3
                # mark on __call__ calls (see phial._async.mark_asgi3).
                return partial(self.asgi_app, first)
            count = 1
        elif not rest:
            return self.asgi_app(first, second, third)
        else:
            count = 3 + len(rest)
        raise TypeError(
            "A phial app is called as a WSGI app (environ, start_response) or as an"
            f" ASGI app (scope, receive, send), not with {count} arguments."
        )

    #: The WSGI application, ``app.wsgi_app(environ, start_response)``; wrap
    #: this attribute to add WSGI middleware. (The driver itself, rather than
    #: a method calling it: one frame less per request.)
    wsgi_app = serve_wsgi

    def asgi_app(self, scope: t.Any, receive: t.Any, send: t.Any) -> t.Any:
        """The ASGI application; wrap this attribute to add ASGI middleware.

        (Replaced by :func:`phial.asgi.serve_asgi` itself once the driver is
        loaded.)"""
        return (_asgi or _import_asgi()).serve_asgi(self, scope, receive, send)

    def add_background_task(
        self, func: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any
    ) -> None:
        """Run ``func(*args, **kwargs)`` (``def`` or ``async def``) after the
        current response has been sent, inside an app context. Its errors are
        logged. Over ASGI it runs on the server's loop and the lifespan shutdown
        waits for it; over WSGI it runs when the server closes the response, in
        the worker thread. See :mod:`phial.background`. (Not in Flask.)
        """
        from .background import add_background_task

        add_background_task(self, func, args, kwargs)

    # -- first-request setup ------------------------------------------------------------

    def _finish_setup(self) -> None:
        """Freeze registration and compile what each request will use.

        Runs once, at the first request. It finds the pipeline steps the app
        overrides (in a subclass or by assigning to the instance, as some
        extensions do) so the pipeline can call them.
        """
        overrides: dict[str, t.Callable[..., t.Any]] = {}
        cls = type(self)
        for name in _OVERRIDABLE_STEPS:
            if name in self.__dict__ or getattr(cls, name) is not getattr(Phial, name):
                overrides[name] = getattr(self, name)
        self._overrides = overrides
        self._routes.compile()
        self._decide_lane()
        self._got_first_request = True

    def _decide_lane(self) -> None:
        """Decide what the direct response construction and the fast lane
        may do with the current request and response classes; decided again
        (by :meth:`_classes_changed` callers) when either class is replaced."""
        self._lane_classes = (self.request_class, self.response_class)
        self._text_content_type = _fast_text_content_type(self.response_class)
        self._lane = self._lane_allowed()
        # Hooks can only be registered before the first request (setup
        # methods refuse afterwards; the registries themselves are internal),
        # so whether there are any is decided here, once.
        self._lane_hookless = not (
            any(self.before_request_funcs.values())
            or any(self.after_request_funcs.values())
            or any(self.teardown_request_funcs.values())
            or any(self.url_value_preprocessors.values())
            or self.teardown_appcontext_funcs
        )

    def _lane_quiet(self) -> bool:
        """Whether nothing but the view can observe any request of this app:
        no hooks at all and no receiver ever connected to the request
        lifecycle's signals. The lane then skips asking for them per request."""
        return self._lane_hookless and not _lifecycle_watch.heard

    def _classes_changed(self) -> bool:
        """Whether ``request_class`` or ``response_class`` was replaced since
        :meth:`_decide_lane` (assigning them after the first request works,
        as in Flask)."""
        request_class, response_class = self._lane_classes
        return request_class is not self.request_class or response_class is not self.response_class

    def _lane_allowed(self) -> bool:
        """Whether the drivers may take the fast lane (see :mod:`phial._lane`):
        only when the app customises none of the steps the lane skips or
        calls directly. Hooks, signals and the session are checked per request."""
        if self._overrides or self._text_content_type is None:
            return False
        if not plain_classes(self.response_class):  # type: ignore[arg-type]  # classes hash
            return False
        if (
            self.request_class.__init__ is not Request.__init__
            # RequestContext._open makes the request with object.__new__.
            or self.request_class.__new__ is not object.__new__
            # The lane's context exit closes nothing (see RequestContext._exit_plain).
            or self.request_class.close is not Request.close
        ):
            return False
        cls = type(self)
        return all(
            name not in self.__dict__ and getattr(cls, name) is getattr(Phial, name)
            for name in LANE_STEPS
        )

    def _lane_error_output(
        self, ctx: RequestContext, e: HTTPException
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """The lane's answer to a routing error: a plain 404 or 405 page when
        no error handler and no trap setting could intervene, else ``None``."""
        after = self.after_request_funcs
        if (
            (e.__class__ is NotFound or e.__class__ is MethodNotAllowed)
            and not self.error_handler_spec
            and not self.config["TRAP_HTTP_EXCEPTIONS"]
            and not (after and _hooks_apply(after, ctx.request))
            and not request_finished.receivers
            # (No view ran: no session use, no after_this_request function.)
            and not (
                "HTTP_COOKIE" in ctx.request.environ and self._session_to_refresh(ctx) is not None
            )
        ):
            return self._http_exception_output(e, ctx.request.environ)
        return None

    def _lane_entry(self, ctx: RequestContext) -> _Entry:
        """How the lane may start this request (see :mod:`phial._lane`):
        :data:`~phial._lane.LANE_CLOSED` for ``request_started`` receivers,
        HEAD and OPTIONS (the general steps answer those);
        :data:`~phial._lane.LANE_HOOKED` when ``before_request`` functions
        or URL value preprocessors apply to it (the lane runs them through
        the general step first); else :data:`~phial._lane.LANE_OPEN`."""
        request = ctx.request
        if request_started.receivers or request.environ.get("REQUEST_METHOD") in SPECIAL_METHODS:
            return LANE_CLOSED
        before = self.before_request_funcs
        preprocessors = self.url_value_preprocessors
        if (before and _hooks_apply(before, request)) or (
            preprocessors and _hooks_apply(preprocessors, request)
        ):
            return LANE_HOOKED
        return LANE_OPEN

    def _lane_output(
        self, ctx: RequestContext, rv: t.Any, quiet: bool = False
    ) -> tuple[int, list[tuple[str, str]], bytes] | Response | None:
        """What the fast lane sends for the view's return value ``rv``.

        ``None`` when something observes the response (``after_request`` or
        ``after_this_request`` functions, ``request_finished`` receivers; the
        first two are not asked for when ``quiet``, see :meth:`_lane_quiet`):
        the general steps then finish the request. Otherwise:

        - when the session was used (or its cookie must be refreshed), the
          response made from ``rv`` with the session saved into it, as the
          general steps' response processing would leave it;
        - a response of :attr:`response_class` as it is;
        - for a plain value (text, bytes, a dict or list for JSON, alone or in
          a tuple with an int status and/or a dict of plain headers), the
          status, headers (in the order the response object would emit them)
          and body, without a response object;
        - ``None`` for anything else: the general steps make the response.
        """
        if (
            not quiet
            and (
                (self.after_request_funcs and _hooks_apply(self.after_request_funcs, ctx.request))
                or request_finished.receivers
            )
        ) or (ctx._has_after_request_functions and ctx._after_request_functions):
            return None
        session = ctx._session
        if session is None and "HTTP_COOKIE" in ctx.request.environ:
            session = self._session_to_refresh(ctx)
        if session is not None:
            response = self.make_response(rv)
            interface = self.session_interface
            if not interface.is_null_session(session):
                interface.save_session(self, session, response)
            return response
        status = 200
        headers: t.Any = None
        if rv.__class__ is self._lane_classes[1]:  # response_class (checked by the driver)
            # Already a response (jsonify, redirect, ...): the driver sends it
            # as it is, as the general steps would.
            return rv
        if rv.__class__ is tuple:
            if len(rv) == 3:
                rv, status, headers = rv
            elif len(rv) == 2:
                if rv[1].__class__ is int:
                    rv, status = rv
                else:
                    rv, headers = rv
            else:
                return None
            if status not in LANE_STATUSES or (
                headers is not None and headers.__class__ is not dict
            ):
                return None
        cls = rv.__class__
        content_type: str
        if cls is str:
            body = rv.encode()
            content_type = self._text_content_type  # type: ignore[assignment]  # set when the lane runs
        elif cls is bytes:
            body = rv
            content_type = self._text_content_type  # type: ignore[assignment]  # set when the lane runs
        elif (cls is dict or cls is list) and not headers:
            provider = self.json
            if provider.__class__ is not DefaultJSONProvider:
                return None
            plain = provider._plain_body(rv, self.config["DEBUG"])  # (debug not overridden)
            if plain is None:
                return None
            body, content_type = plain
        else:
            return None
        if headers:
            # The usual header dict, {"Content-Type": ...}: its value replaces the default.
            value = headers.get("Content-Type") if len(headers) == 1 else None
            if value.__class__ is not str:
                return _lane_output_with_headers(status, headers, body, content_type)
            content_type = value
        # (The headers are made once per Content-Type and per body length.)
        length = len(body)
        try:
            type_header = CONTENT_TYPE_HEADERS[content_type]
        except KeyError:
            checked = content_type_header(content_type)
            if checked is None:
                return None  # a value with a line break: the general steps refuse it
            type_header = checked
        try:
            return status, [type_header, LENGTH_HEADERS[length]], body
        except KeyError:
            return status, [type_header, length_header(length)], body

    # -- contexts --------------------------------------------------------------------------

    def app_context(self) -> AppContext:
        """A new :class:`~phial.ctx.AppContext` for this app (use with ``with``)."""
        return AppContext(self)

    def request_context(self, environ: WSGIEnvironment) -> RequestContext:
        """A new :class:`~phial.ctx.RequestContext` for a WSGI environ."""
        return RequestContext(self, environ)

    def test_request_context(self, *args: t.Any, **kwargs: t.Any) -> RequestContext:
        """A request context for a request built from the arguments of
        :class:`~phial.testing.EnvironBuilder` (path, method, data, json, …)."""
        from .testing import EnvironBuilder

        builder = EnvironBuilder(self, *args, **kwargs)
        try:
            return self.request_context(builder.get_environ())
        finally:
            builder.close()

    def _open_session(self, request: Request) -> SessionMixin:
        """Open the session (on first access): the interface's, or a null session."""
        interface = self.session_interface
        session = interface.open_session(self, request)
        if session is None:
            session = interface.make_null_session(self)
        return session

    def _session_to_refresh(self, ctx: RequestContext) -> SessionMixin | None:
        """Open the session of a request that never touched it, when it may need
        its cookie refreshed; else ``None``.

        Flask re-sends a permanent session's cookie on every request while
        ``SESSION_REFRESH_EACH_REQUEST`` is on, so its expiry keeps moving. phial
        opens sessions lazily, so the response step calls this for untouched
        sessions: it opens one only when that setting is on and the raw
        ``Cookie`` header mentions the session cookie's name. A request without
        the cookie does no session work at all; one with it pays one
        verification, as in Flask.
        """
        cookie_header = ctx.request.environ.get("HTTP_COOKIE")
        if not cookie_header or not self.config["SESSION_REFRESH_EACH_REQUEST"]:
            return None
        # A substring test: a false match (another cookie containing the name)
        # only costs an open that finds nothing to refresh.
        if self.session_interface.get_cookie_name(self) not in cookie_header:
            return None
        return ctx.session

    # -- calling user code ------------------------------------------------------------------

    def ensure_sync(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        """Return ``func`` if it is synchronous, else a synchronous wrapper.

        Coroutines run on a persistent event loop of the calling thread (over
        ASGI, on the server's loop). The wrapper is made once per function.
        """
        try:
            return self._sync_wrappers[func]
        except KeyError:
            pass
        except TypeError:  # unhashable callable: no cache
            return self.async_to_sync(func) if is_async_callable(func) else func
        wrapped = self.async_to_sync(func) if is_async_callable(func) else func
        cache = self._sync_wrappers
        if len(cache) >= _SYNC_CACHE_SIZE:
            # Callables made per request would otherwise be kept (with what
            # they reference) for the app's lifetime; registered ones come back.
            cache.clear()
        cache[func] = wrapped
        return wrapped

    def async_to_sync(
        self, func: t.Callable[..., cabc.Coroutine[t.Any, t.Any, T]]
    ) -> t.Callable[..., T]:
        """Wrap a coroutine function so that calling it runs it to completion."""
        run = self._loops.run

        def wrapper(*args: t.Any, **kwargs: t.Any) -> T:
            return run(func(*args, **kwargs))

        wrapper.__wrapped__ = func  # type: ignore[attr-defined]  # like functools.wraps
        return wrapper

    async def _call(self, aio: bool, func: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        """Call a user callable: synchronously over WSGI, awaited over ASGI."""
        if aio:
            return await (_asgi or _import_asgi()).call_async(self, func, *args)
        return self.ensure_sync(func)(*args)

    async def _call_once(self, aio: bool, func: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        """Call a callable made for one request (``after_this_request``): like
        :meth:`_call`, but over WSGI its wrapper is not cached."""
        if aio or type(self).ensure_sync is not Phial.ensure_sync:
            return await self._call(aio, func, *args)
        if is_async_callable(func):
            return self.async_to_sync(func)(*args)
        return func(*args)

    async def _signal(self, aio: bool, signal: t.Any, **kwargs: t.Any) -> None:
        """Send a pipeline signal: over ASGI coroutine receivers are awaited on
        the loop; over WSGI they run through :meth:`ensure_sync`."""
        if aio:
            await _asend(signal, self, **kwargs)
        else:
            _send(signal, self, _async_wrapper=self.ensure_sync, **kwargs)

    async def _step(self, aio: bool, name: str, *args: t.Any) -> t.Any:
        """Call an overridden public step (see :data:`_OVERRIDABLE_STEPS`)."""
        return await self._call(aio, self._overrides[name], *args)

    # -- the request pipeline (written once) -------------------------------------------

    async def _full_dispatch(self, ctx: RequestContext, aio: bool) -> Response:
        if "full_dispatch_request" in self._overrides:
            return t.cast(Response, await self._step(aio, "full_dispatch_request"))
        try:
            if request_started.receivers:
                await self._signal(aio, request_started)
            if "preprocess_request" in self._overrides:
                rv = await self._step(aio, "preprocess_request")
            elif self.before_request_funcs or self.url_value_preprocessors:
                rv = await self._preprocess(ctx, aio)
            else:
                rv = None
            if rv is None:
                if "dispatch_request" in self._overrides:
                    rv = await self._step(aio, "dispatch_request")
                else:
                    rv = await self._dispatch(ctx, aio)
        except Exception as e:
            rv = await self._handle_user_exception(ctx, e, aio)
        return await self._finalize(ctx, rv, aio)

    async def _preprocess(self, ctx: RequestContext, aio: bool) -> ft.ResponseReturnValue | None:
        request = ctx.request
        names = (None, *reversed(request.blueprints))
        for name in names:
            funcs = self.url_value_preprocessors.get(name)
            if funcs:
                for url_func in funcs:
                    url_func(request.endpoint, request.view_args)
        for name in names:
            before = self.before_request_funcs.get(name)
            if before:
                for before_func in before:
                    rv = await self._call(aio, before_func)
                    if rv is not None:
                        return t.cast(ft.ResponseReturnValue, rv)
        return None

    async def _dispatch(self, ctx: RequestContext, aio: bool) -> ft.ResponseReturnValue:
        request = ctx.request
        if request.routing_exception is not None:
            self.raise_routing_exception(request)
        rule: Rule = request.url_rule  # type: ignore[assignment]  # set when no routing error
        if request.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
            return self.make_default_options_response()
        view = self.view_functions[rule.endpoint]
        view_args: dict[str, t.Any] = request.view_args  # type: ignore[assignment]  # set with rule
        if aio:
            call_async = (_asgi or _import_asgi()).call_async
            return t.cast(ft.ResponseReturnValue, await call_async(self, view, **view_args))
        return t.cast(ft.ResponseReturnValue, self.ensure_sync(view)(**view_args))

    async def _dispatch_websocket(self, ctx: RequestContext) -> bool:
        """Run a websocket route (ASGI only): URL value preprocessors, the
        ``before_websocket`` functions, the view, then ``after_websocket``.

        Returns ``False`` when a ``before_websocket`` function returned a value,
        which refuses the connection without running the view.
        """
        request = ctx.request
        names = (None, *reversed(request.blueprints))
        if request.routing_exception is None:
            for name in names:
                funcs = self.url_value_preprocessors.get(name)
                if funcs:
                    for url_func in funcs:
                        url_func(request.endpoint, request.view_args)
            for name in names:
                before = self.before_websocket_funcs.get(name)
                if before:
                    for before_func in before:
                        if await self._call(True, before_func) is not None:
                            return False
        rv = await self._dispatch(ctx, True)
        for name in chain(request.blueprints, (None,)):
            after = self.after_websocket_funcs.get(name)
            if after:
                for after_func in reversed(after):
                    rv = await self._call(True, after_func, rv)
        return True

    async def _finalize(
        self,
        ctx: RequestContext,
        rv: ft.ResponseReturnValue | HTTPException,
        aio: bool,
        from_error_handler: bool = False,
    ) -> Response:
        if "finalize_request" in self._overrides:
            return t.cast(
                Response, await self._step(aio, "finalize_request", rv, from_error_handler)
            )
        return await self._finalize_default(ctx, rv, aio, from_error_handler)

    async def _finalize_default(
        self,
        ctx: RequestContext,
        rv: ft.ResponseReturnValue | HTTPException,
        aio: bool,
        from_error_handler: bool,
    ) -> Response:
        # Separate from _finalize so that the public finalize_request (which an
        # override may call through super()) never dispatches to the override.
        response = self.make_response(rv)
        try:
            if "process_response" in self._overrides:
                response = await self._step(aio, "process_response", response)
            elif (
                self.after_request_funcs
                or (ctx._has_after_request_functions and ctx._after_request_functions)
                or ctx._session is not None
                # An untouched session may still need its cookie refreshed.
                or "HTTP_COOKIE" in ctx.request.environ
            ):
                response = await self._process_response(ctx, response, aio)
            if request_finished.receivers:
                await self._signal(aio, request_finished, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    async def _process_response(
        self, ctx: RequestContext, response: Response, aio: bool
    ) -> Response:
        for func in ctx._after_request_functions:
            response = await self._call_once(aio, func, response)
        for name in chain(ctx.request.blueprints, (None,)):
            funcs = self.after_request_funcs.get(name)
            if funcs:
                for func in reversed(funcs):
                    response = await self._call(aio, func, response)
        session = ctx._session
        if session is None:
            session = self._session_to_refresh(ctx)
        if session is not None and not self.session_interface.is_null_session(session):
            self.session_interface.save_session(self, session, response)
        return response

    async def _handle_user_exception(
        self, ctx: RequestContext, e: Exception, aio: bool
    ) -> HTTPException | ft.ResponseReturnValue:
        if "handle_user_exception" in self._overrides:
            return t.cast(ft.ResponseReturnValue, await self._step(aio, "handle_user_exception", e))
        if isinstance(e, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            e.show_exception = True
        if isinstance(e, HTTPException) and not self.trap_http_exception(e):
            if "handle_http_exception" in self._overrides:
                return t.cast(
                    ft.ResponseReturnValue, await self._step(aio, "handle_http_exception", e)
                )
            return await self._handle_http_exception(ctx, e, aio)
        handler = self._find_error_handler(e, ctx.request.blueprints)
        if handler is None:
            raise e
        return t.cast(ft.ResponseReturnValue, await self._call(aio, handler, e))

    async def _handle_http_exception(
        self, ctx: RequestContext, e: HTTPException, aio: bool
    ) -> HTTPException | ft.ResponseReturnValue:
        # Exceptions without a code (proxy exceptions) and routing redirects are
        # responses in themselves, never passed to user handlers.
        if e.code is None or isinstance(e, RequestRedirect):
            return e
        handler = self._find_error_handler(e, ctx.request.blueprints)
        if handler is None:
            return e
        return t.cast(ft.ResponseReturnValue, await self._call(aio, handler, e))

    async def _handle_exception(self, ctx: RequestContext, e: Exception, aio: bool) -> Response:
        if "handle_exception" in self._overrides:
            return t.cast(Response, await self._step(aio, "handle_exception", e))
        exc_info = sys.exc_info()
        if got_request_exception.receivers:
            await self._signal(aio, got_request_exception, exception=e)
        if self._propagate_exceptions():
            if exc_info[1] is e:
                raise
            raise e
        self.log_exception(exc_info)
        server_error: InternalServerError | ft.ResponseReturnValue
        server_error = InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error, ctx.request.blueprints)
        if handler is not None:
            server_error = await self._call(aio, handler, server_error)
        return await self._finalize(ctx, server_error, aio, from_error_handler=True)

    async def _teardown_request(
        self, ctx: RequestContext, exc: BaseException | None, aio: bool
    ) -> None:
        for name in chain(ctx.request.blueprints, (None,)):
            funcs = self.teardown_request_funcs.get(name)
            if funcs:
                for func in reversed(funcs):
                    await self._call(aio, func, exc)
        if request_tearing_down.receivers:
            await self._signal(aio, request_tearing_down, exc=exc)

    async def _teardown_appcontext(self, exc: BaseException | None, aio: bool) -> None:
        for func in reversed(self.teardown_appcontext_funcs):
            await self._call(aio, func, exc)
        if appcontext_tearing_down.receivers:
            await self._signal(aio, appcontext_tearing_down, exc=exc)

    # -- Flask's public pipeline steps (synchronous) ----------------------------------------

    def full_dispatch_request(self) -> Response:
        """Run the whole request: hooks, view, error handling, response processing."""
        ctx = _cv_request.get()
        if not self._got_first_request:
            self._finish_setup()
        return drive(self._full_dispatch(ctx, False))

    def preprocess_request(self) -> ft.ResponseReturnValue | None:
        """Run URL value preprocessors and ``before_request`` functions; a value
        returned by one of them ends the request with that response."""
        return drive(self._preprocess(_cv_request.get(), False))

    def dispatch_request(self) -> ft.ResponseReturnValue:
        """Call the view of the matched rule (or raise the routing error)."""
        return drive(self._dispatch(_cv_request.get(), False))

    def finalize_request(
        self,
        rv: ft.ResponseReturnValue | HTTPException,
        from_error_handler: bool = False,
    ) -> Response:
        """Turn a view's return value into a response and run ``after_request``."""
        return drive(self._finalize_default(_cv_request.get(), rv, False, from_error_handler))

    def process_response(self, response: Response) -> Response:
        """Run ``after_this_request`` and ``after_request`` functions, save the session."""
        return drive(self._process_response(_cv_request.get(), response, False))

    def handle_user_exception(self, e: Exception) -> HTTPException | ft.ResponseReturnValue:
        """Handle an exception raised by a hook or view with a registered handler,
        or re-raise it for :meth:`handle_exception`."""
        ctx = _cv_request.get()
        saved = self._overrides.pop("handle_user_exception", None)
        try:
            return drive(self._handle_user_exception(ctx, e, False))
        finally:
            if saved is not None:
                self._overrides["handle_user_exception"] = saved

    def handle_http_exception(self, e: HTTPException) -> HTTPException | ft.ResponseReturnValue:
        """Handle an HTTP exception with a registered handler, or return it as is."""
        return drive(self._handle_http_exception(_cv_request.get(), e, False))

    def handle_exception(self, e: Exception) -> Response:
        """Handle an exception no user handler caught: log it and answer 500
        (or re-raise it when ``PROPAGATE_EXCEPTIONS`` is in effect)."""
        ctx = _cv_request.get()
        saved = self._overrides.pop("handle_exception", None)
        try:
            return drive(self._handle_exception(ctx, e, False))
        finally:
            if saved is not None:
                self._overrides["handle_exception"] = saved

    def do_teardown_request(self, exc: BaseException | None = _sentinel) -> None:
        """Run ``teardown_request`` functions (innermost blueprint first)."""
        if not self.teardown_request_funcs and not request_tearing_down.receivers:
            return
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        drive(self._teardown_request(_cv_request.get(), exc, False))

    def do_teardown_appcontext(self, exc: BaseException | None = _sentinel) -> None:
        """Run ``teardown_appcontext`` functions, last registered first."""
        if not self.teardown_appcontext_funcs and not appcontext_tearing_down.receivers:
            return
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        drive(self._teardown_appcontext(exc, False))

    def raise_routing_exception(self, request: Request) -> t.NoReturn:
        """Raise the request's routing error.

        In debug mode, a redirect that would drop a form body (301/302 after a
        POST) raises an error explaining the missing trailing slash instead.
        """
        exc = request.routing_exception
        assert exc is not None
        if isinstance(exc, WebsocketMismatch) and exc.description == WebsocketMismatch.description:
            exc.description = (
                "This URL serves WebSocket connections only: connect with a WebSocket"
                " client to an ASGI server (WSGI cannot carry WebSockets)."
                if request.scheme in ("http", "https")
                else "This URL does not accept WebSocket connections."
            )
        if (
            self.debug
            and isinstance(exc, RequestRedirect)
            and exc.code not in (307, 308)
            and request.method not in ("GET", "HEAD", "OPTIONS")
        ):
            raise AssertionError(
                f"A request was sent to {request.url!r}, but routing issued a redirect to"
                f" {exc.new_url!r}. The browser will not resend the form body. Use the"
                " canonical URL (with or without the trailing slash) in the form."
            ) from exc
        raise exc

    def make_default_options_response(self) -> Response:
        """The response to an automatic OPTIONS request: 200 with ``Allow``."""
        ctx = _cv_request.get()
        adapter = ctx.url_adapter
        methods = adapter.allowed_methods() if adapter is not None else []
        rv = self.response_class()
        rv.allow.update(methods)
        return rv

    def log_exception(
        self,
        exc_info: tuple[type, BaseException, t.Any] | tuple[None, None, None],
    ) -> None:
        """Log an unhandled exception with the request's method and path."""
        ctx = _cv_request.get(None)
        where = f" on {ctx.request.path} [{ctx.request.method}]" if ctx is not None else ""
        self.logger.error(f"Exception{where}", exc_info=exc_info)

    # -- responses -----------------------------------------------------------------------------

    def make_response(self, rv: ft.ResponseReturnValue | HTTPException) -> Response:
        """Convert a view's return value into :attr:`response_class`.

        ``str``/``bytes`` and iterators become the body; ``dict`` and ``list``
        become JSON through :attr:`json`; a Response or WSGI callable is
        coerced; a tuple adds a status and/or headers. ``None`` or any other
        type raises TypeError naming the view and what it returned.
        """
        status: t.Any = None
        headers: t.Any = None
        if isinstance(rv, tuple):
            items: tuple[t.Any, ...] = rv
            len_rv = len(items)
            if len_rv == 3:
                rv, status, headers = items
            elif len_rv == 2:
                if isinstance(items[1], (Headers, dict, tuple, list)):
                    rv, headers = items
                else:
                    rv, status = items
            else:
                raise TypeError(
                    f"The view function for {_endpoint_name()} did not return a valid"
                    " response tuple. The tuple must have the form (body, status, headers),"
                    f" (body, status), or (body, headers); it had {len_rv} items."
                )
        if rv is None:
            raise TypeError(
                f"The view function for {_endpoint_name()} did not return a valid"
                " response. The function either returned None or ended without a return"
                " statement."
            )
        response_class = self.response_class
        text_type = self._text_content_type
        if (
            text_type is not None
            and (rv.__class__ is str or rv.__class__ is bytes)
            and (headers is None or headers.__class__ is dict)
        ):
            # The common case, built directly. Headers given as a dict replace
            # the defaults, as passing them to the constructor would.
            body = rv.encode() if isinstance(rv, str) else rv
            extra: list[tuple[str, str]] = []
            if headers:
                headers, text_type, extra = _split_plain_headers(headers, text_type)
            if status.__class__ is int:
                # An int status goes into the constructor: 200 needs no parsing.
                rv = response_class._from_bytes(body, text_type, status, extra)
                status = None
            else:
                rv = response_class._from_bytes(body, text_type, extra_headers=extra)
        elif rv.__class__ is not response_class and not isinstance(rv, response_class):
            if isinstance(rv, (str, bytes, bytearray, cabc.Iterator, cabc.AsyncIterator)):
                rv = response_class(
                    rv,  # async iterators are streamed by the ASGI driver
                    status=status,
                    headers=headers,
                )
                status = headers = None
            elif isinstance(rv, (dict, list)):
                rv = self.json.response(rv)
            elif (
                text_type is not None
                and isinstance(rv, HTTPException)
                and rv.response is None
                and type(rv).get_response is HTTPException.get_response
            ):
                rv = self._http_exception_response(rv)
            elif isinstance(rv, BaseResponse) or callable(rv):
                try:
                    rv = response_class.force_type(
                        rv,  # type: ignore[arg-type]  # a WSGI callable
                        _cv_request.get().request.environ,
                    )
                except TypeError as e:
                    raise TypeError(
                        f"{e}\nThe view function for {_endpoint_name()} did not return a"
                        " valid response. The return type must be a string, dict, list,"
                        " tuple with headers or status, Response instance, or WSGI"
                        f" callable, but it was a {type(rv).__name__}."
                    ).with_traceback(sys.exc_info()[2]) from None
            else:
                raise TypeError(
                    f"The view function for {_endpoint_name()} did not return a valid"
                    " response. The return type must be a string, dict, list, tuple with"
                    " headers or status, Response instance, generator, or WSGI callable,"
                    f" but it was a {type(rv).__name__}."
                )
        response = t.cast(Response, rv)
        if status is not None:
            if isinstance(status, (str, bytes, bytearray)):
                response.status = status  # type: ignore[assignment]  # bytes accepted too
            else:
                response.status_code = status
        if headers:
            response.headers.update(headers)
        return response

    def _http_exception_response(self, e: HTTPException) -> Response:
        """The page Werkzeug would render for ``e``, built directly."""
        ctx = _cv_request.get(None)
        environ = ctx.request.environ if ctx is not None else None
        content_type, extra = self._http_exception_headers(e, environ)
        return self.response_class._from_bytes(
            self._error_page(e, environ), content_type, e.code or 500, extra
        )

    def _http_exception_output(
        self, e: HTTPException, environ: WSGIEnvironment
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """:meth:`_http_exception_response` as status, headers and body."""
        content_type, extra = self._http_exception_headers(e, environ)
        body = self._error_page(e, environ)
        return (
            e.code or 500,
            [("Content-Type", content_type), *extra, ("Content-Length", str(len(body)))],
            body,
        )

    @staticmethod
    def _http_exception_headers(
        e: HTTPException, environ: WSGIEnvironment | None
    ) -> tuple[str, list[tuple[str, str]]]:
        content_type = "text/html; charset=utf-8"
        extra: list[tuple[str, str]] = []
        for name, value in e.get_headers(environ):
            if name.lower() == "content-type":
                content_type = value
            else:
                extra.append((name, value))
        return content_type, extra

    def _error_page(self, e: HTTPException, environ: WSGIEnvironment | None) -> bytes:
        """Werkzeug's HTML page for ``e``, remembered per class and description.

        Rendering escapes the title and description each time; the page of a
        plain 404 or 405 never changes. Subclasses that customise the body are
        rendered every time. The cache is bounded because ``abort(404, text)``
        puts request-dependent text in the description.
        """
        cls = type(e)
        description = e.description
        if (
            cls.get_body is not HTTPException.get_body
            or cls.get_description is not HTTPException.get_description
            or cls.name is not HTTPException.name
            or description.__class__ is not str
        ):
            return e.get_body(environ).encode()
        key = (cls, e.code, description)
        page = self._error_pages.get(key)
        if page is None:
            page = e.get_body(environ).encode()
            if len(self._error_pages) >= 128:
                self._error_pages.clear()
            self._error_pages[key] = page
        return page

    # -- routing and URLs ----------------------------------------------------------------------

    def _match_request(self, ctx: RequestContext, known: object = None) -> None:
        """Match ``ctx.request``: the compiled table first, then the URL map.
        ``known``: what :meth:`RouteTable.match_known` answered, when the
        caller already asked it (the fast lane does)."""
        routes = self._routes
        if known is None:
            known = routes.match_known(ctx.request)
            if known is MATCHED:
                return
        if known is NO_LITERAL:
            # The host is known good and no literal rule answers: only
            # converter rules (or Werkzeug, which they defer to) can.
            routes.match_dynamic(ctx.request)
            return
        if not routes.host_is_valid(ctx.request):
            ctx.request.routing_exception = BadRequest("The Host header is not a valid host.")
            return
        if routes.enabled:
            if not routes.match(ctx.request):
                routes.match_dynamic(ctx.request)
        else:
            adapter = ctx.url_adapter
            if adapter is None:
                return
            request = ctx.request
            try:
                rule, view_args = adapter.match(return_rule=True)
            except HTTPException as e:
                request.routing_exception = e
            else:
                request.url_rule = rule
                request.view_args = dict(view_args)

    def url_for(
        self,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: t.Any,
    ) -> str:
        """Build a URL for ``endpoint``; see :func:`phial.url_for`."""
        return build_url(
            self,
            endpoint,
            anchor=_anchor,
            method=_method,
            scheme=_scheme,
            external=_external,
            values=values,
        )

    def _resolve_url_endpoint(self, endpoint: str, request: Request) -> str:
        """Expand a relative endpoint for :meth:`url_for` during ``request``."""
        from .urls import resolve_endpoint

        if self.modules:
            # During a Flask 0.6 module's request, its own (opposite) rules apply.
            module = request.module
            if module is not None and module in self.modules:
                from .modules import resolve_module_endpoint

                return resolve_module_endpoint(endpoint, module)
        return resolve_endpoint(self, endpoint, request.blueprint)

    # -- templates ----------------------------------------------------------------------------

    def create_jinja_environment(self) -> Environment:
        """Create the Jinja environment from :attr:`jinja_options` and the app's settings.

        Autoescaping follows :meth:`select_jinja_autoescape`, auto-reload follows
        :attr:`templates_auto_reload`, unless ``jinja_options`` sets them. The
        globals ``url_for``, ``get_flashed_messages``, ``config``, ``request``,
        ``session`` and ``g`` and the HTML-safe ``tojson`` filter are added.
        """
        from . import templating
        from .globals import g, request, session

        options = dict(self.jinja_options)
        options.setdefault("autoescape", self.select_jinja_autoescape)
        options.setdefault("auto_reload", self.templates_auto_reload)
        env = self.jinja_environment(self, **options)
        env.globals.update(
            url_for=self.url_for,
            get_flashed_messages=templating._get_flashed_messages_function(),
            config=self.config,
            request=request,
            session=session,
            g=g,
        )
        # Looked up per call: an app may replace its JSON provider after the env exists.
        env.policies["json.dumps_function"] = lambda obj, **kw: self.json.dumps(obj, **kw)
        env.filters["tojson"] = templating._tojson_filter
        return env

    def create_global_jinja_loader(self) -> DispatchingJinjaLoader:
        """The loader of :attr:`jinja_env`: modules, then the app, then blueprints."""
        from .templating import DispatchingJinjaLoader

        return DispatchingJinjaLoader(self)

    def update_template_context(self, context: dict[str, t.Any]) -> None:
        """Add the values of the context processors to ``context``, in place.

        The app's processors run first, then those of the current request's
        blueprints, outermost first; values already in ``context`` (passed to
        the render function) win over all of them.
        """
        names: t.Iterable[str | None] = (None,)
        req_ctx = _cv_request.get(None)
        if req_ctx is not None:
            blueprints = req_ctx.request.blueprints
            if blueprints:
                names = (None, *reversed(blueprints))
        passed = context.copy()
        processors = self.template_context_processors
        for name in names:
            funcs = processors.get(name)
            if funcs:
                for func in funcs:
                    context.update(self.ensure_sync(func)())
        context.update(passed)

    # -- static files ---------------------------------------------------------------------------

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """Cache max-age for a static file: ``SEND_FILE_MAX_AGE_DEFAULT`` (None = no cache)."""
        from .helpers import _max_age_from_config

        return _max_age_from_config(self.config)

    def send_static_file(self, filename: str) -> Response:
        """Serve ``filename`` from :attr:`static_folder` (the ``static`` endpoint)."""
        from .helpers import _send_static_file

        return _send_static_file(self, filename)

    def open_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = None
    ) -> t.IO[t.Any]:
        """Open a file relative to :attr:`root_path` for reading."""
        if mode not in {"r", "rt", "rb"}:
            raise ValueError("Resources can only be opened for reading.")
        path = os.path.join(self.root_path, resource)
        if mode == "rb":
            return open(path, mode)  # the caller closes it
        return open(path, mode, encoding=encoding)  # the caller closes it

    def open_instance_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> t.IO[t.Any]:
        """Open a file relative to :attr:`instance_path` (writing allowed)."""
        path = os.path.join(self.instance_path, resource)
        if "b" in mode:
            return open(path, mode)  # the caller closes it
        return open(path, mode, encoding=encoding)  # the caller closes it

    # -- testing and running --------------------------------------------------------------------

    def test_client(self, use_cookies: bool = True, **kwargs: t.Any) -> FlaskClient:
        """A test client for this app (see :class:`phial.testing.FlaskClient`)."""
        from .testing import FlaskClient

        cls = self.test_client_class or FlaskClient
        return cls(self, self.response_class, use_cookies=use_cookies, **kwargs)

    def make_shell_context(self) -> dict[str, t.Any]:
        """The namespace of ``phial shell``: ``app``, ``g`` and what each
        :meth:`shell_context_processor` returns."""
        from .globals import g

        rv: dict[str, t.Any] = {"app": self, "g": g}
        for processor in self.shell_context_processors:
            rv.update(processor())
        return rv

    def test_cli_runner(self, **kwargs: t.Any) -> FlaskCliRunner:
        """A click runner that invokes this app's CLI commands."""
        from .testing import FlaskCliRunner

        cls = self.test_cli_runner_class or FlaskCliRunner
        return cls(self, **kwargs)

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        load_dotenv: bool = True,
        **options: t.Any,
    ) -> None:
        """Serve the app with Werkzeug's development server (never in production).

        ``host`` and ``port`` default to ``SERVER_NAME``'s parts, then
        ``127.0.0.1:5000``; ``debug`` turns on the reloader and debugger.
        Other options go to :func:`werkzeug.serving.run_simple`.
        """
        if os.environ.get("FLASK_RUN_FROM_CLI") == "true":
            # The CLI serves already (in the reloader's child too): never start
            # a second server from inside it.
            from werkzeug.serving import is_running_from_reloader

            if not is_running_from_reloader():
                import click

                click.secho(
                    " * Ignoring a call to 'app.run()' that would block the current"
                    " 'flask run' command.\n   Call 'app.run()' only under"
                    " 'if __name__ == \"__main__\":'.",
                    fg="red",
                )
            return
        from . import cli

        if cli.get_load_dotenv(load_dotenv):
            cli.load_dotenv()
            # A debug flag from the environment (or a .env file) wins over config.
            if "FLASK_DEBUG" in os.environ or "PHIAL_DEBUG" in os.environ:
                self.debug = cli.get_debug_flag()
        # The debug argument wins over every other source.
        if debug is not None:
            self.debug = bool(debug)
        server_name = self.config.get("SERVER_NAME")
        sn_host = sn_port = None
        if server_name:
            sn_host, _, sn_port = server_name.partition(":")
        if not host:
            host = sn_host or "127.0.0.1"
        if port or port == 0:
            port = int(port)
        elif sn_port:
            port = int(sn_port)
        else:
            port = 5000
        options.setdefault("use_reloader", self.debug)
        options.setdefault("use_debugger", self.debug)
        options.setdefault("threaded", True)
        cli.show_server_banner(self.debug, self.name)
        from werkzeug.serving import run_simple

        try:
            run_simple(t.cast(str, host), port, self, **options)
        finally:
            # A reloaded process starts from scratch; a plain restart in the same
            # process (tests) may register again.
            self._got_first_request = False


#: :mod:`phial.asgi`, imported by the first ASGI call (WSGI-only apps never need it);
#: held here because an import statement in the hot path costs a microsecond per call.
_asgi: t.Any = None
#: Phial.asgi_app as defined, before _import_asgi puts the driver in its place.
_load_asgi_app = Phial.__dict__["asgi_app"]


def _import_asgi() -> t.Any:
    global _asgi
    from . import asgi

    _asgi = asgi
    if Phial.__dict__["asgi_app"] is _load_asgi_app:
        # From now on the driver itself is the method, as serve_wsgi is
        # wsgi_app: one frame less per request. (Loaded on first use so that
        # importing phial does not import the ASGI driver.)
        Phial.asgi_app = asgi.serve_asgi  # type: ignore[method-assign, assignment]  # same signature
    return asgi


def _lane_output_with_headers(
    status: int, headers: dict[str, t.Any], body: bytes, content_type: str
) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """:meth:`Phial._lane_output` for a header dict other than a lone
    Content-Type: its headers replace the defaults (see make_response)."""
    rest, content_type, extra = _split_plain_headers(headers, content_type)
    if rest is not None:
        return None  # the general steps apply (or refuse) those
    extra.append(("Content-Length", str(len(body))))
    return status, [("Content-Type", content_type), *extra], body


def _split_plain_headers(
    headers: dict[str, t.Any], content_type: str
) -> tuple[dict[str, t.Any] | None, str, list[tuple[str, str]]]:
    """Take a view's header dict apart for direct construction.

    Returns the headers still to apply the slow way (non-str values, or any
    value Werkzeug would reject, so that it raises its own error), the
    Content-Type to use, and the other plain headers in order.
    """
    extra: list[tuple[str, str]] = []
    rest: dict[str, t.Any] | None = None
    for name, value in headers.items():
        if (
            value.__class__ is not str
            or name.__class__ is not str
            # A printable value has no line break or NUL: the search is skipped.
            or (not value.isprintable() and _HEADER_BREAK.search(value))
        ):
            if rest is None:
                rest = {}
            rest[name] = value
            continue
        lowered = name.lower()
        if lowered == "content-type":
            content_type = value
        elif lowered == "content-length" or lowered in _REWRITTEN_HEADERS:
            # (Werkzeug's emission rewrites Location and Content-Location.)
            if rest is None:
                rest = {}
            rest[name] = value
        else:
            extra.append((name, value))
    return rest, content_type, extra


def _fast_text_content_type(response_class: type[Response]) -> str | None:
    """The Content-Type for directly built text responses, or ``None`` when the
    response class customises construction (then the constructor always runs)."""
    if response_class.__init__ is not Response.__init__ or response_class.default_mimetype is None:
        return None
    from werkzeug.utils import get_content_type

    return get_content_type(response_class.default_mimetype, "utf-8")


def _endpoint_name() -> str:
    ctx = _cv_request.get(None)
    if ctx is None or ctx.request.url_rule is None:
        return "this request"
    return repr(ctx.request.url_rule.endpoint)


#: Flask's name for the application class.
Flask = Phial
