"""A small phial app: the README's first command runs it on http://127.0.0.1:5000.

It is written exactly as a Flask app would be, with the import changed.
"""

from __future__ import annotations

from phial import Phial, jsonify, request, url_for

app = Phial(__name__)


@app.route("/")
def index() -> str:
    """A plain page linking to the other routes."""
    return (
        "<h1>Hello from phial</h1>"
        f'<p><a href="{url_for("greet", name="world")}">greet</a> · '
        f'<a href="{url_for("api_status")}">status JSON</a></p>'
    )


@app.route("/hello/<name>")
def greet(name: str) -> str:
    """Greet ``name`` (autoescaped by returning plain text)."""
    return f"Hello, {name}!"


@app.get("/api/status")
def api_status() -> object:
    """A JSON endpoint echoing the query string."""
    return jsonify(ok=True, args=request.args.to_dict())


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)
