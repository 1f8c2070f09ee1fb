"""Fast matching in front of Werkzeug's URL map, which stays the authority.

Literal paths (``/``, ``/api/users``) are found in a dict. Rules with simple
converters (``/users/<int:id>``) are found by one regular expression per rule,
bucketed by their first path segment, and claimed only when exactly one such
rule matches the whole path and allows the method. Anything else — no match,
an ambiguous match, a redirect, a 405, path converters, rules with defaults —
goes to the URL map, bound once per host and reused, so the answer is always
the one Werkzeug gives.
"""

from __future__ import annotations

import re
import typing as t
import uuid

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, ValidationError
from werkzeug.routing import converters as converters_module

if t.TYPE_CHECKING:
    from werkzeug.routing import MapAdapter, Rule

    from .sansio.app import App
    from .wrappers import Request

_Entry = tuple["Rule", "t.Mapping[str, t.Any] | None"]


#: A well-formed Host header: a host name (letters, digits, ``.``, ``-``, and
#: ``_``, which container host names use) or a bracketed IPv6 address, with
#: an optional port. Anything else (spaces, control characters, ``@``, ``/``,
#: a second colon, a port with letters) is refused with 400.
_HOST = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")

#: How many well-formed hosts to remember; the Host header is the client's
#: choice, so the set is emptied rather than allowed to grow.
_MAX_HOSTS = 64

#: How many bound adapters to keep; the key includes the Host header, which a
#: client chooses, so the cache is emptied rather than allowed to grow.
_MAX_ADAPTERS = 64


