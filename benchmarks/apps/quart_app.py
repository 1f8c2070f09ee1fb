"""The benchmark scenarios written as a Quart app: the Flask app with ``async def`` views.

Quart's request body, form and templates are awaited (``await request.form``,
``await render_template``); everything else reads as in ``flask_app.py``.
"""

from __future__ import annotations

from quart import Quart, jsonify, render_template, request, session

from ._shared import DECOY_COUNT, SECRET_KEY, TEMPLATE_ITEMS, TEMPLATE_NAME, TEMPLATE_TITLE

app = Quart(__name__)
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
    return (await request.form).to_dict()


@app.get("/template")
async def template() -> str:
    return await render_template(TEMPLATE_NAME, title=TEMPLATE_TITLE, items=TEMPLATE_ITEMS)


@app.get("/session")
async def counter() -> dict[str, int]:
    session["n"] = session.get("n", 0) + 1
    return {"n": session["n"]}
