"""Flask-Caching on phial: SimpleCache, @cache.cached views, cache.memoize."""

from __future__ import annotations

import _harness  # installs the flask alias first
from flask import Blueprint, Flask, render_template_string, request
from flask_caching import Cache

app = Flask(__name__)
app.config.update(TESTING=True, CACHE_TYPE="SimpleCache", CACHE_DEFAULT_TIMEOUT=300)
cache = Cache(app)
calls: dict[str, int] = {"view": 0, "query": 0, "memo": 0, "filtered": 0, "bp": 0}
bp = Blueprint("bp", __name__, url_prefix="/bp")


@bp.route("/page")
@cache.cached(unless=lambda: request.args.get("fresh") == "1")
def bp_page() -> str:
    calls["bp"] += 1
    return f"bp {calls['bp']}"


app.register_blueprint(bp)


@app.route("/filtered")
@cache.cached(response_filter=lambda rv: not isinstance(rv, tuple) or rv[1] == 200)
def filtered() -> tuple[str, int]:
    calls["filtered"] += 1
    return "failed", 503


@app.route("/cached")
@cache.cached()
def cached_view() -> str:
    calls["view"] += 1
    return f"computed {calls['view']}"


@app.route("/by-query")
@cache.cached(query_string=True)
def by_query() -> str:
    calls["query"] += 1
    return f"q={request.args.get('q')} n={calls['query']}"


@cache.memoize()
def square(n: int) -> int:
    calls["memo"] += 1
    return n * n


@app.route("/square/<int:n>")
def square_view(n: int) -> str:
    return str(square(n))


def check_cached_view_runs_once() -> None:
    client = _harness.make_client(app)
    first = client.get("/cached")
    second = client.get("/cached")
    assert first.text == second.text == "computed 1", (first.text, second.text)
    assert calls["view"] == 1
    with app.app_context():
        cache.delete("view//cached")
    assert client.get("/cached").text == "computed 2"


def check_cached_by_query_string() -> None:
    client = _harness.make_client(app)
    assert client.get("/by-query?q=a").text == "q=a n=1"
    assert client.get("/by-query?q=a").text == "q=a n=1"
    assert client.get("/by-query?q=b").text == "q=b n=2"
    assert calls["query"] == 2


def check_unless_and_blueprint() -> None:
    client = _harness.make_client(app)
    assert client.get("/bp/page").text == "bp 1"
    assert client.get("/bp/page").text == "bp 1"
    assert client.get("/bp/page?fresh=1").text == "bp 2"
    assert client.get("/bp/page?fresh=1").text == "bp 3"


def check_response_filter() -> None:
    client = _harness.make_client(app)
    # A return value the filter refuses is never cached.
    assert client.get("/filtered").status_code == 503
    assert client.get("/filtered").status_code == 503
    assert calls["filtered"] == 2


def check_extension_registered() -> None:
    assert app.extensions["cache"][cache] is not None


def check_memoize() -> None:
    client = _harness.make_client(app)
    assert client.get("/square/4").text == "16"
    assert client.get("/square/4").text == "16"
    assert client.get("/square/5").text == "25"
    assert calls["memo"] == 2
    with app.app_context():
        cache.delete_memoized(square, 4)
        assert square(4) == 16
    assert calls["memo"] == 3


@app.route("/fragment")
def fragment() -> str:
    calls["fragment"] = calls.get("fragment", 0) + 1
    return render_template_string(
        "{% cache 60, 'frag' %}rendered {{ n }}{% endcache %}", n=calls["fragment"]
    )


def check_jinja_fragment_cache() -> None:
    client = _harness.make_client(app)
    assert client.get("/fragment").text == "rendered 1"
    assert client.get("/fragment").text == "rendered 1"
    assert calls["fragment"] == 2


def check_cache_api_in_app_context() -> None:
    with app.app_context():
        cache.set("key", {"a": 1})
        assert cache.get("key") == {"a": 1}
        cache.clear()
        assert cache.get("key") is None


if __name__ == "__main__":
    _harness.run(
        [
            check_cached_view_runs_once,
            check_cached_by_query_string,
            check_memoize,
            check_unless_and_blueprint,
            check_response_filter,
            check_extension_registered,
            check_jinja_fragment_cache,
            check_cache_api_in_app_context,
        ]
    )
