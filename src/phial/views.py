"""Class-based views: :class:`View` and :class:`MethodView`.

A class describes a view; :meth:`View.as_view` turns it into the function
registered with :meth:`~phial.Phial.add_url_rule`. Handlers may be ``def`` or
``async def``. Whether the generated function is synchronous or a coroutine
function is decided once, in :meth:`~View.as_view`: when every handler is a
coroutine and the class has no :attr:`~View.decorators`, the view is itself a
coroutine function, so over ASGI it is awaited on the server's loop; otherwise
it is a plain function (what decorators written for Flask expect) that runs
coroutine handlers with :meth:`~phial.Phial.ensure_sync`.
"""

from __future__ import annotations

import typing as t
from functools import partial

from werkzeug.exceptions import MethodNotAllowed

from . import globals as _globals
from . import typing as ft
from ._async import is_async_callable

# Bound by assignment, not imported by name: see phial.globals.
_cv_request = _globals._cv_request

#: The HTTP methods :class:`MethodView` looks for as lower-case method names.
http_method_funcs = frozenset(["get", "post", "head", "options", "delete", "put", "trace", "patch"])

_AsyncDispatch = t.Callable[..., t.Awaitable[ft.ResponseReturnValue]]


class View:
    """Subclass this and implement :meth:`dispatch_request` to write a view as a class.

    Register it with ``app.add_url_rule("/users/", view_func=Users.as_view("users"))``.
    Arguments captured by the URL rule are passed to :meth:`dispatch_request` as
    keyword arguments. By default a new instance serves each request; set
    :attr:`init_every_request` to ``False`` to build one instance up front.
    """

    #: The methods the view accepts; ``None`` lets :meth:`~phial.Phial.add_url_rule`
    #: default to ``GET`` (``HEAD`` and ``OPTIONS`` are added as usual).
    methods: t.ClassVar[t.Collection[str] | None] = None

    #: Whether ``OPTIONS`` is answered automatically; ``None`` follows the app's
    #: ``PROVIDE_AUTOMATIC_OPTIONS`` setting.
    provide_automatic_options: t.ClassVar[bool | None] = None

    #: Decorators applied, in order, to the function :meth:`as_view` generates
    #: (the first is the innermost). Decorators on the class itself would decorate
    #: the class, not the view, so list them here instead.
    decorators: t.ClassVar[list[t.Callable[..., t.Any]]] = []

    #: Create a new instance for each request. With ``False`` one instance, made
    #: by :meth:`as_view`, serves every request: it must keep no request data on
    #: ``self`` (store it on ``g`` instead), but setup work runs only once.
    init_every_request: t.ClassVar[bool] = True

    def dispatch_request(self) -> ft.ResponseReturnValue:
        """Handle the request and return a response value, like a view function.

        Receives the rule's arguments as keyword arguments. Must be overridden;
        it may be ``async def``.
        """
        raise NotImplementedError()

    @classmethod
    def as_view(cls, name: str, *class_args: t.Any, **class_kwargs: t.Any) -> ft.RouteCallable:
        """Return a view function for this class, to register with a URL rule.

        ``name`` is the function's ``__name__`` and so its default endpoint.
        ``class_args`` and ``class_kwargs`` are passed to the class when an
        instance is made (each request, or once if :attr:`init_every_request` is
        ``False``). The function carries ``view_class``, ``methods`` and
        ``provide_automatic_options`` for :meth:`~phial.Phial.add_url_rule`, and
        the class's ``__doc__`` and ``__module__``.
        """
        make: t.Callable[[], View]
        if cls.init_every_request:
            make = partial(cls, *class_args, **class_kwargs)
        else:
            instance = cls(*class_args, **class_kwargs)

            def make() -> View:
                return instance

        run_async = None if cls.decorators else cls._async_dispatcher()
        view: t.Callable[..., t.Any]
        if run_async is not None:
            run = run_async

            async def view(**kwargs: t.Any) -> ft.ResponseReturnValue:
                return await run(make(), **kwargs)

        else:
            dispatch = cls.dispatch_request
            if is_async_callable(dispatch):

                def view(**kwargs: t.Any) -> ft.ResponseReturnValue:
                    # Made synchronous per app (each app has its own loops);
                    # ensure_sync caches the wrapper for the plain function.
                    app = _cv_request.get().app
                    return t.cast(
                        ft.ResponseReturnValue, app.ensure_sync(dispatch)(make(), **kwargs)
                    )

            else:

                def view(**kwargs: t.Any) -> ft.ResponseReturnValue:
                    return dispatch(make(), **kwargs)

        # Any: decorators may return any callable, and attributes are set on it.
        func: t.Any = view
        for decorator in cls.decorators:
            func = decorator(func)

        # Flask's view functions carry these; add_url_rule reads the last two.
        func.view_class = cls
        func.__name__ = name
        func.__doc__ = cls.__doc__
        func.__module__ = cls.__module__
        func.methods = cls.methods
        func.provide_automatic_options = cls.provide_automatic_options
        return t.cast(ft.RouteCallable, func)

    @classmethod
    def _async_dispatcher(cls) -> _AsyncDispatch | None:
        """An unbound coroutine function ``(self, **kwargs)`` that dispatches a
        request, if the whole view is asynchronous; else ``None``."""
        dispatch = cls.dispatch_request
        return dispatch if is_async_callable(dispatch) else None  # type: ignore[return-value]  # checked to be async


