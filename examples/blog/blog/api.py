"""A JSON API for posts, as class-based views; every error is answered as JSON.

``GET /api/posts`` and ``GET /api/posts/<id>`` are public. Creating, updating
and deleting need a logged-in session (the same cookie as the site) and, for
a change, the post's author. Bodies must be ``application/json``.
"""

from __future__ import annotations

import sqlite3
import typing as t

from werkzeug.exceptions import HTTPException

from phial import Blueprint, abort, g, jsonify, request, url_for
from phial.views import MethodView

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
        "url": url_for("api.post", id=post["id"]),
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


class PostList(MethodView):
    """``/api/posts``: list every post, or create one."""

    # The view object holds no per-request state, so one instance serves all.
    init_every_request = False

    def get(self) -> t.Any:
        """Every post, newest first."""
        return jsonify([post_json(p) for p in list_posts()])

    def post(self) -> t.Any:
        """Create a post from ``{"title": ..., "body": ...}``; answers 201."""
        _require_user()
        data = _json_fields()
        title, body = data.get("title"), data.get("body", "")
        errors = validate_post(title, body)
        if errors:
            return _invalid(errors)
        post_id = create_post(t.cast(str, title), t.cast(str, body), g.user["id"])
        post = get_post(post_id, check_author=False)
        return post_json(post), 201, {"Location": url_for("api.post", id=post_id)}


class PostItem(MethodView):
    """``/api/posts/<id>``: read, replace, patch or delete one post."""

    init_every_request = False

    def get(self, id: int) -> t.Any:
        """One post."""
        return post_json(get_post(id, check_author=False))

    def put(self, id: int) -> t.Any:
        """Replace your post's title and body; both are required."""
        return self._update(id, partial=False)

    def patch(self, id: int) -> t.Any:
        """Change some fields of your post."""
        return self._update(id, partial=True)

    def delete(self, id: int) -> t.Any:
        """Delete your post; answers 204 with no body."""
        _require_user()
        get_post(id)
        delete_post(id)
        return "", 204

    def _update(self, id: int, partial: bool) -> t.Any:
        _require_user()
        post = get_post(id)
        data = _json_fields()
        if partial:
            data = {"title": post["title"], "body": post["body"], **data}
        errors = validate_post(data.get("title"), data.get("body"))
        if errors:
            return _invalid(errors)
        update_post(id, data["title"], data["body"])
        return post_json(get_post(id))


def _invalid(errors: dict[str, str]) -> tuple[dict[str, t.Any], int]:
    return {"error": "Bad Request", "message": "Invalid post.", "fields": errors}, 400


bp.add_url_rule("/posts", view_func=PostList.as_view("posts"))
bp.add_url_rule("/posts/<int:id>", view_func=PostItem.as_view("post"))
