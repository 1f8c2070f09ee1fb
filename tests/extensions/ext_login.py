"""Flask-Login on phial: user_loader, login_required, current_user, login/logout."""

from __future__ import annotations

import _harness  # noqa: F401  # installs the flask alias first
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)

from flask import Flask, request

app = Flask(__name__)
app.config.update(SECRET_KEY="login secret", TESTING=True)
login_manager = LoginManager(app)
login_manager.login_view = "login"


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


USERS = {"alice": User("alice")}
loaded: list[str] = []


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    loaded.append(user_id)
    return USERS.get(user_id)


@app.route("/")
def index() -> str:
    if current_user.is_authenticated:
        return f"hello {current_user.id}"
    return "hello anonymous"


@app.route("/login", methods=["GET", "POST"])
def login() -> str:
    if request.method == "POST":
        user = USERS.get(request.form["name"])
        if user is None:
            return "unknown"
        login_user(user, remember=request.form.get("remember") == "1")
        return "logged in"
    return "login page"


@app.route("/logout")
def logout() -> str:
    logout_user()
    return "logged out"


@app.route("/secret")
@login_required
def secret() -> str:
    return f"secret of {current_user.id}"


def check_anonymous_is_redirected_to_login() -> None:
    client = _harness.make_client(app)
    r = client.get("/")
    assert r.text == "hello anonymous", r.text
    r = client.get("/secret")
    assert r.status_code == 302, r.status_code
    assert r.location.startswith("/login?next="), r.location
    assert "secret" in r.location
    r = client.get("/secret", follow_redirects=True)
    assert r.text == "login page"


def check_login_and_logout() -> None:
    client = _harness.make_client(app)
    r = client.post("/login", data={"name": "alice"})
    assert r.text == "logged in"
    loaded.clear()
    r = client.get("/secret")
    assert r.status_code == 200, r.status_code
    assert r.text == "secret of alice"
    assert loaded == ["alice"], loaded
    assert client.get("/").text == "hello alice"
    assert client.get("/logout").text == "logged out"
    assert client.get("/secret").status_code == 302
    assert client.get("/").text == "hello anonymous"


def check_remember_cookie() -> None:
    client = _harness.make_client(app)
    r = client.post("/login", data={"name": "alice", "remember": "1"})
    assert "remember_token=" in " ".join(r.headers.getlist("Set-Cookie"))
    # Without the session cookie, the remember cookie still signs the user in.
    client.delete_cookie("session")
    assert client.get_cookie("remember_token") is not None
    assert client.get("/secret").text == "secret of alice"


def check_unauthorized_401_without_login_view() -> None:
    login_manager.login_view = None
    try:
        client = _harness.make_client(app)
        assert client.get("/secret").status_code == 401
    finally:
        login_manager.login_view = "login"


def check_current_user_in_templates_and_request_context() -> None:
    from flask import render_template_string

    with app.test_request_context("/"):
        assert current_user.is_anonymous
        login_user(USERS["alice"])
        assert current_user.id == "alice"
        assert render_template_string("{{ current_user.id }}") == "alice"


if __name__ == "__main__":
    _harness.run(
        [
            check_anonymous_is_redirected_to_login,
            check_login_and_logout,
            check_remember_cookie,
            check_unauthorized_401_without_login_view,
            check_current_user_in_templates_and_request_context,
        ]
    )
