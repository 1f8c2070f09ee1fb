"""The example blog's admin pages: a Flask 0.6 Module with its own before_request."""

from __future__ import annotations

import typing as t

import pytest

if t.TYPE_CHECKING:
    from phial import Phial
    from phial.testing import FlaskClient

    from .conftest import Auth

ADMIN_PAGES = ["/admin/", "/admin/users", "/admin/posts"]


def test_admin_is_a_module(app: Phial) -> None:
    assert "admin" in app.modules
    assert app.url_map._rules_by_endpoint["admin.users"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_users_are_sent_to_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/auth/login?next={path}"


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_non_admins_are_forbidden(client: FlaskClient, auth: Auth, path: str) -> None:
    auth.register("ann")
    auth.signup("bob")
    response = client.get(path)
    assert response.status_code == 403
    assert "The admin pages are for administrators." in response.get_data(as_text=True)


def test_module_hook_does_not_guard_other_pages(client: FlaskClient, auth: Auth) -> None:
    auth.register("ann")
    auth.signup("bob")
    assert client.get("/").status_code == 200
    assert client.get("/create").status_code == 200


def test_admin_index_redirects_to_users(client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    assert client.get("/admin/").headers["Location"] == "/admin/users"


def test_users_page(client: FlaskClient, auth: Auth) -> None:
    auth.register("bob")  # the first user, so bob is the admin
    auth.register("ann")
    auth.signup("bob")
    client.post("/create", data={"title": "t", "body": "b"})
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Admin: Users" in page
    assert "<td>bob</td>" in page
    assert "<td>ann</td>" in page
    assert "<td>yes</td><td>1</td>" in page
    # Module templates: '.static' is the app's, 'static' is the module's.
    assert 'href="/static/style.css"' in page
    assert 'href="/admin/static/admin.css"' in page
    # Undotted endpoints are module-relative.
    assert 'href="/admin/posts"' in page


def test_module_static_file(client: FlaskClient) -> None:
    response = client.get("/admin/static/admin.css")
    assert response.status_code == 200
    assert b"table.admin" in response.data
    response.close()


def test_posts_page_and_admin_delete(client: FlaskClient, auth: Auth) -> None:
    auth.signup("ann")
    auth.logout()
    auth.signup("bob")
    client.post("/create", data={"title": "Bob's post", "body": "b"})
    auth.logout()
    auth.login("ann")
    page = client.get("/admin/posts").get_data(as_text=True)
    assert "Bob&#39;s post" in page
    assert 'action="/admin/posts/1/delete"' in page
    response = client.post("/admin/posts/1/delete")
    assert response.headers["Location"] == "/admin/posts"
    page = client.get("/admin/posts").get_data(as_text=True)
    assert "Post 1 deleted." in page
    assert "No posts." in page
    assert client.post("/admin/posts/1/delete").status_code == 404
