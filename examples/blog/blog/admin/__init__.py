"""Admin pages as a Flask 0.6 :class:`phial.Module`.

Endpoints are ``admin.<function>``. While one of them handles a request,
``url_for('users')`` means ``admin.users`` (undotted names are module-relative)
and ``url_for('.static', ...)`` means the *application's* ``static`` — the
opposite of blueprints. Templates named ``admin/...`` come from this package's
``templates/`` folder first, and ``static/`` is served as ``admin.static``.
"""

from __future__ import annotations

import typing as t

from phial import Module, abort, flash, g, redirect, render_template, request, url_for

from ..db import get_db
from ..posts import delete_post, get_post, list_posts

admin = Module(__name__, url_prefix="/admin")


@admin.before_request
def require_admin() -> t.Any:
    """Only for this module's requests: log in first, and be an admin.

    The module's static files (``admin.static``) are module endpoints too, so
    this hook runs for them; the stylesheet is public, like the app's.
    """
    if request.endpoint == "admin.static":
        return None
    if g.user is None:
        return redirect(url_for("auth.login", next=request.path))
    if not g.user["is_admin"]:
        abort(403, "The admin pages are for administrators.")
    return None


@admin.context_processor
def admin_section() -> dict[str, t.Any]:
    """Tell the templates that an admin page is being rendered."""
    return {"section": "admin"}


@admin.route("/")
def index() -> t.Any:
    """The admin home page is the user list."""
    return redirect(url_for("users"))


@admin.route("/users")
def users() -> str:
    """Every user with their number of posts."""
    rows = (
        get_db()
        .execute(
            "SELECT u.id, username, is_admin, COUNT(p.id) AS posts"
            " FROM user u LEFT JOIN post p ON p.author_id = u.id"
            " GROUP BY u.id ORDER BY u.id"
        )
        .fetchall()
    )
    return render_template("admin/users.html", users=rows)


@admin.route("/posts")
def posts() -> str:
    """Every post, for moderation."""
    return render_template("admin/posts.html", posts=list_posts())


@admin.route("/posts/<int:id>/delete", methods=["POST"])
def delete(id: int) -> t.Any:
    """Delete anyone's post."""
    get_post(id, check_author=False)
    delete_post(id)
    flash(f"Post {id} deleted.", "info")
    return redirect(url_for("posts"))
