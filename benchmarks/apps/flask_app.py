"""The benchmark scenarios written as an ordinary Flask app."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request, session

from ._shared import DECOY_COUNT, SECRET_KEY, TEMPLATE_ITEMS, TEMPLATE_NAME, TEMPLATE_TITLE

app = Flask(__name__)
app.secret_key = SECRET_KEY


def decoy(id: int) -> str:
    return f"decoy {id}"


for _i in range(DECOY_COUNT):
    app.add_url_rule(f"/decoy{_i}/<int:id>", f"decoy{_i}", decoy)


@app.get("/plaintext")
def plaintext() -> tuple[str, int, dict[str, str]]:
    return "Hello, World!", 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.get("/json")
def json() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/users/<int:user_id>/posts")
def user_posts(user_id: int):  # returns the Response jsonify builds
    page = request.args.get("page", 1, type=int)
    return jsonify(user_id=user_id, page=page)


@app.post("/form")
def form() -> dict[str, str]:
    return request.form.to_dict()


@app.get("/template")
def template() -> str:
    return render_template(TEMPLATE_NAME, title=TEMPLATE_TITLE, items=TEMPLATE_ITEMS)


@app.get("/session")
def counter() -> dict[str, int]:
    session["n"] = session.get("n", 0) + 1
    return {"n": session["n"]}
