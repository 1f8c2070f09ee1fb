"""The ``admin`` module: a package of its own, with ``static/`` and ``templates/``."""

from __future__ import annotations

from phial import Module, request

admin = Module(__name__, url_prefix="/admin")


@admin.route("/")
def index() -> str:
    return f"admin index ({request.module})"
