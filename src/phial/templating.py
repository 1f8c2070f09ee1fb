"""Jinja2 integration: the app's environment, its template loader and the render functions.

Templates are looked up by :class:`DispatchingJinjaLoader`: a Flask 0.6 module's own
folder first for names that start with the module's name (``admin/index.html``), then
the application's ``template_folder``, then each blueprint's, in registration order.
Rendering runs the app's (and the current blueprints') context processors and sends
the :data:`~phial.signals.before_render_template` and
:data:`~phial.signals.template_rendered` signals.

Rendering is the hot part: when the app keeps phial's own ``update_template_context``
the context is built without calling it, and a plain Jinja ``Template`` is rendered
from a context whose globals were merged in C (``Template.new_context(shared=True)``)
instead of read key by key out of Jinja's ``ChainMap``. Anything customised (the
method overridden, a ``Template`` subclass, an async environment) takes the general path.
"""

from __future__ import annotations

import json
import typing as t
from collections import ChainMap

from jinja2 import BaseLoader, Template, TemplateNotFound, pass_environment
from jinja2 import Environment as BaseEnvironment
from markupsafe import Markup

from .globals import _cv_app, _cv_request, _no_app_msg
from .helpers import stream_with_context
from .signals import _send, before_render_template, template_rendered

if t.TYPE_CHECKING:
    from .app import Phial
    from .ctx import AppContext, RequestContext

__all__ = [
    "DispatchingJinjaLoader",
    "Environment",
    "render_template",
    "render_template_string",
    "stream_template",
    "stream_template_string",
]

_SourceTuple = tuple[str, "str | None", "t.Callable[[], bool] | None"]


def _default_template_ctx_processor() -> dict[str, t.Any]:
    """Put ``g`` and ``request`` into the context when they exist, as Flask 3.1 does.

    ``session`` is not put in: templates read it through the environment's
    ``session`` global, a proxy, so rendering a template that never reads it does
    not open the session (phial opens sessions lazily; see
    :attr:`phial.ctx.RequestContext.session`).
    """
    rv: dict[str, t.Any] = {}
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        rv["g"] = app_ctx.g
    req_ctx = _cv_request.get(None)
    if req_ctx is not None:
        rv["request"] = req_ctx.request
    return rv


@pass_environment
def _tojson_filter(env: BaseEnvironment, obj: t.Any, **kwargs: t.Any) -> Markup:
    """The ``tojson`` filter: ``obj`` as JSON that is safe inside HTML and ``<script>``.

    Serialised with the environment's ``json.dumps_function`` policy (the app's
    JSON provider) and ``json.dumps_kwargs`` policy (``sort_keys=True``), as in
    Flask; then ``<``, ``>``, ``&`` and ``'`` become ``\\u`` escapes, which JSON
    parsers read back unchanged but which cannot close a ``<script>`` element,
    start an entity or end a single-quoted attribute.
    """
    policies = env.policies
    dumps: t.Callable[..., str] = policies["json.dumps_function"] or json.dumps
    policy_kwargs = policies["json.dumps_kwargs"]
    if policy_kwargs:
        kwargs = {**policy_kwargs, **kwargs}
    text = dumps(obj, **kwargs)
    return Markup(
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )


def _lazy_get_flashed_messages(*args: t.Any, **kwargs: t.Any) -> t.Any:
    """Stand-in for :func:`phial.helpers.get_flashed_messages` until that exists."""
    from . import helpers

    func = getattr(helpers, "get_flashed_messages", None)
    if func is None:
        raise RuntimeError("get_flashed_messages is not available in this build of phial.")
    return func(*args, **kwargs)


def _get_flashed_messages_function() -> t.Callable[..., t.Any]:
    """The real ``get_flashed_messages`` if it is importable, else a lazy stand-in."""
    from . import helpers

    func: t.Callable[..., t.Any] | None = getattr(helpers, "get_flashed_messages", None)
    return func if func is not None else _lazy_get_flashed_messages


class _TemplateGlobals(ChainMap[str, t.Any]):
    """A template's globals: its own names over the environment's, read faster.

    Jinja reads a template's globals whole on every render (``dict(globals)`` to
    start the context, ``set(globals)`` for its names), and ``ChainMap`` does both
    key by key in Python, raising a ``KeyError`` for each environment global it
    looks for in the template's own (usually empty) map first.
    """

    def __getitem__(self, key: str) -> t.Any:
        for mapping in self.maps:
            if key in mapping:
                return mapping[key]
        # Not found by ``in``: a map with ``__missing__`` (a defaultdict) may still answer.
        return super().__getitem__(key)

    def __iter__(self) -> t.Iterator[str]:
        maps = self.maps
        if len(maps) == 2 and not maps[0]:
            # Only the environment's globals: a snapshot of their names, as ChainMap gives.
            return iter(list(maps[1]))
        return super().__iter__()


