"""The benchmark scenarios for phial on ASGI: ``phial_app.py`` with ``async def`` views.

The peers on ASGI (Starlette, Falcon's ASGI app, Quart) all run ``async def`` handlers on
the event loop, so phial does too; sync views would run in phial's thread pool instead
(``asgi_bench.py --frameworks phial-sync`` times that with ``phial_app.py`` unchanged).
Sync helpers (``request.form``, ``render_template``) are called as in Flask: phial
receives small bodies before an async view runs.
"""

from __future__ import annotations

from phial import Phial, jsonify, render_template, request, session

from ._shared import DECOY_COUNT, SECRET_KEY, TEMPLATE_ITEMS, TEMPLATE_NAME, TEMPLATE_TITLE

app = Phial(__name__)
app.secret_key = SECRET_KEY


async def decoy(id: int) -> str:
    return f"decoy {id}"


for _i in range(DECOY_COUNT):
    app.add_url_rule(f"/decoy{_i}/<int:id>", f"decoy{_i}", decoy)


@app.get("/plaintext")
async def plaintext() -> tuple[str, int, dict[str, str]]:
    return "Hello, World!", 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.get("/json")
async def json() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/users/<int:user_id>/posts")
async def user_posts(user_id: int):  # returns the Response jsonify builds
    page = request.args.get("page", 1, type=int)
    return jsonify(user_id=user_id, page=page)


@app.post("/form")
async def form() -> dict[str, str]:
    return request.form.to_dict()


@app.get("/template")
async def template() -> str:
    return render_template(TEMPLATE_NAME, title=TEMPLATE_TITLE, items=TEMPLATE_ITEMS)


@app.get("/session")
async def counter() -> dict[str, int]:
    session["n"] = session.get("n", 0) + 1
    return {"n": session["n"]}
