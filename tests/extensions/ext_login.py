"""Flask-Login on phial: user_loader, login_required, current_user, login/logout."""

from __future__ import annotations

import _harness  # installs the flask alias first
from flask import Flask, request
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    fresh_login_required,
    login_required,
    login_user,
    logout_user,
    user_logged_in,
    user_logged_out,
    user_unauthorized,
)

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


@app.route("/async-secret")
@login_required
async def async_secret() -> str:
    # login_required calls the view through app.ensure_sync.
    return f"async secret of {current_user.id}"


@app.route("/fresh")
@fresh_login_required
def fresh() -> str:
    return "fresh"


@login_manager.request_loader
def load_user_from_request(req: object) -> User | None:
    token = request.headers.get("X-Token")
    return USERS["alice"] if token == "alice-token" else None


def check_request_loader() -> None:
    client = _harness.make_client(app)
    r = client.get("/secret", headers={"X-Token": "alice-token"})
    assert r.text == "secret of alice", r.text
    assert client.get("/secret", headers={"X-Token": "bad"}).status_code == 302


def check_current_user_after_request_in_with_client() -> None:
    # The usual test pattern: the request context stays pushed inside ``with client``.
    client = _harness.make_client(app)
    with client:
        client.post("/login", data={"name": "alice"})
        assert current_user.is_authenticated and current_user.id == "alice"
        client.get("/logout")
        assert current_user.is_anonymous


def check_signals() -> None:
    events: list[tuple[str, object]] = []

    def on_in(sender: object, user: User) -> None:
        events.append(("in", user.id))

    def on_out(sender: object, user: User) -> None:
        events.append(("out", user.id))

    def on_unauthorized(sender: object) -> None:
        events.append(("unauthorized", sender is app))

    with (
        user_logged_in.connected_to(on_in, app),
        user_logged_out.connected_to(on_out, app),
        user_unauthorized.connected_to(on_unauthorized, app),
    ):
        client = _harness.make_client(app)
        client.get("/secret")
        client.post("/login", data={"name": "alice"})
        client.get("/logout")
    assert events == [("unauthorized", True), ("in", "alice"), ("out", "alice")], events


def check_fresh_login_required() -> None:
    client = _harness.make_client(app)
    client.post("/login", data={"name": "alice", "remember": "1"})
    assert client.get("/fresh").text == "fresh"
    # Signed in again from the remember cookie only: the login is not fresh,
    # and without a refresh_view that is a 401.
    client.delete_cookie("session")
    assert client.get("/secret").status_code == 200
    assert client.get("/fresh").status_code == 401
    login_manager.refresh_view = "login"
    try:
        r = client.get("/fresh")
    finally:
        login_manager.refresh_view = None
    assert r.status_code == 302 and r.location.startswith("/login?next="), r.location


def check_anonymous_is_redirected_to_login() -> None:
    client = _harness.make_client(app)
    r = client.get("/")
    assert r.text == "hello anonymous", r.text
    r = client.get("/secret")
    assert r.status_code == 302, r.status_code
    assert r.location.startswith("/login?next="), r.location
    assert "secret" in r.location
    assert client.get("/async-secret").status_code == 302
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
    if not _harness.REAL_FLASK:  # Flask needs its "async" extra (asgiref) for this
        assert client.get("/async-secret").text == "async secret of alice"
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
            check_request_loader,
            check_current_user_after_request_in_with_client,
            check_signals,
            check_fresh_login_required,
        ]
    )
