"""Testing helpers: the test client, the environ builder and the CLI runner.

The client is a Werkzeug :class:`~werkzeug.test.Client`, so everything Werkzeug
documents works, plus Flask's additions: ``with client:`` keeps the last
request's contexts pushed, and :meth:`FlaskClient.session_transaction` edits the
session between requests.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import sys
import typing as t
from collections import deque
from contextlib import ExitStack, contextmanager
from http import HTTPStatus
from urllib.parse import quote, urlsplit

import werkzeug.test
from click.testing import CliRunner, Result
from werkzeug.test import Client
from werkzeug.wrappers import Request as BaseRequest
from werkzeug.wsgi import get_current_url

from ._async import thread_loop
from .asgi import WSGI_BRIDGE

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from werkzeug.datastructures import Headers
    from werkzeug.test import TestResponse

    from .app import Phial
    from .sessions import SessionMixin


class EnvironBuilder(werkzeug.test.EnvironBuilder):
    """An environ builder whose defaults come from the app's config.

    The base URL uses ``SERVER_NAME`` (or ``localhost``), ``APPLICATION_ROOT``
    and ``PREFERRED_URL_SCHEME``; ``json=`` is serialized with ``app.json``.
    """

    def __init__(
        self,
        app: Phial,
        path: str = "/",
        base_url: str | None = None,
        subdomain: str | None = None,
        url_scheme: str | None = None,
        *args: t.Any,
        **kwargs: t.Any,
    ) -> None:
        assert not (base_url or subdomain or url_scheme) or (base_url is not None) != bool(
            subdomain or url_scheme
        ), 'Cannot pass "subdomain" or "url_scheme" with "base_url".'
        if base_url is None:
            http_host = app.config.get("SERVER_NAME") or "localhost"
            app_root = app.config["APPLICATION_ROOT"]
            if subdomain:
                http_host = f"{subdomain}.{http_host}"
            if url_scheme is None:
                url_scheme = app.config["PREFERRED_URL_SCHEME"]
            url = urlsplit(path)
            base_url = (
                f"{url.scheme or url_scheme}://{url.netloc or http_host}/{app_root.lstrip('/')}"
            )
            path = url.path
            if url.query:
                path = f"{path}?{url.query}"
        self.app = app
        super().__init__(path, base_url, *args, **kwargs)

    def json_dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``json=`` data with the app's JSON provider."""
        return self.app.json.dumps(obj, **kwargs)


def _werkzeug_version() -> str:
    try:
        return importlib.metadata.version("werkzeug")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - always installed
        return "unknown"


def _wsgi_str(value: str) -> str:
    """A PEP 3333 latin-1 environ string as the text it encodes (UTF-8)."""
    return value.encode("latin-1").decode("utf-8", "replace")