class Environment(BaseEnvironment):
    """A Jinja2 environment that belongs to an application.

    Unless a ``loader`` is given it uses the app's
    :meth:`~phial.Phial.create_global_jinja_loader`, which searches modules,
    the app and its blueprints.

    :param app: the application; kept as :attr:`app`.
    :param options: passed to :class:`jinja2.Environment`.
    """

    def __init__(self, app: Phial, **options: t.Any) -> None:
        if "loader" not in options:
            options["loader"] = app.create_global_jinja_loader()
        super().__init__(**options)
        self.app = app
        #: ``app`` when it uses phial's own :meth:`~phial.Phial.update_template_context`,
        #: so the render functions may build the context without calling it; else None.
        self._fast_context_app: Phial | None = app if _uses_default_update(app) else None

    def make_globals(self, d: t.MutableMapping[str, t.Any] | None) -> t.MutableMapping[str, t.Any]:
        """A template's globals: ``d`` over :attr:`globals`, as in Jinja, in a
        ``ChainMap`` subclass that Jinja reads faster (see ``_TemplateGlobals``)."""
        return _TemplateGlobals({} if d is None else d, self.globals)


def _uses_default_update(app: Phial) -> bool:
    """Whether ``app``'s class keeps phial's own ``update_template_context``."""
    from .app import Phial

    method = getattr(type(app), "update_template_context", None)
    return method is Phial.update_template_context


class DispatchingJinjaLoader(BaseLoader):
    """Find a template in the app's modules, the app, then its blueprints.

    A name whose first path segment is a registered Flask 0.6 module
    (``admin/index.html`` with ``app.modules["admin"]``) is looked up as
    ``index.html`` in that module's loader first. Then the full name is tried
    in the application's loader and in each blueprint's loader, in the order
    the blueprints were registered; the first match wins.

    With ``EXPLAIN_TEMPLATE_LOADING`` on, every loader is tried and each attempt
    is logged to ``app.logger`` at INFO level, followed by an error or a warning
    when no loader or more than one loader matched.
    """

    def __init__(self, app: Phial) -> None:
        self.app = app

    def get_source(self, environment: BaseEnvironment, template: str) -> _SourceTuple:
        """Return ``(source, filename, uptodate)`` from the first loader that has it."""
        if self.app.config["EXPLAIN_TEMPLATE_LOADING"]:
            return self._get_source_explained(environment, template)
        for _owner, _kind, loader, name in self._iter_loaders(template):
            try:
                return loader.get_source(environment, name)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template)

    def _get_source_explained(self, environment: BaseEnvironment, template: str) -> _SourceTuple:
        attempts: list[tuple[t.Any, str, BaseLoader, str, _SourceTuple | None]] = []
        found: _SourceTuple | None = None
        for owner, kind, loader, name in self._iter_loaders(template):
            try:
                rv = loader.get_source(environment, name)
            except TemplateNotFound:
                rv = None
            if found is None:
                found = rv
            attempts.append((owner, kind, loader, name, rv))
        _explain_attempts(self.app, template, attempts)
        if found is None:
            raise TemplateNotFound(template)
        return found

    def _iter_loaders(self, template: str) -> t.Iterator[tuple[t.Any, str, BaseLoader, str]]:
        """Yield ``(owner, kind, loader, name to ask for)`` in search order."""
        app = self.app
        modules: dict[str, t.Any] | None = getattr(app, "modules", None)
        if modules and "/" in template:
            module_name, _, rest = template.partition("/")
            module = modules.get(module_name)
            loader = getattr(module, "jinja_loader", None)
            if loader is not None:
                yield module, "module", loader, rest
        if app.jinja_loader is not None:
            yield app, "application", app.jinja_loader, template
        for blueprint in app.iter_blueprints():
            loader = blueprint.jinja_loader
            if loader is not None:
                yield blueprint, "blueprint", loader, template

    def list_templates(self) -> list[str]:
        """All template names the loaders know, module templates as ``module/name``."""
        result: set[str] = set()
        modules: dict[str, t.Any] = getattr(self.app, "modules", None) or {}
        for module_name, module in modules.items():
            loader = getattr(module, "jinja_loader", None)
            if loader is not None:
                result.update(f"{module_name}/{name}" for name in loader.list_templates())
        if self.app.jinja_loader is not None:
            result.update(self.app.jinja_loader.list_templates())
        for blueprint in self.app.iter_blueprints():
            loader = blueprint.jinja_loader
            if loader is not None:
                result.update(loader.list_templates())
        return sorted(result)


