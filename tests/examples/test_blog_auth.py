"""The example blog's auth blueprint: register, log in, log out, login_required."""

from __future__ import annotations

import typing as t

from blog.db import get_db
from werkzeug.security import check_password_hash

from phial import session

if t.TYPE_CHECKING:
    from phial import Phial
    from phial.testing import FlaskClient

    from .conftest import Auth


def test_register_page(client: FlaskClient) -> None:
    assert client.get("/auth/register").status_code == 200


def test_register_stores_a_password_hash(app: Phial, auth: Auth) -> None:
    response = auth.register("ann", "password1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    with app.app_context():
        user = get_db().execute("SELECT * FROM user WHERE username = 'ann'").fetchone()
    assert user["password"] != "password1"
    assert check_password_hash(user["password"], "password1")


def test_first_user_is_admin_later_ones_are_not(app: Phial, auth: Auth) -> None:
    auth.register("ann")
    auth.register("bob")
    with app.app_context():
        rows = get_db().execute("SELECT username, is_admin FROM user ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [("ann", 1), ("bob", 0)]


def test_register_flashes_success(client: FlaskClient, auth: Auth) -> None:
    auth.register()
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'class="flash success"' in page
    assert "Registration complete" in page


def test_register_validation_errors(client: FlaskClient, auth: Auth) -> None:
    response = auth.register("", "short")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Username is required." in page
    assert "Password must be at least 8 characters." in page
    assert 'class="flash error"' in page


def test_register_rejects_a_taken_username(auth: Auth) -> None:
    auth.register("ann")
    response = auth.register("ann")
    assert response.status_code == 400
    assert "User ann is already registered." in response.get_data(as_text=True)


def test_login_sets_the_session_and_g_user(client: FlaskClient, auth: Auth) -> None:
    auth.register()
    assert client.get("/auth/login").status_code == 200
    response = auth.login()
    assert response.headers["Location"] == "/"
    with client:
        page = client.get("/").get_data(as_text=True)
        assert session["user_id"] == 1
    assert "Welcome back, ann!" in page
    assert '<span class="user">ann</span>' in page


def test_login_rejects_bad_credentials_with_one_message(auth: Auth) -> None:
    auth.register()
    for username, password in (("nobody", "password1"), ("ann", "wrong-password")):
        response = auth.login(username, password)
        assert response.status_code == 400
        assert "Incorrect username or password." in response.get_data(as_text=True)


def test_login_redirects_to_next_on_this_site_only(auth: Auth) -> None:
    auth.register()
    client = auth.client
    ok = client.post("/auth/login?next=/create", data={"username": "ann", "password": "password1"})
    assert ok.headers["Location"] == "/create"
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post(
            "/auth/login",
            query_string={"next": target},
            data={"username": "ann", "password": "password1"},
        )
        assert response.headers["Location"] == "/"


def test_logout_clears_the_session(client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    with client:
        response = auth.logout()
        assert "user_id" not in session
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "You have been logged out." in page
    assert 'class="flash info"' in page


def test_logout_needs_post(client: FlaskClient) -> None:
    assert client.get("/auth/logout").status_code == 405


def test_login_required_redirects_with_next(client: FlaskClient) -> None:
    response = client.get("/create")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/create"
    assert client.post("/1/update").headers["Location"].startswith("/auth/login")
    assert client.post("/1/delete").headers["Location"].startswith("/auth/login")


def test_deleted_user_is_logged_out(app: Phial, client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    with app.app_context():
        db = get_db()
        db.execute("DELETE FROM user")
        db.commit()
    page = client.get("/").get_data(as_text=True)
    assert 'href="/auth/login"' in page
