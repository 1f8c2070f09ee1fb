"""The benchmark scenarios written as a Starlette app (async endpoints, its own middleware).

Sessions use Starlette's ``SessionMiddleware`` (itsdangerous-signed JSON cookie, the
framework's built-in equivalent of Flask's session); templates use ``Jinja2Templates``.
Form parsing needs ``python-multipart``, which Starlette requires for any form body.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

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

templates = Jinja2Templates(directory=TEMPLATES_DIR)


async def decoy(request: Request) -> Response:
    return PlainTextResponse(f"decoy {request.path_params['id']}")


async def plaintext(request: Request) -> Response:
    return PlainTextResponse("Hello, World!")


async def json(request: Request) -> Response:
    return JSONResponse({"message": "Hello, World!"})


async def user_posts(request: Request) -> Response:
    page = int(request.query_params.get("page", 1))
    return JSONResponse({"user_id": request.path_params["user_id"], "page": page})


async def form(request: Request) -> Response:
    data = await request.form()
    return JSONResponse(dict(data))


async def template(request: Request) -> Response:
    return templates.TemplateResponse(
        request, TEMPLATE_NAME, {"title": TEMPLATE_TITLE, "items": TEMPLATE_ITEMS}
    )


async def counter(request: Request) -> Response:
    request.session["n"] = request.session.get("n", 0) + 1
    return JSONResponse({"n": request.session["n"]})


routes = [Route(f"/decoy{i}/{{id:int}}", decoy) for i in range(DECOY_COUNT)]
routes += [
    Route("/plaintext", plaintext),
    Route("/json", json),
    Route("/users/{user_id:int}/posts", user_posts),
    Route("/form", form, methods=["POST"]),
    Route("/template", template),
    Route("/session", counter),
]

app = Starlette(
    routes=routes,
    middleware=[
        Middleware(
            SessionMiddleware,
            secret_key=SECRET_KEY,
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_MAX_AGE,
        )
    ],
)
