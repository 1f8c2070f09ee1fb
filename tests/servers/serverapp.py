"""The small app tests/test_servers.py serves with real servers.

``SERVER_TEST_MARKER`` names a file the lifespan hooks write to.
"""

from __future__ import annotations

import hashlib
import os
import typing as t

from phial import Phial, request
from phial.globals import websocket

app = Phial(__name__)


@app.before_serving
async def started() -> None:
    marker = os.environ.get("SERVER_TEST_MARKER")
    if marker:
        with open(marker, "a") as f:
            f.write("started\n")


@app.after_serving
def stopped() -> None:
    marker = os.environ.get("SERVER_TEST_MARKER")
    if marker:
        with open(marker, "a") as f:
            f.write("stopped\n")


@app.post("/json")
def echo_json() -> dict[str, t.Any]:
    return {"got": request.get_json(), "method": request.method}


@app.post("/form")
async def form() -> dict[str, t.Any]:
    return {"name": request.form["name"], "tags": request.form.getlist("tag")}


@app.post("/upload")
def upload() -> dict[str, t.Any]:
    data = request.get_data()
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


@app.post("/upload-stream")
async def upload_stream() -> dict[str, t.Any]:
    digest = hashlib.sha256()
    size = 0
    async for chunk in request.iter_body():
        digest.update(chunk)
        size += len(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


@app.post("/background")
def background() -> str:
    async def note(text: str) -> None:
        # Written aside and renamed: the test polls for the file and must never
        # see it created but still empty.
        target = os.environ["SERVER_TEST_MARKER"] + ".bg"
        with open(target + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(target + ".tmp", target)

    app.add_background_task(note, request.get_data(as_text=True))
    return "queued"


@app.get("/stream")
def stream() -> t.Any:
    def chunks() -> t.Iterator[str]:
        for i in range(5):
            yield f"chunk {i}\n"

    return app.response_class(chunks(), mimetype="text/plain")


@app.websocket("/ws")
async def echo_ws() -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message == "bye":
            await websocket.close(1000)
            return
        await websocket.send(message if isinstance(message, bytes) else f"echo: {message}")
