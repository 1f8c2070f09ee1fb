"""The part of the application object that needs no I/O and no context.

:class:`App` owns the configuration, the URL map and rule registration, and the
resolution of error handlers and URL defaults. :class:`phial.Phial` adds the
request pipeline, contexts and the protocol entry points on top of it.
"""

from __future__ import annotations

import logging
import os
import sys
import typing as t
from datetime import timedelta
from itertools import chain

from werkzeug.exceptions import Aborter, BadRequest, BadRequestKeyError
from werkzeug.routing import BuildError, Map, MapAdapter, Rule
from werkzeug.utils import cached_property

from .. import typing as ft
from ..config import Config, ConfigAttribute
from ..json.provider import DefaultJSONProvider, JSONProvider
from ..logging import create_logger
from .scaffold import Scaffold, _endpoint_from_view_func, setupmethod

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Request as BaseRequest

    from ..modules import Module
    from ..templating import Environment
    from .blueprints import Blueprint


def _get_debug_flag() -> bool:
    """Whether ``FLASK_DEBUG`` (or ``PHIAL_DEBUG``) asks for debug mode."""
    value = os.environ.get("PHIAL_DEBUG") or os.environ.get("FLASK_DEBUG")
    return bool(value) and str(value).lower() not in {"0", "false", "no"}


