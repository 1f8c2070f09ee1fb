"""Registration shared by the application, blueprints and modules.

A :class:`Scaffold` records views, hooks and handlers in dicts keyed by *scope*:
``None`` for the object itself, or a blueprint's dotted name once the record has
been copied into an application. Nothing here performs I/O or touches a context.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import typing as t
from collections import defaultdict
from functools import update_wrapper

from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.utils import cached_property

from .. import typing as ft

if t.TYPE_CHECKING:
    from jinja2 import BaseLoader

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

_sentinel = object()


def setupmethod(f: F) -> F:
    """Mark a registration method: it raises once the app has served a request.

    Registration after the first request would be applied to some workers and
    not others, and phial compiles hook chains at the first request, so a late
    change would silently be ignored. Failing loudly is kinder.
    """
    f_name = f.__name__

    def wrapper_func(self: Scaffold, *args: t.Any, **kwargs: t.Any) -> t.Any:
        self._check_setup_finished(f_name)
        return f(self, *args, **kwargs)

    return t.cast(F, update_wrapper(wrapper_func, f))


def get_root_path(import_name: str) -> str:
    """Return the folder of the module or package named ``import_name``.

    Falls back to the current working directory for modules without a file
    (the interactive interpreter, a namespace package).
    """
    module = sys.modules.get(import_name)
    module_file: str | None = getattr(module, "__file__", None)
    if module_file:
        return os.path.dirname(os.path.abspath(module_file))
    try:
        spec = importlib.util.find_spec(import_name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin in (None, "namespace", "built-in", "frozen"):
        if spec is not None and spec.submodule_search_locations:
            return os.path.abspath(next(iter(spec.submodule_search_locations)))
        return os.getcwd()
    return os.path.dirname(os.path.abspath(spec.origin))


def _endpoint_from_view_func(view_func: t.Callable[..., t.Any]) -> str:
    if view_func is None:
        raise TypeError("expected view func if endpoint is not provided.")
    return view_func.__name__


class Scaffold:
    """What an application, a blueprint and a module have in common.

    :param import_name: the name of the package or module the object belongs to;
        used to find ``root_path``.
    :param static_folder: a folder of static files, relative to ``root_path``.
    :param static_url_path: the URL prefix of the static route; defaults to the
        folder's name.
    :param template_folder: a folder of templates, relative to ``root_path``.
    :param root_path: the folder the other paths are relative to.
    """

    name: str
    _static_folder: str | None = None
    _static_url_path: str | None = None

    def __init__(
        self,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        root_path: str | None = None,
    ) -> None:
        self.import_name = import_name
        self.static_folder = static_folder
        self.static_url_path = static_url_path
        self.template_folder = template_folder
        if root_path is None:
            root_path = get_root_path(self.import_name)
        self.root_path = root_path

        self.view_functions: dict[str, ft.RouteCallable] = {}
        self.error_handler_spec: dict[
            ft.AppOrBlueprintKey,
            dict[int | None, dict[type[BaseException], ft.ErrorHandlerCallable]],
        ] = defaultdict(lambda: defaultdict(dict))
        self.before_request_funcs: dict[ft.AppOrBlueprintKey, list[ft.BeforeRequestCallable]] = (
            defaultdict(list)
        )
        self.after_request_funcs: dict[
            ft.AppOrBlueprintKey, list[ft.AfterRequestCallable[t.Any]]
        ] = defaultdict(list)
        self.teardown_request_funcs: dict[ft.AppOrBlueprintKey, list[ft.TeardownCallable]] = (
            defaultdict(list)
        )
        self.template_context_processors: dict[
            ft.AppOrBlueprintKey, list[ft.TemplateContextProcessorCallable]
        ] = defaultdict(list)
        self.url_value_preprocessors: dict[
            ft.AppOrBlueprintKey, list[ft.URLValuePreprocessorCallable]
        ] = defaultdict(list)
        self.url_default_functions: dict[ft.AppOrBlueprintKey, list[ft.URLDefaultCallable]] = (
            defaultdict(list)
        )
        # -- websocket hooks (not in Flask; keyed by scope like the request hooks) --
        self.before_websocket_funcs: dict[ft.AppOrBlueprintKey, list[t.Callable[[], t.Any]]] = (
            defaultdict(list)
        )
        self.after_websocket_funcs: dict[ft.AppOrBlueprintKey, list[t.Callable[[t.Any], t.Any]]] = (
            defaultdict(list)
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    def _check_setup_finished(self, f_name: str) -> None:
        raise NotImplementedError

    # -- static files ---------------------------------------------------------

    @property
    def static_folder(self) -> str | None:
        """The absolute path of the static folder, or ``None``."""
        if self._static_folder is not None:
            return os.path.join(self.root_path, self._static_folder)
        return None

    @static_folder.setter
    def static_folder(self, value: str | os.PathLike[str] | None) -> None:
        if value is not None:
            value = os.fspath(value).rstrip(r"\/")
        self._static_folder = value

    @property
    def has_static_folder(self) -> bool:
        """Whether a static folder is configured."""
        return self._static_folder is not None

    @property
    def static_url_path(self) -> str | None:
        """The URL prefix of the static route (no trailing slash)."""
        if self._static_url_path is not None:
            return self._static_url_path
        if self._static_folder is not None:
            basename = os.path.basename(self._static_folder)
            return f"/{basename}".rstrip("/")
        return None

    @static_url_path.setter
    def static_url_path(self, value: str | None) -> None:
        if value is not None:
            value = value.rstrip("/")
        self._static_url_path = value

    # -- templates --------------------------------------------------------------

    @cached_property
    def jinja_loader(self) -> BaseLoader | None:
        """A Jinja loader for :attr:`template_folder`, or ``None`` without one.

        Made on first use; assign another loader to replace it.
        """
        if self.template_folder is not None:
            from jinja2 import FileSystemLoader  # here: importing phial does not load Jinja2

            return FileSystemLoader(os.path.join(self.root_path, self.template_folder))
        return None

    # -- routing ----------------------------------------------------------------

    def _method_route(
        self, method: str, rule: str, options: dict[str, t.Any]
    ) -> t.Callable[[ft.T_route], ft.T_route]:
        if "methods" in options:
            raise TypeError("Use the 'route' decorator to use the 'methods' argument.")
        return self.route(rule, methods=[method], **options)

    @setupmethod
    def get(self, rule: str, **options: t.Any) -> t.Callable[[ft.T_route], ft.T_route]:
        """Shortcut for :meth:`route` with ``methods=["GET"]``."""
        return self._method_route("GET", rule, options)

    @setupmethod
    def post(self, rule: str, **options: t.Any) -> t.Callable[[ft.T_route], ft.T_route]:
        """Shortcut for :meth:`route` with ``methods=["POST"]``."""
        return self._method_route("POST", rule, options)

    @setupmethod
    def put(self, rule: str, **options: t.Any) -> t.Callable[[ft.T_route], ft.T_route]:
        """Shortcut for :meth:`route` with ``methods=["PUT"]``."""
        return self._method_route("PUT", rule, options)

    @setupmethod
    def delete(self, rule: str, **options: t.Any) -> t.Callable[[ft.T_route], ft.T_route]:
        """Shortcut for :meth:`route` with ``methods=["DELETE"]``."""
        return self._method_route("DELETE", rule, options)

    @setupmethod
    def patch(self, rule: str, **options: t.Any) -> t.Callable[[ft.T_route], ft.T_route]:
        """Shortcut for :meth:`route` with ``methods=["PATCH"]``."""
        return self._method_route("PATCH", rule, options)

    @setupmethod
    def route(self, rule: str, **options: t.Any) -> t.Callable[[ft.T_route], ft.T_route]:
        """Decorate a view function to register it for ``rule``.

        ``endpoint`` defaults to the function's name; other options go to
        :meth:`add_url_rule` and the Werkzeug :class:`~werkzeug.routing.Rule`.
        """

        def decorator(f: ft.T_route) -> ft.T_route:
            endpoint = options.pop("endpoint", None)
            self.add_url_rule(rule, endpoint, f, **options)
            return f

        return decorator

    @setupmethod
    def websocket(self, rule: str, **options: t.Any) -> t.Callable[[ft.T_route], ft.T_route]:
        """Decorate an ``async def`` view to serve WebSocket connections on ``rule``.

        The view talks through the ``websocket`` proxy. Over WSGI, or for a
        plain HTTP request, the rule answers 400. (Not in Flask.)
        """

        def decorator(f: ft.T_route) -> ft.T_route:
            endpoint = options.pop("endpoint", None)
            self.add_url_rule(
                rule,
                endpoint,
                f,
                provide_automatic_options=False,
                websocket=True,
                methods=["GET"],
                **options,
            )
            return f

        return decorator

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: ft.RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Register a rule; see :meth:`phial.Phial.add_url_rule`."""
        raise NotImplementedError

    @setupmethod
    def endpoint(self, endpoint: str) -> t.Callable[[F], F]:
        """Decorate a function to be the view for ``endpoint`` (rule added elsewhere)."""

        def decorator(f: F) -> F:
            self.view_functions[endpoint] = f
            return f

        return decorator

    # -- request hooks -----------------------------------------------------------

    @setupmethod
    def before_request(self, f: ft.T_before_request) -> ft.T_before_request:
        """Run ``f`` before each request; a non-``None`` return value ends it."""
        self.before_request_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def after_request(self, f: ft.T_after_request) -> ft.T_after_request:
        """Run ``f(response)`` after each request; it returns the response to send."""
        self.after_request_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def teardown_request(self, f: ft.T_teardown) -> ft.T_teardown:
        """Run ``f(exc)`` when the request context is popped, even after an error."""
        self.teardown_request_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def before_websocket(self, f: F) -> F:
        """Run ``f()`` before each websocket view, after the URL value
        preprocessors; a non-``None`` return value refuses the connection
        (closing it, or refusing the handshake, without running the view).
        (Not in Flask.)"""
        self.before_websocket_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def after_websocket(self, f: F) -> F:
        """Run ``f(rv)`` after each websocket view returns normally, where
        ``rv`` is what the view returned (usually ``None``); ``f`` returns the
        value passed to the next one. (Not in Flask.)"""
        self.after_websocket_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def context_processor(
        self, f: ft.T_template_context_processor
    ) -> ft.T_template_context_processor:
        """Register a function whose returned dict is added to template contexts."""
        self.template_context_processors[None].append(f)
        return f

    @setupmethod
    def url_value_preprocessor(self, f: ft.T_url_value_preprocessor) -> ft.T_url_value_preprocessor:
        """Register ``f(endpoint, values)``, run before ``before_request`` hooks."""
        self.url_value_preprocessors[None].append(f)
        return f

    @setupmethod
    def url_defaults(self, f: ft.T_url_defaults) -> ft.T_url_defaults:
        """Register ``f(endpoint, values)`` that fills in values when building URLs."""
        self.url_default_functions[None].append(f)
        return f

    # -- errors ---------------------------------------------------------------

    @setupmethod
    def errorhandler(
        self, code_or_exception: type[Exception] | int
    ) -> t.Callable[[ft.T_error_handler], ft.T_error_handler]:
        """Decorate a function to handle an HTTP status code or an exception class."""

        def decorator(f: ft.T_error_handler) -> ft.T_error_handler:
            self.register_error_handler(code_or_exception, f)
            return f

        return decorator

    @setupmethod
    def register_error_handler(
        self, code_or_exception: type[Exception] | int, f: ft.ErrorHandlerCallable
    ) -> None:
        """Register ``f`` as the handler of a status code or exception class."""
        exc_class, code = self._get_exc_class_and_code(code_or_exception)
        self.error_handler_spec[None][code][exc_class] = f

    @staticmethod
    def _get_exc_class_and_code(
        exc_class_or_code: type[Exception] | int,
    ) -> tuple[type[Exception], int | None]:
        """Normalise an error handler key to ``(exception class, status code)``."""
        exc_class: type[Exception]
        if isinstance(exc_class_or_code, int):
            try:
                exc_class = default_exceptions[exc_class_or_code]
            except KeyError:
                raise ValueError(
                    f"'{exc_class_or_code}' is not a recognized HTTP error code. Use a"
                    " subclass of HTTPException with that code instead."
                ) from None
        else:
            exc_class = exc_class_or_code

        if isinstance(exc_class, Exception):
            raise TypeError(
                f"{exc_class!r} is an instance, not a class. Handlers can only be"
                " registered for Exception classes or HTTP error codes."
            )
        if not isinstance(exc_class, type) or not issubclass(exc_class, Exception):
            raise ValueError(
                f"'{exc_class.__name__}' is not a subclass of Exception. Handlers"
                " can only be registered for Exception classes or HTTP error codes."
            )
        if issubclass(exc_class, HTTPException):
            return exc_class, exc_class.code
        return exc_class, None
