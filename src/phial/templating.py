"""Jinja2 integration: the app's environment, its template loader and the render functions.

Templates are looked up by :class:`DispatchingJinjaLoader`: a Flask 0.6 module's own
folder first for names that start with the module's name (``admin/index.html``), then
the application's ``template_folder``, then each blueprint's, in registration order.
Rendering runs the app's (and the current blueprints') context processors and sends
the :data:`~phial.signals.before_render_template` and
:data:`~phial.signals.template_rendered` signals.

:class:`Environment` and :class:`DispatchingJinjaLoader` are defined in
``phial._jinja`` and imported from there on first access, so that importing
phial does not import Jinja2; an app that renders nothing never loads it.

Rendering is the hot part: when the app keeps phial's own ``update_template_context``
the context is built without calling it, and a plain Jinja ``Template`` is rendered
from a context whose globals were merged in C (``Template.new_context(shared=True)``)
instead of read key by key out of Jinja's ``ChainMap``. Anything customised (the
method overridden, a ``Template`` subclass, an async environment) takes the general path.
"""

from __future__ import annotations

import typing as t

from . import globals as _globals
from .globals import _no_app_msg
from .helpers import stream_with_context
from .signals import _send, before_render_template, template_rendered

# Bound by assignment, not imported by name: see phial.globals.
_cv_app = _globals._cv_app
_cv_request = _globals._cv_request

if t.TYPE_CHECKING:
    from jinja2 import Template

    from ._jinja import DispatchingJinjaLoader as DispatchingJinjaLoader
    from ._jinja import Environment as Environment
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

#: The names this module takes from ``phial._jinja`` on first access.
_JINJA_NAMES = frozenset({"DispatchingJinjaLoader", "Environment", "_tojson_filter"})


def __getattr__(name: str) -> t.Any:
    if name in _JINJA_NAMES:
        from . import _jinja

        value = getattr(_jinja, name)
        globals()[name] = value  # later accesses are plain attribute lookups
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def _render_text(env: Environment, template: Template, context: dict[str, t.Any]) -> str:
    render = getattr(env, "_phial_render", None)
    return render(template, context) if render is not None else template.render(context)


def _generate(env: Environment, template: Template, context: dict[str, t.Any]) -> t.Iterator[str]:
    generate = getattr(env, "_phial_generate", None)
    if generate is not None:
        return generate(template, context)  # type: ignore[no-any-return]  # phial's Environment
    return template.generate(context)


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
    rv = _render_text(env, template, context)
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
        yield from _generate(env, template, context)
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
