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
"""

from __future__ import annotations

import typing as t

from werkzeug.local import LocalProxy

from .globals import _cv_app, _cv_request, _no_app_msg
from .helpers import stream_with_context
from .signals import _send, before_render_template, template_rendered

if t.TYPE_CHECKING:
    from jinja2 import Template

    from ._jinja import DispatchingJinjaLoader as DispatchingJinjaLoader
    from ._jinja import Environment as Environment
    from .app import Phial

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
    """Put ``g``, ``request`` and ``session`` into the context when they exist.

    ``session`` is a proxy bound to this request context rather than the session
    itself, so rendering a template that never reads it does not open the session
    (phial opens sessions lazily; see :attr:`phial.ctx.RequestContext.session`).
    """
    rv: dict[str, t.Any] = {}
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        rv["g"] = app_ctx.g
    req_ctx = _cv_request.get(None)
    if req_ctx is not None:
        rv["request"] = req_ctx.request
        rv["session"] = LocalProxy(lambda: req_ctx.session)
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


def _current_app() -> Phial:
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError(_no_app_msg)
    return ctx.app


def _render(app: Phial, template: Template, context: dict[str, t.Any]) -> str:
    app.update_template_context(context)
    _send(
        before_render_template,
        app,
        _async_wrapper=app.ensure_sync,
        template=template,
        context=context,
    )
    rv = template.render(context)
    _send(
        template_rendered,
        app,
        _async_wrapper=app.ensure_sync,
        template=template,
        context=context,
    )
    return rv


def _stream(app: Phial, template: Template, context: dict[str, t.Any]) -> t.Iterator[str]:
    app.update_template_context(context)
    _send(
        before_render_template,
        app,
        _async_wrapper=app.ensure_sync,
        template=template,
        context=context,
    )

    def generate() -> t.Iterator[str]:
        yield from template.generate(context)
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
    app = _current_app()
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _render(app, template, context)


def render_template_string(source: str, **context: t.Any) -> str:
    """Render a template from source text (autoescaped, like an ``.html`` file).

    :param source: the template's source.
    :param context: variables for the template.
    """
    app = _current_app()
    template = app.jinja_env.from_string(source)
    return _render(app, template, context)


def stream_template(
    template_name_or_list: str | Template | list[str | Template], **context: t.Any
) -> t.Iterator[str]:
    """Render a template by name as an iterator of strings, for a streamed response.

    During a request the iterator keeps the request context pushed until it
    is exhausted (see :func:`phial.stream_with_context`).
    """
    app = _current_app()
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _stream(app, template, context)


def stream_template_string(source: str, **context: t.Any) -> t.Iterator[str]:
    """Render template source text as an iterator of strings; see :func:`stream_template`."""
    app = _current_app()
    template = app.jinja_env.from_string(source)
    return _stream(app, template, context)
