"""The ASGI 3 driver: build the environ, push the contexts, await the pipeline,
stream the body.

Like :mod:`phial.wsgi` it only orders the steps and moves bytes; what each
step does lives in :mod:`phial.app`. The request is turned into a WSGI-style
environ so ``request_class(environ)`` and everything built on it work
unchanged, and the body (within ``MAX_CONTENT_LENGTH``) is received before the
pipeline runs, so ``request.form``, ``get_json()``, ``files``, ``data`` and
``stream`` never wait on the network, in sync and async views alike. A GET or
HEAD request without ``Content-Length`` or ``Transfer-Encoding`` has no body
and is not waited for.

Synchronous user callables (views, hooks, error handlers, teardown functions,
sync response generators) run in a bounded thread pool, never on the event
loop. Its size is the config key ``ASGI_THREAD_POOL_SIZE`` (default
:data:`DEFAULT_THREAD_POOL_SIZE`), read when the pool is first needed; size it
for the number of sync requests you want in flight at once. Each request runs
in a :mod:`contextvars` context of its own, which its sync callables enter in
turn, so ``request``, ``g`` and ``current_app`` are the same objects in a
worker thread as on the loop, a context pushed in one (``stream_with_context``)
pops in another, and a coroutine that sync code runs through
``app.ensure_sync`` is sent back to the server's loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import sys
import types
import typing as t
from asyncio import get_running_loop
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from functools import partial
from inspect import CO_COROUTINE
from io import BytesIO
from types import FunctionType
from urllib.parse import unquote_to_bytes

from werkzeug.datastructures import Headers
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge, RequestTimeout
from werkzeug.wrappers import Response as BaseResponse

from . import _async
from . import globals as _globals
from ._asgi_body import DEFAULT_BODY_BUFFER_SIZE, ENVIRON_KEY, StreamingBody, SyncReader
from ._async import is_async_callable
from ._lane import (
    LANE_CLOSED,
    LANE_HOOKED,
    LANE_OPEN,
    LANE_STATUSES,
    SPECIAL_METHODS,
    sendable_as_is,
)
from ._routing import MATCHED
from .ctx import RequestContext
from .signals import _lifecycle_watch
from .websocket import Websocket, WebsocketDisconnect
from .wrappers import _SafeHeaders

if t.TYPE_CHECKING:
    from .app import Phial
    from .wrappers import Response

Scope = t.MutableMapping[str, t.Any]
Message = t.MutableMapping[str, t.Any]
Receive = t.Callable[[], t.Awaitable[Message]]
Send = t.Callable[[Message], t.Awaitable[None]]
T = t.TypeVar("T")


#: Inside a request's context: a one-item list holding a future that is done
#: when the last thread-pool job started there has left the context, which
#: :func:`_in_context` reads from the context when it must throw an exception
#: in. Set by the first pool job for the context (see :func:`_pool_state`):
#: most requests start none. Nothing in it refers to the context, so no cycle
#: leaves the request's objects to the cyclic garbage collector.
_PoolState: t.TypeAlias = "list[asyncio.Future[None] | None]"
_cv_pool_state: contextvars.ContextVar[_PoolState] = contextvars.ContextVar("phial.asgi_pool_state")

# Bound by assignment, not imported by name: see phial.globals.
_cv_app = _globals._cv_app
_cv_request = _globals._cv_request
_cv_websocket = _globals._cv_websocket
_cv_server_loop = _async._cv_server_loop
#: The function itself: looked up on the class it costs more on every request.
_open_context = RequestContext._open

#: Threads for sync callables when ``ASGI_THREAD_POOL_SIZE`` is not configured.
DEFAULT_THREAD_POOL_SIZE = 40

#: Seconds the request body may stall when ``BODY_TIMEOUT`` is not configured.
DEFAULT_BODY_TIMEOUT = 60.0

_END = object()
#: What the first step of a request's coroutine gives when it finished.
_FINISHED: t.Any = object()
_BASE_CLOSE = BaseResponse.close
#: Header classes whose ``_list`` is exactly what ``to_wsgi_list`` returns.
_PLAIN_HEADERS = frozenset((Headers, _SafeHeaders))
_PROTOCOLS = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0", "2": "HTTP/2", "3": "HTTP/3"}
#: Methods whose requests carry a body only when a header announces it.
_BODILESS_METHODS = frozenset(("GET", "HEAD"))
_EMPTY_STATUS = frozenset((204, 304))

#: A scope extension declared by a server that bridges WSGI to ASGI (phial's
#: test client): its value is ``{"errors": stream}``, used as ``wsgi.errors``.
#: Then the ``http.response.start`` message also carries, under this key, what
#: ASGI cannot: ``{"status": "418 I'M A TEAPOT", "names": {"etag": "ETag"}}``
#: (the status line with its reason phrase, and each header's own spelling), so
#: a test written for WSGI sees the same response over ASGI.
WSGI_BRIDGE = "phial.wsgi_bridge"
_NO_EXTENSIONS: dict[str, t.Any] = {}


def _serve_other(app: Phial, scope: Scope, receive: Receive, send: Send) -> t.Awaitable[None]:
    """The coroutine that handles a ``websocket`` or ``lifespan`` connection."""
    kind = scope["type"]
    if kind == "lifespan":
        return _serve_lifespan(app, receive, send)
    if kind == "websocket":
        return _serve_websocket(app, scope, receive, send)
    return _unsupported(kind)


async def _unsupported(kind: str) -> None:
    raise ValueError(f"phial cannot serve ASGI scopes of type {kind!r}.")


# -- calling user code --------------------------------------------------------------


def _pool(app: Phial) -> ThreadPoolExecutor:
    pool: ThreadPoolExecutor | None = app._asgi_pool
    if pool is None:
        size = int(app.config.get("ASGI_THREAD_POOL_SIZE") or DEFAULT_THREAD_POOL_SIZE)
        pool = app._asgi_pool = ThreadPoolExecutor(size, thread_name_prefix="phial-asgi")
    return pool


def call_async(
    app: Phial, func: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any
) -> t.Awaitable[t.Any]:
    """Call a user callable from the event loop; await the result.

    Coroutine functions are called directly (their coroutine is what is
    awaited). Anything else runs in the app's thread pool (see the module
    docstring) in the request's context; if it returns an awaitable (a sync
    wrapper around a coroutine function), that is awaited on the loop.
    """
    # A plain ``async def`` function, the common case, is recognised by its
    # code flags alone; everything else is asked of the callable itself, not
    # through ensure_sync's cache: per-request callables (after_this_request)
    # must not be retained, and bound methods compare equal without being
    # identical.
    if (
        func.__class__ is FunctionType and func.__code__.co_flags & CO_COROUTINE
    ) or is_async_callable(func):
        awaitable: t.Awaitable[t.Any] = func(*args, **kwargs)  # (not t.cast: a call less)
        return awaitable
    return _call_in_pool(app, func, args, kwargs)


async def _call_in_pool(
    app: Phial, func: t.Callable[..., t.Any], args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
) -> t.Any:
    ctx = _cv_request.get(None)
    tracked = None if ctx is None else ctx._asgi_context
    wctx = contextvars.copy_context() if tracked is None else tracked
    call = partial(wctx.run, func, *args, **kwargs) if kwargs else partial(wctx.run, func, *args)
    rv = await _in_pool(app, call, tracked)
    if inspect.isawaitable(rv):
        rv = await rv
    return rv


def _pool_state(context: contextvars.Context) -> _PoolState:
    """The pool state of a request's ``context``; set there on first use."""
    state = context.get(_cv_pool_state)
    if state is None:
        state = [None]
        try:
            context.run(_set_pool_state, state)
        except RuntimeError:  # ``context`` is the current one: the request's own coroutine
            _set_pool_state(state)
    return state


