"""A JSON API for posts; every error, including 400/404/415, is answered as JSON.

``GET /api/posts`` and ``GET /api/posts/<id>`` are public. Creating, updating
and deleting need a logged-in session (the same cookie as the site) and, for
a change, the post's author. Bodies must be ``application/json``.
"""

from __future__ import annotations

import sqlite3
import typing as t

from werkzeug.exceptions import HTTPException

from phial import Blueprint, abort, g, jsonify, request, url_for

from .posts import create_post, delete_post, get_post, list_posts, update_post, validate_post

bp = Blueprint("api", __name__, url_prefix="/api")


def post_json(post: sqlite3.Row) -> dict[str, t.Any]:
    """A post as the API shows it."""
    return {
        "id": post["id"],
        "title": post["title"],
        "body": post["body"],
        "author": post["username"],
        "created": post["created"].isoformat(sep=" "),
        "url": url_for("api.get", id=post["id"]),
    }


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[dict[str, t.Any], int]:
    """Answer any HTTP error raised by an API view as ``{"error": ..., "message": ...}``."""
    return {"error": error.name, "message": error.description}, error.code or 500


def _require_user() -> None:
    if g.user is None:
        abort(401, "Log in to change posts.")


def _json_fields() -> dict[str, t.Any]:
    # get_json() raises 415 for another content type and 400 for malformed JSON.
    data = request.get_json()
    if not isinstance(data, dict):
        abort(400, "The body must be a JSON object.")
    return t.cast(dict[str, t.Any], data)


@bp.get("/posts")
def index() -> t.Any:
    """Every post, newest first."""
    return jsonify([post_json(p) for p in list_posts()])


@bp.get("/posts/<int:id>")
def get(id: int) -> t.Any:
    """One post."""
    return post_json(get_post(id, check_author=False))


@bp.post("/posts")
def create() -> t.Any:
    """Create a post from ``{"title": ..., "body": ...}``; answers 201."""
    _require_user()
    data = _json_fields()
    title, body = data.get("title"), data.get("body", "")
    errors = validate_post(title, body)
    if errors:
        return {"error": "Bad Request", "message": "Invalid post.", "fields": errors}, 400
    post_id = create_post(t.cast(str, title), t.cast(str, body), g.user["id"])
    post = get_post(post_id, check_author=False)
    return post_json(post), 201, {"Location": url_for("api.get", id=post_id)}


@bp.route("/posts/<int:id>", methods=("PUT", "PATCH"))
def update(id: int) -> t.Any:
    """Change your post; ``PATCH`` may leave out fields, ``PUT`` may not."""
    _require_user()
    post = get_post(id)
    data = _json_fields()
    if request.method == "PATCH":
        data = {"title": post["title"], "body": post["body"], **data}
    errors = validate_post(data.get("title"), data.get("body"))
    if errors:
        return {"error": "Bad Request", "message": "Invalid post.", "fields": errors}, 400
    update_post(id, data["title"], data["body"])
    return post_json(get_post(id))


@bp.delete("/posts/<int:id>")
def delete(id: int) -> t.Any:
    """Delete your post; answers 204 with no body."""
    _require_user()
    get_post(id)
    delete_post(id)
    return "", 204
