"""The benchmark scenarios written as a Falcon app (resources, ``resp.media``)."""

from __future__ import annotations

import hashlib
import typing as t

import falcon
import itsdangerous
import jinja2

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


class Decoy:
    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        resp.text = f"decoy {id}"


class Plaintext:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "Hello, World!"


class Json:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"message": "Hello, World!"}


class UserPosts:
    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: int) -> None:
        page = req.get_param_as_int("page", default=1)
        resp.media = {"user_id": user_id, "page": page}


class Form:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = req.get_media()


class Template:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        template = _jinja.get_template(TEMPLATE_NAME)
        resp.content_type = falcon.MEDIA_HTML
        resp.text = template.render(title=TEMPLATE_TITLE, items=TEMPLATE_ITEMS)


class Session:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        data: dict[str, t.Any] = {}
        token = req.cookies.get(SESSION_COOKIE)
        if token:
            try:
                data = _serializer.loads(token, max_age=SESSION_MAX_AGE)
            except itsdangerous.BadSignature:
                data = {}
        data["n"] = data.get("n", 0) + 1
        resp.set_cookie(
            SESSION_COOKIE, _serializer.dumps(data), path="/", secure=False, http_only=True
        )
        resp.media = {"n": data["n"]}


app = falcon.App()

for _i in range(DECOY_COUNT):
    app.add_route(f"/decoy{_i}/{{id:int}}", Decoy())

app.add_route("/plaintext", Plaintext())
app.add_route("/json", Json())
app.add_route("/users/{user_id:int}/posts", UserPosts())
app.add_route("/form", Form())
app.add_route("/template", Template())
app.add_route("/session", Session())