def asgi_scope(environ: WSGIEnvironment) -> dict[str, t.Any]:
    """The ASGI ``http`` scope for a request described by a WSGI environ."""
    script_name: str = environ.get("SCRIPT_NAME", "")
    path_info: str = environ.get("PATH_INFO", "")
    raw = (script_name + path_info).encode("latin-1")
    headers: list[tuple[bytes, bytes]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if not value:
                continue
            name = key.replace("_", "-").lower()
        else:
            continue
        headers.append((name.encode("latin-1"), value.encode("latin-1")))
    scope: dict[str, t.Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": environ.get("SERVER_PROTOCOL", "HTTP/1.1").partition("/")[2] or "1.1",
        "method": environ["REQUEST_METHOD"],
        "scheme": environ.get("wsgi.url_scheme", "http"),
        "root_path": _wsgi_str(script_name),
        "path": _wsgi_str(script_name + path_info),
        "raw_path": quote(raw, safe="/:@!$&'()*+,;=~-._").encode("ascii"),
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "server": (environ.get("SERVER_NAME", "localhost"), int(environ.get("SERVER_PORT") or 80)),
        "client": (environ.get("REMOTE_ADDR", "127.0.0.1"), int(environ.get("REMOTE_PORT") or 0)),
    }
    preserve = environ.get("werkzeug.debug.preserve_context")
    if preserve is not None:
        scope["werkzeug.debug.preserve_context"] = preserve
    return scope


class _AsgiBridge:
    """A WSGI callable that serves each request by running ``app.asgi_app``.

    The environ becomes a scope and the body is fed as ``http.request``
    messages; the response is handed to ``start_response`` and its body
    returned as an iterable that runs the app on as it is read, so a streamed
    response (``buffered=False``) arrives chunk by chunk, as over WSGI.
    ``app.asgi_app`` is looked up per request, so wrapping it takes effect.

    The scope declares the :data:`~phial.asgi.WSGI_BRIDGE` extension, so the
    app logs to the environ's ``wsgi.errors`` and the status line and header
    spellings are the ones the app set, which ASGI alone would lose.
    """

    def __init__(self, app: Phial) -> None:
        self.app = app

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        stream = environ.get("wsgi.input")
        body: bytes = stream.read() if stream is not None else b""
        scope = asgi_scope(environ)
        scope["extensions"] = {WSGI_BRIDGE: {"errors": environ.get("wsgi.errors", sys.stderr)}}
        exchange = _AsgiExchange(self.app, scope, body)
        status, headers = exchange.start()
        start_response(status, headers)
        return exchange


class _AsgiExchange:
    """One request over ASGI, run on the thread's loop only while it is read."""

    def __init__(self, app: Phial, scope: dict[str, t.Any], body: bytes) -> None:
        self._app = app
        self._loop = thread_loop()
        self._body: bytes | None = body
        self._start: t.MutableMapping[str, t.Any] | None = None
        self._chunks: deque[bytes] = deque()
        self._complete = False  # the last body message has been sent
        self._finished = False  # _finish has run
        self._arrived = asyncio.Event()  # a message came from the app
        self._gone = asyncio.Event()  # the response is complete or was closed
        self._task = self._loop.create_task(app.asgi_app(scope, self._receive, self._send))

    async def _receive(self) -> dict[str, t.Any]:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: t.MutableMapping[str, t.Any]) -> None:
        if message["type"] == "http.response.start":
            self._start = message
        elif message["type"] == "http.response.body":
            chunk = bytes(message.get("body", b""))
            if chunk:
                self._chunks.append(chunk)
            if not message.get("more_body", False):
                self._complete = True
                self._gone.set()
        self._arrived.set()

    def _run_until_message(self) -> None:
        """Run the loop until the app sends something or returns."""
        self._arrived.clear()

        async def wait() -> None:
            arrived = asyncio.ensure_future(self._arrived.wait())
            await asyncio.wait((arrived, self._task), return_when=asyncio.FIRST_COMPLETED)
            arrived.cancel()

        self._loop.run_until_complete(wait())

    def _finish(self) -> None:
        """Run the app to its end; its exception, if any, is raised."""
        if self._finished:
            return
        self._finished = True
        self._gone.set()
        self._loop.run_until_complete(self._task)
        # Like over WSGI (where they run as the response closes), a request's
        # background tasks have finished when the client returns.
        from .background import wait_for_background_tasks

        self._loop.run_until_complete(wait_for_background_tasks(self._app))

    def start(self) -> tuple[str, list[tuple[str, str]]]:
        """Run the app until it starts the response (and sends the first
        chunk, or all of a body sent at once): ``(status, headers)``."""
        while self._start is None and not self._task.done():
            self._run_until_message()
        while not self._chunks and not self._complete and not self._task.done():
            self._run_until_message()
        if self._complete or self._task.done():
            self._finish()
        start = self._start
        if start is None:
            raise RuntimeError("The ASGI app returned without starting a response.")
        code = int(start["status"])
        wsgi: dict[str, t.Any] = start.get(WSGI_BRIDGE) or {}
        status = wsgi.get("status") or f"{code} {_reason(code)}"
        names: dict[str, str] = wsgi.get("names") or {}
        headers = []
        for raw_name, raw_value in start["headers"]:
            name = raw_name.decode("latin-1")
            headers.append(
                (names.get(name) or _SPELLING.get(name, name), raw_value.decode("latin-1"))
            )
        return status, headers

    def __iter__(self) -> _AsgiExchange:
        return self

    def __next__(self) -> bytes:
        while not self._chunks:
            if self._complete or self._task.done():
                self._finish()
                raise StopIteration
            self._run_until_message()
        return self._chunks.popleft()

    def close(self) -> None:
        """Tell the app the client is gone and let it finish."""
        self._finish()