def _explain_attempts(
    app: Phial,
    template: str,
    attempts: list[tuple[t.Any, str, BaseLoader, str, _SourceTuple | None]],
) -> None:
    """Log, for ``EXPLAIN_TEMPLATE_LOADING``, which loaders were asked for ``template``."""
    lines = [f"Locating template {template!r}:"]
    matches = 0
    blueprint_without_match = False
    for index, (owner, kind, loader, name, rv) in enumerate(attempts, 1):
        owner_name = getattr(owner, "name", "?")
        lines.append(
            f"  {index}: trying loader of {kind} {owner_name!r}"
            f" ({getattr(owner, 'import_name', '?')})"
        )
        lines.append(f"       class: {type(loader).__module__}.{type(loader).__qualname__}")
        if name != template:
            lines.append(f"       asked for: {name!r}")
        searchpath = getattr(loader, "searchpath", None)
        if searchpath is not None:
            lines.append(f"       search path: {list(searchpath)!r}")
        if rv is None:
            lines.append("       -> no match")
            if kind == "blueprint":
                blueprint_without_match = True
        else:
            matches += 1
            lines.append(f"       -> found ({rv[1] or '<string>'!r})")
    if not attempts:
        lines.append("  no loader is configured (no template folders).")
    if matches == 0:
        lines.append("Error: the template could not be found.")
        if blueprint_without_match and "/" not in template:
            lines.append(
                "  Hint: blueprint templates share one namespace with the app's. Put them"
                " in a sub-folder named after the blueprint (templates/<blueprint>/...)"
                " and render '<blueprint>/name.html'."
            )
    elif matches > 1:
        lines.append(
            "Warning: more than one loader has this template; the first one listed is used."
        )
    app.logger.info("\n".join(lines))


def _current_app_ctx() -> AppContext:
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError(_no_app_msg)
    return ctx


def _app_env(app: Phial) -> Environment:
    """``app.jinja_env`` without the descriptor call once the environment exists.

    ``jinja_env`` is a Werkzeug ``cached_property``, a data descriptor that runs
    Python code on every read; the value it made sits in the instance dict.
    """
    env: Environment | None = app.__dict__.get("jinja_env")
    return env if env is not None else app.jinja_env


def _get_template(
    env: Environment, template_name_or_list: str | Template | list[str | Template]
) -> Template:
    if type(template_name_or_list) is str:  # the usual case: skip the type dispatch
        return env.get_template(template_name_or_list)
    return env.get_or_select_template(template_name_or_list)


def _update_context(
    app: Phial, env: Environment, app_ctx: AppContext, context: dict[str, t.Any]
) -> None:
    """Add the context processors' values to ``context``; its own values win.

    When the app uses phial's own :meth:`~phial.Phial.update_template_context`
    (see ``Environment._fast_context_app``), this does what that method does
    without calling it, with the default processor inlined (no ContextVar reads,
    no ``ensure_sync``); otherwise it calls the app's method.
    """
    if (
        getattr(env, "_fast_context_app", None) is not app
        or "update_template_context" in app.__dict__
    ):
        app.update_template_context(context)
        return
    req_ctx = _cv_request.get(None)
    processors = app.template_context_processors
    passed = context.copy()
    funcs = processors.get(None)
    if funcs:
        _run_processors(app, funcs, context, app_ctx, req_ctx)
    # Only a blueprint's request can add processors, and only if a list other
    # than the app's own is registered: else the blueprint names are not needed.
    if req_ctx is not None and (len(processors) > 1 or None not in processors):
        for name in reversed(req_ctx.request.blueprints):
            funcs = processors.get(name)
            if funcs:
                _run_processors(app, funcs, context, app_ctx, req_ctx)
    context.update(passed)


def _run_processors(
    app: Phial,
    funcs: list[t.Callable[[], dict[str, t.Any]]],
    rv: dict[str, t.Any],
    app_ctx: AppContext,
    req_ctx: RequestContext | None,
) -> None:
    for func in funcs:
        if func is _default_template_ctx_processor:
            rv["g"] = app_ctx.g
            if req_ctx is not None:
                rv["request"] = req_ctx.request
        else:
            rv.update(app.ensure_sync(func)())


