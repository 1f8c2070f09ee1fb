"""A live feed of new posts as server-sent events (``text/event-stream``).

The response is a generator kept in the request context with
:func:`phial.stream_with_context`; it polls the database for posts newer than
the last one it sent. Polling the database rather than notifying in memory
keeps this correct with several worker processes or machines. Each response
lasts ``FEED_TIMEOUT`` seconds; the browser's ``EventSource`` then reconnects
with a ``Last-Event-ID`` header and the feed resumes after that post. This is
plain streaming, so it works the same over WSGI and ASGI.
"""

from __future__ import annotations

import json
import time
import typing as t

from phial import Blueprint, Response, current_app, request, stream_with_context, url_for

from .db import get_db

bp = Blueprint("feed", __name__)

_LAST_ID = "SELECT COALESCE(MAX(id), 0) FROM post"
_NEW_POSTS = (
    "SELECT p.id, title, created, username FROM post p JOIN user u ON p.author_id = u.id"
    " WHERE p.id > ? ORDER BY p.id"
)


@bp.get("/feed")
def feed() -> Response:
    """Stream an ``event: post`` for each post published after the request starts.

    ``Last-Event-ID`` (sent by a reconnecting ``EventSource``) or ``?after=<id>``
    start the feed after that post instead.
    """
    config = current_app.config
    interval, timeout = float(config["FEED_POLL_INTERVAL"]), float(config["FEED_TIMEOUT"])
    after = request.headers.get("Last-Event-ID", type=int)
    if after is None:
        after = request.args.get("after", type=int)
    if after is None:
        after = t.cast(int, get_db().execute(_LAST_ID).fetchone()[0])

    def events() -> t.Iterator[str]:
        last_id = after
        # The first chunk goes out at once, so the browser sees the stream open.
        yield f"retry: {int(interval * 1000)}\n\n"
        deadline = time.monotonic() + timeout
        while True:
            rows = get_db().execute(_NEW_POSTS, (last_id,)).fetchall()
            for row in rows:
                last_id = row["id"]
                yield _event(row)
            if time.monotonic() >= deadline:
                return
            time.sleep(interval)

    return Response(
        stream_with_context(events()),
        mimetype="text/event-stream",
        # No caching, and no buffering by a proxy such as nginx.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _event(row: t.Any) -> str:
    data = {
        "id": row["id"],
        "title": row["title"],
        "author": row["username"],
        "created": row["created"].isoformat(sep=" "),
        "url": url_for("api.post", id=row["id"]),
    }
    return f"id: {row['id']}\nevent: post\ndata: {json.dumps(data)}\n\n"