class MethodView(View):
    """Dispatch each request to the method named after the HTTP method.

    ``get``, ``post``, ``put``… handle their requests; ``HEAD`` uses ``get`` when
    there is no ``head``. :attr:`~View.methods` is filled in from the handlers
    the class and its bases define (unless the class sets it). Handlers may be
    ``async def``.

    Unlike Flask, which fails an assertion (a 500), a request whose method the
    rule allows but the class does not implement is answered with 405.
    """

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        if "methods" not in cls.__dict__:
            methods: set[str] = set()
            for base in cls.__bases__:
                base_methods = getattr(base, "methods", None)
                if base_methods:
                    methods.update(base_methods)
            for key in http_method_funcs:
                if hasattr(cls, key):
                    methods.add(key.upper())
            # Left as None when empty, so add_url_rule falls back to GET.
            if methods:
                cls.methods = methods

    def dispatch_request(self, **kwargs: t.Any) -> ft.ResponseReturnValue:
        """Call the handler for the request's method with the rule's arguments."""
        ctx = _cv_request.get()
        handler = self._handler(ctx.request.method)
        # ensure_sync caches per callable: pass it the plain function, not a
        # bound method that is new for each instance (the cache would grow).
        func = getattr(handler, "__func__", None)
        if func is not None and getattr(handler, "__self__", None) is self:
            return t.cast(ft.ResponseReturnValue, ctx.app.ensure_sync(func)(self, **kwargs))
        return t.cast(ft.ResponseReturnValue, ctx.app.ensure_sync(handler)(**kwargs))

    async def _dispatch_async(self, **kwargs: t.Any) -> ft.ResponseReturnValue:
        """:meth:`dispatch_request` for classes whose handlers are all coroutines."""
        handler = self._handler(_cv_request.get().request.method)
        return t.cast(ft.ResponseReturnValue, await handler(**kwargs))

    def _handler(self, method: str) -> t.Callable[..., t.Any]:
        handler = getattr(self, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(self, "get", None)
        if handler is None:
            allowed = {m.upper() for m in http_method_funcs if hasattr(self, m)}
            if "GET" in allowed:
                allowed.add("HEAD")
            raise MethodNotAllowed(valid_methods=sorted(allowed))
        return t.cast(t.Callable[..., t.Any], handler)

    @classmethod
    def _async_dispatcher(cls) -> _AsyncDispatch | None:
        if cls.dispatch_request is not MethodView.dispatch_request:
            return super()._async_dispatcher()
        handlers = [getattr(cls, name) for name in http_method_funcs if hasattr(cls, name)]
        if handlers and all(is_async_callable(h) for h in handlers):
            return MethodView._dispatch_async
        return None