def _set_pool_state(state: _PoolState) -> None:
    _cv_pool_state.set(state)
    # A pool job may run without the request context (a response body, a
    # close callback): it finds the server's loop here (see _async.server_loop).
    _cv_server_loop.set(get_running_loop())


def _in_pool(
    app: Phial, call: t.Callable[[], T], context: contextvars.Context | None
) -> asyncio.Future[T]:
    """Run ``call`` in the app's thread pool; a future for its result.

    ``context`` is the request's context when ``call`` enters it: until the
    job has left it, a cancellation thrown into the request waits (see
    :func:`_in_context`). The job is submitted by a loop callback, that is
    once the awaiting coroutine has suspended: the coroutine's own step must
    have left the context by then.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    # Set once the job has left the context, even if ``future`` was cancelled.
    idle: asyncio.Future[None] = loop.create_future()
    if context is not None:
        _pool_state(context)[0] = idle

    def transfer(done: concurrent.futures.Future[T]) -> None:
        idle.set_result(None)
        if future.cancelled():
            return
        error = done.exception()
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(done.result())

    def start() -> None:
        if future.cancelled():
            idle.set_result(None)
            return
        job = _pool(app).submit(call)
        job.add_done_callback(lambda done: loop.call_soon_threadsafe(transfer, done))

    loop.call_soon(start)
    return future


# -- HTTP ---------------------------------------------------------------------------------


def build_environ(scope: Scope, body: t.IO[bytes]) -> dict[str, t.Any]:
    """A PEP 3333 environ for an ASGI ``http`` scope, reading the body from ``body``.

    ``root_path`` becomes ``SCRIPT_NAME`` (and is removed from the front of the
    path when the server included it); ``raw_path`` (or ``path``) becomes
    ``PATH_INFO``, percent-decoded and held as latin-1 as PEP 3333 requires.
    Header names containing ``_`` are dropped, as WSGI servers do: in the
    environ ``X_Auth`` and ``X-Auth`` would be the same key.
    """
    environ = _common_environ(scope, body)
    if environ is None:
        environ = _environ_base(scope, body)
        _add_headers(environ, scope["headers"])
    return environ


def _add_headers(environ: dict[str, t.Any], headers: t.Iterable[tuple[bytes, bytes]]) -> None:
    """Add the request headers to ``environ`` (see :func:`build_environ`)."""
    keys = _HEADER_KEYS
    for raw_name, raw_value in headers:
        try:
            key, values = keys[raw_name]
        except KeyError:
            key, values = _header_key(raw_name)
        if values is not None:
            try:
                value = values.get(raw_value)  # (not a subscript: a miss raises nothing)
            except TypeError:  # not bytes: decoded below, never kept
                value = None
            if value is None:
                value = _shared_value(values, raw_value)
        elif key:
            value = raw_value.decode("latin-1")
        else:
            continue  # a name with "_": dropped
        if key in environ:
            # Repeated headers are joined into one value.
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value


def _common_environ(scope: Scope, body: t.IO[bytes]) -> dict[str, t.Any] | None:
    """:func:`build_environ` for the scope servers send for a plain request
    (every key present, no root path, a raw path without escapes, server and
    client addresses), read with subscripts alone: the same environ (the
    tests compare both), or ``None`` for any other scope. The driver calls
    it first, itself: one call less per request.

    What depends only on the server's side of the connection (scheme,
    protocol, server address) comes from a template made once per such
    combination (see :func:`_server_template`); that and the client's
    address as text are kept per connection (see :func:`_connection`)."""
    try:
        raw_path: bytes = scope["raw_path"]
        server = scope["server"]
        client = scope["client"]
        # (0x25 is "%": a byte is found with memchr, a one-byte bytes
        # through the buffer protocol, ten times the cost.)
        if scope["root_path"] or not raw_path or 0x25 in raw_path:
            return None
        known = _LAST_CONNECTION[0]
        if (
            client is known[0]
            and server is known[1]
            and scope["scheme"] == known[2]
            and scope["http_version"] == known[3]
        ):
            if known[7] is not sys.stderr:
                known = _own_template(known)
        else:
            found = _connection(scope, server, client)
            if found is None:
                return None
            known = found
        query: bytes = scope["query_string"]
        environ: dict[str, t.Any] = known[4].copy()  # a dict's copy takes its hash table at once
        environ["REQUEST_METHOD"] = scope["method"]
        environ["PATH_INFO"] = raw_path.decode("latin-1")
        if query:  # (the template's is "")
            environ["QUERY_STRING"] = query.decode("latin-1")
    except (KeyError, TypeError, ValueError):  # a key left out, an address of None
        return None
    environ["wsgi.input"] = body
    environ["asgi.scope"] = scope
    errors = sys.stderr
    if errors is not known[7]:  # the template is not this connection's own
        environ["wsgi.errors"] = errors
        environ["REMOTE_ADDR"] = known[5]
        environ["REMOTE_PORT"] = known[6]
    if "extensions" in scope:
        _add_bridge(environ, scope)
    _add_headers(environ, scope["headers"])
    return environ


#: What :func:`_common_environ` needs of a connection: ``(client, server,
#: scheme, http_version, template, client host, client port as text,
#: errors)``. ``errors`` is the ``wsgi.errors`` stream the template holds when
#: it is the connection's own, with the client's address filled in too (see
#: :func:`_own_template`); else :data:`_UNSET`.
_Connection: t.TypeAlias = "tuple[t.Any, t.Any, t.Any, t.Any, dict[str, t.Any], t.Any, str, t.Any]"

_UNSET = object()

#: The connection last seen first (see :func:`_connection`): the next request
#: of a keep-alive connection, when no other came in between, is recognised
#: by the identity of its scope's ``client`` and ``server`` tuples and two
#: string comparisons, without a lookup.
_LAST_CONNECTION: list[_Connection] = [(_UNSET, _UNSET, _UNSET, _UNSET, {}, "", "", _UNSET)]

#: Client address -> its connection (see :func:`_connection`). Bounded: when
#: full, it starts afresh.
_CONNECTIONS: dict[tuple[t.Any, ...], _Connection] = {}
_MAX_CONNECTIONS = 256


def _connection(scope: Scope, server: t.Any, client: t.Any) -> _Connection | None:
    """The connection ``scope`` comes on, when it is not the last one seen
    (see :data:`_LAST_CONNECTION`); ``None`` when ``scope`` is no common
    scope. Raises what reading an absent or malformed key raises.

    Servers pass the same ``server`` and ``client`` tuples for every request
    of a keep-alive connection: the connection is kept, by the client's
    address, so that its next request finds the template and the port as
    text without building and hashing a template key or formatting the port,
    even when requests of other connections came in between. Each request
    must bring the very tuples kept."""
    client_host, client_port = client
    # A tuple of a str and an int: hashable, and neither it nor the port's
    # text can change.
    keep = (
        client.__class__ is tuple
        and client_host.__class__ is str
        and client_port.__class__ is int
        and server.__class__ is tuple
    )
    if keep:
        known = _CONNECTIONS.get(client)
        if (
            known is not None
            and client is known[0]
            and server is known[1]
            and scope["scheme"] == known[2]
            and scope["http_version"] == known[3]
        ):
            return known if known[7] is sys.stderr else _own_template(known)
    key = (scope["scheme"], scope["http_version"], server)
    try:
        template = _TEMPLATES[key]
    except (KeyError, TypeError):  # not made yet, or an address given as a list
        made = _server_template(key)
        if made is None:
            return None
        # Kept from the next request on, once found in _TEMPLATES.
        return (None, None, None, None, made, client_host, str(client_port), _UNSET)
    port = str(client_port)
    connection = (client, server, key[0], key[1], template, client_host, port, _UNSET)
    if keep:
        if len(_CONNECTIONS) >= _MAX_CONNECTIONS:
            _CONNECTIONS.clear()
        _CONNECTIONS[client] = connection
        _LAST_CONNECTION[0] = connection
    return connection


def _own_template(known: _Connection) -> _Connection:
    """The kept connection ``known``, seen again, with a template of its own:
    the server's with the client's address and ``wsgi.errors`` filled in, so
    its requests store three values less. Made on the second request of a
    connection, not the first: a connection used once costs nothing more."""
    template = known[4].copy()
    errors = template["wsgi.errors"] = sys.stderr
    template["REMOTE_ADDR"] = known[5]
    template["REMOTE_PORT"] = known[6]
    own = (*known[:4], template, known[5], known[6], errors)
    client = known[0]
    if _CONNECTIONS.get(client) is known:
        _CONNECTIONS[client] = own
    _LAST_CONNECTION[0] = own
    return own


#: (scheme, http_version, server) -> :func:`_common_environ`'s template for
#: them. A server has few such combinations; bounded all the same, since a
#: scope is whatever the server puts in it.
_TEMPLATES: dict[tuple[t.Any, ...], dict[str, t.Any]] = {}


def _server_template(key: tuple[t.Any, ...]) -> dict[str, t.Any] | None:
    """The environ keys of a common scope, in order, with the values that
    depend on ``key`` alone filled in; ``None`` when ``key`` is not that of a
    common scope. Kept in :data:`_TEMPLATES` when ``key`` can be hashed (an
    address may come as a list)."""
    scheme, version, server = key
    protocol = _PROTOCOLS.get(version) if version.__class__ is str else None
    if not scheme or protocol is None:
        return None
    server_name, server_port = server
    template: dict[str, t.Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": protocol,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": None,
        "wsgi.input_terminated": True,  # the whole body is in ``wsgi.input``
        "wsgi.errors": None,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "asgi.scope": None,
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port) if server_port is not None else "",
        "REMOTE_ADDR": "",
        "REMOTE_PORT": "",
    }
    try:
        if len(_TEMPLATES) >= 64:
            _TEMPLATES.clear()
        _TEMPLATES[key] = template
    except TypeError:  # a list among the addresses: used once
        pass
    return template


def _environ_base(scope: Scope, body: t.IO[bytes]) -> dict[str, t.Any]:
    """The environ for any scope, without the request headers."""
    script_name: str = scope.get("root_path", "")
    if script_name:
        script_name = script_name.encode("utf-8").decode("latin-1")
    raw_path: bytes | None = scope.get("raw_path")
    if raw_path:
        path = (unquote_to_bytes(raw_path) if 0x25 in raw_path else raw_path).decode("latin-1")
    else:
        path = scope["path"].encode("utf-8").decode("latin-1")
    if script_name and path.startswith(script_name):
        rest = path[len(script_name) :]
        if not rest or rest[0] == "/":
            path = rest
    scheme = scope.get("scheme") or "http"
    version = scope.get("http_version", "1.1")
    environ: dict[str, t.Any] = {
        "REQUEST_METHOD": scope.get("method", "GET"),
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_PROTOCOL": _PROTOCOLS.get(version) or f"HTTP/{version}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": body,
        "wsgi.input_terminated": True,  # the whole body is in ``body``
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "asgi.scope": scope,
    }
    server = scope.get("server")
    if server:
        environ["SERVER_NAME"] = server[0]
        environ["SERVER_PORT"] = str(server[1]) if server[1] is not None else ""
    else:
        environ["SERVER_NAME"] = "localhost"
        environ["SERVER_PORT"] = "443" if scheme == "https" else "80"
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]
        environ["REMOTE_PORT"] = str(client[1])
    _add_bridge(environ, scope)
    return environ


def _add_bridge(environ: dict[str, t.Any], scope: Scope) -> None:
    """Honour the :data:`WSGI_BRIDGE` extension, when the scope declares it."""
    bridge = (scope.get("extensions") or _NO_EXTENSIONS).get(WSGI_BRIDGE)
    if bridge is not None:
        environ["wsgi.errors"] = bridge["errors"]
        environ[WSGI_BRIDGE] = True


#: Raw header name -> (environ key, the cache of its values or ``None``); the
#: key ``""`` means dropped. Header names repeat across requests, so each is
#: converted once. Bounded: names are client-chosen.
_HEADER_KEYS: dict[bytes, tuple[str, dict[bytes, str] | None]] = {}

#: The headers whose values are kept decoded (see :func:`_shared_value`):
#: those that repeat across requests, and across clients, and carry nothing
#: secret or personal. A cookie, credentials or a referring URL are never
#: kept; nor is any header not listed here (``X-Api-Key``...).
_SHARED_VALUE_KEYS = frozenset(
    (
        "CONTENT_LENGTH",
        "CONTENT_TYPE",
        "HTTP_ACCEPT",
        "HTTP_ACCEPT_CHARSET",
        "HTTP_ACCEPT_ENCODING",
        "HTTP_ACCEPT_LANGUAGE",
        "HTTP_CACHE_CONTROL",
        "HTTP_CONNECTION",
        "HTTP_DNT",
        "HTTP_HOST",
        "HTTP_ORIGIN",
        "HTTP_PRAGMA",
        "HTTP_PRIORITY",
        "HTTP_SEC_CH_UA",
        "HTTP_SEC_CH_UA_MOBILE",
        "HTTP_SEC_CH_UA_PLATFORM",
        "HTTP_SEC_FETCH_DEST",
        "HTTP_SEC_FETCH_MODE",
        "HTTP_SEC_FETCH_SITE",
        "HTTP_SEC_FETCH_USER",
        "HTTP_SEC_WEBSOCKET_VERSION",
        "HTTP_TE",
        "HTTP_UPGRADE",
        "HTTP_UPGRADE_INSECURE_REQUESTS",
        "HTTP_USER_AGENT",
        "HTTP_X_FORWARDED_HOST",
        "HTTP_X_FORWARDED_PORT",
        "HTTP_X_FORWARDED_PROTO",
        "HTTP_X_REQUESTED_WITH",
    )
)
#: Values longer than this are decoded each time, never kept.
_SHARED_VALUE_MAX_LENGTH = 256
#: Values kept per header name; when full, the name's values start afresh.
_SHARED_VALUES_PER_NAME = 64


def _header_key(raw_name: bytes) -> tuple[str, dict[bytes, str] | None]:
    name = raw_name.decode("latin-1")
    if "_" in name:
        key = ""
    else:
        key = name.upper().replace("-", "_")
        if key != "CONTENT_TYPE" and key != "CONTENT_LENGTH":
            key = "HTTP_" + key
    entry: tuple[str, dict[bytes, str] | None] = (key, {} if key in _SHARED_VALUE_KEYS else None)
    if len(_HEADER_KEYS) >= 256:
        _HEADER_KEYS.clear()
    _HEADER_KEYS[raw_name] = entry
    return entry


def _shared_value(values: dict[bytes, str], raw_value: bytes) -> str:
    """``raw_value`` decoded, and kept in ``values`` (a header name's, see
    :data:`_SHARED_VALUE_KEYS`): ``Host`` or ``User-Agent`` repeat request
    after request, and a dictionary lookup costs less than a decoding."""
    value = raw_value.decode("latin-1")
    if raw_value.__class__ is bytes and len(raw_value) <= _SHARED_VALUE_MAX_LENGTH:
        if len(values) >= _SHARED_VALUES_PER_NAME:
            values.clear()
        values[raw_value] = value
    return value


def _framing_error(environ: dict[str, t.Any]) -> str | None:
    """Why the body framing is unacceptable, or ``None``."""
    length = environ.get("CONTENT_LENGTH")
    if length is None:
        return None
    if "HTTP_TRANSFER_ENCODING" in environ:
        return "The request has both Content-Length and Transfer-Encoding."
    if not length.isdigit():
        return "The request's Content-Length is not a valid number."
    return None


async def _receive_body(
    receive: Receive,
    limit: int | None,
    app: Phial | None = None,
    first: Message | None = None,
) -> tuple[bytes, bool] | tuple[bytes, None] | None:
    """Receive the body: ``(body, too_large)``, or ``None`` on disconnect.

    ``first`` is its first message when that was received already. Past
    ``app``'s ``ASGI_BODY_BUFFER_SIZE`` it stops: ``(received so far,
    None)``, the rest is streamed (see :mod:`phial._asgi_body`).
    """
    message = await receive() if first is None else first
    if message["type"] != "http.request":
        return None
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body, limit is not None and len(body) > limit
    chunks = [body]
    size = len(body)
    buffer_size = None if app is None else _buffer_size(app)  # only for multi-part bodies
    while True:
        if limit is not None and size > limit:
            return b"", True
        if buffer_size is not None and size > buffer_size:
            return b"".join(chunks), None
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
    if limit is not None and size > limit:
        return b"", True
    return b"".join(chunks), False


#: ``asyncio.timeout`` (Python 3.11+, and only inside a task); else the body
#: guard falls back to ``asyncio.wait_for``.
_timeout: t.Any = getattr(asyncio, "timeout", None)


def _take(awaitable: t.Awaitable[Message]) -> Message | t.Awaitable[Message]:
    """The message ``awaitable`` (a ``receive()``) gives without waiting, or
    an awaitable for it: a message the server already holds is taken with no
    coroutine, task or timer.

    A coroutine's first step is taken by hand (:func:`_resume` takes the
    rest); other awaitables, such as granian's, may not take ``send``: they
    come back as they are.
    """
    if awaitable.__class__ is not types.CoroutineType:
        return awaitable
    coro = t.cast("t.Coroutine[t.Any, t.Any, Message]", awaitable)
    try:
        pending = coro.send(None)
    except StopIteration as stop:
        message: Message = stop.value
        return message
    return _resume(coro, pending)


def _is_message(taken: Message | t.Awaitable[Message]) -> t.TypeGuard[Message]:
    """Whether :func:`_take` gave a message (a mapping), not an awaitable (which
    may be a generator-based coroutine, with no ``__await__``)."""
    return taken.__class__ is dict or hasattr(taken, "__getitem__")


async def _receive_guarded_body(
    app: Phial,
    receive: Receive,
    limit: int | None,
    first: Message | t.Awaitable[Message],
) -> tuple[bytes, bool] | tuple[bytes, None] | HTTPException | None:
    """:func:`_receive_body` with the slow-body guard: ``RequestTimeout`` (408)
    when the client sends nothing for ``BODY_TIMEOUT`` seconds. ``first`` is
    the first message, or what :func:`_take` left to await for it.

    The bound is on each wait, as with nginx's ``client_body_timeout``; the
    view never runs with a partial body. A message the server already holds
    is taken without a timer: only a wait is bounded.
    """
    timeout = app.config.get("BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT)
    if timeout is None:
        message = first if _is_message(first) else await _pending(first)
        return await _receive_body(receive, limit, app, message)

    async def receive_within() -> Message:
        return await _within(_take(receive()), timeout)

    try:
        message = await _within(first, timeout)
        return await _receive_body(receive_within, limit, app, message)
    except asyncio.TimeoutError:  # not yet the builtin TimeoutError on Python 3.10
        return RequestTimeout(f"The request body did not arrive within {timeout:g} seconds.")


async def _within(taken: Message | t.Awaitable[Message], timeout: float) -> Message:
    """What :func:`_take` gave: a message as it is, an awaitable awaited for
    at most ``timeout`` seconds."""
    if _is_message(taken):
        return taken
    if _timeout is not None and asyncio.current_task() is not None:
        # A timer, not wait_for's task and trip through the loop.
        async with _timeout(timeout):
            return await _pending(taken)
    return await asyncio.wait_for(_awaited(_pending(taken)), timeout)


def _pending(taken: Message | t.Awaitable[Message]) -> t.Awaitable[Message]:
    """What :func:`_take` gave when it is not a message (a type cast alone)."""
    return taken  # type: ignore[return-value]  # _is_message(taken) is False


@types.coroutine
def _resume(steps: t.Coroutine[t.Any, t.Any, T], pending: t.Any) -> t.Generator[t.Any, t.Any, T]:
    """Finish awaiting a coroutine whose first step (taken by hand) yielded
    ``pending``: what ``await`` does, from its second step on."""
    while True:
        try:
            sent = yield pending
        except GeneratorExit:
            steps.close()
            raise
        except BaseException as e:  # cancellation included: the awaitable handles it
            step = partial(steps.throw, e)
        else:
            step = partial(steps.send, sent)
        try:
            pending = step()
        except StopIteration as stop:
            result: T = stop.value
            return result


async def _awaited(awaitable: t.Awaitable[T]) -> T:
    return await awaitable


async def _send_error(send: Send, error: BadRequest) -> None:
    body = error.get_body().encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.code,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def serve_asgi(app: Phial, scope: Scope, receive: Receive, send: Send) -> None:
    """Handle one ASGI connection (``http``, ``websocket`` or ``lifespan``) with ``app``.

    HTTP requests, the common case, are served in this coroutine itself: one
    call less per request.
    """
    if scope["type"] != "http":
        return await _serve_other(app, scope, receive, send)
    classes = app._lane_classes  # what the lane was decided for (see Phial._decide_lane)
    if (
        classes[0] is not app.request_class
        or classes[1] is not app.response_class
        or not app._got_first_request
    ):
        if app._got_first_request:
            app._decide_lane()
        else:
            app._finish_setup()
    no_body = BytesIO()
    environ = _common_environ(scope, no_body)  # build_environ's first step, one call less
    if environ is None:
        environ = build_environ(scope, no_body)
    length = environ.get("CONTENT_LENGTH")
    refusal: HTTPException | None = None
    if (
        length is not None
        or environ["REQUEST_METHOD"] not in _BODILESS_METHODS
        or "HTTP_TRANSFER_ENCODING" in environ
        or environ["SERVER_PROTOCOL"] == "HTTP/2"
    ):
        # A GET or HEAD over HTTP/1 without Content-Length or Transfer-Encoding
        # has no body: it is not waited for (the server's empty message stays
        # queued). HTTP/2 can carry a body without either header.
        problem = _framing_error(environ)
        if problem is not None:
            await _send_error(send, BadRequest(problem))
            return
        limit: int | None = app.config["MAX_CONTENT_LENGTH"]
        if limit is not None and length is not None and int(length) > limit:
            refusal = RequestEntityTooLarge()
        else:
            first = _take(receive())
            if (
                (first.__class__ is dict or _is_message(first))  # (a call less for a dict)
                and first["type"] == "http.request"
                and not first.get("more_body", False)
            ):
                # The whole body, in a message the server already held: the
                # common case for a small body, taken here and now.
                body = first.get("body", b"")
                if limit is not None and len(body) > limit:
                    refusal = RequestEntityTooLarge()
                elif body:
                    environ["wsgi.input"] = BytesIO(body)
            else:
                received: tuple[bytes, bool] | tuple[bytes, None] | HTTPException | None
                if (
                    length is None
                    and "HTTP_TRANSFER_ENCODING" not in environ
                    and scope.get("http_version") != "2"
                ):
                    # HTTP/1 without a framed body has none: the first receive is immediate.
                    message = first if _is_message(first) else await _pending(first)
                    received = await _receive_body(receive, limit, app, message)
                else:
                    received = await _receive_guarded_body(app, receive, limit, first)
                if received is None:
                    return  # the client left before sending its body: nobody to answer
                if isinstance(received, HTTPException):
                    refusal = received
                else:
                    body, large = received
                    if large is None:
                        # Past ASGI_BODY_BUFFER_SIZE the rest is read on demand.
                        _stream_body(environ, receive, body, limit)
                    elif large:
                        refusal = RequestEntityTooLarge()
                    elif body:
                        environ["wsgi.input"] = BytesIO(body)
    # The request runs in a context of its own that its sync callables share
    # (see call_async), so contexts pushed in a worker thread, as
    # stream_with_context does, pop in the same context they were pushed in.
    context = copy_context()
    if app._lane and refusal is None:
        run = _run_in_lane(app, context, scope, environ, receive, send)
    else:
        run = _run_request(app, context, scope, environ, refusal, receive, send)
    # The first step here: most requests finish in it, never waiting. Taken
    # with next() and a default, a coroutine that returns None finishes
    # without a StopIteration (its creation and catching cost more than the
    # rest of the step's overhead).
    pending = context.run(next, run.__await__(), _FINISHED)
    if pending is not _FINISHED:
        await _in_context(context, run, pending)


def _buffer_size(app: Phial) -> int | None:
    """``ASGI_BODY_BUFFER_SIZE``: how much of a body is received before the view."""
    return app.config.get("ASGI_BODY_BUFFER_SIZE", DEFAULT_BODY_BUFFER_SIZE)  # type: ignore[no-any-return]  # config values are Any


def _stream_body(
    environ: dict[str, t.Any], receive: Receive, received: bytes, limit: int | None
) -> None:
    """Make the request read the rest of its body from ``receive`` on demand."""
    body = StreamingBody(asyncio.get_running_loop(), receive, received, limit)
    environ[ENVIRON_KEY] = body
    environ["wsgi.input"] = SyncReader(body)


@types.coroutine
def _in_context(
    context: contextvars.Context, coro: t.Coroutine[t.Any, t.Any, None], step: t.Any
) -> t.Generator[t.Any, t.Any, None]:
    """Finish awaiting ``coro``, whose first step (run in ``context`` by the
    caller) yielded ``step``, with each of its steps run in ``context``.

    ``asyncio.create_task(context=...)`` does this from Python 3.11 on, at the
    cost of a task and a trip through the loop; this works on 3.10 too and
    creates nothing but this generator, and only for a request that waits.
    """
    run = context.run
    value: t.Any = None
    error: BaseException | None = None
    while True:
        try:
            value = yield step
            error = None
        except BaseException as e:  # cancellation included: the coroutine handles it
            value = None
            error = e
            yield from _wait_idle(context)
        try:
            step = run(coro.send, value) if error is None else run(coro.throw, error)
        except StopIteration:
            return


def _wait_idle(context: contextvars.Context) -> t.Generator[t.Any, t.Any, None]:
    """Wait until no pool job is inside ``context``: an exception thrown in
    (a cancellation) may arrive while a sync callable still runs there."""
    state = context.get(_cv_pool_state)
    busy = None if state is None else state[0]
    while busy is not None and not busy.done():
        try:
            yield from asyncio.shield(busy).__await__()
        except BaseException:  # cancelled again: keep waiting
            continue


async def _run_request(
    app: Phial,
    context: contextvars.Context,
    scope: Scope,
    environ: dict[str, t.Any],
    refusal: HTTPException | None,
    receive: Receive,
    send: Send,
) -> None:
    ctx = app.request_context(environ)
    ctx._asgi_context = context
    loop = ctx._asgi_loop = get_running_loop()
    error: BaseException | None = None
    try:
        try:
            ctx.push()
            if refusal is not None:
                # Answered before the view (413, 408), through the usual error handling.
                rv = await app._handle_user_exception(ctx, refusal, True)
                response = await app._finalize(ctx, rv, True)
                response.headers["Connection"] = "close"
            else:
                response = await app._full_dispatch(ctx, True)
        except Exception as e:
            error = e
            response = await app._handle_exception(ctx, e, True)
        except BaseException as e:
            error = e
            raise
    finally:
        _preserve_context(scope, ctx)
        if error is not None and app.should_ignore_error(error):
            error = None
        if not ctx._exit_plain():
            _cv_server_loop.set(loop)  # see _run_in_lane
            await ctx._apop(error)
    await _send_response_object(app, ctx, response, environ, receive, send)


async def _run_in_lane(
    app: Phial,
    context: contextvars.Context,
    scope: Scope,
    environ: dict[str, t.Any],
    receive: Receive,
    send: Send,
) -> None:
    """:func:`_run_request` for an app that allows the fast lane (see
    :mod:`phial._lane`): a plain ``async def`` view is awaited directly and a
    plain return value is sent without a response object when nothing else
    observes the request; anything else goes through the general steps."""
    quiet = app._lane_hookless and not _lifecycle_watch.heard  # app._lane_quiet(), inline
    ctx = _open_context(app, environ, quiet)
    ctx._asgi_context = context
    # Where sync code of the request finds the server's loop (see _async.server_loop).
    loop = ctx._asgi_loop = get_running_loop()
    error: BaseException | None = None
    output: tuple[int, list[tuple[str, str]], bytes] | None = None
    try:
        try:
            known = app._routes.match_known(ctx.request)
            if known is not MATCHED:
                app._match_request(ctx, known)
            request = ctx.request
            # A quiet app's lane is closed only by HEAD and OPTIONS (see _lane_entry).
            if quiet and environ["REQUEST_METHOD"] not in SPECIAL_METHODS:
                entry = LANE_OPEN
            else:
                entry = app._lane_entry(ctx)
            if entry is LANE_CLOSED or (
                # before_request functions run before a routing error is raised.
                entry is LANE_HOOKED and request.routing_exception is not None
            ):
                response = await app._full_dispatch(ctx, True)
            elif request.routing_exception is not None:
                output = app._lane_error_output(ctx, request.routing_exception)
                if output is None:
                    response = await app._full_dispatch(ctx, True)
            else:
                try:
                    # A value from a before_request function is the response
                    # instead of the view's, as in the general steps.
                    rv = await app._preprocess(ctx, True) if entry is LANE_HOOKED else None
                    if rv is None:
                        view: t.Any = app.view_functions[request.url_rule.endpoint]  # type: ignore[union-attr]  # matched
                        # (The view arguments are read after the preprocessors,
                        # which may change them.)
                        plain = _PLAIN_ASYNC.get(view) if view.__class__ is FunctionType else False
                        if plain is None:
                            plain = _plain_async(view)
                        if plain:
                            # A plain ``async def`` view, the common case (see call_async);
                            # called without ``**`` when the rule has no arguments.
                            args = request.view_args
                            rv = await (view(**args) if args else view())
                        else:
                            rv = await call_async(app, view, **request.view_args)  # type: ignore[arg-type]  # set with the rule
                except Exception as e:
                    # The general steps handle the error and finish the request.
                    response = await _handled(app, ctx, e)
                else:
                    result = app._lane_output(ctx, rv, quiet)
                    if result is None:
                        response = await app._finalize(ctx, rv, True)
                    elif isinstance(result, tuple):
                        output = result
                    else:
                        response = result
        except Exception as e:
            error = e
            output = None
            response = await app._handle_exception(ctx, e, True)
        except BaseException as e:
            error = e
            raise
    finally:
        if "werkzeug.debug.preserve_context" in scope:
            _preserve_context(scope, ctx)
        # should_ignore_error is not overridden when the lane is allowed.
        if not ctx._exit_plain(quiet):
            # Teardown functions run after the request context is reset.
            _cv_server_loop.set(loop)
            await ctx._apop(error)
    if output is None:
        await _send_response_object(app, ctx, response, environ, receive, send)
        return
    status, headers, body = output
    raw = _RAW_HEADERS
    raw_headers = []
    for item in headers:
        pair = raw.get(item)
        raw_headers.append(pair if pair is not None else _raw_header(item))
    start: Message = {"type": "http.response.start", "status": status, "headers": raw_headers}
    if WSGI_BRIDGE in environ:
        names = {key.lower(): key for key, _ in headers}
        start[WSGI_BRIDGE] = {"status": LANE_STATUSES[status], "names": names}
    await send(start)
    await send({"type": "http.response.body", "body": body})


#: View -> whether it is a plain ``async def`` function, which the lane
#: awaits directly (see call_async). Reading ``__code__.co_flags`` costs more
#: than this lookup on every request. Only functions are kept (they hash by
#: identity), and only so many: views are few, but an app could make them
#: per request.
_PLAIN_ASYNC: dict[FunctionType, bool] = {}


def _plain_async(view: FunctionType) -> bool:
    plain = bool(view.__code__.co_flags & CO_COROUTINE)
    if len(_PLAIN_ASYNC) < 1024:
        _PLAIN_ASYNC[view] = plain
    return plain


async def _handled(app: Phial, ctx: RequestContext, e: Exception) -> Response:
    """The response to a view's exception, from the general steps."""
    rv = await app._handle_user_exception(ctx, e, True)
    return await app._finalize(ctx, rv, True)


