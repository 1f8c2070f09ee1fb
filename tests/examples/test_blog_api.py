"""The example blog's JSON API: CRUD, and every error as JSON."""

from __future__ import annotations

import typing as t

import pytest

if t.TYPE_CHECKING:
    from phial.testing import FlaskClient

    from .conftest import Auth


def _error(response: t.Any, status: int) -> dict[str, t.Any]:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = t.cast(dict[str, t.Any], response.json)
    assert set(body) >= {"error", "message"}
    return body


def test_crud(client: FlaskClient, auth: Auth) -> None:
    assert client.get("/api/posts").json == []
    auth.signup()
    created = client.post("/api/posts", json={"title": "Hi", "body": "there"})
    assert created.status_code == 201
    assert created.headers["Location"] == "/api/posts/1"
    post = created.json
    assert post["title"] == "Hi"
    assert post["author"] == "ann"
    assert post["url"] == "/api/posts/1"
    assert client.get("/api/posts/1").json == post
    assert [p["id"] for p in client.get("/api/posts").json] == [1]

    put = client.put("/api/posts/1", json={"title": "Hey", "body": "you"})
    assert put.status_code == 200
    assert (put.json["title"], put.json["body"]) == ("Hey", "you")
    patch = client.patch("/api/posts/1", json={"body": "all"})
    assert (patch.json["title"], patch.json["body"]) == ("Hey", "all")

    deleted = client.delete("/api/posts/1")
    assert deleted.status_code == 204
    assert deleted.data == b""
    assert client.get("/api/posts").json == []


def test_list_is_newest_first(client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    for title in ("a", "b"):
        client.post("/api/posts", json={"title": title})
    assert [p["title"] for p in client.get("/api/posts").json] == ["b", "a"]


def test_404_is_json(client: FlaskClient, auth: Auth) -> None:
    assert _error(client.get("/api/posts/7"), 404)["message"] == "Post 7 doesn't exist."
    auth.signup()
    _error(client.put("/api/posts/7", json={"title": "x"}), 404)
    _error(client.delete("/api/posts/7"), 404)


def test_changes_need_a_login(client: FlaskClient) -> None:
    assert _error(client.post("/api/posts", json={"title": "x"}), 401)["message"] == (
        "Log in to change posts."
    )
    _error(client.delete("/api/posts/1"), 401)


def test_415_for_a_form_body(client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    body = _error(client.post("/api/posts", data={"title": "x"}), 415)
    assert "application/json" in body["message"]
    client.post("/api/posts", json={"title": "x"})
    _error(client.put("/api/posts/1", data="{}", content_type="text/plain"), 415)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", None),
        ("[1, 2]", "The body must be a JSON object."),
        ('{"body": "no title"}', None),
        ('{"title": 5}', None),
        ('{"title": "ok", "body": 5}', None),
    ],
)
def test_400_for_bad_bodies(
    client: FlaskClient, auth: Auth, data: str, message: str | None
) -> None:
    auth.signup()
    body = _error(client.post("/api/posts", data=data, content_type="application/json"), 400)
    if message is not None:
        assert body["message"] == message


def test_400_lists_the_invalid_fields(client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    body = _error(client.post("/api/posts", json={"title": ""}), 400)
    assert body["fields"] == {"title": "Title is required."}
    client.post("/api/posts", json={"title": "ok"})
    body = _error(client.put("/api/posts/1", json={"title": "ok"}), 400)
    assert body["fields"] == {"body": "Body must be text."}


def test_403_for_another_users_post(client: FlaskClient, auth: Auth) -> None:
    auth.signup("ann")
    client.post("/api/posts", json={"title": "ann's"})
    auth.logout()
    auth.signup("bob")
    _error(client.patch("/api/posts/1", json={"title": "bob's"}), 403)
    _error(client.delete("/api/posts/1"), 403)


def test_405_is_json(client: FlaskClient) -> None:
    _error(client.delete("/api/posts"), 405)


def test_unknown_api_url_is_json(client: FlaskClient) -> None:
    assert _error(client.get("/api/nothing"), 404)["error"] == "Not Found"
