"""The app ``load_test.py`` serves under gunicorn (gthread) and uvicorn.

Every answer echoes the request's ``id`` and a digest of what the view received,
so the client can tell its own correct answer from anyone else's. ``/stats``
reports what the process saw: how many streamed downloads are still open and
whether a view ever ran with a body shorter than the client declared.
"""

from __future__ import annotations

import hashlib
import threading
import time
import typing as t

from phial import Phial, request

app = Phial(__name__)
app.config.update(
    MAX_CONTENT_LENGTH=4 * 1024 * 1024,
    BODY_TIMEOUT=2,  # ASGI: a body stalled for 2 s is answered 408
)

_lock = threading.Lock()
_stats = {"streams_open": 0, "streams_closed": 0, "short_bodies": 0, "served": 0}


def _count(key: str, delta: int = 1) -> None:
    with _lock:
        _stats[key] += delta


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@app.after_request
def served(response: t.Any) -> t.Any:
    _count("served")
    return response


@app.get("/health")
def health() -> str:
    return "ok"


@app.get("/stats")
def stats() -> dict[str, int]:
    with _lock:
        return dict(_stats)


@app.get("/echo")
def echo() -> dict[str, str]:
    return {"id": request.args["id"], "digest": _digest(request.args["payload"].encode())}


@app.post("/form")
def form() -> dict[str, str]:
    return {"id": request.form["id"], "digest": _digest(request.form["payload"].encode())}


@app.post("/json")
async def json_view() -> dict[str, str]:
    data = request.get_json()
    return {"id": data["id"], "digest": _digest(data["payload"].encode())}


@app.post("/upload")
def upload() -> dict[str, t.Any]:
    content = request.files["file"].read()
    if len(content) != int(request.form["size"]):
        _count("short_bodies")
    return {"id": request.form["id"], "digest": _digest(content)}


@app.post("/raw")
def raw() -> dict[str, str]:
    data = request.get_data()
    if len(data) != int(request.args["size"]):
        _count("short_bodies")
    return {"id": request.args["id"], "digest": _digest(data)}


@app.get("/download")
def download() -> t.Any:
    """``chunks`` chunks of 64 KiB, each a repeated byte derived from ``id``."""
    chunks = int(request.args["chunks"])
    fill = bytes([int(request.args["id"]) % 251]) * 65536
    delay = float(request.args.get("delay", 0))

    def generate() -> t.Iterator[bytes]:
        _count("streams_open")
        try:
            for _ in range(chunks):
                if delay:
                    time.sleep(delay)
                yield fill
        finally:
            _count("streams_open", -1)
            _count("streams_closed")

    return app.response_class(generate(), mimetype="application/octet-stream")
