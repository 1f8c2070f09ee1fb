"""The blog's pages: list, write, edit and delete posts."""

from __future__ import annotations

import sqlite3
import typing as t

from phial import (
    Blueprint,
    Namespace,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from .auth import login_required
from .db import get_db

bp = Blueprint("posts", __name__)

#: The longest title a post may have.
MAX_TITLE_LENGTH = 200

_signals = Namespace()
#: Sent by the app with ``post_id`` and ``title`` after a post is published,
#: from the web pages and the API alike.
post_published = _signals.signal("post-published")

_SELECT_POSTS = (
    "SELECT p.id, title, body, created, author_id, username"
    " FROM post p JOIN user u ON p.author_id = u.id"
)


def list_posts(after: int | None = None) -> list[sqlite3.Row]:
    """Every post, newest first; or those with an id above ``after``, oldest first."""
    if after is None:
        return get_db().execute(f"{_SELECT_POSTS} ORDER BY p.id DESC").fetchall()
    return get_db().execute(f"{_SELECT_POSTS} WHERE p.id > ? ORDER BY p.id", (after,)).fetchall()


def get_post(post_id: int, check_author: bool = True) -> sqlite3.Row:
    """The post ``post_id``; 404 if there is none, 403 if it is someone else's."""
    post = get_db().execute(f"{_SELECT_POSTS} WHERE p.id = ?", (post_id,)).fetchone()
    if post is None:
        abort(404, f"Post {post_id} doesn't exist.")
    if check_author and (g.user is None or post["author_id"] != g.user["id"]):
        abort(403, "You can only change your own posts.")
    return t.cast(sqlite3.Row, post)


def validate_post(title: object, body: object) -> dict[str, str]:
    """Field errors of a post's ``title`` and ``body`` (empty when valid)."""
    errors = {}
    if not isinstance(title, str) or not title.strip():
        errors["title"] = "Title is required."
    elif len(title) > MAX_TITLE_LENGTH:
        errors["title"] = f"Title must be at most {MAX_TITLE_LENGTH} characters."
    if not isinstance(body, str):
        errors["body"] = "Body must be text."
    return errors


def create_post(title: str, body: str, author_id: int) -> int:
    """Insert a post and return its id."""
    db = get_db()
    cursor = db.execute(
        "INSERT INTO post (title, body, author_id) VALUES (?, ?, ?)",
        (title.strip(), body, author_id),
    )
    db.commit()
    post_id = t.cast(int, cursor.lastrowid)
    app = t.cast(t.Any, current_app)._get_current_object()
    post_published.send(app, post_id=post_id, title=title)
    return post_id


@post_published.connect
def log_post(sender: t.Any, post_id: int, title: str, **extra: t.Any) -> None:
    """Log every published post to the publishing app's logger."""
    sender.logger.info("Post %d published: %r", post_id, title)


def update_post(post_id: int, title: str, body: str) -> None:
    """Change a post's title and body."""
    db = get_db()
    db.execute("UPDATE post SET title = ?, body = ? WHERE id = ?", (title.strip(), body, post_id))
    db.commit()


def delete_post(post_id: int) -> None:
    """Remove a post."""
    db = get_db()
    db.execute("DELETE FROM post WHERE id = ?", (post_id,))
    db.commit()


@bp.route("/")
def index() -> str:
    """The front page: every post, newest first, and the live feed."""
    return render_template("posts/index.html", posts=list_posts())


@bp.route("/create", methods=("GET", "POST"))
@login_required
def create() -> t.Any:
    """Write a new post."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        title, body = request.form.get("title", ""), request.form.get("body", "")
        errors = validate_post(title, body)
        if not errors:
            create_post(title, body, g.user["id"])
            flash("Your post is published.", "success")
            return redirect(url_for("posts.index"))
        flash("Please correct the errors below.", "error")
    status = 400 if errors else 200
    return render_template("posts/edit.html", post=None, form=request.form, errors=errors), status


@bp.route("/<int:id>/update", methods=("GET", "POST"))
@login_required
def update(id: int) -> t.Any:
    """Edit one of your posts."""
    post = get_post(id)
    errors: dict[str, str] = {}
    form: t.Mapping[str, str] = {"title": post["title"], "body": post["body"]}
    if request.method == "POST":
        form = request.form
        title, body = form.get("title", ""), form.get("body", "")
        errors = validate_post(title, body)
        if not errors:
            update_post(id, title, body)
            flash("Your post is updated.", "success")
            return redirect(url_for("posts.index"))
        flash("Please correct the errors below.", "error")
    status = 400 if errors else 200
    return render_template("posts/edit.html", post=post, form=form, errors=errors), status


@bp.route("/<int:id>/delete", methods=("POST",))
@login_required
def delete(id: int) -> t.Any:
    """Delete one of your posts."""
    get_post(id)
    delete_post(id)
    flash("Your post is deleted.", "info")
    return redirect(url_for("posts.index"))