def _preserve_context(scope: Scope, ctx: RequestContext) -> None:
    preserve = scope.get("werkzeug.debug.preserve_context")
    if preserve is not None:
        # Pushed again outside the server's loop, the context must not lead
        # sync code there (see _async.server_loop).
        ctx._asgi_loop = None
        # The test client re-pushes these after the request (``with client:``).
        preserve(_cv_app.get())
        preserve(ctx)


async def _send_response_object(
    app: Phial,
    ctx: RequestContext,
    response: Response,
    environ: dict[str, t.Any],
    receive: Receive,
    send: Send,
) -> None:
    """Send ``response``: a finished single-chunk body that can be sent as
    is (what make_response builds for str, bytes, dict and list) at once,
    here; anything else through :func:`send_response`.

    For such a response send_response would send the same two messages, and
    closing it has nothing to do: its body has no ``close`` and it has no
    ``call_on_close`` functions. (Checked here, not in a function of its
    own: a call less, and ``status_code``, a property, is read once.)
    """
    body = response.response
    status = response.status_code
    if (
        body.__class__ is not list
        or WSGI_BRIDGE in environ  # the test client wants the exact status line
        or len(body) != 1
        or body[0].__class__ is not bytes
        or status < 200
        or status in _EMPTY_STATUS
        or response._on_close
        or response.__class__.close is not _BASE_CLOSE
        or response.headers.__class__ not in _PLAIN_HEADERS
        or environ["REQUEST_METHOD"] == "HEAD"
        # (A Content-Length, and no Location that Werkzeug would rewrite.)
        or not sendable_as_is(response.headers._list)
    ):
        await send_response(app, ctx, response, environ, receive, send)
        return
    raw = _RAW_HEADERS
    headers = []
    for item in response.headers._list:
        pair = raw.get(item)
        headers.append(pair if pair is not None else _raw_header(item))
    chunk: bytes = body[0]
    # What send_response sends for this response, without its coroutine.
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": chunk})


