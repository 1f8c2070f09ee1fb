"""phial's Request and Response: Werkzeug's, plus what the framework adds.

The request knows the rule it matched and takes its body limits from the
current app's config; JSON errors become 400 or 415 instead of a 500.
"""

from __future__ import annotations

import typing as t

from werkzeug.exceptions import BadRequest, HTTPException, UnsupportedMediaType
from werkzeug.wrappers import Request as RequestBase
from werkzeug.wrappers import Response as ResponseBase

from . import json
from .globals import _cv_app

if t.TYPE_CHECKING:
    from werkzeug.routing import Rule


class _RequestJSON:
    """The ``json_module`` requests parse with: the current app's provider.

    Python's decoder raises RecursionError for deeply nested input; that is bad
    input like any other, so it becomes a ValueError (and so a 400).
    """

    __slots__ = ()

    @staticmethod
    def loads(s: str | bytes, **kwargs: t.Any) -> t.Any:
        try:
            return json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nesting is too deep.") from None

    @staticmethod
    def dumps(obj: t.Any, **kwargs: t.Any) -> str:
        return json.dumps(obj, **kwargs)


class Request(RequestBase):
    """The request object: Werkzeug's :class:`~werkzeug.wrappers.Request` plus
    routing information and config-driven body limits."""

    json_module: t.Any = _RequestJSON()

    #: The rule that matched, or ``None`` before matching / on failure.
    url_rule: Rule | None = None
    #: The values the rule captured, or ``None``.
    view_args: dict[str, t.Any] | None = None
    #: The routing error (404, 405, redirect) if matching failed; raised at dispatch.
    routing_exception: HTTPException | None = None

    _max_content_length: int | None = None
    _max_form_memory_size: int | None = None
    _max_form_parts: int | None = None

    def _limit(self, explicit: int | None, key: str, fallback: int | None) -> int | None:
        if explicit is not None:
            return explicit
        app_ctx = _cv_app.get(None)
        if app_ctx is not None:
            return t.cast("int | None", app_ctx.app.config[key])
        return fallback

    @property
    def max_content_length(self) -> int | None:  # type: ignore[override, unused-ignore]  # property over attribute
        """``MAX_CONTENT_LENGTH`` from config unless set on this request; a larger
        body is answered with 413."""
        return self._limit(self._max_content_length, "MAX_CONTENT_LENGTH", None)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def max_form_memory_size(self) -> int | None:  # type: ignore[override, unused-ignore]  # property over attribute
        """``MAX_FORM_MEMORY_SIZE``: the largest non-file form field, in bytes."""
        return self._limit(self._max_form_memory_size, "MAX_FORM_MEMORY_SIZE", 500_000)

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value

    @property  # type: ignore[override]  # a property over Werkzeug's attribute
    def max_form_parts(self) -> int | None:
        """``MAX_FORM_PARTS``: the most multipart parts a form may have."""
        return self._limit(self._max_form_parts, "MAX_FORM_PARTS", 1_000)

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self._max_form_parts = value

    @property
    def endpoint(self) -> str | None:
        """The endpoint of the matched rule, or ``None``."""
        if self.url_rule is not None:
            return t.cast("str | None", self.url_rule.endpoint)
        return None

    @property
    def blueprint(self) -> str | None:
        """The dotted name of the blueprint the endpoint belongs to, or ``None``."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The current blueprint and its parents, innermost first."""
        name = self.blueprint
        if name is None:
            return []
        parts = name.split(".")
        return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]

    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        """Answer bad JSON with 400 and a non-JSON content type with 415.

        As in Flask, the parser's message is shown only in debug mode; otherwise
        the 400 is generic (the parse error is its ``__cause__``).
        """
        if e is not None:
            app_ctx = _cv_app.get(None)
            if app_ctx is not None and app_ctx.app.debug:
                raise BadRequest(f"Failed to decode JSON object: {e}")
            raise BadRequest() from e
        raise UnsupportedMediaType(
            "Did not attempt to load JSON data because the request"
            " Content-Type was not 'application/json'."
        )


class Response(ResponseBase):
    """The response object: Werkzeug's, with ``text/html`` as default mimetype.

    Unlike Werkzeug, a relative ``Location`` header is sent as given, as Flask does.
    """

    default_mimetype: str | None = "text/html"
    json_module: t.Any = json
    autocorrect_location_header = False

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override, unused-ignore]  # property over attribute
        """``MAX_COOKIE_SIZE`` from the current app's config (4093 by default)."""
        app_ctx = _cv_app.get(None)
        if app_ctx is not None:
            return t.cast(int, app_ctx.app.config["MAX_COOKIE_SIZE"])
        return super().max_cookie_size
