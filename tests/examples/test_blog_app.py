"""The example blog: factory, config, database, command, pages, static files."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import typing as t
from pathlib import Path

from blog import create_app
from blog.db import get_db

if t.TYPE_CHECKING:
    from phial import Phial
    from phial.testing import FlaskClient


def test_factory_uses_test_config(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "a.db"), "SECRET_KEY": "x"})
    assert app.testing
    assert app.config["SECRET_KEY"] == "x"
    assert not create_app({"DATABASE": str(tmp_path / "b.db"), "SECRET_KEY": "x"}).testing


def test_database_is_created_when_missing(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    create_app({"DATABASE": str(path), "SECRET_KEY": "x"})
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert {"user", "post"} <= tables


def test_existing_database_is_kept(tmp_path: Path) -> None:
    path = str(tmp_path / "kept.sqlite")
    app = create_app({"DATABASE": path, "SECRET_KEY": "x"})
    with app.app_context():
        db = get_db()
        db.execute("INSERT INTO user (username, password) VALUES ('bob', 'x')")
        db.commit()
    create_app({"DATABASE": path, "SECRET_KEY": "x"})
    assert sqlite3.connect(path).execute("SELECT username FROM user").fetchall() == [("bob",)]


def test_secret_key_is_generated_once_in_the_instance_folder(
    tmp_path: Path, monkeypatch: t.Any
) -> None:
    monkeypatch.setenv("BLOG_DATABASE", str(tmp_path / "env.sqlite"))
    monkeypatch.setenv("BLOG_SECRET_KEY", "")
    app = create_app()
    assert app.config["DATABASE"] == str(tmp_path / "env.sqlite")
    key_file = os.path.join(app.instance_path, "secret_key")
    assert os.path.exists(key_file)
    key = app.config["SECRET_KEY"]
    assert len(key) == 64
    assert create_app().config["SECRET_KEY"] == key


def test_connection_lives_on_g_and_closes_with_the_context(app: Phial) -> None:
    with app.app_context():
        db = get_db()
        assert get_db() is db
    try:
        db.execute("SELECT 1")
    except sqlite3.ProgrammingError as e:
        assert "closed" in str(e)
    else:
        raise AssertionError("the connection was not closed")


def test_init_db_command(app: Phial) -> None:
    with app.app_context():
        db = get_db()
        db.execute("INSERT INTO user (username, password) VALUES ('bob', 'x')")
        db.commit()
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "Initialized" in result.output
    with app.app_context():
        assert get_db().execute("SELECT COUNT(*) FROM user").fetchone()[0] == 0


def test_index_is_empty_at_first(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "No posts yet." in page
    assert 'href="/auth/login"' in page
    assert 'data-src="/feed"' in page


def test_static_files(client: FlaskClient) -> None:
    css = client.get("/static/style.css")
    assert css.status_code == 200
    assert css.mimetype == "text/css"
    css.close()
    js = client.get("/static/feed.js")
    assert b"EventSource" in js.data
    js.close()


def test_unknown_page_is_an_html_404(client: FlaskClient) -> None:
    response = client.get("/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "404 Not Found" in response.get_data(as_text=True)


def test_wrong_method_is_an_html_405(client: FlaskClient) -> None:
    response = client.delete("/")
    assert response.status_code == 405
    assert "405 Method Not Allowed" in response.get_data(as_text=True)


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    for path in ("/", "/api/posts", "/nothing-here"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_shell_context(app: Phial) -> None:
    with app.app_context():
        names = app.make_shell_context()
    assert names["get_db"] is get_db
    assert names["app"] is app


def test_the_phial_command_finds_the_app_by_path(tmp_path: Path) -> None:
    # The README's run command uses `python -m phial --app examples/blog/blog run`.
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "BLOG_DATABASE": str(tmp_path / "cli.sqlite"),
        "BLOG_SECRET_KEY": "cli",
        "PYTHONPATH": str(root / "src"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "phial", "--app", "examples/blog/blog", "routes"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "feed.feed" in result.stdout
    assert "admin.users" in result.stdout
    assert (tmp_path / "cli.sqlite").exists()
