"""Serve the blog on http://127.0.0.1:5000: ``python examples/blog/run.py``.

Running a script puts its folder on ``sys.path``, so the ``blog`` package
next to this file imports from anywhere.
"""

from __future__ import annotations

from blog import create_app

if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=5000)