class RouteTable:
    """Literal-path rules by path, compiled from an app's URL map, and bound
    URL map adapters reused across requests with the same host and root."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._table: dict[str, list[_Entry]] | None = None
        self._compiled_size = -1
        self._adapters: dict[tuple[str, str, str], MapAdapter] = {}
        #: Converter rules by first path segment; "" holds rules whose first
        #: segment is itself a converter (candidates for every path).
        self._dynamic: dict[str, list[_DynamicRule]] = {}
        self._complete = False
        self._literal_paths: set[str] = set()
        self._good_hosts: set[str] = set()
        #: The URL map the table was compiled from (its change markers are
        #: checked on every fast match).
        self._map: t.Any = None

    def host_is_valid(self, request: Request) -> bool:
        """Whether the request's Host header (if any) is well formed.

        An empty or missing Host is allowed (HTTP/1.0, or a target without an
        authority); a port must be 1-65535. Hosts seen before are found in a
        small set, so the regular expression runs once per distinct host.
        """
        host = request.environ.get("HTTP_HOST")
        if not host or host in self._good_hosts:
            return True
        if _HOST.fullmatch(host) is None:
            return False
        _, colon, port = host.rpartition(":")
        if colon and not host.endswith("]") and not 0 < int(port) <= 65535:
            return False
        if len(self._good_hosts) >= _MAX_HOSTS:
            self._good_hosts.clear()
        self._good_hosts.add(host)
        return True

    def compile(self) -> None:
        """(Re)build the table; disabled when matching depends on the host."""
        app = self._app
        url_map = app.url_map
        rules = list(url_map.iter_rules())
        self._compiled_size = _endpoint_count(url_map)
        if (
            url_map.host_matching
            or app.subdomain_matching
            or not hasattr(url_map, "_remap")
            or not hasattr(url_map, "_rules_by_endpoint")
        ):
            # (A map without Werkzeug's change markers cannot be trusted to
            # signal that the table is stale.)
            self._table = None
            self._dynamic = {}
            self._complete = False
            return
        self._map = url_map
        default_subdomain = url_map.default_subdomain or ""
        table: dict[str, list[_Entry]] = {}
        dynamic = _compile_dynamic(rules, default_subdomain)
        self._dynamic = dynamic or {}
        # A certain 404 needs every rule accounted for, and Werkzeug's own Map
        # (a subclass may match differently).
        self._complete = dynamic is not None and type(url_map) is Map
        # Literal rules, and the slash-less paths that redirect to them, win
        # over any converter rule: the converter matcher defers on these, and
        # on each with a slash added (a loose-slash rule may claim it).
        literal_paths = {
            path
            for rule in rules
            if "<" not in rule.rule
            # (With its slashes merged too: Werkzeug matches that form.)
            for written in {rule.rule, _merge_slashes(rule.rule)}
            for path in (written, written[:-1] if written.endswith("/") else written)
        }
        self._literal_paths = literal_paths | {f"{path}/" for path in literal_paths if path}
        _mark_literal_overlap(self._dynamic, self._literal_paths)
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
        self._adapters = {}

    @property
    def enabled(self) -> bool:
        """Whether matching may bypass binding the URL map to each request.

        Not with host or subdomain matching (the host decides the rule), nor
        with ``TRUSTED_HOSTS`` (binding is where the host is checked).
        """
        return self._table is not None and self._app.config["TRUSTED_HOSTS"] is None

    def match_dynamic(self, request: Request) -> None:
        """Match with the URL map through an adapter shared by similar requests.

        Called after :meth:`match_known` answered :data:`NO_LITERAL` (the
        converter rules it tries could not decide the path) or the table
        could not be used. A :class:`~werkzeug.routing.MapAdapter` matches
        whatever path and method it is given, so one bound for this scheme,
        host and script root serves every such request; building one per
        request is the costliest part of routing. Sets
        ``url_rule``/``view_args`` or ``routing_exception``.
        """
        environ = request.environ
        key = (
            environ.get("wsgi.url_scheme", "http"),
            environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""),
            environ.get("SCRIPT_NAME", ""),
        )
        adapter = self._adapters.get(key)
        if adapter is None:
            adapter = self._app.create_url_adapter(request)
            if adapter is None:  # pragma: no cover - only None without a request
                return
            if len(self._adapters) >= _MAX_ADAPTERS:
                self._adapters.clear()
            self._adapters[key] = adapter
        try:
            rule, view_args = adapter.match(
                _decode_path(environ.get("PATH_INFO") or ""),
                environ.get("REQUEST_METHOD", "GET"),
                return_rule=True,
                query_args=environ.get("QUERY_STRING", ""),
            )
        except HTTPException as e:
            request.routing_exception = e
        else:
            request.url_rule = rule
            request.view_args = dict(view_args)

    def match_known(self, request: Request) -> object:
        """The cheapest match: a literal rule, or a converter rule that alone
        can answer, for a request whose Host is absent or seen before, with
        the table up to date.

        Returns :data:`MATCHED` (decided: ``url_rule`` and ``view_args`` set,
        or ``routing_exception`` set to a certain 404), :data:`NO_LITERAL`
        (the host is fine and neither table decides this path and method:
        only the URL map can, see :meth:`match_dynamic`) or
        :data:`UNDECIDED` (nothing was concluded: match the general way).
        """
        environ = request.environ
        table = self._table
        if table is None:
            return UNDECIDED
        host = environ.get("HTTP_HOST")
        if host and host not in self._good_hosts:
            return UNDECIDED
        path = environ.get("PATH_INFO") or "/"
        entries = table.get(path)
        # The same checks as match() below, in the order that costs least.
        url_map = self._map
        if (
            url_map._remap
            or len(url_map._rules_by_endpoint) != self._compiled_size
            or self._app.config["TRUSTED_HOSTS"] is not None
            or self._app.url_map is not url_map
        ):
            return UNDECIDED
        method = environ.get("REQUEST_METHOD", "GET")
        if entries is not None:
            for rule, defaults in entries:
                methods = rule.methods
                if methods is None or method in methods:
                    request.url_rule = rule
                    request.view_args = dict(defaults) if defaults else {}
                    return MATCHED
            return NO_LITERAL
        # Not a literal path: claim a converter rule when exactly one can
        # match (here rather than in a method of its own: a call costs as
        # much as a tenth of this). Returns MATCHED (the rule, or a certain
        # 404 when no rule at all could answer the path, only claimed when
        # every rule compiled) or NO_LITERAL to let Werkzeug's matcher decide.
        if not path.isascii() or "//" in path:
            # Non-ASCII needs decoding; "//" is merged by a redirect.
            return NO_LITERAL
        parts = path.split("/", 2)
        if parts[0]:
            return NO_LITERAL  # no leading slash: Werkzeug adds one
        dynamic = self._dynamic
        # Each bucket already holds the wildcard rules after its own. (The
        # path starts with "/": the first segment is the second part.)
        candidates = dynamic.get(parts[1])
        if candidates is None:
            candidates = dynamic.get("", _NO_RULES)
        if len(candidates) == 1 and (match := (found := candidates[0]).regex.fullmatch(path)):
            # The usual case: the path's first segment has one rule, and it
            # matches; no other rule could (the loop below would find the same).
            # A literal rule's path (or its slash-less form, or the form with
            # a slash added) takes precedence; only a rule whose regex
            # matches one of those needs the look-up.
            if not found.eligible or (found.literal_overlap and path in self._literal_paths):
                return NO_LITERAL
        else:
            if path in self._literal_paths:
                return NO_LITERAL  # a literal rule's path, as above
            only: _DynamicRule | None = None
            only_match: re.Match[str] | None = None
            # With a trailing slash, a rule without one may still match it (when
            # its strict_slashes is off): such paths are never a certain 404.
            stripped = path[:-1] if path[-1] == "/" and len(path) > 1 else None
            for entry in candidates:
                m = entry.regex.fullmatch(path)
                if m is not None:
                    if only is not None or not entry.eligible:
                        return NO_LITERAL  # another rule could answer: Werkzeug decides
                    only, only_match = entry, m
                elif (entry.without_slash is not None and entry.without_slash.fullmatch(path)) or (
                    stripped is not None and entry.regex.fullmatch(stripped)
                ):
                    return NO_LITERAL  # a slash redirect, or a loose-slash match
            if only is None or only_match is None:
                if self._complete:
                    request.routing_exception = NotFound()
                    return MATCHED
                return NO_LITERAL
            found, match = only, only_match
        methods = found.rule.methods
        if methods is not None and method not in methods:
            return NO_LITERAL
        try:
            # One argument converted inline (the usual shape) without a call
            # to the rule's view-argument maker.
            name = found.name
            view_args = found.convert(match) if name is None else {name: found.to_python(match[1])}
        except (ValidationError, ValueError):
            # Refused by the converter (or an int too long for int()):
            # Werkzeug decides what that means.
            return NO_LITERAL
        request.url_rule = found.rule
        request.view_args = view_args
        return MATCHED

    def _is_stale(self) -> bool:
        url_map = self._app.url_map
        return bool(
            getattr(url_map, "_remap", False) or self._compiled_size != _endpoint_count(url_map)
        )

    def match(self, request: Request) -> bool:
        """Set ``url_rule`` and ``view_args`` if a literal rule matches; report
        it. The table is rebuilt first if the URL map changed since."""
        if self._table is None:
            return False
        if self._app.config["TRUSTED_HOSTS"] is not None:
            # The host must be validated, which happens when the URL map is bound.
            return False
        if self._is_stale():
            # Rules were added to the map directly after the first request
            # (registration methods refuse that; Map.add does not). Werkzeug
            # flags that until its matcher is rebuilt; rebuild both now.
            self._app.url_map.update()
            self.compile()
        # The host was validated by the caller, so the table answers (a
        # literal path with the wrong method is left to the URL map, which
        # decides between another rule and 405 and computes Allow).
        return self.match_known(request) is MATCHED


#: The bucket of a map without wildcard rules.
_NO_RULES: list[_DynamicRule] = []


def _endpoint_count(url_map: t.Any) -> int:
    """A cheap change signal for the URL map: how many endpoints it has."""
    return len(getattr(url_map, "_rules_by_endpoint", ()))


#: Outcomes of :meth:`RouteTable.match_known`.
MATCHED = object()
NO_LITERAL = object()
UNDECIDED = object()


class _DynamicRule:
    """A converter rule with the regular expression of its whole path."""

    __slots__ = (
        "convert",
        "converters",
        "eligible",
        "literal_overlap",
        "name",
        "regex",
        "rule",
        "to_python",
        "without_slash",
    )

    def __init__(
        self,
        rule: Rule,
        regex: re.Pattern[str],
        converters: dict[str, t.Any],
        eligible: bool,
        without_slash: re.Pattern[str] | None,
    ) -> None:
        self.rule = rule
        self.regex = regex
        self.converters = converters
        #: The view arguments from a match of :attr:`regex`.
        self.convert = _view_args_maker(regex, converters)
        #: For a rule with one argument converted inline (the first group):
        #: its name and conversion (``convert`` gives the same, in a call).
        self.name: str | None = None
        self.to_python: t.Callable[[str], t.Any] = str
        if len(regex.groupindex) == 1:
            name, index = next(iter(regex.groupindex.items()))
            inline, function = _inline_conversion(converters[name])
            if inline and index == 1:
                self.name = name
                # (str() of the matched text is that text.)
                self.to_python = str if function is None else function
        #: Whether a match may be claimed; an ineligible match defers to Werkzeug.
        self.eligible = eligible
        #: For a rule ending in "/": the path Werkzeug redirects to it from.
        self.without_slash = without_slash
        #: Whether the regex may match a path of the literal rules (set by
        #: _mark_literal_overlap; until then, and for wildcard rules, yes).
        self.literal_overlap = True


#: Werkzeug's converters whose ``to_python`` is a plain function of the
#: matched text when built with default arguments, by class name; looked up
#: in :data:`werkzeug.routing.converters`, the module that defines them.
_INLINE: dict[str, t.Callable[[str], t.Any] | None] = {
    "UnicodeConverter": None,  # the text itself
    "IntegerConverter": int,
    "FloatConverter": float,
    "UUIDConverter": uuid.UUID,
}


def _inline_conversion(converter: t.Any) -> tuple[bool, t.Callable[[str], t.Any] | None]:
    """``(True, function)`` when ``converter`` is one of Werkzeug's built-in
    converters built with default arguments, whose ``to_python`` that function
    (``None``: no conversion) equals for any text its regex matches;
    ``(False, None)`` for any other converter, whose ``to_python`` must run."""
    cls = type(converter)
    name = cls.__name__
    if name not in _INLINE or getattr(converters_module, name, None) is not cls:
        return False, None
    try:
        default = cls(converter.map)
    except Exception:  # pragma: no cover - the built-in classes take a map alone
        return False, None
    # Same settings as a default instance (min, max, length...), so the same
    # regex and the same to_python.
    if vars(converter) != vars(default):
        return False, None
    return True, _INLINE[name]


def _view_args_maker(
    regex: re.Pattern[str], converters: dict[str, t.Any]
) -> t.Callable[[re.Match[str]], dict[str, t.Any]]:
    """The function that turns a match of ``regex`` (a rule's path, one named
    group per converter) into the rule's view arguments: Werkzeug's built-in
    converters with default arguments are applied inline, any other
    converter's ``to_python`` is called."""
    names = list(regex.groupindex)
    functions: dict[str, t.Callable[[str], t.Any] | None] = {}
    for name in names:
        inline, function = _inline_conversion(converters[name])
        functions[name] = function if inline else converters[name].to_python
    if not any(functions.values()):
        return re.Match.groupdict  # text only: the groups as they are
    if len(names) == 1 and regex.groupindex[names[0]] == 1:
        name = names[0]
        function = functions[name]
        assert function is not None  # checked above: some function is set

        def one(match: re.Match[str]) -> dict[str, t.Any]:
            return {name: function(match[1])}

        return one
    pairs = list(functions.items())

    def many(match: re.Match[str]) -> dict[str, t.Any]:
        return {
            name: match[name] if function is None else function(match[name])
            for name, function in pairs
        }

    return many


