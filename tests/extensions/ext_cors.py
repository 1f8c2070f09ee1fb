"""Flask-CORS on phial: preflight, simple requests, headers on error responses."""

from __future__ import annotations

import _harness  # installs the flask alias first
from flask import Blueprint, Flask, abort
from flask_cors import CORS, cross_origin

app = Flask(__name__)
app.config.update(TESTING=True)
CORS(
    app,
    resources={r"/api/*": {"origins": ["https://good.example", "https://other.example"]}},
    supports_credentials=True,
)

ORIGIN = {"Origin": "https://good.example"}


@app.route("/api/items", methods=["GET", "PUT"])
def items() -> dict[str, str]:
    return {"ok": "yes"}


@app.route("/api/missing")
def missing() -> str:
    abort(404)


@app.route("/api/boom")
def boom() -> str:
    raise RuntimeError("boom")


@app.route("/api/teapot")
def teapot() -> tuple[str, int]:
    return "short and stout", 418


@app.route("/open")
@cross_origin()
def open_view() -> str:
    return "open"


bp = Blueprint("public", __name__, url_prefix="/public")
CORS(bp, origins="*", send_wildcard=True)


@bp.route("/data")
def bp_data() -> str:
    return "public data"


app.register_blueprint(bp)


@app.route("/plain")
def plain() -> str:
    return "plain"


def check_preflight() -> None:
    client = _harness.make_client(app)
    r = client.options(
        "/api/items",
        headers={
            **ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "X-Custom",
        },
    )
    assert r.status_code == 200, r.status_code
    assert r.headers["Access-Control-Allow-Origin"] == "https://good.example", r.headers
    assert "PUT" in r.headers["Access-Control-Allow-Methods"]
    assert r.headers["Access-Control-Allow-Headers"].lower() == "x-custom"
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in r.headers.get("Vary", "")


def check_simple_request() -> None:
    client = _harness.make_client(app)
    r = client.get("/api/items", headers=ORIGIN)
    assert r.json == {"ok": "yes"}
    assert r.headers["Access-Control-Allow-Origin"] == "https://good.example"
    r = client.get("/api/items", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers
    r = client.get("/plain", headers=ORIGIN)
    assert "Access-Control-Allow-Origin" not in r.headers


def check_decorator() -> None:
    client = _harness.make_client(app)
    r = client.get("/open", headers={"Origin": "https://any.example"})
    assert r.text == "open"
    assert r.headers["Access-Control-Allow-Origin"] == "https://any.example", r.headers
    r = client.options(
        "/open", headers={"Origin": "https://any.example", "Access-Control-Request-Method": "GET"}
    )
    assert r.headers["Access-Control-Allow-Origin"] == "https://any.example", r.headers


def check_blueprint() -> None:
    client = _harness.make_client(app)
    r = client.get("/public/data", headers={"Origin": "https://x.example"})
    assert r.text == "public data"
    assert r.headers["Access-Control-Allow-Origin"] == "*", r.headers
    r = client.get("/plain", headers={"Origin": "https://x.example"})
    assert "Access-Control-Allow-Origin" not in r.headers


def check_headers_on_error_responses() -> None:
    # Flask-CORS wraps these two on the app instance; phial must call the wrappers.
    assert "handle_exception" in vars(app) and "handle_user_exception" in vars(app)
    client = _harness.make_client(app)
    r = client.get("/api/missing", headers=ORIGIN)
    assert r.status_code == 404
    assert r.headers["Access-Control-Allow-Origin"] == "https://good.example", r.headers
    r = client.get("/api/teapot", headers=ORIGIN)
    assert r.status_code == 418
    assert r.headers["Access-Control-Allow-Origin"] == "https://good.example"
    # An unhandled exception: the 500 response carries the headers too.
    app.testing = False
    app.logger.disabled = True  # the traceback is expected; keep the output readable
    try:
        r = client.get("/api/boom", headers=ORIGIN)
    finally:
        app.testing = True
        app.logger.disabled = False
    assert r.status_code == 500, r.status_code
    assert r.headers["Access-Control-Allow-Origin"] == "https://good.example", r.headers


def check_no_route_gets_headers() -> None:
    client = _harness.make_client(app)
    r = client.get("/api/nowhere", headers=ORIGIN)
    assert r.status_code == 404
    assert r.headers["Access-Control-Allow-Origin"] == "https://good.example", r.headers


if __name__ == "__main__":
    _harness.run(
        [
            check_preflight,
            check_simple_request,
            check_decorator,
            check_blueprint,
            check_headers_on_error_responses,
            check_no_route_gets_headers,
        ]
    )
