"""A dict of the rules without converters, consulted before Werkzeug's matcher.

Most requests hit a literal path (``/``, ``/api/users``). Looking it up in a dict
avoids binding the URL map to the environ, which is the costliest part of
routing. Anything the table cannot answer with certainty falls through to the
URL map, so the two always agree.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from werkzeug.routing import Rule

    from .sansio.app import App
    from .wrappers import Request

_Entry = tuple["Rule", "t.Mapping[str, t.Any] | None"]


class RouteTable:
    """Literal-path rules by path, compiled from an app's URL map."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._table: dict[str, list[_Entry]] | None = None
        self._compiled_size = -1

    def compile(self) -> None:
        """(Re)build the table; disabled when matching depends on the host."""
        app = self._app
        url_map = app.url_map
        rules = list(url_map.iter_rules())
        self._compiled_size = _endpoint_count(url_map)
        if url_map.host_matching or app.subdomain_matching:
            self._table = None
            return
        default_subdomain = url_map.default_subdomain or ""
        table: dict[str, list[_Entry]] = {}
        for rule in rules:
            if (
                rule.arguments
                or rule.build_only
                or rule.redirect_to is not None
                or rule.host is not None
                or (rule.subdomain or "") != default_subdomain
                or getattr(rule, "websocket", False)
                or not rule.rule.isascii()
                or not rule.rule.startswith("/")
                # Werkzeug merges the slashes of such a rule and redirects
                # requests for the written form; leave both to the URL map.
                or "//" in rule.rule
            ):
                continue
            table.setdefault(rule.rule, []).append((rule, rule.defaults))
        self._table = table

    def match(self, request: Request) -> bool:
        """Set ``url_rule`` and ``view_args`` if a literal rule matches; report it."""
        table = self._table
        if table is None:
            return False
        if self._app.config["TRUSTED_HOSTS"] is not None:
            # The host must be validated, which happens when the URL map is bound.
            return False
        if self._compiled_size != _endpoint_count(self._app.url_map):
            # Rules for new endpoints were added to the map directly, after the
            # first request (registration methods refuse that; Map.add does not).
            self.compile()
            table = self._table
            if table is None:
                return False
        environ = request.environ
        entries = table.get(environ.get("PATH_INFO") or "/")
        if entries is None:
            return False
        method = environ.get("REQUEST_METHOD", "GET")
        for rule, defaults in entries:
            methods = rule.methods
            if methods is None or method in methods:
                request.url_rule = rule
                request.view_args = dict(defaults) if defaults else {}
                return True
        # A literal path with the wrong method: the URL map decides between
        # another rule and 405, and computes the Allow header.
        return False


def _endpoint_count(url_map: t.Any) -> int:
    """A cheap change signal for the URL map: how many endpoints it has."""
    return len(getattr(url_map, "_rules_by_endpoint", ()))