#: ``<name>``, ``<conv:name>`` or ``<conv(args):name>`` in a rule string.
_VARIABLE = re.compile(r"<(?:[a-zA-Z_][a-zA-Z0-9_]*(?:\((?:[^)]*)\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def _compile_dynamic(
    rules: list[Rule], default_subdomain: str
) -> dict[str, list[_DynamicRule]] | None:
    """Bucket every converter rule that can match here, marking those the fast
    matcher may claim. ``None`` disables converter matching: some rule could
    not be expressed as a regular expression, so a match could not be proven
    unambiguous."""
    with_defaults = {rule.endpoint for rule in rules if rule.defaults}
    buckets: dict[str, list[_DynamicRule]] = {}
    for rule in rules:
        if "<" not in rule.rule:
            # A literal rule (any arguments come from its defaults): the
            # matcher defers on its paths (see RouteTable.compile).
            continue
        if rule.host is not None or (rule.subdomain or "") != default_subdomain:
            continue  # never matches without host or subdomain matching
        converters: dict[str, t.Any] | None = getattr(rule, "_converters", None)
        if (
            converters is None
            or set(converters) != {m.group(1) for m in _VARIABLE.finditer(rule.rule)}
            or not rule.rule.isascii()
            or not rule.rule.startswith("/")
        ):
            return None
        eligible = not (
            rule.endpoint in with_defaults  # Werkzeug may redirect to the default URL
            or rule.build_only
            or rule.redirect_to is not None
            or getattr(rule, "websocket", False)
            or "//" in rule.rule
            or not all(getattr(c, "part_isolating", False) for c in converters.values())
        )
        pattern: list[str] = []
        position = 0
        # A path with "//" never reaches the regex (the matcher defers on it),
        # so the literal parts are written with their slashes merged: that is
        # the form of a "//" rule that such paths may match.
        for m in _VARIABLE.finditer(rule.rule):
            pattern.append(re.escape(_merge_slashes(rule.rule[position : m.start()])))
            name = m.group(1)
            pattern.append(f"(?P<{name}>{converters[name].regex})")
            position = m.end()
        tail = _merge_slashes(rule.rule[position:])
        try:
            regex = re.compile("".join(pattern) + re.escape(tail))
            without_slash = (
                re.compile("".join(pattern) + re.escape(tail[:-1])) if tail.endswith("/") else None
            )
        except re.error:
            return None
        first = rule.rule[1:].partition("/")[0]
        key = "" if "<" in first else first
        buckets.setdefault(key, []).append(
            _DynamicRule(rule, regex, converters, eligible, without_slash)
        )
    # A path is checked against its first segment's rules and those whose first
    # segment is a converter: join them once here rather than per request.
    wildcard = buckets.get("", [])
    return {key: entries if key == "" else entries + wildcard for key, entries in buckets.items()}


