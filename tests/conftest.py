"""Fixtures shared by phial's tests."""

from __future__ import annotations

import os
import typing as t

import pytest

from phial import Phial
from phial.globals import _cv_app, _cv_request
from phial.signals import _LIFECYCLE_SIGNALS, _lifecycle_watch

if t.TYPE_CHECKING:
    from phial.ctx import AppContext, RequestContext
    from phial.testing import FlaskClient


@pytest.fixture
def app() -> Phial:
    """A fresh app rooted in the tests folder, in testing mode."""
    app = Phial("test_app", root_path=os.path.dirname(__file__))
    app.config.update(TESTING=True, SECRET_KEY="test key")
    return app


@pytest.fixture(params=["wsgi", "asgi"])
def client(app: Phial, request: pytest.FixtureRequest) -> FlaskClient:
    """A test client for :func:`app`; every test using it runs over WSGI and over ASGI."""
    return app.test_client(protocol=request.param)


@pytest.fixture
def app_ctx(app: Phial) -> t.Iterator[AppContext]:
    """An application context pushed for the test."""
    with app.app_context() as ctx:
        yield ctx


@pytest.fixture
def req_ctx(app: Phial) -> t.Iterator[RequestContext]:
    """A request context for ``GET /`` pushed for the test."""
    with app.test_request_context() as ctx:
        yield ctx


@pytest.fixture(autouse=True)
def _lifecycle_signals_unheard() -> None:
    """Start each test as a fresh process would: with the fast lane's record
    of lifecycle receivers cleared (see phial.signals._lifecycle_watch) when
    none is connected, so the suite runs the lane's quiet path; a test that
    connects a receiver sets it again."""
    if not any(signal.receivers for signal in _LIFECYCLE_SIGNALS):
        _lifecycle_watch.heard = False


@pytest.fixture(autouse=True)
def _no_leaked_contexts() -> t.Iterator[None]:
    """Fail any test that leaves an app or request context pushed."""
    yield
    leaks = []
    while (req := _cv_request.get(None)) is not None:
        leaks.append(req)
        req.pop()
    while (app_ctx := _cv_app.get(None)) is not None:
        leaks.append(app_ctx)
        app_ctx.pop()
    assert not leaks, f"the test left contexts pushed: {leaks!r}"
