"""Type aliases for the callables and values users hand to phial."""

from __future__ import annotations

import collections.abc as cabc
import typing as t

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from werkzeug.datastructures import Headers
    from werkzeug.sansio.response import Response

#: The body of a response a view may return.
ResponseValue = t.Union[
    "Response",
    str,
    bytes,
    list[t.Any],
    t.Mapping[str, t.Any],
    t.Iterator[str],
    t.Iterator[bytes],
    cabc.AsyncIterable[str],
    cabc.AsyncIterable[bytes],
]

HeaderValue = t.Union[str, list[str], tuple[str, ...]]
HeadersValue = t.Union[
    "Headers",
    t.Mapping[str, HeaderValue],
    t.Sequence[tuple[str, HeaderValue]],
]

#: Everything a view may return: a body, or a tuple with status and/or headers.
ResponseReturnValue = t.Union[
    ResponseValue,
    tuple[ResponseValue, HeadersValue],
    tuple[ResponseValue, int],
    tuple[ResponseValue, int, HeadersValue],
    "WSGIApplication",
]

ResponseClass = t.TypeVar("ResponseClass", bound="Response")

#: The scope key of the hook and handler dicts: ``None`` is the app itself.
AppOrBlueprintKey = t.Optional[str]
AfterRequestCallable = t.Union[
    t.Callable[[ResponseClass], ResponseClass],
    t.Callable[[ResponseClass], t.Awaitable[ResponseClass]],
]
BeforeFirstRequestCallable = t.Union[t.Callable[[], None], t.Callable[[], t.Awaitable[None]]]
BeforeRequestCallable = t.Union[
    t.Callable[[], ResponseReturnValue | None],
    t.Callable[[], t.Awaitable[ResponseReturnValue | None]],
]
ShellContextProcessorCallable = t.Callable[[], dict[str, t.Any]]
TeardownCallable = t.Union[
    t.Callable[[BaseException | None], None],
    t.Callable[[BaseException | None], t.Awaitable[None]],
]
TemplateContextProcessorCallable = t.Union[
    t.Callable[[], dict[str, t.Any]],
    t.Callable[[], t.Awaitable[dict[str, t.Any]]],
]
TemplateFilterCallable = t.Callable[..., t.Any]
TemplateGlobalCallable = t.Callable[..., t.Any]
TemplateTestCallable = t.Callable[..., bool]
URLDefaultCallable = t.Callable[[str, dict[str, t.Any]], None]
URLValuePreprocessorCallable = t.Callable[[str | None, dict[str, t.Any] | None], None]
ErrorHandlerCallable = t.Union[
    t.Callable[[t.Any], ResponseReturnValue],
    t.Callable[[t.Any], t.Awaitable[ResponseReturnValue]],
]
RouteCallable = t.Union[
    t.Callable[..., ResponseReturnValue],
    t.Callable[..., t.Awaitable[ResponseReturnValue]],
]

T_after_request = t.TypeVar("T_after_request", bound=AfterRequestCallable[t.Any])
T_before_request = t.TypeVar("T_before_request", bound=BeforeRequestCallable)
T_error_handler = t.TypeVar("T_error_handler", bound=ErrorHandlerCallable)
T_teardown = t.TypeVar("T_teardown", bound=TeardownCallable)
T_template_context_processor = t.TypeVar(
    "T_template_context_processor", bound=TemplateContextProcessorCallable
)
T_template_filter = t.TypeVar("T_template_filter", bound=TemplateFilterCallable)
T_template_global = t.TypeVar("T_template_global", bound=TemplateGlobalCallable)
T_template_test = t.TypeVar("T_template_test", bound=TemplateTestCallable)
T_url_defaults = t.TypeVar("T_url_defaults", bound=URLDefaultCallable)
T_url_value_preprocessor = t.TypeVar("T_url_value_preprocessor", bound=URLValuePreprocessorCallable)
T_route = t.TypeVar("T_route", bound=RouteCallable)

#: A ``before_serving`` / ``after_serving`` function: no arguments, sync or async.
ServingCallable = t.Union[t.Callable[[], t.Any], t.Callable[[], t.Awaitable[t.Any]]]
T_serving = t.TypeVar("T_serving", bound=ServingCallable)
