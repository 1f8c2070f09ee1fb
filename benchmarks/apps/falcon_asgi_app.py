"""The benchmark scenarios written as a Falcon ASGI app (``falcon.asgi.App``).

The same resources as ``falcon_app.py`` with ``async def`` responders; the form body is
awaited with ``await req.get_media()``.
"""

from __future__ import annotations

import typing as t

import falcon
import falcon.asgi
import itsdangerous

from ._shared import (
    DECOY_COUNT,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    TEMPLATE_ITEMS,
    TEMPLATE_NAME,
    TEMPLATE_TITLE,
)
from .falcon_app import _jinja, _serializer


class Decoy:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, id: int) -> None:
        resp.text = f"decoy {id}"


class Plaintext:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "Hello, World!"


class Json:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"message": "Hello, World!"}


class UserPosts:
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: int
    ) -> None:
        page = req.get_param_as_int("page", default=1)
        resp.media = {"user_id": user_id, "page": page}


class Form:
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = await req.get_media()


class Template:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        template = _jinja.get_template(TEMPLATE_NAME)
        resp.content_type = falcon.MEDIA_HTML
        resp.text = template.render(title=TEMPLATE_TITLE, items=TEMPLATE_ITEMS)


class Session:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
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


app = falcon.asgi.App()

for _i in range(DECOY_COUNT):
    app.add_route(f"/decoy{_i}/{{id:int}}", Decoy())

app.add_route("/plaintext", Plaintext())
app.add_route("/json", Json())
app.add_route("/users/{user_id:int}/posts", UserPosts())
app.add_route("/form", Form())
app.add_route("/template", Template())
app.add_route("/session", Session())
