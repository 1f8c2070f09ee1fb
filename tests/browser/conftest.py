"""Serve the example blog on 127.0.0.1 for the browser tests, and launch Chromium.

Playwright drives Debian's ``/usr/bin/chromium``; its own browser downloads are
never used (``playwright install`` cannot work offline).
"""

from __future__ import annotations

import threading
import typing as t

import pytest
from blog import create_app

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from playwright.sync_api import Browser

    from phial import Phial

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _serve_wsgi(app: Phial) -> Iterator[str]:
    """Serve ``app`` with Werkzeug's threaded WSGI server (a thread per request)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _serve_asgi(app: Phial) -> Iterator[str]:
    """Serve ``app`` over ASGI with uvicorn (its lifespan included), in a thread."""
    import time

    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    # Off the main thread uvicorn installs no signal handlers.
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


#: The servers every browser test runs against, by protocol: Werkzeug's WSGI
#: server and uvicorn. Every test runs on both.
SERVERS: dict[str, Callable[[Phial], Iterator[str]]] = {"wsgi": _serve_wsgi, "asgi": _serve_asgi}


@pytest.fixture(params=sorted(SERVERS))
def live_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The base URL of the blog, on a fresh database, served over each protocol."""
    app = create_app(
        {
            "SECRET_KEY": "browser tests",
            "DATABASE": str(tmp_path / "blog.sqlite"),
            "FEED_POLL_INTERVAL": 0.1,
            # Short responses, so the browser's reconnect-and-resume is exercised too.
            "FEED_TIMEOUT": 2.0,
        }
    )
    yield from SERVERS[request.param](app)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, launched once per test module.

    Not once per session: Playwright's sync API keeps an event loop running while
    it is started, which would make the rest of the suite look like async code.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
