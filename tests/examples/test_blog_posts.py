"""The example blog's pages for writing, editing and deleting posts."""

from __future__ import annotations

import logging
import typing as t

import pytest
from blog.db import get_db

if t.TYPE_CHECKING:
    from phial import Phial
    from phial.testing import FlaskClient

    from .conftest import Auth


def _post_count(app: Phial) -> int:
    with app.app_context():
        return t.cast(int, get_db().execute("SELECT COUNT(*) FROM post").fetchone()[0])


def test_create_page_and_post(app: Phial, client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    assert client.get("/create").status_code == 200
    response = client.post("/create", data={"title": "First", "body": "Hello <b>world</b>"})
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Your post is published." in page
    assert "<h2>First</h2>" in page
    # Autoescaped: the body is text, not markup.
    assert "Hello &lt;b&gt;world&lt;/b&gt;" in page
    assert 'href="/1/update"' in page
    assert _post_count(app) == 1


@pytest.mark.parametrize(
    ("title", "message"),
    [("", "Title is required."), ("x" * 201, "Title must be at most 200 characters.")],
)
def test_create_validation(
    app: Phial, client: FlaskClient, auth: Auth, title: str, message: str
) -> None:
    auth.signup()
    response = client.post("/create", data={"title": title, "body": "kept"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert "Please correct the errors below." in page
    assert ">kept</textarea>" in page
    assert _post_count(app) == 0


def test_update(app: Phial, client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    client.post("/create", data={"title": "Old", "body": "b"})
    page = client.get("/1/update").get_data(as_text=True)
    assert 'value="Old"' in page
    response = client.post("/1/update", data={"title": "New", "body": "b2"})
    assert response.headers["Location"] == "/"
    with app.app_context():
        post = get_db().execute("SELECT title, body FROM post").fetchone()
    assert tuple(post) == ("New", "b2")
    assert "Your post is updated." in client.get("/").get_data(as_text=True)


def test_update_validation(client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    client.post("/create", data={"title": "Old", "body": "b"})
    response = client.post("/1/update", data={"title": " ", "body": "b"})
    assert response.status_code == 400
    assert "Title is required." in response.get_data(as_text=True)


def test_delete(app: Phial, client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    client.post("/create", data={"title": "Gone", "body": "b"})
    response = client.post("/1/delete")
    assert response.headers["Location"] == "/"
    assert _post_count(app) == 0
    assert "Your post is deleted." in client.get("/").get_data(as_text=True)


def test_other_users_posts_are_forbidden(client: FlaskClient, auth: Auth) -> None:
    auth.signup("ann")
    client.post("/create", data={"title": "Ann's", "body": "b"})
    auth.logout()
    auth.signup("bob")
    assert 'href="/1/update"' not in client.get("/").get_data(as_text=True)
    for response in (client.get("/1/update"), client.post("/1/delete")):
        assert response.status_code == 403
        assert "You can only change your own posts." in response.get_data(as_text=True)


def test_missing_post_is_404(client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    response = client.get("/9/update")
    assert response.status_code == 404
    assert "Post 9 doesn&#39;t exist." in response.get_data(as_text=True)
    assert client.post("/9/delete").status_code == 404


def test_publishing_sends_a_signal_and_logs(
    app: Phial, client: FlaskClient, auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    from blog.posts import post_published

    received = []

    def receiver(sender: Phial, **extra: t.Any) -> None:
        received.append((sender, extra))

    auth.signup()
    caplog.set_level(logging.INFO, logger=app.logger.name)
    with post_published.connected_to(receiver, sender=app):
        client.post("/create", data={"title": "Signalled", "body": ""})
        client.post("/api/posts", json={"title": "Via the API"})
    assert received == [
        (app, {"post_id": 1, "title": "Signalled"}),
        (app, {"post_id": 2, "title": "Via the API"}),
    ]
    assert "Post 1 published: 'Signalled'" in caplog.text
