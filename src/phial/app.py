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
from datetime import timedelta
from itertools import chain

from werkzeug.datastructures import Headers
from werkzeug.exceptions import (
    BadRequestKeyError,
    HTTPException,
    InternalServerError,
)
from werkzeug.routing import RequestRedirect, Rule, WebsocketMismatch
from werkzeug.wrappers import Response as BaseResponse

from . import typing as ft
from ._async import LoopPerThread, drive, is_async_callable, mark_asgi3
from ._routing import RouteTable
from .ctx import AppContext, RequestContext, _AppCtxGlobals
from .globals import _cv_request
from .sansio.app import App
from .signals import (
    _send,
    appcontext_tearing_down,
    got_request_exception,
    request_finished,
    request_started,
    request_tearing_down,
)
from .wrappers import Request, Response

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .sessions import SessionMixin
    from .testing import FlaskClient, FlaskCliRunner

T = t.TypeVar("T")
_sentinel: t.Any = object()

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
    session_interface: t.Any = None
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
        self._sync_wrappers: dict[t.Any, t.Callable[..., t.Any]] = {}
        self._overrides: dict[str, t.Callable[..., t.Any]] = {}
        self._routes = RouteTable(self)

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
    def __call__(self, *args: t.Any) -> t.Any:
        """WSGI with ``(environ, start_response)``; ASGI with ``(scope, receive, send)``."""
        if len(args) == 2:
            return self.wsgi_app(*args)
        if len(args) == 3:
            return self.asgi_app(*args)
        raise TypeError(
            "A phial app is called as a WSGI app (environ, start_response) or as an"
            f" ASGI app (scope, receive, send), not with {len(args)} arguments."
        )

    def wsgi_app(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> cabc.Iterable[bytes]:
        """The WSGI application; wrap this attribute to add WSGI middleware."""
        from .wsgi import serve_wsgi

        return serve_wsgi(self, environ, start_response)

    def asgi_app(self, scope: t.Any, receive: t.Any, send: t.Any) -> t.Any:
        """The ASGI application; wrap this attribute to add ASGI middleware."""
        from .asgi import serve_asgi

        return serve_asgi(self, scope, receive, send)

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
        self._got_first_request = True

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
        if interface is None:
            raise RuntimeError(
                "This app has no session interface; phial.sessions is not available."
            )
        session = interface.open_session(self, request)
        if session is None:
            session = interface.make_null_session(self)
        return t.cast("SessionMixin", session)

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
        self._sync_wrappers[func] = wrapped
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
            from .asgi import call_async

            return await call_async(self, func, *args)
        return self.ensure_sync(func)(*args)

    async def _step(self, aio: bool, name: str, *args: t.Any) -> t.Any:
        """Call an overridden public step (see :data:`_OVERRIDABLE_STEPS`)."""
        return await self._call(aio, self._overrides[name], *args)

    # -- the request pipeline (written once) -------------------------------------------

    async def _full_dispatch(self, ctx: RequestContext, aio: bool) -> Response:
        if "full_dispatch_request" in self._overrides:
            return t.cast(Response, await self._step(aio, "full_dispatch_request"))
        try:
            if request_started.receivers:
                _send(request_started, self, _async_wrapper=self.ensure_sync)
            if "preprocess_request" in self._overrides:
                rv = await self._step(aio, "preprocess_request")
            else:
                rv = await self._preprocess(ctx, aio)
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
            from .asgi import call_async

            return t.cast(ft.ResponseReturnValue, await call_async(self, view, **view_args))
        return t.cast(ft.ResponseReturnValue, self.ensure_sync(view)(**view_args))

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
        response = self.make_response(rv)
        try:
            if "process_response" in self._overrides:
                response = await self._step(aio, "process_response", response)
            else:
                response = await self._process_response(ctx, response, aio)
            if request_finished.receivers:
                _send(request_finished, self, _async_wrapper=self.ensure_sync, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    async def _process_response(
        self, ctx: RequestContext, response: Response, aio: bool
    ) -> Response:
        for func in ctx._after_request_functions:
            response = await self._call(aio, func, response)
        for name in chain(ctx.request.blueprints, (None,)):
            funcs = self.after_request_funcs.get(name)
            if funcs:
                for func in reversed(funcs):
                    response = await self._call(aio, func, response)
        session = ctx._session
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
            _send(got_request_exception, self, _async_wrapper=self.ensure_sync, exception=e)
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
            _send(request_tearing_down, self, _async_wrapper=self.ensure_sync, exc=exc)

    async def _teardown_appcontext(self, exc: BaseException | None, aio: bool) -> None:
        for func in reversed(self.teardown_appcontext_funcs):
            await self._call(aio, func, exc)
        if appcontext_tearing_down.receivers:
            _send(appcontext_tearing_down, self, _async_wrapper=self.ensure_sync, exc=exc)

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
        ctx = _cv_request.get()
        response = self.make_response(rv)
        try:
            response = drive(self._process_response(ctx, response, False))
            if request_finished.receivers:
                _send(request_finished, self, _async_wrapper=self.ensure_sync, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

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
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        drive(self._teardown_request(_cv_request.get(), exc, False))

    def do_teardown_appcontext(self, exc: BaseException | None = _sentinel) -> None:
        """Run ``teardown_appcontext`` functions, last registered first."""
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
        if rv.__class__ is not response_class and not isinstance(rv, response_class):
            if isinstance(rv, (str, bytes, bytearray, cabc.Iterator, cabc.AsyncIterator)):
                rv = response_class(
                    rv,  # type: ignore[arg-type]  # async iterators are streamed by the ASGI driver
                    status=status,
                    headers=headers,
                )
                status = headers = None
            elif isinstance(rv, (dict, list)):
                rv = self.json.response(rv)
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

    # -- routing and URLs ----------------------------------------------------------------------

    def _match_request(self, ctx: RequestContext) -> None:
        """Match ``ctx.request``: the compiled table first, then the URL map."""
        if not self._routes.match(ctx.request):
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
        from .urls import build_url

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

        return resolve_endpoint(self, endpoint, request.blueprint)

    # -- static files ---------------------------------------------------------------------------

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """Cache max-age for a static file: ``SEND_FILE_MAX_AGE_DEFAULT`` (None = no cache)."""
        value = self.config["SEND_FILE_MAX_AGE_DEFAULT"]
        if value is None:
            return None
        if isinstance(value, timedelta):
            return int(value.total_seconds())
        return int(value)

    def send_static_file(self, filename: str) -> Response:
        """Serve ``filename`` from :attr:`static_folder` (the ``static`` endpoint)."""
        if not self.has_static_folder:
            raise RuntimeError("'static_folder' must be set to serve static_files.")
        from .helpers import send_from_directory

        max_age = self.get_send_file_max_age(filename)
        return send_from_directory(t.cast(str, self.static_folder), filename, max_age=max_age)

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
            from werkzeug.serving import is_running_from_reloader

            if not is_running_from_reloader():
                return
        if load_dotenv:
            try:
                from .cli import load_dotenv as _load_dotenv  # type: ignore[attr-defined, unused-ignore]  # lands with the CLI
            except ImportError:
                pass
            else:
                _load_dotenv()
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
        from werkzeug.serving import run_simple

        try:
            run_simple(t.cast(str, host), port, self, **options)
        finally:
            # A reloaded process starts from scratch; a plain restart in the same
            # process (tests) may register again.
            self._got_first_request = False


def _endpoint_name() -> str:
    ctx = _cv_request.get(None)
    if ctx is None or ctx.request.url_rule is None:
        return "this request"
    return repr(ctx.request.url_rule.endpoint)


#: Flask's name for the application class.
Flask = Phial
