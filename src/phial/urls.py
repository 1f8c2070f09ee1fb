"""URL building: the logic behind :func:`phial.url_for`."""

from __future__ import annotations

import typing as t
from urllib.parse import quote

from werkzeug.routing import BuildError

from . import globals as _globals

# Bound by assignment, not imported by name: see phial.globals.
_cv_app = _globals._cv_app
_cv_request = _globals._cv_request

if t.TYPE_CHECKING:
    from .app import Phial

#: Characters left as they are in an ``_anchor`` (what RFC 3986 allows there).
_ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"


def resolve_endpoint(app: Phial, endpoint: str, blueprint: str | None) -> str:
    """Expand a relative endpoint (``.view``) against the current blueprint."""
    if endpoint[:1] == ".":
        if blueprint is not None:
            return f"{blueprint}{endpoint}"
        return endpoint[1:]
    return endpoint


def build_url(
    app: Phial,
    endpoint: str,
    *,
    anchor: str | None,
    method: str | None,
    scheme: str | None,
    external: bool | None,
    values: dict[str, t.Any],
) -> str:
    """Build a URL for ``endpoint`` with the adapter of the active context.

    Inside a request URLs are relative unless ``external`` (or ``scheme``) asks
    otherwise; outside one they are external and need ``SERVER_NAME``.
    Values that are not rule arguments become the query string (``None`` is
    left out). A build failure goes through ``url_build_error_handlers``.
    """
    req_ctx = _cv_request.get(None)
    if req_ctx is not None and req_ctx.app is app:
        url_adapter = req_ctx.url_adapter
        endpoint = app._resolve_url_endpoint(endpoint, req_ctx.request)
        if external is None:
            external = scheme is not None
    else:
        app_ctx = _cv_app.get(None)
        if app_ctx is not None and app_ctx.app is app:
            url_adapter = app_ctx.url_adapter
        else:
            url_adapter = app.create_url_adapter(None)
        if url_adapter is None:
            raise RuntimeError(
                "Unable to build URLs outside an active request without 'SERVER_NAME'"
                " configured. Also configure 'APPLICATION_ROOT' and"
                " 'PREFERRED_URL_SCHEME' as needed."
            )
        if external is None:
            external = True
    if url_adapter is None:
        raise RuntimeError(
            "Unable to build URLs for this request: its Host is not trusted or not valid."
        )
    if scheme is not None and not external:
        raise ValueError("When specifying '_scheme', '_external' must be True.")

    app.inject_url_defaults(endpoint, values)
    # Werkzeug would put None values in the query string as "None".
    for key in [k for k, v in values.items() if v is None]:
        del values[key]
    try:
        rv = url_adapter.build(
            endpoint, values, method=method, url_scheme=scheme, force_external=external
        )
    except BuildError as error:
        values.update(_anchor=anchor, _method=method, _scheme=scheme, _external=external)
        return app.handle_url_build_error(error, endpoint, values)
    if anchor is not None:
        rv = f"{rv}#{quote(anchor, safe=_ANCHOR_SAFE)}"
    return rv
