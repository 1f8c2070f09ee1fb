"""Flask 0.6's :class:`Module`: a deferred bundle of views and hooks.

A module records what is registered on it and replays it into an application
at :meth:`phial.Phial.register_module`. Its semantics are Flask 0.6's, which
differ from blueprints on purpose:

- endpoints are ``<module>.<function>``; ``request.module`` is the part of the
  endpoint before the last dot;
- while a module's request is active, :func:`phial.url_for` treats an undotted
  name as module-relative (``'index'`` → ``'<module>.index'``) and a leading dot
  as the **application** (``'.index'`` → ``'index'``) — the opposite of
  blueprints;
- ``before_request``, ``after_request`` and ``context_processor`` apply to the
  module's own requests; the ``app_`` forms apply to every request;
- a module in another folder than the app serves its ``static`` folder at
  ``<prefix>/static/<path:filename>`` as ``<module>.static``, and
  ``render_template('<module>/x.html')`` finds ``<module root>/templates/x.html``.

A module is a plain recording object, not a :class:`~phial.sansio.scaffold.Scaffold`:
a scaffold is itself a hook scope with its own registration API (``errorhandler``,
``teardown_request``, URL value processors, …), none of which Flask 0.6 modules
had. Each module method appends a callback that writes into the app's hook dicts
under the module's name as scope key; the request pipeline derives that key
from the endpoint (``request.blueprints``), so module-only hooks cost nothing
extra per request.
"""

from __future__ import annotations

import os
import typing as t

from werkzeug.utils import cached_property

from .sansio.scaffold import _endpoint_from_view_func, get_root_path

if t.TYPE_CHECKING:
    from jinja2 import FileSystemLoader

    from . import typing as ft
    from .sansio.app import App
    from .wrappers import Response

#: The URL path of a module's static files, below its URL prefix (Flask 0.6).
_DEFAULT_STATIC_PATH = "/static"


class _ModuleSetupState:
    """Where one registration of a module puts things: app, prefix, subdomain."""

    __slots__ = ("app", "module", "subdomain", "url_prefix")

    def __init__(
        self, module: Module, app: App, url_prefix: str | None, subdomain: str | None
    ) -> None:
        self.module = module
        self.app = app
        self.url_prefix = url_prefix
        self.subdomain = subdomain

    def add_url_rule(
        self,
        rule: str,
        endpoint: str,
        view_func: ft.RouteCallable | None,
        options: dict[str, t.Any],
    ) -> None:
        """Add ``rule`` below the prefix, as ``<module>.<endpoint>``."""
        if self.url_prefix:
            rule = self.url_prefix.rstrip("/") + rule
        options = dict(options)
        if self.subdomain is not None:
            options.setdefault("subdomain", self.subdomain)
        self.app.add_url_rule(rule, f"{self.module.name}.{endpoint}", view_func, **options)


_Deferred = t.Callable[[_ModuleSetupState], None]


