"""Registration, logging in and out: a blueprint, sessions and password hashes."""

from __future__ import annotations

import functools
import typing as t

from werkzeug.security import check_password_hash, generate_password_hash

from phial import Blueprint, flash, g, redirect, render_template, request, session, url_for

from .db import get_db

bp = Blueprint("auth", __name__, url_prefix="/auth")

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The shortest password the register form accepts.
MIN_PASSWORD_LENGTH = 8


def login_required(view: F) -> F:
    """Redirect anonymous users to the login page, then back to ``view``."""

    @functools.wraps(view)
    def wrapped_view(**kwargs: t.Any) -> t.Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)

    return t.cast(F, wrapped_view)


@bp.before_app_request
def load_logged_in_user() -> None:
    """Put the logged-in user's row (or ``None``) on ``g.user`` for every request."""
    user_id = session.get("user_id")
    g.user = None
    if user_id is not None:
        g.user = get_db().execute("SELECT * FROM user WHERE id = ?", (user_id,)).fetchone()


@bp.route("/register", methods=("GET", "POST"))
def register() -> t.Any:
    """Create an account; the first account becomes the site's admin."""
    errors: dict[str, str] = {}
    username = request.form.get("username", "").strip()
    if request.method == "POST":
        password = request.form.get("password", "")
        if not username:
            errors["username"] = "Username is required."
        if len(password) < MIN_PASSWORD_LENGTH:
            errors["password"] = f"Password must be at least {MIN_PASSWORD_LENGTH} characters."
        if not errors:
            db = get_db()
            first = db.execute("SELECT COUNT(*) FROM user").fetchone()[0] == 0
            try:
                db.execute(
                    "INSERT INTO user (username, password, is_admin) VALUES (?, ?, ?)",
                    (username, generate_password_hash(password), int(first)),
                )
                db.commit()
            except db.IntegrityError:
                errors["username"] = f"User {username} is already registered."
            else:
                flash("Registration complete. Please log in.", "success")
                return redirect(url_for("auth.login"))
        flash("Please correct the errors below.", "error")
    return render_template(
        "auth/register.html", username=username, errors=errors
    ), 400 if errors else 200


@bp.route("/login", methods=("GET", "POST"))
def login() -> t.Any:
    """Check the credentials and remember the user in the session."""
    username = request.form.get("username", "").strip()
    if request.method == "POST":
        password = request.form.get("password", "")
        user = get_db().execute("SELECT * FROM user WHERE username = ?", (username,)).fetchone()
        if user is None or not check_password_hash(user["password"], password):
            # One message for both cases: do not tell which usernames exist.
            flash("Incorrect username or password.", "error")
            return render_template("auth/login.html", username=username), 400
        # A fresh session at login: nothing an attacker planted before survives.
        session.clear()
        session["user_id"] = user["id"]
        flash(f"Welcome back, {user['username']}!", "success")
        return redirect(_safe_next(request.args.get("next")) or url_for("posts.index"))
    return render_template("auth/login.html", username=username)


@bp.route("/logout", methods=("POST",))
def logout() -> t.Any:
    """Forget the user (a POST, so a link on another site cannot log anyone out)."""
    session.clear()
    flash("You have been logged out.", "info")
    return redirect(url_for("posts.index"))


def _safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else ``None`` (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None
