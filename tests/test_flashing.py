"""Tests for message flashing: phial.helpers.flash and get_flashed_messages."""

from __future__ import annotations

import typing as t

import pytest
from markupsafe import Markup

import phial
from phial import Phial, flash, get_flashed_messages, message_flashed, session

if t.TYPE_CHECKING:
    from phial.testing import FlaskClient


@pytest.fixture
def flash_app(app: Phial) -> Phial:
    @app.route("/flash")
    def flash_some() -> str:
        flash("plain")
        flash("careful", "warning")
        flash("broken", "error")
        flash(Markup("<b>bold</b>"), "info")
        return "flashed"

    @app.route("/all")
    def all_messages() -> str:
        return repr(get_flashed_messages())

    @app.route("/with-categories")
    def with_categories() -> str:
        return repr(get_flashed_messages(with_categories=True))

    @app.route("/filtered")
    def filtered() -> str:
        return repr(
            (
                get_flashed_messages(category_filter=["warning", "error"]),
                get_flashed_messages(with_categories=True, category_filter=("info",)),
                get_flashed_messages(),
            )
        )

    @app.route("/twice")
    def twice() -> str:
        first = get_flashed_messages()
        second = get_flashed_messages()
        assert first == second
        return repr((first, "_flashes" in session))

    return app


@pytest.fixture
def flash_client(flash_app: Phial) -> FlaskClient:
    return flash_app.test_client()


def test_reexported() -> None:
    assert phial.flash is flash
    assert phial.get_flashed_messages is get_flashed_messages


def test_messages_reach_the_next_request_once(flash_client: FlaskClient) -> None:
    flash_client.get("/flash")
    assert flash_client.get("/all").text == repr(
        ["plain", "careful", "broken", Markup("<b>bold</b>")]
    )
    assert flash_client.get("/all").text == "[]"


def test_with_categories(flash_client: FlaskClient) -> None:
    flash_client.get("/flash")
    assert flash_client.get("/with-categories").text == repr(
        [
            ("message", "plain"),
            ("warning", "careful"),
            ("error", "broken"),
            ("info", Markup("<b>bold</b>")),
        ]
    )


def test_category_filter(flash_client: FlaskClient) -> None:
    flash_client.get("/flash")
    # The filter does not drop the other messages from this request's list.
    assert flash_client.get("/filtered").text == repr(
        (
            ["careful", "broken"],
            [("info", Markup("<b>bold</b>"))],
            ["plain", "careful", "broken", Markup("<b>bold</b>")],
        )
    )


def test_markup_survives(flash_app: Phial, flash_client: FlaskClient) -> None:
    @flash_app.route("/types")
    def types() -> str:
        return repr([type(m).__name__ for m in get_flashed_messages()])

    flash_client.get("/flash")
    assert flash_client.get("/types").text == "['str', 'str', 'str', 'Markup']"


def test_repeated_calls_return_the_same_list(flash_client: FlaskClient) -> None:
    flash_client.get("/flash")
    resp = flash_client.get("/twice")
    assert resp.text == repr((["plain", "careful", "broken", Markup("<b>bold</b>")], False))


def test_reading_the_last_messages_deletes_the_cookie(flash_client: FlaskClient) -> None:
    flash_client.get("/flash")
    assert flash_client.get_cookie("session") is not None
    resp = flash_client.get("/all")
    assert "Max-Age=0" in resp.headers["Set-Cookie"]
    assert flash_client.get_cookie("session") is None


def test_no_messages_touches_nothing(flash_client: FlaskClient) -> None:
    resp = flash_client.get("/all")
    assert resp.text == "[]"
    assert "Set-Cookie" not in resp.headers


def test_flash_in_same_request(app: Phial) -> None:
    with app.test_request_context():
        flash("now")
        assert get_flashed_messages() == ["now"]
        assert "_flashes" not in session


def test_flashes_cached_on_the_request_context(app: Phial) -> None:
    with app.test_request_context() as ctx:
        assert ctx.flashes is None
        flash("one", "c")
        assert get_flashed_messages(with_categories=True) == [("c", "one")]
        assert ctx.flashes == [("c", "one")]
        flash("two")  # goes to the session for the next request
        assert get_flashed_messages() == ["one"]
        assert session["_flashes"] == [("message", "two")]


def test_message_flashed_signal(app: Phial) -> None:
    received: list[tuple[t.Any, dict[str, t.Any]]] = []

    def receiver(sender: t.Any, **kwargs: t.Any) -> None:
        received.append((sender, kwargs))

    with message_flashed.connected_to(receiver, app), app.test_request_context():
        flash("hello", "greeting")
        flash("default")
    assert received == [
        (app, {"message": "hello", "category": "greeting"}),
        (app, {"message": "default", "category": "message"}),
    ]


def test_flash_without_secret_key_raises(app: Phial) -> None:
    app.config["SECRET_KEY"] = None
    with app.test_request_context():
        with pytest.raises(RuntimeError, match="no secret key was set"):
            flash("lost")
        assert get_flashed_messages() == []


def test_outside_a_request_raises() -> None:
    with pytest.raises(RuntimeError, match="'flash' can only be used"):
        flash("x")
    with pytest.raises(RuntimeError, match="'get_flashed_messages' can only be used"):
        get_flashed_messages()
