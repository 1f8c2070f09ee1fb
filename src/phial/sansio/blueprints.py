"""Blueprints without I/O: recording setup calls and replaying them on an app.

A blueprint records what it is asked to do (routes, app-wide hooks, nested
blueprints) and does it when :meth:`Blueprint.register` is called with an
application. Its own hooks and handlers are copied into the app's dicts under
its dotted name (``parent.child``), which is how the pipeline scopes them.
"""

from __future__ import annotations

import os
import typing as t
from functools import update_wrapper

from .. import typing as ft
from .scaffold import Scaffold, _endpoint_from_view_func, _sentinel, setupmethod

if t.TYPE_CHECKING:
    from .app import App

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

DeferredSetupFunction = t.Callable[["BlueprintSetupState"], None]

#: The hook dicts copied from a blueprint into the app under its dotted name.
_SCOPED_HOOKS = (
    "before_request_funcs",
    "after_request_funcs",
    "teardown_request_funcs",
    "template_context_processors",
    "url_value_preprocessors",
    "url_default_functions",
    "before_websocket_funcs",
    "after_websocket_funcs",
)


class _TemplateRegistry(t.Protocol):
    """The app methods the ``app_template_*`` registrations call.

    They belong to the templating layer of :class:`phial.Phial`, not to the
    sans-I/O :class:`~phial.sansio.app.App`, so they are reached through this
    protocol.
    """

    def add_template_filter(self, f: ft.TemplateFilterCallable, name: str | None = None) -> None:
        """Register a Jinja filter."""

    def add_template_test(self, f: ft.TemplateTestCallable, name: str | None = None) -> None:
        """Register a Jinja test."""

    def add_template_global(self, f: ft.TemplateGlobalCallable, name: str | None = None) -> None:
        """Register a Jinja global."""


def _check_name(name: str, what: str) -> None:
    if not name:
        raise ValueError(f"{what} may not be empty.")
    if "." in name:
        raise ValueError(
            f"{what} may not contain a dot '.' character: dots separate the names of"
            f" nested blueprints in endpoints ({name!r})."
        )


def _join_prefix(outer: str, inner: str) -> str:
    return f"{outer.rstrip('/')}/{inner.lstrip('/')}"


class BlueprintSetupState:
    """What a blueprint's recorded functions receive while it is registered.

    :attr:`options` are the keyword arguments given to ``register_blueprint``;
    :attr:`url_prefix`, :attr:`subdomain` and :attr:`url_defaults` are those
    options resolved against the blueprint's own defaults.
    """

    def __init__(
        self,
        blueprint: Blueprint,
        app: App,
        options: dict[str, t.Any],
        first_registration: bool,
    ) -> None:
        #: The application the blueprint is being registered on.
        self.app = app
        #: The blueprint being registered.
        self.blueprint = blueprint
        #: The options passed to ``register_blueprint``.
        self.options = options
        #: Whether this is the blueprint's first registration on :attr:`app`
        #: (a blueprint can be registered several times under other names).
        self.first_registration = first_registration

        subdomain = options.get("subdomain")
        if subdomain is None:
            subdomain = blueprint.subdomain
        #: The subdomain the blueprint's rules match, or ``None``.
        self.subdomain: str | None = subdomain

        url_prefix = options.get("url_prefix")
        if url_prefix is None:
            url_prefix = blueprint.url_prefix
        #: The prefix of the blueprint's rules, or ``None``.
        self.url_prefix: str | None = url_prefix

        #: The name the blueprint is registered under (``name=`` or its own).
        self.name: str = options.get("name", blueprint.name)
        #: The dotted name of the parent blueprint, or ``""`` at the top level.
        self.name_prefix: str = options.get("name_prefix", "")

        #: Values passed to every view of the blueprint.
        self.url_defaults: dict[str, t.Any] = dict(blueprint.url_values_defaults)
        self.url_defaults.update(options.get("url_defaults", ()))

    @property
    def full_name(self) -> str:
        """The dotted name the blueprint's endpoints and hooks are keyed by."""
        return f"{self.name_prefix}.{self.name}".lstrip(".")

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: ft.RouteCallable | None = None,
        **options: t.Any,
    ) -> None:
        """Add a rule to the app, with the blueprint's prefix, subdomain,
        defaults and dotted endpoint name applied."""
        if self.url_prefix is not None:
            rule = _join_prefix(self.url_prefix, rule) if rule else self.url_prefix
        options.setdefault("subdomain", self.subdomain)
        if endpoint is None:
            endpoint = _endpoint_from_view_func(view_func)  # type: ignore[arg-type]  # raises on None
        defaults = self.url_defaults
        if "defaults" in options:
            defaults = {**defaults, **options.pop("defaults")}
        self.app.add_url_rule(
            rule,
            f"{self.full_name}.{endpoint}",
            view_func,
            defaults=defaults,
            **options,
        )