def _first_segment(path: str) -> str:
    """The first segment of a path starting with ``/``."""
    return path[1:].partition("/")[0]


def _mark_literal_overlap(dynamic: dict[str, list[_DynamicRule]], literal_paths: set[str]) -> None:
    """Mark the converter rules whose regex matches none of ``literal_paths``:
    the matcher need not look a path up there after such a rule matched it.

    A rule's regex starts with its first segment when that is literal, so
    only the literal paths with the same first segment can match it; a rule
    whose first segment holds a converter keeps the look-up."""
    by_segment: dict[str, list[str]] = {}
    for path in literal_paths:
        by_segment.setdefault(_first_segment(path), []).append(path)
    for key, entries in dynamic.items():
        for entry in entries:
            first = _first_segment(entry.rule.rule)
            if key and first == key:
                entry.literal_overlap = any(
                    entry.regex.fullmatch(path)
                    or (entry.without_slash is not None and entry.without_slash.fullmatch(path))
                    for path in by_segment.get(key, ())
                )


def _merge_slashes(text: str) -> str:
    """``text`` with each run of slashes written as one."""
    while "//" in text:
        text = text.replace("//", "/")
    return text


def _decode_path(value: str) -> str:
    """PATH_INFO as Werkzeug matches it: PEP 3333 latin-1 text holding UTF-8."""
    return value.encode("latin1").decode("utf-8", "replace")
