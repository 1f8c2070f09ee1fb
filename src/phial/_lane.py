"""The fast lane: what the drivers may skip when nothing observes a request.

Most requests run a view and little else: no ``after_request`` functions,
no signal receivers, no session. For those the drivers call the view
directly (after the ``before_request`` functions and URL value preprocessors
that apply, if any) and, when it returns a plain value (text, bytes, JSON
data, optionally in a tuple with a status and headers), send the bytes
without building a response object. The output is byte for byte what the
general pipeline sends (the tests compare both).

Whether an app may use the lane at all is decided once, at its first request
(:meth:`phial.app.Phial._lane_allowed`): overriding any step the lane skips
sends every request through the general pipeline. Hooks can only be
registered before the first request, so whether an app has any is decided
then too. Signal receivers may connect at any time: until one connects to a
signal of the request lifecycle (``phial.signals._lifecycle_watch``), a
hookless app's lane asks for neither (:meth:`phial.app.Phial._lane_quiet`);
afterwards it asks on every request. The session is checked on every request.
"""

from __future__ import annotations

import functools
import typing as t

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response as BaseResponse

from .wrappers import _HEADER_BREAK

#: Steps of :class:`~phial.app.Phial` the lane skips or calls directly:
#: overriding one (in a subclass or on the instance) disables the lane.
LANE_STEPS = (
    "request_context",
    "app_context",
    "make_response",
    "ensure_sync",
    "should_ignore_error",
    "trap_http_exception",
    "raise_routing_exception",
    "do_teardown_request",
    "do_teardown_appcontext",
    "log_exception",
    "debug",  # read from the config directly
)


#: Methods the general steps answer: HEAD (no body) and OPTIONS (automatic).
SPECIAL_METHODS = frozenset(("HEAD", "OPTIONS"))


class _Entry:
    """How the lane may start a request (see ``Phial._lane_entry``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: Nothing runs before the view: the lane calls it directly.
LANE_OPEN: t.Final = _Entry("LANE_OPEN")
#: ``before_request`` functions or URL value preprocessors apply: the lane
#: runs them through the general step, then goes on as for LANE_OPEN.
LANE_HOOKED: t.Final = _Entry("LANE_HOOKED")
#: ``request_started`` receivers, HEAD or OPTIONS: the general steps.
LANE_CLOSED: t.Final = _Entry("LANE_CLOSED")


def _status_lines() -> dict[int, str]:
    """Status lines, as Werkzeug writes them, of the codes the lane sends:
    known codes of responses with a body (not 1xx, 204, 304 or 412, which
    Werkzeug's emission treats specially)."""
    return {
        code: BaseResponse(status=code).status
        for code in HTTP_STATUS_CODES
        if code >= 200 and code not in (204, 304, 412)
    }


#: Status code -> status line, for the codes the lane sends itself.
LANE_STATUSES: t.Final = _status_lines()

#: Werkzeug's own emission methods; a response class that keeps all of them
#: may be emitted directly (and skipped altogether by the lane).
_EMIT_METHODS = ("__call__", "get_wsgi_response", "get_wsgi_headers", "get_app_iter")


def _plain_emission(cls: type[BaseResponse]) -> bool:
    return all(getattr(cls, name) is getattr(BaseResponse, name) for name in _EMIT_METHODS)


@functools.lru_cache(maxsize=32)
def plain_classes(cls: type[BaseResponse]) -> frozenset[type[BaseResponse]]:
    """``{cls}`` when ``cls`` keeps Werkzeug's emission, else empty; memoised
    because response classes are few and fixed."""
    return frozenset((cls,)) if _plain_emission(cls) else frozenset()


#: Content-Type value -> its header, for values known to have no line break
#: or NUL: views answer with the same few types, so each is
#: checked and made once. Bounded, since a view may build values freely.
CONTENT_TYPE_HEADERS: dict[str, tuple[str, str]] = {}

#: Body length -> its Content-Length header, for the lengths seen (bounded).
LENGTH_HEADERS: dict[int, tuple[str, str]] = {}

_HEADER_CACHE_SIZE = 256


def content_type_header(value: str) -> tuple[str, str] | None:
    """``("Content-Type", value)``, or ``None`` when ``value`` has a line break
    or NUL (the general steps then refuse it); kept in
    :data:`CONTENT_TYPE_HEADERS`."""
    # A printable value has none: the search is skipped.
    if not value.isprintable() and _HEADER_BREAK.search(value):
        return None
    header = ("Content-Type", value)
    if len(CONTENT_TYPE_HEADERS) < _HEADER_CACHE_SIZE:
        CONTENT_TYPE_HEADERS[value] = header
    return header


def length_header(length: int) -> tuple[str, str]:
    """``("Content-Length", str(length))``; kept in :data:`LENGTH_HEADERS`."""
    header = ("Content-Length", str(length))
    if len(LENGTH_HEADERS) < _HEADER_CACHE_SIZE:
        LENGTH_HEADERS[length] = header
    return header


#: Headers Werkzeug's emission rewrites (as URIs; Location made absolute when
#: the response asks), lower-cased.
_REWRITTEN_HEADERS = frozenset(("location", "content-location"))


def sendable_as_is(items: list[tuple[str, str]]) -> bool:
    """Whether Werkzeug's emission would send the header list ``items`` of a
    finished single-chunk response unchanged: it has a Content-Length and no
    Location or Content-Location, which Werkzeug rewrites as URIs (and makes
    absolute with ``autocorrect_location_header``)."""
    if len(items) == 2 and items[1][0] == "Content-Length" and items[0][0] == "Content-Type":
        return True  # what phial builds for text, bytes and JSON: the common case
    has_length = False
    for name, _ in items:
        if name == "Content-Length":
            has_length = True
        elif len(name) in (8, 16) and name.lower() in _REWRITTEN_HEADERS:
            return False
    return has_length