#: ``(name, value)`` header -> its lower-cased latin-1 form. Most responses
#: repeat the same few headers; once full, new ones are encoded uncached.
#: Cookies are never kept: they are per client, and may be secret.
_RAW_HEADERS: dict[tuple[str, str], tuple[bytes, bytes]] = {}


def _raw_header(item: tuple[str, str]) -> tuple[bytes, bytes]:
    pair = (item[0].lower().encode("latin-1"), item[1].encode("latin-1"))
    if len(_RAW_HEADERS) < 512 and pair[0] != b"set-cookie":
        _RAW_HEADERS[item] = pair
    return pair


async def send_response(
    app: Phial,
    ctx: RequestContext,
    response: Response,
    environ: dict[str, t.Any],
    receive: Receive,
    send: Send,
) -> None:
    """Send ``response``: start, then the body; close the response at the end.

    Lists are sent at once; sync iterators are advanced in the thread pool
    (never on the loop) and async iterators on the loop. When the client
    disconnects, producing stops and the iterator is closed.
    """
    # The request context is gone: the body and close callbacks (background
    # tasks) find the server's loop in the request's context instead.
    _cv_server_loop.set(get_running_loop())
    status = response.status_code
    body = response.response
    buffered = isinstance(body, (list, tuple))
    data = b"".join(c.encode() if isinstance(c, str) else c for c in body) if buffered else b""
    headers_in = response.headers
    adjust = (
        status < 200
        or status in _EMPTY_STATUS
        or "Location" in headers_in
        or "Content-Location" in headers_in
    )
    # Werkzeug's adjustments (no Content-Length; Location and Content-Location
    # as URIs, Location absolute with autocorrect_location_header) apply only
    # to those; the common case sends the headers as they are.
    raw = response.get_wsgi_headers(environ) if adjust else headers_in
    headers = []
    has_length = False
    for key, value in raw.to_wsgi_list():
        name = key.lower()
        if name == "content-length":
            has_length = True
        headers.append((name.encode("latin-1"), value.encode("latin-1")))
    if buffered and not has_length and not adjust:
        headers.append((b"content-length", str(len(data)).encode()))
    start: Message = {"type": "http.response.start", "status": status, "headers": headers}
    if WSGI_BRIDGE in environ:
        names = {key.lower(): key for key, _ in raw.to_wsgi_list()}
        start[WSGI_BRIDGE] = {"status": response.status, "names": names}
    await send(start)
    if environ["REQUEST_METHOD"] == "HEAD" or status in _EMPTY_STATUS or status < 200:
        await send({"type": "http.response.body", "body": b""})
        await _close(app, ctx, response)
        return
    if buffered:
        try:
            await send({"type": "http.response.body", "body": data})
        finally:
            await _close(app, ctx, response)
        return
    disconnected = asyncio.ensure_future(_wait_for_disconnect(receive))
    try:
        if hasattr(body, "__aiter__"):
            done = await _stream_async(t.cast(t.AsyncIterable[t.Any], body), disconnected, send)
        else:
            done = await _stream_sync(app, ctx, body, disconnected, send)
        if done:
            await send({"type": "http.response.body", "body": b""})
    finally:
        disconnected.cancel()
        await _close(app, ctx, response)


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send_chunk(send: Send, chunk: t.Any) -> bool:
    """Send one chunk; ``False`` when the client is gone."""
    if isinstance(chunk, str):
        chunk = chunk.encode()
    if not chunk:
        return True
    try:
        await send({"type": "http.response.body", "body": bytes(chunk), "more_body": True})
    except OSError:  # servers raise an OSError subclass for a vanished client
        return False
    return True