class Module:
    """A group of views and hooks registered into an app as a unit (Flask 0.6).

    ``Module(__name__)`` in ``yourapp/admin/__init__.py`` is named ``admin``;
    ``app.register_module(admin)`` adds its routes as ``admin.<function>``.

    :param import_name: the module's package or module name; its folder is
        :attr:`root_path`, where ``static/`` and ``templates/`` are looked up.
    :param name: the module's name; defaults to the last dotted part of
        ``import_name`` and is required when ``import_name`` has no dot.
    :param url_prefix: prepended to every rule (``register_module`` may override).
    :param static_path: the URL path of the static files below the prefix;
        defaults to ``/static``. It does not change the folder they come from.
    :param subdomain: the subdomain of every rule (``register_module`` may override).

    Recording on a module after it has been registered raises: the app has
    already replayed it, so the change would silently be lost.
    """

    def __init__(
        self,
        import_name: str,
        name: str | None = None,
        url_prefix: str | None = None,
        static_path: str | None = None,
        subdomain: str | None = None,
    ) -> None:
        if name is None:
            if "." not in import_name:
                raise ValueError(
                    f"Cannot derive a module name from {import_name!r}: it has no dot."
                    " Pass the name explicitly, for example"
                    f" Module({import_name!r}, name='admin')."
                )
            name = import_name.rpartition(".")[2]
        if not name:
            raise ValueError("'name' may not be empty.")
        if "." in name:
            raise ValueError(
                f"Module name {name!r} may not contain a dot: endpoints are"
                " '<module>.<function>' and the module is the part before the last dot."
            )
        self.import_name = import_name
        self.name = name
        self.url_prefix = url_prefix
        self.static_path = static_path
        self.subdomain = subdomain
        #: The folder of the module's package; ``static/`` and ``templates/`` live here.
        self.root_path = get_root_path(import_name)
        self._register_events: list[_Deferred] = []
        self._registered = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    def _record(self, func: _Deferred) -> None:
        if self._registered:
            raise AssertionError(
                f"The module {self.name!r} has already been registered on an application,"
                " so this change would not take effect. Define all of a module's routes"
                " and hooks before calling app.register_module()."
            )
        self._register_events.append(func)

    # -- files ----------------------------------------------------------------------

    @property
    def static_folder(self) -> str:
        """The absolute path of the module's ``static`` folder."""
        return os.path.join(self.root_path, "static")

    @property
    def has_static_folder(self) -> bool:
        """Whether the module's package has a ``static`` folder."""
        return os.path.isdir(self.static_folder)

    @cached_property
    def jinja_loader(self) -> FileSystemLoader | None:
        """A loader for ``<root_path>/templates``, or ``None`` without that folder.

        The app's template loader consults it for names starting with
        ``<module name>/`` before its own folders.
        """
        folder = os.path.join(self.root_path, "templates")
        if not os.path.isdir(folder):
            return None
        from jinja2 import FileSystemLoader

        return FileSystemLoader(folder)

    def send_static_file(self, filename: str) -> Response:
        """Serve ``filename`` from :attr:`static_folder` (the ``<name>.static`` view)."""
        from .helpers import send_from_directory

        return send_from_directory(self.static_folder, filename)

    # -- routing ----------------------------------------------------------------------

    def route(self, rule: str, **options: t.Any) -> t.Callable[[ft.T_route], ft.T_route]:
        """Decorate a view to register it for ``rule`` as ``<module>.<function>``.

        Options are those of :meth:`phial.Phial.route`; ``endpoint`` names the
        part after the module's name.
        """

        def decorator(f: ft.T_route) -> ft.T_route:
            endpoint = options.pop("endpoint", None)
            self.add_url_rule(rule, endpoint, f, **options)
            return f

        return decorator

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: ft.RouteCallable | None = None,
        **options: t.Any,
    ) -> None:
        """Record a rule; it is added below the prefix as ``<module>.<endpoint>``.

        ``endpoint`` defaults to the view's name and may not contain a dot.
        """
        if endpoint is None:
            endpoint = _endpoint_from_view_func(view_func)  # type: ignore[arg-type]  # raises on None
        if "." in endpoint:
            raise ValueError(
                f"The endpoint {endpoint!r} of module {self.name!r} may not contain a dot;"
                f" it becomes '{self.name}.{endpoint}'."
            )
        self._record(lambda state: state.add_url_rule(rule, endpoint, view_func, options))

    # -- hooks --------------------------------------------------------------------------

    def before_request(self, f: ft.T_before_request) -> ft.T_before_request:
        """Run ``f`` before each request to one of this module's endpoints."""
        name = self.name
        self._record(lambda s: s.app.before_request_funcs.setdefault(name, []).append(f))
        return f

    def before_app_request(self, f: ft.T_before_request) -> ft.T_before_request:
        """Run ``f`` before every request to the application."""
        self._record(lambda s: s.app.before_request_funcs.setdefault(None, []).append(f))
        return f

    def after_request(self, f: ft.T_after_request) -> ft.T_after_request:
        """Run ``f(response)`` after each request to one of this module's endpoints."""
        name = self.name
        self._record(lambda s: s.app.after_request_funcs.setdefault(name, []).append(f))
        return f

    def after_app_request(self, f: ft.T_after_request) -> ft.T_after_request:
        """Run ``f(response)`` after every request to the application."""
        self._record(lambda s: s.app.after_request_funcs.setdefault(None, []).append(f))
        return f

    def context_processor(
        self, f: ft.T_template_context_processor
    ) -> ft.T_template_context_processor:
        """Add ``f()``'s dict to templates rendered during this module's requests."""
        name = self.name
        self._record(lambda s: s.app.template_context_processors[name].append(f))
        return f

    def app_context_processor(
        self, f: ft.T_template_context_processor
    ) -> ft.T_template_context_processor:
        """Add ``f()``'s dict to every template the application renders."""
        self._record(lambda s: s.app.template_context_processors[None].append(f))
        return f

    def app_errorhandler(
        self, code_or_exception: type[Exception] | int
    ) -> t.Callable[[ft.T_error_handler], ft.T_error_handler]:
        """Decorate a function to handle a status code or exception app-wide."""

        def decorator(f: ft.T_error_handler) -> ft.T_error_handler:
            self._record(lambda s: s.app.register_error_handler(code_or_exception, f))
            return f

        return decorator

    # -- registration ----------------------------------------------------------------

    def register(
        self, app: App, url_prefix: str | None = None, subdomain: str | None = None
    ) -> None:
        """Replay the module into ``app``; called by :meth:`phial.Phial.register_module`.

        ``url_prefix`` and ``subdomain`` override the constructor's when not ``None``.
        """
        name = self.name
        if name in app.modules:
            other = app.modules[name]
            what = "This module is" if other is self else f"Another module ({other!r}) is"
            raise ValueError(
                f"{what} already registered as {name!r} on this application. Module names"
                " are endpoint prefixes and must be unique; pass a different name to"
                " Module()."
            )
        if name in app.blueprints:
            raise ValueError(
                f"A blueprint is already registered as {name!r}; a module may not share its"
                " name, as both would own the endpoints and hooks of that prefix."
            )
        state = _ModuleSetupState(
            self,
            app,
            self.url_prefix if url_prefix is None else url_prefix,
            self.subdomain if subdomain is None else subdomain,
        )
        app.modules[name] = self
        self._registered = True
        if not _same_folder(self.root_path, app.root_path):
            state.add_url_rule(
                f"{(self.static_path or _DEFAULT_STATIC_PATH).rstrip('/')}/<path:filename>",
                "static",
                self.send_static_file,
                {},
            )
        for deferred in self._register_events:
            deferred(state)


def resolve_module_endpoint(endpoint: str, module: str) -> str:
    """Expand ``endpoint`` for :func:`phial.url_for` during a request to ``module``.

    ``'index'`` → ``'<module>.index'``; ``'.index'`` → the app's ``'index'``;
    a dotted name is used as written.
    """
    if endpoint[:1] == ".":
        return endpoint[1:]
    if "." not in endpoint:
        return f"{module}.{endpoint}"
    return endpoint


def _same_folder(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))
