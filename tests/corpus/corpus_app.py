"""The app the raw-request corpus is sent to, served by real servers.

Small limits make the limit cases cheap to send; see ``cases.py``.
"""

from __future__ import annotations

import os
import typing as t

from phial import Phial, request, session

app = Phial("corpus_app", root_path=os.path.dirname(os.path.abspath(__file__)))
app.config.update(
    SECRET_KEY="corpus secret",
    MAX_CONTENT_LENGTH=100_000,
    MAX_FORM_MEMORY_SIZE=1_000,
    MAX_FORM_PARTS=10,
)


@app.route("/")
def index() -> str:
    return "index"


@app.route("/x")
def x() -> str:
    return "x"


@app.route("/n/<int:n>")
def number(n: int) -> str:
    return str(n)


@app.route("/dir/")
def directory() -> str:
    return "dir"


@app.post("/echo")
def echo() -> str:
    return f"len={len(request.get_data())}"


@app.post("/form")
def form() -> t.Any:
    return {
        "form": request.form.to_dict(flat=False),
        "files": sorted(request.files),
    }


@app.post("/json")
def json_view() -> t.Any:
    return {"json": request.get_json()}


@app.route("/session")
def session_view() -> t.Any:
    return {"session": dict(session)}


@app.route("/header")
def header() -> t.Any:
    # Echoing a query value into a header: the setter must refuse line breaks.
    return "header", {"X-Echo": request.args.get("v", "")}


@app.route("/boom")
def boom() -> str:
    raise RuntimeError("corpus secret detail")


@app.route("/stream")
def stream() -> t.Any:
    def generate() -> t.Iterator[bytes]:
        for _ in range(10_000):
            yield b"x" * 1024

    return generate()