def _make_timedelta(value: timedelta | int | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


#: What an error handler scope without handlers looks up in.
_NO_HANDLERS: t.Final[dict[int | None, dict[type[BaseException], ft.ErrorHandlerCallable]]] = {}


class App(Scaffold):
    """Configuration, routing and handler registry of a phial application."""

    #: The class of :attr:`aborter`, used by :func:`phial.abort`.
    aborter_class = Aborter
    #: The class of :attr:`config`.
    config_class = Config
    #: The class of :attr:`url_map`.
    url_map_class = Map
    #: The class of the rules :meth:`add_url_rule` creates.
    url_rule_class = Rule
    #: The class of :attr:`json`.
    json_provider_class: type[JSONProvider] = DefaultJSONProvider
    #: Options for the Jinja environment, used by :meth:`create_jinja_environment`;
    #: change them before :attr:`jinja_env` is first used.
    jinja_options: dict[str, t.Any] = {}

    #: ``config["TESTING"]``: exceptions propagate to the test client.
    testing = ConfigAttribute[bool]("TESTING")
    #: ``config["SECRET_KEY"]``: signs session cookies.
    secret_key = ConfigAttribute[str | bytes | None]("SECRET_KEY")
    #: ``config["PERMANENT_SESSION_LIFETIME"]`` as a :class:`~datetime.timedelta`.
    permanent_session_lifetime = ConfigAttribute[timedelta](
        "PERMANENT_SESSION_LIFETIME",
        get_converter=_make_timedelta,  # type: ignore[arg-type]  # None is never stored
    )

    #: Flask 3.1's default configuration keys and values.
    default_config: dict[str, t.Any] = {
        "DEBUG": None,
        "TESTING": False,
        "PROPAGATE_EXCEPTIONS": None,
        "SECRET_KEY": None,
        "SECRET_KEY_FALLBACKS": None,
        "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
        "USE_X_SENDFILE": False,
        "TRUSTED_HOSTS": None,
        "SERVER_NAME": None,
        "APPLICATION_ROOT": "/",
        "SESSION_COOKIE_NAME": "session",
        "SESSION_COOKIE_DOMAIN": None,
        "SESSION_COOKIE_PATH": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": False,
        "SESSION_COOKIE_PARTITIONED": False,
        "SESSION_COOKIE_SAMESITE": None,
        "SESSION_REFRESH_EACH_REQUEST": True,
        "MAX_CONTENT_LENGTH": None,
        "MAX_FORM_MEMORY_SIZE": 500_000,
        "MAX_FORM_PARTS": 1_000,
        "SEND_FILE_MAX_AGE_DEFAULT": None,
        "TRAP_BAD_REQUEST_ERRORS": None,
        "TRAP_HTTP_EXCEPTIONS": False,
        "EXPLAIN_TEMPLATE_LOADING": False,
        "PREFERRED_URL_SCHEME": "http",
        "TEMPLATES_AUTO_RELOAD": None,
        "MAX_COOKIE_SIZE": 4093,
        "PROVIDE_AUTOMATIC_OPTIONS": True,
    }

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
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        if instance_path is None:
            instance_path = self.auto_find_instance_path()
        elif not os.path.isabs(instance_path):
            raise ValueError(
                "If an instance path is provided it must be absolute."
                " A relative path was given instead."
            )
        self.instance_path = instance_path
        self.config = self.make_config(instance_relative_config)
        self.aborter = self.make_aborter()
        self.json: JSONProvider = self.json_provider_class(self)  # type: ignore[arg-type]  # Phial adds response_class
        self.url_build_error_handlers: list[
            t.Callable[[Exception, str, dict[str, t.Any]], str]
        ] = []
        self.teardown_appcontext_funcs: list[ft.TeardownCallable] = []
        self.shell_context_processors: list[ft.ShellContextProcessorCallable] = []
        #: Called, in order, when an ASGI server starts (lifespan startup).
        self.before_serving_funcs: list[t.Callable[[], t.Any]] = []
        #: Called, in order, when an ASGI server shuts down (lifespan shutdown).
        self.after_serving_funcs: list[t.Callable[[], t.Any]] = []
        self.blueprints: dict[str, t.Any] = {}
        #: Flask 0.6 modules registered with :meth:`register_module`, by name.
        self.modules: dict[str, Module] = {}
        #: Extensions store their state here, keyed by a lowercase name.
        self.extensions: dict[str, t.Any] = {}
        self.url_map = self.url_map_class(host_matching=host_matching)
        self.subdomain_matching = subdomain_matching
        self._got_first_request = False

    # -- identity ---------------------------------------------------------------

    @cached_property
    def name(self) -> str:
        """The app's name: the import name, or the script's name for ``__main__``."""
        if self.import_name == "__main__":
            fn = getattr(sys.modules["__main__"], "__file__", None)
            if fn is None:
                return "__main__"
            return str(os.path.splitext(os.path.basename(fn))[0])
        return self.import_name

    @cached_property
    def logger(self) -> logging.Logger:
        """A :class:`logging.Logger` named after the app (DEBUG level in debug mode)."""
        return create_logger(self)

    def auto_find_instance_path(self) -> str:
        """Locate the instance folder: ``instance`` beside the package, or
        ``$PREFIX/var/<name>-instance`` when the package is installed."""
        top = self.import_name.partition(".")[0]
        module = sys.modules.get(top)
        location = getattr(module, "__file__", None)
        if location is None:
            return os.path.join(os.getcwd(), "instance")
        package_dir = os.path.dirname(os.path.abspath(location))
        if os.path.basename(location).startswith("__init__."):
            package_dir = os.path.dirname(package_dir)
        site_dirs = {os.path.abspath(p) for p in sys.path if "-packages" in p}
        if package_dir in site_dirs:
            return os.path.join(sys.prefix, "var", f"{self.name}-instance")
        return os.path.join(package_dir, "instance")

    def make_config(self, instance_relative: bool = False) -> Config:
        """Create :attr:`config` from :attr:`default_config` and ``FLASK_DEBUG``."""
        root_path = self.instance_path if instance_relative else self.root_path
        defaults = dict(self.default_config)
        defaults["DEBUG"] = _get_debug_flag()
        return self.config_class(root_path, defaults)

    def make_aborter(self) -> Aborter:
        """Create :attr:`aborter`, the object behind :func:`phial.abort`."""
        return self.aborter_class()

    @property
    def debug(self) -> bool:
        """``config["DEBUG"]``; setting it also turns on template auto-reload."""
        return bool(self.config["DEBUG"])

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value
        if self.config["TEMPLATES_AUTO_RELOAD"] is None:
            self._on_debug_changed(value)

    def _on_debug_changed(self, value: bool) -> None:
        """Follow the debug flag with template auto-reload (when not configured).

        Only an environment that already exists is updated; one made later
        reads the flag itself, so changing ``debug`` never creates it.
        """
        env = self.__dict__.get("jinja_env")
        if env is not None:
            env.auto_reload = value

    # -- templates --------------------------------------------------------------

    @property
    def templates_auto_reload(self) -> bool:
        """Whether templates are reloaded when their files change:
        ``TEMPLATES_AUTO_RELOAD``, or :attr:`debug` when that is ``None``.

        Unlike Flask, setting it also updates an existing :attr:`jinja_env`.
        """
        value = self.config["TEMPLATES_AUTO_RELOAD"]
        return bool(value) if value is not None else self.debug

    @templates_auto_reload.setter
    def templates_auto_reload(self, value: bool | None) -> None:
        self.config["TEMPLATES_AUTO_RELOAD"] = value
        env = self.__dict__.get("jinja_env")
        if env is not None:
            env.auto_reload = self.templates_auto_reload

    @cached_property
    def jinja_env(self) -> Environment:
        """The Jinja environment templates are loaded and rendered with; made
        by :meth:`create_jinja_environment` on first use."""
        return self.create_jinja_environment()

    def create_jinja_environment(self) -> Environment:
        """Create :attr:`jinja_env`; :class:`phial.Phial` implements it."""
        raise NotImplementedError

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        """Whether a template is autoescaped: templates from strings
        (``filename`` is ``None``) and ``.html``, ``.htm``, ``.xml``, ``.xhtml``
        and ``.svg`` files are."""
        if filename is None:
            return True
        return filename.endswith((".html", ".htm", ".xml", ".xhtml", ".svg"))

    @t.overload
    def template_filter(self, name: ft.T_template_filter) -> ft.T_template_filter: ...
    @t.overload
    def template_filter(
        self, name: str | None = None
    ) -> t.Callable[[ft.T_template_filter], ft.T_template_filter]: ...
    @setupmethod
    def template_filter(
        self, name: t.Callable[..., t.Any] | str | None = None
    ) -> t.Callable[..., t.Any]:
        """Register a Jinja filter: ``@app.template_filter()`` or
        ``@app.template_filter("name")``; the name defaults to the function's.
        ``@app.template_filter`` without parentheses also works."""
        if callable(name):
            self.add_template_filter(name)
            return name

        def decorator(f: ft.T_template_filter) -> ft.T_template_filter:
            self.add_template_filter(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_filter(self, f: ft.TemplateFilterCallable, name: str | None = None) -> None:
        """Register ``f`` as a Jinja filter named ``name`` (default: its ``__name__``)."""
        self.jinja_env.filters[name or f.__name__] = f

    @t.overload
    def template_test(self, name: ft.T_template_test) -> ft.T_template_test: ...
    @t.overload
    def template_test(
        self, name: str | None = None
    ) -> t.Callable[[ft.T_template_test], ft.T_template_test]: ...
    @setupmethod
    def template_test(
        self, name: t.Callable[..., t.Any] | str | None = None
    ) -> t.Callable[..., t.Any]:
        """Register a Jinja test (``{% if x is name %}``); used like
        :meth:`template_filter`."""
        if callable(name):
            self.add_template_test(name)
            return name

        def decorator(f: ft.T_template_test) -> ft.T_template_test:
            self.add_template_test(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_test(self, f: ft.TemplateTestCallable, name: str | None = None) -> None:
        """Register ``f`` as a Jinja test named ``name`` (default: its ``__name__``)."""
        self.jinja_env.tests[name or f.__name__] = f

    @t.overload
    def template_global(self, name: ft.T_template_global) -> ft.T_template_global: ...
    @t.overload
    def template_global(
        self, name: str | None = None
    ) -> t.Callable[[ft.T_template_global], ft.T_template_global]: ...
    @setupmethod
    def template_global(
        self, name: t.Callable[..., t.Any] | str | None = None
    ) -> t.Callable[..., t.Any]:
        """Register a Jinja global available in every template; used like
        :meth:`template_filter`."""
        if callable(name):
            self.add_template_global(name)
            return name

        def decorator(f: ft.T_template_global) -> ft.T_template_global:
            self.add_template_global(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_global(self, f: ft.TemplateGlobalCallable, name: str | None = None) -> None:
        """Register ``f`` as a Jinja global named ``name`` (default: its ``__name__``)."""
        self.jinja_env.globals[name or f.__name__] = f

    # -- setup guard ------------------------------------------------------------

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_first_request:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called on the application."
                " It has already handled its first request, so the change would apply"
                " inconsistently. Do all registration (routes, hooks, blueprints,"
                " extensions) before the app serves requests."
            )

    # -- routing ----------------------------------------------------------------

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: ft.RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Connect a URL rule to an endpoint and, optionally, a view function.

        ``methods`` defaults to the view's ``methods`` attribute or ``["GET"]``;
        HEAD is added for GET and OPTIONS is answered automatically unless
        ``provide_automatic_options`` or ``PROVIDE_AUTOMATIC_OPTIONS`` says not to.
        Reusing an endpoint for another function raises :class:`AssertionError`.
        """
        if endpoint is None:
            endpoint = _endpoint_from_view_func(view_func)  # type: ignore[arg-type]  # raises on None
        options["endpoint"] = endpoint
        methods = options.pop("methods", None)
        if methods is None:
            methods = getattr(view_func, "methods", None) or ("GET",)
        if isinstance(methods, str):
            raise TypeError(
                "Allowed methods must be a list of strings, for example:"
                ' @app.route(..., methods=["POST"])'
            )
        methods = {item.upper() for item in methods}
        required_methods: set[str] = set(getattr(view_func, "required_methods", ()))

        if provide_automatic_options is None:
            provide_automatic_options = getattr(view_func, "provide_automatic_options", None)
        if provide_automatic_options is None:
            if "OPTIONS" not in methods and self.config["PROVIDE_AUTOMATIC_OPTIONS"]:
                provide_automatic_options = True
                required_methods.add("OPTIONS")
            else:
                provide_automatic_options = False
        methods |= required_methods

        rule_obj = self.url_rule_class(rule, methods=methods, **options)
        rule_obj.provide_automatic_options = provide_automatic_options  # type: ignore[attr-defined]  # phial's marker on Werkzeug rules
        self.url_map.add(rule_obj)
        if view_func is not None:
            old_func = self.view_functions.get(endpoint)
            if old_func is not None and old_func != view_func:
                raise AssertionError(
                    "View function mapping is overwriting an existing endpoint"
                    f" function: {endpoint}"
                )
            self.view_functions[endpoint] = view_func

    @setupmethod
    def register_module(
        self, module: Module, url_prefix: str | None = None, subdomain: str | None = None
    ) -> None:
        """Register a Flask 0.6 :class:`~phial.Module`: replay its routes and hooks.

        ``url_prefix`` and ``subdomain`` override the module's own when given.
        A name already used by another module or a blueprint raises ValueError.
        """
        module.register(self, url_prefix=url_prefix, subdomain=subdomain)

    @setupmethod
    def teardown_appcontext(self, f: ft.T_teardown) -> ft.T_teardown:
        """Run ``f(exc)`` when the application context is popped."""
        self.teardown_appcontext_funcs.append(f)
        return f

    @setupmethod
    def shell_context_processor(
        self, f: ft.ShellContextProcessorCallable
    ) -> ft.ShellContextProcessorCallable:
        """Register a function whose dict is added to ``phial shell``'s namespace."""
        self.shell_context_processors.append(f)
        return f

    @setupmethod
    def before_serving(self, f: ft.T_serving) -> ft.T_serving:
        """Run ``f()`` (``def`` or ``async def``) once when an ASGI server starts,
        inside an app context. An exception fails the startup: the server
        reports it and does not serve. WSGI has no such event.
        """
        self.before_serving_funcs.append(f)
        return f

    @setupmethod
    def after_serving(self, f: ft.T_serving) -> ft.T_serving:
        """Run ``f()`` (``def`` or ``async def``) once when an ASGI server shuts
        down, inside an app context.
        """
        self.after_serving_funcs.append(f)
        return f

    def create_url_adapter(self, request: BaseRequest | None) -> MapAdapter | None:
        """Bind :attr:`url_map` to a request, or to ``SERVER_NAME`` without one.

        As in Flask 3.1, ``SERVER_NAME`` does not restrict which hosts are served;
        without subdomain or host matching every request matches the default
        subdomain. Returns ``None`` outside a request when ``SERVER_NAME`` is unset.
        """
        config = self.config
        if request is not None:
            trusted_hosts = config["TRUSTED_HOSTS"]
            if trusted_hosts is not None:
                request.trusted_hosts = trusted_hosts
                # Reading ``host`` validates it against the trusted list.
                request.__dict__.pop("host", None)
                request.host  # noqa: B018
            subdomain = None
            server_name = config["SERVER_NAME"]
            if self.url_map.host_matching:
                server_name = None
            elif not self.subdomain_matching:
                subdomain = self.url_map.default_subdomain or ""
            adapter = self.url_map.bind_to_environ(
                request.environ, server_name=server_name, subdomain=subdomain
            )
            if adapter.websocket:
                # Werkzeug takes any request with "Upgrade: websocket" for a
                # WebSocket; only an ASGI websocket connection is one (a WSGI
                # server cannot upgrade, an ASGI http scope was not upgraded).
                scope = request.environ.get("asgi.scope")
                if scope is None or scope.get("type") != "websocket":
                    adapter.websocket = False
                    adapter.url_scheme = request.environ["wsgi.url_scheme"]
            return adapter
        if config["SERVER_NAME"] is not None:
            return self.url_map.bind(
                config["SERVER_NAME"],
                script_name=config["APPLICATION_ROOT"],
                url_scheme=config["PREFERRED_URL_SCHEME"],
            )
        return None

    def inject_url_defaults(self, endpoint: str, values: dict[str, t.Any]) -> None:
        """Let the ``url_defaults`` functions of the endpoint's scopes fill ``values``."""
        names: t.Iterable[str | None] = (None,)
        if "." in endpoint:
            names = chain(names, reversed(_scope_names(endpoint.rpartition(".")[0])))
        for name in names:
            for func in self.url_default_functions.get(name, ()):
                func(endpoint, values)

    def handle_url_build_error(
        self, error: BuildError, endpoint: str, values: dict[str, t.Any]
    ) -> str:
        """Try :attr:`url_build_error_handlers`; re-raise ``error`` if none answers."""
        for handler in self.url_build_error_handlers:
            try:
                rv = handler(error, endpoint, values)
            except BuildError as e:
                error = e
            else:
                if rv is not None:
                    return rv
        if error is sys.exc_info()[1]:
            raise
        raise error

    # -- error handling decisions ----------------------------------------------------

    def _find_error_handler(
        self, e: Exception, blueprints: list[str]
    ) -> ft.ErrorHandlerCallable | None:
        """The handler for ``e``: by code, then by class along the MRO, innermost
        blueprint first, the app last."""
        exc_class, code = self._get_exc_class_and_code(type(e))
        names = (*blueprints, None)
        for c in (code, None) if code is not None else (None,):
            for name in names:
                # .get, not [...]: the spec is a defaultdict, and looking up
                # must not fill it (an empty spec tells the fast lane that no
                # handler exists).
                handler_map = self.error_handler_spec.get(name, _NO_HANDLERS).get(c)
                if not handler_map:
                    continue
                for cls in exc_class.__mro__:
                    handler = handler_map.get(cls)
                    if handler is not None:
                        return handler
        return None

    def trap_http_exception(self, e: Exception) -> bool:
        """Whether an HTTP exception should propagate like any other error."""
        if self.config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        trap_bad_request = self.config["TRAP_BAD_REQUEST_ERRORS"]
        if trap_bad_request is None and self.debug and isinstance(e, BadRequestKeyError):
            return True
        if trap_bad_request:
            return isinstance(e, BadRequest)
        return False

    def should_ignore_error(self, error: BaseException | None) -> bool:
        """Whether teardown functions should see ``error`` as ``None``."""
        return False

    def _propagate_exceptions(self) -> bool:
        propagate = self.config["PROPAGATE_EXCEPTIONS"]
        if propagate is not None:
            return bool(propagate)
        return bool(self.testing or self.debug)

    def redirect(self, location: str, code: int = 302) -> t.Any:
        """Create a redirect response; :func:`phial.redirect` calls this."""
        from werkzeug.utils import redirect as _wz_redirect

        return _wz_redirect(location, code=code, Response=self.response_class)  # type: ignore[attr-defined]  # defined by Phial

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: t.Any) -> None:
        """Register ``blueprint``: its routes, hooks and nested blueprints.

        ``url_prefix``, ``subdomain``, ``url_defaults`` and ``cli_group`` override
        the blueprint's own; ``name`` registers it under another name, which is
        how one blueprint is registered twice. Other options reach the
        blueprint's recorded functions as ``state.options``.
        """
        blueprint.register(self, options)

    def iter_blueprints(self) -> t.ValuesView[t.Any]:
        """The registered blueprints, in registration order."""
        return self.blueprints.values()


def _scope_names(blueprint: str) -> list[str]:
    """``"a.b.c"`` → ``["a.b.c", "a.b", "a"]``: the scopes a nested name is in."""
    parts = blueprint.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