def _with_globals(template: Template, context: dict[str, t.Any]) -> dict[str, t.Any]:
    """``template.globals`` with ``context`` over them, as ``Template.render`` merges them.

    Jinja's template globals are a ``ChainMap`` (the template's own over the
    environment's); ``dict(chain_map)`` reads it key by key in Python, while
    updating from each map in turn is done in C.
    """
    template_globals = template.globals
    if type(template_globals) is _TemplateGlobals or type(template_globals) is ChainMap:
        parent: dict[str, t.Any] = {}
        for mapping in reversed(template_globals.maps):
            parent.update(mapping)
    else:
        parent = dict(template_globals)
    parent.update(context)
    return parent


def _is_plain(template: Template) -> bool:
    """Whether ``template`` renders as Jinja's own ``Template`` does, synchronously.

    A subclass may override ``render``/``generate``/``new_context``, and an
    async environment renders through an event loop: those use the template's
    own methods.
    """
    return type(template) is Template and not template.environment.is_async


def _render_text(template: Template, context: dict[str, t.Any]) -> str:
    """``template.render(context)``, with the globals merged in C (``_with_globals``)."""
    if not _is_plain(template):
        return template.render(context)
    environment = template.environment
    jinja_ctx = template.new_context(_with_globals(template, context), shared=True)
    try:
        return environment.concat(template.root_render_func(jinja_ctx))
    except Exception:
        environment.handle_exception()


def _generate(template: Template, context: dict[str, t.Any]) -> t.Iterator[str]:
    """``template.generate(context)``, with the globals merged as in :func:`_render_text`."""
    if not _is_plain(template):
        yield from template.generate(context)
        return
    jinja_ctx = template.new_context(_with_globals(template, context), shared=True)
    try:
        yield from template.root_render_func(jinja_ctx)
    except Exception:
        template.environment.handle_exception()


def _render(
    app: Phial, env: Environment, app_ctx: AppContext, template: Template, context: dict[str, t.Any]
) -> str:
    _update_context(app, env, app_ctx, context)
    if before_render_template.receivers:
        _send(
            before_render_template,
            app,
            _async_wrapper=app.ensure_sync,
            template=template,
            context=context,
        )
    rv = _render_text(template, context)
    if template_rendered.receivers:
        _send(
            template_rendered,
            app,
            _async_wrapper=app.ensure_sync,
            template=template,
            context=context,
        )
    return rv


def _stream(
    app: Phial, env: Environment, app_ctx: AppContext, template: Template, context: dict[str, t.Any]
) -> t.Iterator[str]:
    _update_context(app, env, app_ctx, context)
    _send(
        before_render_template,
        app,
        _async_wrapper=app.ensure_sync,
        template=template,
        context=context,
    )

    def generate() -> t.Iterator[str]:
        yield from _generate(template, context)
        _send(
            template_rendered,
            app,
            _async_wrapper=app.ensure_sync,
            template=template,
            context=context,
        )

    rv = generate()
    # A streamed body is produced after the view returns; keep the request
    # context alive for it so the template can still read request and session.
    if _cv_request.get(None) is not None:
        rv = stream_with_context(rv)
    return rv


def render_template(
    template_name_or_list: str | Template | list[str | Template], **context: t.Any
) -> str:
    """Render a template by name with the given context.

    :param template_name_or_list: a template name, or a list of names of which
        the first that exists is rendered.
    :param context: variables for the template; they win over the values of
        context processors.
    """
    app_ctx = _current_app_ctx()
    app = app_ctx.app
    env = _app_env(app)
    return _render(app, env, app_ctx, _get_template(env, template_name_or_list), context)


def render_template_string(source: str, **context: t.Any) -> str:
    """Render a template from source text (autoescaped, like an ``.html`` file).

    :param source: the template's source.
    :param context: variables for the template.
    """
    app_ctx = _current_app_ctx()
    app = app_ctx.app
    env = _app_env(app)
    return _render(app, env, app_ctx, env.from_string(source), context)


def stream_template(
    template_name_or_list: str | Template | list[str | Template], **context: t.Any
) -> t.Iterator[str]:
    """Render a template by name as an iterator of strings, for a streamed response.

    During a request the iterator keeps the request context pushed until it
    is exhausted (see :func:`phial.stream_with_context`).
    """
    app_ctx = _current_app_ctx()
    app = app_ctx.app
    env = _app_env(app)
    return _stream(app, env, app_ctx, _get_template(env, template_name_or_list), context)


def stream_template_string(source: str, **context: t.Any) -> t.Iterator[str]:
    """Render template source text as an iterator of strings; see :func:`stream_template`."""
    app_ctx = _current_app_ctx()
    app = app_ctx.app
    env = _app_env(app)
    return _stream(app, env, app_ctx, env.from_string(source), context)
