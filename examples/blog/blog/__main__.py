"""``python -m blog`` (from ``examples/blog``): serve the blog on http://127.0.0.1:5000."""

from __future__ import annotations

from . import create_app

if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=5000)