#: How the headers phial's ASGI driver adds itself are spelled over WSGI.
_SPELLING = {"content-length": "Content-Length"}


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "UNKNOWN"


class WebsocketSession:
    """A WebSocket connection to the app, driven synchronously from a test.

    Made by :meth:`FlaskClient.websocket`; use it as a context manager. The
    app runs on the test thread's event loop while a call waits for it.
    """

    def __init__(self, app: Phial, scope: dict[str, t.Any]) -> None:
        self.app = app
        self.scope = scope
        #: The subprotocol the app accepted with, if any.
        self.subprotocol: str | None = None
        #: The headers the app sent with its accept message.
        self.headers: list[tuple[bytes, bytes]] = []
        #: The close code once the connection is closed.
        self.close_code: int | None = None
        self._task: asyncio.Task[t.Any] | None = None
        self._to_app: asyncio.Queue[dict[str, t.Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[t.MutableMapping[str, t.Any]] = asyncio.Queue()

    def __enter__(self) -> WebsocketSession:
        from .websocket import WebsocketDisconnect

        self._to_app.put_nowait({"type": "websocket.connect"})
        self._task = thread_loop().create_task(
            self.app.asgi_app(self.scope, self._to_app.get, self._from_app.put)
        )
        message = self._next()
        if message["type"] != "websocket.accept":
            self._finish()
            raise WebsocketDisconnect(int(message.get("code", 1000)))
        self.subprotocol = message.get("subprotocol")
        self.headers = list(message.get("headers") or ())
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.close_code is None:
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
        self._finish()

    def _next(self) -> t.MutableMapping[str, t.Any]:
        """The app's next message, running the app until it sends one or ends."""
        assert self._task is not None
        loop = thread_loop()
        if self._from_app.empty() and not self._task.done():
            getter = loop.create_task(self._from_app.get())
            loop.run_until_complete(
                asyncio.wait((getter, self._task), return_when=asyncio.FIRST_COMPLETED)
            )
            if getter.done():
                return getter.result()
            getter.cancel()
            loop.run_until_complete(asyncio.wait((getter,)))
        if not self._from_app.empty():
            return self._from_app.get_nowait()
        self._task.result()  # the app's exception, if it raised one
        return {"type": "websocket.close", "code": 1006}

    def _finish(self) -> None:
        assert self._task is not None
        thread_loop().run_until_complete(self._task)

    def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message to the app."""
        key = "text" if isinstance(data, str) else "bytes"
        self._to_app.put_nowait({"type": "websocket.receive", key: data})

    def send_json(self, obj: t.Any) -> None:
        """Send ``obj`` as a JSON text message (with the app's JSON provider)."""
        self.send(self.app.json.dumps(obj))

    def receive(self) -> str | bytes:
        """The app's next message; raises WebsocketDisconnect once it closed."""
        from .websocket import WebsocketDisconnect

        message = self._next()
        if message["type"] == "websocket.send":
            text = message.get("text")
            return t.cast(str, text) if text is not None else bytes(message.get("bytes") or b"")
        self.close_code = int(message.get("code", 1000))
        raise WebsocketDisconnect(self.close_code)

    def receive_json(self) -> t.Any:
        """The app's next message, parsed as JSON."""
        return self.app.json.loads(self.receive())

    def close(self, code: int = 1000) -> None:
        """Disconnect from the app and let it finish."""
        if self.close_code is None:
            self.close_code = code
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": code})
        self._finish()


class FlaskClient(Client):
    """The test client :meth:`Phial.test_client` returns (subclassable).

    ``with client:`` keeps the contexts of the last request pushed until the
    block ends, so ``request`` and ``session`` can be inspected after a call.

    ``protocol`` is ``"wsgi"`` or ``"asgi"``; it defaults to the environment
    variable ``PHIAL_TEST_PROTOCOL``, else ``"wsgi"``. Over ASGI each request
    runs ``app.asgi_app`` on an event loop kept for the test thread, with the
    same synchronous API. (Not in Flask.)
    """

    application: Phial

    def __init__(self, *args: t.Any, protocol: str | None = None, **kwargs: t.Any) -> None:
        if protocol is None:
            protocol = os.environ.get("PHIAL_TEST_PROTOCOL") or "wsgi"
        protocol = protocol.lower()
        if protocol not in ("wsgi", "asgi"):
            raise ValueError(
                f"The test client protocol must be 'wsgi' or 'asgi', not {protocol!r}."
            )
        #: ``"wsgi"`` or ``"asgi"``: how requests reach the app.
        self.protocol = protocol
        super().__init__(*args, **kwargs)
        self._asgi_bridge = _AsgiBridge(self.application) if protocol == "asgi" else None
        self.preserve_context = False
        self._new_contexts: list[t.ContextManager[t.Any]] = []
        self._context_stack = ExitStack()
        self.environ_base = {
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": f"Werkzeug/{_werkzeug_version()}",
        }

    @contextmanager
    def session_transaction(self, *args: t.Any, **kwargs: t.Any) -> t.Iterator[SessionMixin]:
        """Open the session as the next request would see it, let the ``with``
        block change it, and store it back in the client's cookies."""
        if self._cookies is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")
        app = self.application
        ctx = app.test_request_context(*args, **kwargs)
        self._add_cookies_to_wsgi(ctx.request.environ)
        with ctx:
            sess = app.session_interface.open_session(app, ctx.request)
        if sess is None:
            raise RuntimeError("Session backend did not open a session.")
        yield sess
        resp = app.response_class()
        if app.session_interface.is_null_session(sess):
            return
        with ctx:
            app.session_interface.save_session(app, sess, resp)
        self._update_cookies_from_response(
            ctx.request.host.partition(":")[0],
            ctx.request.path,
            resp.headers.getlist("Set-Cookie"),
        )

    def run_wsgi_app(
        self, environ: WSGIEnvironment, buffered: bool = False
    ) -> tuple[t.Iterable[bytes], str, Headers]:
        """Run the app for ``environ``: as WSGI, or over ASGI through the bridge."""
        if self._asgi_bridge is None:
            return super().run_wsgi_app(environ, buffered=buffered)
        # The same cookie-jar steps as Werkzeug's own run_wsgi_app, around the bridge.
        self._add_cookies_to_wsgi(environ)
        rv = werkzeug.test.run_wsgi_app(self._asgi_bridge, environ, buffered=buffered)
        url = urlsplit(get_current_url(environ))
        self._update_cookies_from_response(
            url.hostname or "localhost", url.path, rv[2].getlist("Set-Cookie")
        )
        return rv

    @contextmanager
    def lifespan(self) -> t.Iterator[None]:
        """Run the app's ASGI lifespan around the ``with`` block: the
        ``before_serving`` functions on entry, ``after_serving`` on exit. A
        failing startup raises RuntimeError with the app's message. (Not in Flask.)
        """
        loop = thread_loop()
        to_app: asyncio.Queue[dict[str, t.Any]] = asyncio.Queue()
        from_app: asyncio.Queue[t.MutableMapping[str, t.Any]] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        task = loop.create_task(self.application.asgi_app(scope, to_app.get, from_app.put))

        def step(kind: str) -> None:
            to_app.put_nowait({"type": f"lifespan.{kind}"})
            message = loop.run_until_complete(from_app.get())
            if message["type"] != f"lifespan.{kind}.complete":
                loop.run_until_complete(task)
                raise RuntimeError(f"Lifespan {kind} failed: {message.get('message', '')}")

        step("startup")
        try:
            yield
        finally:
            step("shutdown")
            loop.run_until_complete(task)

    def websocket(
        self, *args: t.Any, subprotocols: t.Sequence[str] = (), **kwargs: t.Any
    ) -> WebsocketSession:
        """Open a WebSocket to the app (always over ASGI); arguments as for
        :class:`EnvironBuilder` (path, query_string, headers, …). (Not in Flask.)

        ``with client.websocket("/ws") as ws: ws.send("hi"); ws.receive()``.
        Entering raises :class:`~phial.websocket.WebsocketDisconnect` when the
        app refuses the connection.
        """
        environ = self._request_from_builder_args(args, kwargs).environ
        if self._cookies is not None:
            self._add_cookies_to_wsgi(environ)
        scope = asgi_scope(environ)
        scope["type"] = "websocket"
        scope["scheme"] = "wss" if scope["scheme"] == "https" else "ws"
        scope["subprotocols"] = list(subprotocols)
        scope.pop("method", None)
        return WebsocketSession(self.application, scope)

    def _copy_environ(self, other: WSGIEnvironment) -> WSGIEnvironment:
        out = {**self.environ_base, **other}
        if self.preserve_context:
            out["werkzeug.debug.preserve_context"] = self._new_contexts.append
        return out

    def _request_from_builder_args(
        self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> BaseRequest:
        kwargs["environ_base"] = self._copy_environ(kwargs.get("environ_base", {}))
        builder = EnvironBuilder(self.application, *args, **kwargs)
        try:
            return builder.get_request()
        finally:
            builder.close()

    def open(
        self,
        *args: t.Any,
        buffered: bool = False,
        follow_redirects: bool = False,
        **kwargs: t.Any,
    ) -> TestResponse:
        """Send a request; arguments as for :class:`EnvironBuilder`."""
        if args and isinstance(args[0], (werkzeug.test.EnvironBuilder, dict, BaseRequest)):
            if isinstance(args[0], werkzeug.test.EnvironBuilder):
                builder = args[0]
                builder.environ_base = self._copy_environ(dict(builder.environ_base or {}))
                request = builder.get_request()
            elif isinstance(args[0], dict):
                request = EnvironBuilder.from_environ(
                    args[0], app=self.application, environ_base=self._copy_environ({})
                ).get_request()
            else:
                request = args[0]
                request.environ = self._copy_environ(request.environ)
        else:
            request = self._request_from_builder_args(args, kwargs)

        # Contexts from the previous request are popped before the new one runs.
        self._context_stack.close()
        response = super().open(request, buffered=buffered, follow_redirects=follow_redirects)
        response.json_module = self.application.json  # type: ignore[assignment]  # provider API
        while self._new_contexts:
            cm = self._new_contexts.pop()
            self._context_stack.enter_context(cm)
        return response

    def __enter__(self) -> FlaskClient:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")
        self.preserve_context = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.preserve_context = False
        self._context_stack.close()


class FlaskCliRunner(CliRunner):
    """A click :class:`~click.testing.CliRunner` that runs an app's commands."""

    def __init__(self, app: Phial, **kwargs: t.Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(  # type: ignore[override]  # cli defaults to the app's group
        self, cli: t.Any = None, args: t.Any = None, **kwargs: t.Any
    ) -> Result:
        """Invoke ``cli`` (default: ``app.cli``) with a ScriptInfo that loads the app."""
        if cli is None:
            cli = self.app.cli
        if "obj" not in kwargs:
            from .cli import ScriptInfo

            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app)
        return super().invoke(cli, args, **kwargs)
