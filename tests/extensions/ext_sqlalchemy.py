"""Flask-SQLAlchemy on phial: a model, create_all, get_or_404, paginate."""

from __future__ import annotations

import os
import tempfile

import _harness  # installs the flask alias first
from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.record_queries import get_recorded_queries
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Item(db.Model):  # type: ignore[name-defined]
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


def create_app(db_uri: str) -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, SQLALCHEMY_DATABASE_URI=db_uri, SQLALCHEMY_RECORD_QUERIES=True)
    db.init_app(app)

    @app.route("/items/<int:item_id>")
    def item(item_id: int) -> dict[str, object]:
        found = db.get_or_404(Item, item_id)
        return {"id": found.id, "name": found.name}

    @app.route("/items")
    def items() -> object:
        page = db.paginate(db.select(Item).order_by(Item.id), per_page=3)
        return jsonify(
            names=[i.name for i in page.items],
            page=page.page,
            pages=page.pages,
            total=page.total,
            has_next=page.has_next,
            args=request.args.to_dict(),
        )

    @app.route("/items", methods=["POST"])
    def add_item() -> tuple[dict[str, object], int]:
        new = Item(name=request.get_json()["name"])
        db.session.add(new)
        db.session.commit()
        return {"id": new.id}, 201

    @app.route("/legacy/<int:item_id>")
    def legacy(item_id: int) -> str:
        # The legacy Model.query API and the first_or_404 / one_or_404 helpers.
        item = Item.query.filter_by(id=item_id).first_or_404()
        first = db.first_or_404(db.select(Item).where(Item.name == item.name))
        return first.name

    @app.route("/queries")
    def queries() -> str:
        db.session.execute(db.select(Item)).all()
        return str(len(get_recorded_queries()))

    with app.app_context():
        db.create_all()
    return app


def _fill(app: Flask, count: int) -> None:
    with app.app_context():
        db.session.add_all(Item(name=f"item {i}") for i in range(1, count + 1))
        db.session.commit()


def check_get_or_404(app: Flask) -> None:
    client = _harness.make_client(app)
    r = client.get("/items/1")
    assert r.status_code == 200 and r.json == {"id": 1, "name": "item 1"}, r.data
    r = client.get("/items/999")
    assert r.status_code == 404, r.status_code


def check_paginate(app: Flask) -> None:
    client = _harness.make_client(app)
    r = client.get("/items")
    assert r.json["names"] == ["item 1", "item 2", "item 3"], r.json
    assert r.json["page"] == 1 and r.json["pages"] == 3 and r.json["total"] == 7
    r = client.get("/items?page=3")
    assert r.json["names"] == ["item 7"] and not r.json["has_next"], r.json
    # paginate reads ?page from the request and 404s past the end.
    assert client.get("/items?page=9").status_code == 404
    # ... and for a page that is not an int.
    assert client.get("/items?page=abc").status_code == 404


def check_legacy_query_and_helpers(app: Flask) -> None:
    client = _harness.make_client(app)
    assert client.get("/legacy/2").text == "item 2"
    assert client.get("/legacy/404").status_code == 404


def check_recorded_queries(app: Flask) -> None:
    client = _harness.make_client(app)
    assert client.get("/queries").text == "1"


def check_shell_context(app: Flask) -> None:
    with app.app_context():
        context = app.make_shell_context()
    assert context["db"] is db and context["Item"] is Item, context


def check_session_is_scoped_to_the_app_context(app: Flask) -> None:
    client = _harness.make_client(app)
    r = client.post("/items", json={"name": "posted"})
    assert r.status_code == 201, r.data
    new_id = r.json["id"]
    assert client.get(f"/items/{new_id}").json["name"] == "posted"
    with app.app_context():
        assert db.session.get(Item, new_id).name == "posted"
        first = db.session()
    with app.app_context():
        # A new app context gets a new session: teardown removed the old one.
        assert db.session() is not first


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # In memory, and a file (a second app on the same extension object).
        for uri in ("sqlite://", "sqlite:///" + os.path.join(tmp, "app.db")):
            app = create_app(uri)
            _fill(app, 7)
            checks = (
                check_get_or_404,
                check_paginate,
                check_legacy_query_and_helpers,
                check_recorded_queries,
                check_shell_context,
                check_session_is_scoped_to_the_app_context,
            )
            for check in checks:
                check(app)
                print(f"ok {check.__name__} {uri}", flush=True)
            with app.app_context():
                db.engine.dispose()
    _harness.run([])


if __name__ == "__main__":
    main()
