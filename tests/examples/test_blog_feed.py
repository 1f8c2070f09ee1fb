"""The example blog's live feed: server-sent events of new posts."""

from __future__ import annotations

import json
import typing as t

if t.TYPE_CHECKING:
    from phial import Phial
    from phial.testing import FlaskClient

    from .conftest import Auth


def _events(text: str) -> list[dict[str, t.Any]]:
    """The ``post`` events of an event stream, as ``{"id": ..., "data": ...}``."""
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields.get("event") == "post":
            events.append({"id": int(fields["id"]), "data": json.loads(fields["data"])})
    return events


def test_stream_headers_and_retry(client: FlaskClient) -> None:
    response = client.get("/feed")
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.get_data(as_text=True).startswith("retry: 10\n\n")


def test_stream_yields_posts_published_while_it_is_open(client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    client.post("/api/posts", json={"title": "before"})
    response = client.get("/feed", buffered=False)
    chunks = iter(response.response)
    assert next(chunks).startswith(b"retry:")
    client.post("/api/posts", json={"title": "during <b>"})
    rest = b"".join(chunks).decode()
    response.close()
    events = _events(rest)
    assert [e["data"]["title"] for e in events] == ["during <b>"]
    assert events[0]["id"] == 2
    assert events[0]["data"]["author"] == "ann"
    assert events[0]["data"]["url"] == "/api/posts/2"


def test_last_event_id_resumes_after_that_post(client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    for title in ("one", "two", "three"):
        client.post("/api/posts", json={"title": title})
    resumed = client.get("/feed", headers={"Last-Event-ID": "1"})
    assert [e["id"] for e in _events(resumed.get_data(as_text=True))] == [2, 3]
    after = client.get("/feed?after=2")
    assert [e["data"]["title"] for e in _events(after.get_data(as_text=True))] == ["three"]


def test_bad_last_event_id_starts_from_now(client: FlaskClient, auth: Auth) -> None:
    auth.signup()
    client.post("/api/posts", json={"title": "old"})
    response = client.get("/feed", headers={"Last-Event-ID": "junk"})
    assert response.status_code == 200
    assert _events(response.get_data(as_text=True)) == []


def test_feed_streams_through_uvicorn(app: Phial) -> None:
    """Over a real ASGI server each event reaches the client when it is published,
    not when the response ends."""
    import http.client
    import threading
    import time

    import uvicorn

    # The feed notices a closed connection only when its response ends (it
    # writes nothing between posts), so the server stops after FEED_TIMEOUT.
    app.config.update(FEED_TIMEOUT=3.0)
    client = app.test_client()
    client.post("/auth/register", data={"username": "ann", "password": "password1"})
    client.post("/auth/login", data={"username": "ann", "password": "password1"})
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        began = time.monotonic()
        connection.request("GET", "/feed")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type", "").startswith("text/event-stream")
        assert response.readline().startswith(b"retry:")
        assert response.readline() == b"\n"
        client.post("/api/posts", json={"title": "live"})
        lines = [response.readline() for _ in range(4)]
        assert lines[0] == b"id: 1\n"
        assert lines[1] == b"event: post\n"
        assert b'"title": "live"' in lines[2]
        assert time.monotonic() - began < 2.5  # before the response ends
    finally:
        connection.close()
        server.should_exit = True
        thread.join(timeout=10)
