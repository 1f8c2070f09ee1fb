from __future__ import annotations

import io
import logging
import sys
import types
import typing as t
from collections.abc import Iterator

import pytest

from phial.globals import _cv_request
from phial.logging import create_logger, default_handler, has_level_handler, wsgi_errors_stream


class _StubApp:
    def __init__(self, name: str, debug: bool = False) -> None:
        self.name = name
        self.debug = debug


@pytest.fixture
def logger_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh logger name per test; its level, handlers and propagation are reset after."""
    name = f"phial_test_logging.{request.node.name}"
    yield name
    logger = logging.getLogger(name)
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


def _fake_request_ctx(stream: io.StringIO) -> t.Any:
    request = types.SimpleNamespace(environ={"wsgi.errors": stream})
    return types.SimpleNamespace(request=request)


def test_wsgi_errors_stream_outside_request_is_stderr() -> None:
    assert wsgi_errors_stream._get_current_object() is sys.stderr  # type: ignore[attr-defined]  # LocalProxy API


def test_wsgi_errors_stream_uses_request_environ() -> None:
    stream = io.StringIO()
    token = _cv_request.set(_fake_request_ctx(stream))
    try:
        wsgi_errors_stream.write("boom")
    finally:
        _cv_request.reset(token)
    assert stream.getvalue() == "boom"


def test_default_handler_writes_to_request_stream(logger_name: str) -> None:
    stream = io.StringIO()
    logger = logging.getLogger(logger_name)
    logger.propagate = False
    logger.addHandler(default_handler)
    token = _cv_request.set(_fake_request_ctx(stream))
    try:
        logger.error("it broke")
    finally:
        _cv_request.reset(token)
    output = stream.getvalue()
    assert output.startswith("[")
    assert "] ERROR in test_logging: it broke" in output


def test_has_level_handler_own_handler(logger_name: str) -> None:
    logger = logging.getLogger(logger_name)
    logger.propagate = False
    assert not has_level_handler(logger)
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    assert has_level_handler(logger)
    # A handler set above the logger's effective level would drop its records.
    logger.setLevel(logging.INFO)
    handler.setLevel(logging.ERROR)
    assert not has_level_handler(logger)


def test_has_level_handler_checks_parents(logger_name: str) -> None:
    parent = logging.getLogger(logger_name)
    child = logging.getLogger(f"{logger_name}.child")
    parent.propagate = False
    parent.addHandler(logging.StreamHandler(io.StringIO()))
    assert has_level_handler(child)
    child.propagate = False
    try:
        assert not has_level_handler(child)
    finally:
        child.propagate = True


def test_create_logger_debug_sets_level(logger_name: str) -> None:
    logger = create_logger(_StubApp(logger_name, debug=True))
    assert logger.name == logger_name
    assert logger.level == logging.DEBUG


def test_create_logger_keeps_user_level(logger_name: str) -> None:
    logging.getLogger(logger_name).setLevel(logging.WARNING)
    logger = create_logger(_StubApp(logger_name, debug=True))
    assert logger.level == logging.WARNING


def test_create_logger_no_debug_leaves_level(logger_name: str) -> None:
    assert create_logger(_StubApp(logger_name)).level == logging.NOTSET


def test_create_logger_adds_default_handler_when_needed(logger_name: str) -> None:
    logging.getLogger(logger_name).propagate = False
    logger = create_logger(_StubApp(logger_name))
    assert default_handler in logger.handlers


def test_create_logger_respects_existing_handler(logger_name: str) -> None:
    logger = logging.getLogger(logger_name)
    logger.propagate = False
    logger.addHandler(logging.StreamHandler(io.StringIO()))
    create_logger(_StubApp(logger_name))
    assert default_handler not in logger.handlers


def test_has_level_handler_walks_to_root(logger_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger(logger_name)
    # pytest's capture handler sits on the root logger; hide it to see the empty chain.
    monkeypatch.setattr(logging.root, "handlers", [])
    assert not has_level_handler(logger)
    monkeypatch.setattr(logging.root, "handlers", [logging.StreamHandler(io.StringIO())])
    assert has_level_handler(logger)
