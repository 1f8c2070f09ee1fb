"""The Jinja2 classes of :mod:`phial.templating`: the app's environment and its loader.

They live here, apart from the render functions, so that importing phial does
not import Jinja2: :mod:`phial.templating` hands these out on first access, and
an app loads them when it first builds :attr:`~phial.Phial.jinja_env`.
"""

from __future__ import annotations

import json
import typing as t
from collections import ChainMap

from jinja2 import BaseLoader, Template, TemplateNotFound, pass_environment
from jinja2 import Environment as BaseEnvironment
from markupsafe import Markup

if t.TYPE_CHECKING:
    from .app import Phial

_SourceTuple = tuple[str, "str | None", "t.Callable[[], bool] | None"]


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

    def _phial_render(self, template: Template, context: dict[str, t.Any]) -> str:
        """``template.render(context)``, with the globals merged in C (see
        ``_with_globals``); a template that is not a plain synchronous Jinja
        ``Template`` renders with its own method."""
        if type(template) is not Template or self.is_async:
            return template.render(context)
        jinja_ctx = template.new_context(_with_globals(template, context), shared=True)
        try:
            return self.concat(template.root_render_func(jinja_ctx))
        except Exception:
            self.handle_exception()

    def _phial_generate(self, template: Template, context: dict[str, t.Any]) -> t.Iterator[str]:
        """``template.generate(context)``, with the globals merged as in :meth:`_phial_render`."""
        if type(template) is not Template or self.is_async:
            yield from template.generate(context)
            return
        jinja_ctx = template.new_context(_with_globals(template, context), shared=True)
        try:
            yield from template.root_render_func(jinja_ctx)
        except Exception:
            self.handle_exception()


def _uses_default_update(app: Phial) -> bool:
    """Whether ``app``'s class keeps phial's own ``update_template_context``."""
    from .app import Phial

    method = getattr(type(app), "update_template_context", None)
    return method is Phial.update_template_context


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