async def _stream_async(
    body: t.AsyncIterable[t.Any], disconnected: asyncio.Future[None], send: Send
) -> bool:
    iterator = body.__aiter__()
    while True:
        step = asyncio.ensure_future(iterator.__anext__())
        await asyncio.wait((step, disconnected), return_when=asyncio.FIRST_COMPLETED)
        if not step.done():
            step.cancel()
            await asyncio.wait((step,))
            return False
        try:
            chunk = step.result()
        except StopAsyncIteration:
            return True
        if not await _send_chunk(send, chunk):
            return False


async def _stream_sync(
    app: Phial,
    ctx: RequestContext,
    body: t.Iterable[t.Any],
    disconnected: asyncio.Future[None],
    send: Send,
) -> bool:
    tracked = ctx._asgi_context
    context = contextvars.copy_context() if tracked is None else tracked
    iterator = iter(body)
    advance = partial(context.run, next, iterator, _END)
    while True:
        # Not raced against the disconnect: a running generator cannot be
        # closed, and this step runs in the request's context, which only one
        # thread may be in at a time.
        chunk = await _in_pool(app, advance, tracked)
        if chunk is _END or disconnected.done():
            return chunk is _END
        if not await _send_chunk(send, chunk):
            return False


async def _close(app: Phial, ctx: RequestContext, response: Response) -> None:
    """Close the response (and so its iterator); generators close in the pool."""
    body = response.response
    aclose = getattr(body, "aclose", None)
    if aclose is not None:
        await aclose()
    if isinstance(body, (list, tuple)):
        response.close()  # nothing to read: only call_on_close functions, meant to be quick
        return
    tracked = ctx._asgi_context
    context = contextvars.copy_context() if tracked is None else tracked
    await _in_pool(app, partial(context.run, response.close), tracked)


