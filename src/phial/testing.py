"""Testing helpers: the test client, the environ builder and the CLI runner.

The client is a Werkzeug :class:`~werkzeug.test.Client`, so everything Werkzeug
documents works, plus Flask's additions: ``with client:`` keeps the last
request's contexts pushed, and :meth:`FlaskClient.session_transaction` edits the
session between requests.
"""

from __future__ import annotations

import importlib.metadata
import typing as t
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import werkzeug.test
from click.testing import CliRunner, Result
from werkzeug.test import Client
from werkzeug.wrappers import Request as BaseRequest

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
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


class FlaskClient(Client):
    """The test client :meth:`Phial.test_client` returns (subclassable).

    ``with client:`` keeps the contexts of the last request pushed until the
    block ends, so ``request`` and ``session`` can be inspected after a call.
    """

    application: Phial

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
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
            cli = self.app.cli  # type: ignore[attr-defined]  # lands with the CLI
        if "obj" not in kwargs:
            from .cli import ScriptInfo  # type: ignore[attr-defined, import-not-found, unused-ignore]  # lands with the CLI

            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app)
        return super().invoke(cli, args, **kwargs)
