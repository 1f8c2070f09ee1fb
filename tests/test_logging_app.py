"""The app's logger in use: its name, level and handler, and unhandled errors in views."""

from __future__ import annotations

import io
import logging
import typing as t

import pytest

from phial import Phial
from phial.logging import default_handler


@pytest.fixture
def fresh_app(request: pytest.FixtureRequest) -> t.Iterator[Phial]:
    """An app with a logger name of its own, as phial would see it outside pytest.

    pytest attaches capture handlers to loggers for each test phase; they are
    removed (and propagation turned off, away from pytest's root handlers)
    when the test touches ``app.logger`` through :func:`_logger`.
    """
    app = Phial(f"phial_logging_app.{request.node.name}")
    yield app
    logger = logging.getLogger(app.name)
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


def _logger(app: Phial) -> logging.Logger:
    """``app.logger``, created with no handler but its own in sight."""
    logger = logging.getLogger(app.name)
    logger.propagate = False
    logger.handlers.clear()  # pytest's capture handlers for this phase
    return app.logger


def _boom_app(app: Phial) -> Phial:
    if isinstance(app, Phial):
        _logger(app)

    @app.route("/boom")
    def boom() -> str:
        raise ValueError("secret detail of the failure")

    return app


def test_logger_is_named_after_the_app(fresh_app: Phial) -> None:
    assert _logger(fresh_app) is logging.getLogger(fresh_app.name)
    assert fresh_app.logger.name == fresh_app.name


def test_logger_is_debug_level_in_debug_mode(fresh_app: Phial) -> None:
    fresh_app.debug = True
    assert _logger(fresh_app).level == logging.DEBUG


def test_logger_keeps_default_level_without_debug(fresh_app: Phial) -> None:
    assert _logger(fresh_app).level == logging.NOTSET


def test_default_handler_is_attached(fresh_app: Phial) -> None:
    assert default_handler in _logger(fresh_app).handlers


def test_no_default_handler_when_root_logs(
    fresh_app: Phial, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = logging.getLogger(fresh_app.name)
    logger.handlers.clear()
    monkeypatch.setattr(logging.root, "handlers", [logging.NullHandler()])
    assert default_handler not in fresh_app.logger.handlers


def test_unhandled_view_error_is_logged_with_method_and_path(fresh_app: Phial) -> None:
    app = _boom_app(fresh_app)
    errors = io.StringIO()
    response = app.test_client().get("/boom?x=1", errors_stream=errors)
    assert response.status_code == 500
    log = errors.getvalue()
    assert "ERROR in app: Exception on /boom [GET]" in log
    assert "Traceback (most recent call last)" in log
    assert "ValueError: secret detail of the failure" in log


def test_unhandled_view_error_post(fresh_app: Phial) -> None:
    app = _boom_app(fresh_app)
    app.add_url_rule("/boom", "boom_post", app.view_functions["boom"], methods=["POST"])
    errors = io.StringIO()
    app.test_client().post("/boom", errors_stream=errors)
    assert "Exception on /boom [POST]" in errors.getvalue()


def test_500_page_shows_no_traceback(fresh_app: Phial) -> None:
    app = _boom_app(fresh_app)
    response = app.test_client().get("/boom", errors_stream=io.StringIO())
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "Internal Server Error" in body
    assert "secret detail" not in body
    assert "Traceback" not in body


def test_500_page_matches_flask(fresh_app: Phial) -> None:
    flask = pytest.importorskip("flask")
    reference = _boom_app(flask.Flask("phial_logging_reference"))
    reference.logger.disabled = True
    try:
        expected = reference.test_client().get("/boom")
    finally:
        reference.logger.disabled = False
    response = _boom_app(fresh_app).test_client().get("/boom", errors_stream=io.StringIO())
    assert response.status_code == expected.status_code
    assert response.get_data() == expected.get_data()
    assert response.headers["Content-Type"] == expected.headers["Content-Type"]


def test_testing_mode_propagates_instead_of_logging(fresh_app: Phial) -> None:
    app = _boom_app(fresh_app)
    app.testing = True
    errors = io.StringIO()
    with pytest.raises(ValueError, match="secret detail"):
        app.test_client().get("/boom", errors_stream=errors)
    assert errors.getvalue() == ""


def test_propagate_exceptions_false_logs_even_when_testing(fresh_app: Phial) -> None:
    app = _boom_app(fresh_app)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    errors = io.StringIO()
    assert app.test_client().get("/boom", errors_stream=errors).status_code == 500
    assert "Exception on /boom [GET]" in errors.getvalue()


def test_http_errors_are_not_logged(fresh_app: Phial) -> None:
    _logger(fresh_app)
    errors = io.StringIO()
    assert fresh_app.test_client().get("/missing", errors_stream=errors).status_code == 404
    assert errors.getvalue() == ""


def test_logging_from_a_view_goes_to_the_request_error_stream(fresh_app: Phial) -> None:
    _logger(fresh_app)

    @fresh_app.route("/")
    def index() -> str:
        fresh_app.logger.warning("careful")
        return "ok"

    errors = io.StringIO()
    fresh_app.test_client().get("/", errors_stream=errors)
    assert "WARNING in test_logging_app: careful" in errors.getvalue()