# -- websockets ---------------------------------------------------------------------------


async def _serve_websocket(app: Phial, scope: Scope, receive: Receive, send: Send) -> None:
    if not app._got_first_request:
        app._finish_setup()
    message = await receive()
    if message["type"] != "websocket.connect":
        return  # the client left during the handshake
    environ = build_environ(scope, BytesIO())
    context = contextvars.copy_context()
    run = _run_websocket(app, context, scope, environ, receive, send)
    try:
        pending = context.run(run.send, None)
    except StopIteration:
        return
    await _in_context(context, run, pending)


async def _run_websocket(
    app: Phial,
    context: contextvars.Context,
    scope: Scope,
    environ: dict[str, t.Any],
    receive: Receive,
    send: Send,
) -> None:
    """Run a websocket view. Before the connection is accepted, an HTTP error
    refuses it (the server answers 403); after, an error closes it with 1011.
    """
    _cv_server_loop.set(asyncio.get_running_loop())
    ctx = app.request_context(environ)
    ctx._asgi_context = context
    # The fast route table only knows HTTP rules; websockets use the URL map.
    adapter = ctx.url_adapter
    if adapter is not None and ctx.request.routing_exception is None:
        try:
            rule, view_args = adapter.match(return_rule=True)
        except HTTPException as e:
            ctx.request.routing_exception = e
        else:
            ctx.request.url_rule = rule
            ctx.request.view_args = dict(view_args)
    ws = Websocket(scope, receive, send, ctx.request)
    _cv_websocket.set(ws)
    error: BaseException | None = None
    try:
        ctx.push()
        try:
            accepted = await app._dispatch_websocket(ctx)
        except WebsocketDisconnect:
            pass
        except HTTPException:
            # Before accept the server refuses the handshake (HTTP 403);
            # after, 1008 (policy violation) tells the client it was refused.
            await ws.close(1008)
        except Exception as e:
            error = e
            await ws.close(1011)
            app.log_exception(sys.exc_info())
            if app._propagate_exceptions():
                raise
        else:
            # A before_websocket function that returned a value refused it.
            await ws.close(1000 if accepted else 1008)
    finally:
        await ctx._apop(error)


