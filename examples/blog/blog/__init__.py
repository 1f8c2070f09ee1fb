"""A small blog built with phial: the example app the docs' tutorial walks through.

``create_app()`` is an application factory: the CLI (``phial --app blog run``),
``python -m blog`` and the tests all build their app through it.
"""

from __future__ import annotations

import os
import secrets
import typing as t

from werkzeug.exceptions import HTTPException

from phial import Phial, Response, render_template, request

from . import admin, api, auth, db, feed, posts


def create_app(test_config: t.Mapping[str, t.Any] | None = None) -> Phial:
    """Build and configure the blog application.

    Settings come from, in order: the defaults below, ``instance/config.py``
    (when present) and ``BLOG_*`` environment variables (``BLOG_SECRET_KEY``,
    ``BLOG_DATABASE``) — or from ``test_config`` alone when it is given.
    The database is created on first start when its file is missing.
    """
    app = Phial(__name__, instance_relative_config=True)
    app.config.from_mapping(
        DATABASE=os.path.join(app.instance_path, "blog.sqlite"),
        # Seconds between two database polls of the live feed, and how long one
        # feed response stays open before the browser reconnects (EventSource
        # does that on its own, resuming from the last event id).
        FEED_POLL_INTERVAL=1.0,
        FEED_TIMEOUT=30.0,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("BLOG")
    else:
        app.config.from_mapping(test_config)

    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app.instance_path)

    db.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(posts.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(feed.bp)
    app.register_module(admin.admin)

    @app.after_request
    def security_headers(response: Response) -> Response:
        """Headers every page should carry (see the Security page of the docs)."""
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.errorhandler(HTTPException)
    def error_page(error: HTTPException) -> t.Any:
        """Render HTML error pages; answer JSON below ``/api/``.

        The API blueprint's own handler answers errors raised in its views; this
        one also sees routing errors (an unknown URL, a wrong method), which
        belong to no blueprint, so it picks the format by path.
        """
        if request.path.startswith(api.bp.url_prefix or "/api"):
            return api.http_error(error)
        return render_template("error.html", error=error), error.code

    if not os.path.exists(app.config["DATABASE"]):
        with app.app_context():
            db.init_db()
    return app


def _instance_secret_key(instance_path: str) -> str:
    """A random key kept in the instance folder, so sessions survive restarts.

    Never ship a constant key such as ``"dev"``: anyone who knows it can sign
    session cookies and log in as any user.
    """
    path = os.path.join(instance_path, "secret_key")
    try:
        with open(path, encoding="ascii") as f:
            key = f.read().strip()
    except FileNotFoundError:
        key = ""
    if not key:
        key = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key)
    return key
