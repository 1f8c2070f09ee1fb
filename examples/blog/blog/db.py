"""SQLite through the standard library: one connection per app context, on ``g``."""

from __future__ import annotations

import sqlite3
import typing as t

import click

from phial import current_app, g
from phial.cli import with_appcontext

if t.TYPE_CHECKING:
    from phial import Phial


def connect(path: str) -> sqlite3.Connection:
    """Open the database at ``path`` with rows addressable by column name."""
    # One request uses its connection at a time, but not always from one thread:
    # over ASGI, sync views, hooks, teardown and streamed responses run in a
    # thread pool. sqlite3 ties a connection to its thread unless told otherwise.
    conn = sqlite3.connect(path, detect_types=sqlite3.PARSE_DECLTYPES, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def get_db() -> sqlite3.Connection:
    """The current app context's connection, opened on first use."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return t.cast(sqlite3.Connection, g.db)


def close_db(exc: BaseException | None = None) -> None:
    """Close the context's connection, if one was opened (a teardown function)."""
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def init_db() -> None:
    """Drop and create the tables from ``schema.sql``."""
    conn = get_db()
    with current_app.open_resource("schema.sql") as f:
        conn.executescript(f.read().decode("utf-8"))


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Clear the existing data and create new tables."""
    init_db()
    click.echo("Initialized the database.")


def shell_context() -> dict[str, t.Any]:
    """Names ``phial shell`` starts with."""
    return {"get_db": get_db, "init_db": init_db}


def init_app(app: Phial) -> None:
    """Close connections after each app context, add ``init-db`` and shell names."""
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
    app.shell_context_processor(shell_context)