# -- lifespan -------------------------------------------------------------------------------


async def _serve_lifespan(app: Phial, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "lifespan.startup":
            failure = await _run_serving_hooks(app, app.before_serving_funcs)
            if failure is not None:
                await send({"type": "lifespan.startup.failed", "message": failure})
                return
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            from .background import wait_for_background_tasks

            await wait_for_background_tasks(app)
            failure = await _run_serving_hooks(app, app.after_serving_funcs)
            pool: ThreadPoolExecutor | None = app._asgi_pool
            if pool is not None:
                app._asgi_pool = None
                pool.shutdown(wait=False)
            if failure is not None:
                await send({"type": "lifespan.shutdown.failed", "message": failure})
            else:
                await send({"type": "lifespan.shutdown.complete"})
            return


async def _run_serving_hooks(app: Phial, funcs: list[t.Callable[[], t.Any]]) -> str | None:
    """Run ``funcs`` in an app context; the failure message, or ``None``."""
    if not funcs:
        return None
    app_ctx = app.app_context()
    app_ctx.push()
    error: BaseException | None = None
    try:
        for func in funcs:
            await call_async(app, func)
    except Exception as e:
        error = e
        app.logger.exception("A lifespan hook failed")
        return f"{type(e).__name__}: {e}"
    finally:
        await app_ctx._apop(error)
    return None