class Blueprint(Scaffold):
    """A recorded set of routes, hooks and handlers to register on an app.

    :param name: the blueprint's name, prefixed to its endpoints; no dots.
    :param import_name: usually ``__name__``; locates :attr:`root_path`.
    :param static_folder: a folder of static files served at
        ``<url_prefix><static_url_path>/<path:filename>`` as ``<name>.static``.
    :param static_url_path: the URL of the static files (default: the folder's name).
    :param template_folder: a folder of templates, searched after the app's.
    :param url_prefix: prefixed to every rule of the blueprint.
    :param subdomain: the subdomain the blueprint's rules match.
    :param url_defaults: values passed to every view of the blueprint.
    :param root_path: the folder the other paths are relative to.
    :param cli_group: the name of the blueprint's CLI group; ``None`` adds its
        commands to the app's group directly. Defaults to the blueprint's name.
    """

    _got_registered_once = False

    def __init__(
        self,
        name: str,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        url_prefix: str | None = None,
        subdomain: str | None = None,
        url_defaults: dict[str, t.Any] | None = None,
        root_path: str | None = None,
        cli_group: str | None = _sentinel,  # type: ignore[assignment]  # the sentinel means "use the name"
    ) -> None:
        super().__init__(
            import_name=import_name,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        _check_name(name, "'name'")
        self.name = name
        self.url_prefix = url_prefix
        self.subdomain = subdomain
        #: Functions called with a :class:`BlueprintSetupState` at registration.
        self.deferred_functions: list[DeferredSetupFunction] = []
        #: Values passed to every view of the blueprint (``url_defaults=``).
        self.url_values_defaults: dict[str, t.Any] = dict(url_defaults or {})
        self.cli_group = cli_group
        self._blueprints: list[tuple[Blueprint, dict[str, t.Any]]] = []

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_registered_once:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called on the blueprint"
                f" '{self.name}'. It has already been registered on an application, so the"
                " change would not be applied consistently. Do all setup of the blueprint"
                " (routes, hooks, nested blueprints) before registering it."
            )

    # -- recording ----------------------------------------------------------------

    @setupmethod
    def record(self, func: DeferredSetupFunction) -> None:
        """Call ``func(state)`` each time the blueprint is registered on an app."""
        self.deferred_functions.append(func)

    @setupmethod
    def record_once(self, func: DeferredSetupFunction) -> None:
        """Like :meth:`record`, but only at the blueprint's first registration
        on a given app."""

        def wrapper(state: BlueprintSetupState) -> None:
            if state.first_registration:
                func(state)

        self.record(update_wrapper(wrapper, func))

    def make_setup_state(
        self, app: App, options: dict[str, t.Any], first_registration: bool = False
    ) -> BlueprintSetupState:
        """Create the :class:`BlueprintSetupState` passed to recorded functions."""
        return BlueprintSetupState(self, app, options, first_registration)

    # -- nesting and registration -----------------------------------------------------

    def _descendants(self) -> t.Iterator[Blueprint]:
        for child, _ in self._blueprints:
            yield child
            yield from child._descendants()

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: t.Any) -> None:
        """Nest ``blueprint`` in this one; it is registered when this one is.

        Takes the options of :meth:`phial.Phial.register_blueprint`. The child's
        URL prefix and subdomain are appended to this blueprint's, and its
        endpoints are named ``<this>.<child>.<view>``.

        Unlike Flask, a nesting loop (``a`` in ``b`` in ``a``) raises
        :class:`ValueError` here instead of recursing at registration.
        """
        if blueprint is self:
            raise ValueError("Cannot register a blueprint on itself.")
        if any(bp is self for bp in blueprint._descendants()):
            raise ValueError(
                f"Cannot register blueprint '{blueprint.name}' on '{self.name}': '{self.name}'"
                f" is already nested inside '{blueprint.name}', so the nesting would loop."
            )
        self._blueprints.append((blueprint, options))

    def register(self, app: App, options: dict[str, t.Any]) -> None:
        """Register the blueprint on ``app`` (``app.register_blueprint`` calls this).

        Copies the blueprint's own hooks and handlers into the app under its
        dotted name, adds its static route, calls the recorded functions, then
        registers the nested blueprints. A second registration on the same app
        needs another ``name=``.

        Unlike Flask, an empty ``name=`` or one with a dot raises
        :class:`ValueError` (Flask accepts them and builds broken endpoints).
        """
        name_prefix: str = options.get("name_prefix", "")
        self_name: str = options.get("name", self.name)
        if "name" in options:
            _check_name(self_name, "The 'name=' option")
        name = f"{name_prefix}.{self_name}".lstrip(".")

        existing = app.blueprints.get(name)
        if existing is not None:
            which = "this" if existing is self else "a different"
            where = f" as '{name}'" if name != self_name else ""
            raise ValueError(
                f"The name '{self_name}' is already registered for {which} blueprint{where}."
                " Use 'name=' to provide a unique name."
            )
        if name in getattr(app, "modules", {}):
            # Modules and blueprints share the hook scopes keyed by this name.
            raise ValueError(
                f"A Flask 0.6 module is already registered as {name!r}; a blueprint may"
                " not share its name. Use 'name=' to register the blueprint under another."
            )
        first_registration = not any(bp is self for bp in app.blueprints.values())
        app.blueprints[name] = self
        self._got_registered_once = True
        state = self.make_setup_state(app, options, first_registration)

        if self.has_static_folder:
            state.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                view_func=self.send_static_file,
            )
        self._merge_into(app, name)
        for deferred in self.deferred_functions:
            deferred(state)
        self._register_cli(app, name, options)
        for child, child_options in self._blueprints:
            child.register(app, _nested_options(state, name, child, child_options))

    def _merge_into(self, app: App, name: str) -> None:
        """Copy the blueprint's views, hooks and handlers into ``app``'s dicts,
        keyed by the dotted ``name``."""

        def scope(key: str | None) -> str:
            return name if key is None else f"{name}.{key}"

        for key, by_code in self.error_handler_spec.items():
            target = app.error_handler_spec[scope(key)]
            for code, handlers in by_code.items():
                target[code].update(handlers)
        for endpoint, func in self.view_functions.items():
            app.view_functions[f"{name}.{endpoint}"] = func
        for attr in _SCOPED_HOOKS:
            app_funcs: dict[str | None, list[t.Any]] = getattr(app, attr)
            for key, funcs in getattr(self, attr).items():
                if funcs:
                    app_funcs.setdefault(scope(key), []).extend(funcs)

    def _register_cli(self, app: App, name: str, options: dict[str, t.Any]) -> None:
        """Add the blueprint's CLI commands to the app; see :class:`phial.Blueprint`."""

    def send_static_file(self, filename: str) -> t.Any:
        """The view of the static route; :class:`phial.Blueprint` serves the file."""
        raise NotImplementedError("serving files is I/O: use phial.Blueprint")

    # -- routes -------------------------------------------------------------------------

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: ft.RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Record a rule, added to the app (prefixed, endpoint ``<name>.<endpoint>``)
        when the blueprint is registered; see :meth:`phial.Phial.add_url_rule`.

        Unlike Flask, a rule with neither ``endpoint`` nor ``view_func`` raises
        :class:`TypeError` here rather than when the blueprint is registered.
        """
        if endpoint is None:
            # Fail now, not at registration, when there is no name to use.
            _endpoint_from_view_func(view_func)  # type: ignore[arg-type]  # raises on None
        elif "." in endpoint:
            raise ValueError("'endpoint' may not contain a dot '.' character.")
        if "." in getattr(view_func, "__name__", ""):
            raise ValueError("'view_func' name may not contain a dot '.' character.")
        self.record(
            lambda s: s.add_url_rule(
                rule,
                endpoint,
                view_func,
                provide_automatic_options=provide_automatic_options,
                **options,
            )
        )

    # -- app-wide registrations -------------------------------------------------------------

    @setupmethod
    def before_app_request(self, f: ft.T_before_request) -> ft.T_before_request:
        """Like :meth:`before_request`, but for every request of the app."""
        self.record_once(lambda s: s.app.before_request_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def after_app_request(self, f: ft.T_after_request) -> ft.T_after_request:
        """Like :meth:`after_request`, but for every request of the app."""
        self.record_once(lambda s: s.app.after_request_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def before_app_websocket(self, f: F) -> F:
        """Like :meth:`before_websocket`, but for every websocket of the app."""
        self.record_once(lambda s: s.app.before_websocket_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def after_app_websocket(self, f: F) -> F:
        """Like :meth:`after_websocket`, but for every websocket of the app."""
        self.record_once(lambda s: s.app.after_websocket_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def before_app_serving(self, f: F) -> F:
        """Alias of :meth:`before_serving` (the hook is app-wide either way)."""
        return self.before_serving(f)

    @setupmethod
    def after_app_serving(self, f: F) -> F:
        """Alias of :meth:`after_serving` (the hook is app-wide either way)."""
        return self.after_serving(f)

    @setupmethod
    def before_serving(self, f: F) -> F:
        """Run ``f()`` when an ASGI server starts, like the app's
        :meth:`~phial.Phial.before_serving`; added to the app at the first
        registration. (Not in Flask.)"""
        self.record_once(lambda s: s.app.before_serving_funcs.append(f))
        return f

    @setupmethod
    def after_serving(self, f: F) -> F:
        """Run ``f()`` when an ASGI server shuts down, like the app's
        :meth:`~phial.Phial.after_serving`; added to the app at the first
        registration. (Not in Flask.)"""
        self.record_once(lambda s: s.app.after_serving_funcs.append(f))
        return f

    @setupmethod
    def teardown_app_request(self, f: ft.T_teardown) -> ft.T_teardown:
        """Like :meth:`teardown_request`, but for every request of the app."""
        self.record_once(lambda s: s.app.teardown_request_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def app_context_processor(
        self, f: ft.T_template_context_processor
    ) -> ft.T_template_context_processor:
        """Like :meth:`context_processor`, but for every template of the app."""
        self.record_once(lambda s: s.app.template_context_processors.setdefault(None, []).append(f))
        return f

    @setupmethod
    def app_errorhandler(
        self, code: type[Exception] | int
    ) -> t.Callable[[ft.T_error_handler], ft.T_error_handler]:
        """Like :meth:`errorhandler`, but for errors anywhere in the app.

        Unlike Flask, an invalid ``code`` raises when decorating, not at registration.
        """

        def decorator(f: ft.T_error_handler) -> ft.T_error_handler:
            # Validate the key now rather than at registration.
            self._get_exc_class_and_code(code)
            self.record_once(lambda s: s.app.register_error_handler(code, f))
            return f

        return decorator

    @setupmethod
    def app_url_value_preprocessor(
        self, f: ft.T_url_value_preprocessor
    ) -> ft.T_url_value_preprocessor:
        """Like :meth:`url_value_preprocessor`, but for every request of the app."""
        self.record_once(lambda s: s.app.url_value_preprocessors.setdefault(None, []).append(f))
        return f

    @setupmethod
    def app_url_defaults(self, f: ft.T_url_defaults) -> ft.T_url_defaults:
        """Like :meth:`url_defaults`, but for every URL the app builds."""
        self.record_once(lambda s: s.app.url_default_functions.setdefault(None, []).append(f))
        return f

    @setupmethod
    def app_template_filter(
        self, name: str | None = None
    ) -> t.Callable[[ft.T_template_filter], ft.T_template_filter]:
        """Decorate a function to be a Jinja filter of the app (named ``name``
        or after the function)."""

        def decorator(f: ft.T_template_filter) -> ft.T_template_filter:
            self.add_app_template_filter(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_app_template_filter(
        self, f: ft.TemplateFilterCallable, name: str | None = None
    ) -> None:
        """Register a Jinja filter of the app (``app.add_template_filter``)."""
        self.record_once(
            lambda s: t.cast(_TemplateRegistry, s.app).add_template_filter(f, name=name)
        )

    @setupmethod
    def app_template_test(
        self, name: str | None = None
    ) -> t.Callable[[ft.T_template_test], ft.T_template_test]:
        """Decorate a function to be a Jinja test of the app."""

        def decorator(f: ft.T_template_test) -> ft.T_template_test:
            self.add_app_template_test(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_app_template_test(self, f: ft.TemplateTestCallable, name: str | None = None) -> None:
        """Register a Jinja test of the app (``app.add_template_test``)."""
        self.record_once(lambda s: t.cast(_TemplateRegistry, s.app).add_template_test(f, name=name))

    @setupmethod
    def app_template_global(
        self, name: str | None = None
    ) -> t.Callable[[ft.T_template_global], ft.T_template_global]:
        """Decorate a function to be a Jinja global of the app."""

        def decorator(f: ft.T_template_global) -> ft.T_template_global:
            self.add_app_template_global(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_app_template_global(
        self, f: ft.TemplateGlobalCallable, name: str | None = None
    ) -> None:
        """Register a Jinja global of the app (``app.add_template_global``)."""
        self.record_once(
            lambda s: t.cast(_TemplateRegistry, s.app).add_template_global(f, name=name)
        )


def _nested_options(
    state: BlueprintSetupState, name: str, child: Blueprint, options: dict[str, t.Any]
) -> dict[str, t.Any]:
    """The options a nested blueprint is registered with: its own, with the
    parent's subdomain and URL prefix combined in and the parent's dotted name
    as the name prefix.

    Unlike Flask, an empty subdomain adds no label: a child ``api`` inside a
    parent registered with ``subdomain=""`` matches ``api``, not ``api.``.
    """
    options = dict(options)

    subdomain = options.get("subdomain")
    if subdomain is None:
        subdomain = child.subdomain
    if subdomain is not None or state.subdomain is not None:
        # An empty part adds no label ("api" inside "" is "api", not "api.").
        options["subdomain"] = ".".join(p for p in (subdomain, state.subdomain) if p)

    url_prefix = options.get("url_prefix")
    if url_prefix is None:
        url_prefix = child.url_prefix
    if url_prefix is not None and state.url_prefix is not None:
        url_prefix = _join_prefix(state.url_prefix, url_prefix)
    elif url_prefix is None:
        url_prefix = state.url_prefix
    if url_prefix is not None:
        options["url_prefix"] = url_prefix

    options["name_prefix"] = name
    return options
