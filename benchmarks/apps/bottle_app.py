"""The benchmark scenarios written as a Bottle app (an explicit ``Bottle()`` instance)."""

from __future__ import annotations

import hashlib
import typing as t

import bottle
import itsdangerous
import jinja2
from bottle import request, response

from ._shared import (
    DECOY_COUNT,
    SECRET_KEY,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    TEMPLATE_ITEMS,
    TEMPLATE_NAME,
    TEMPLATE_TITLE,
    TEMPLATES_DIR,
)

# Autoescaping on, no reload checks: what Flask's environment does outside debug mode.
_jinja = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True, auto_reload=False
)

# Built once, signed the way Flask signs its session cookie (HMAC key derivation, SHA-1).
_serializer = itsdangerous.URLSafeTimedSerializer(
    SECRET_KEY,
    salt="cookie-session",
    signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
)

app = bottle.Bottle()


def decoy(id: int) -> str:
    return f"decoy {id}"


for _i in range(DECOY_COUNT):
    app.route(f"/decoy{_i}/<id:int>", callback=decoy)


@app.get("/plaintext")
def plaintext() -> str:
    response.content_type = "text/plain; charset=utf-8"
    return "Hello, World!"


@app.get("/json")
def json() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/users/<user_id:int>/posts")
def user_posts(user_id: int) -> dict[str, int]:
    page = int(request.query.get("page", 1))
    return {"user_id": user_id, "page": page}


@app.post("/form")
def form() -> dict[str, str]:
    # Bottle keeps form values as latin-1 "native strings"; decode() gives real text.
    return dict(request.forms.decode())


@app.get("/template")
def template() -> str:
    return _jinja.get_template(TEMPLATE_NAME).render(title=TEMPLATE_TITLE, items=TEMPLATE_ITEMS)


@app.get("/session")
def counter() -> dict[str, int]:
    data: dict[str, t.Any] = {}
    token = request.get_cookie(SESSION_COOKIE)
    if token:
        try:
            data = _serializer.loads(token, max_age=SESSION_MAX_AGE)
        except itsdangerous.BadSignature:
            data = {}
    data["n"] = data.get("n", 0) + 1
    response.set_cookie(SESSION_COOKIE, _serializer.dumps(data), path="/", httponly=True)
    return {"n": data["n"]}
