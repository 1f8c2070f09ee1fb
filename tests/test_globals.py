"""The context proxies: Werkzeug LocalProxy objects whose attribute and item
access skip Werkzeug's lookup machinery, with the same results."""

from __future__ import annotations

import copy

import pytest
from werkzeug.local import LocalProxy

import phial.globals
from phial import Phial, Request, current_app, g, request, session
from phial.globals import app_ctx, request_ctx


def test_the_proxies_are_local_proxies_of_the_current_objects(app: Phial) -> None:
    with app.test_request_context("/?page=3") as ctx:
        for proxy in (request, session, g, current_app, app_ctx, request_ctx):
            assert isinstance(proxy, LocalProxy)
        assert request._get_current_object() is ctx.request  # type: ignore[attr-defined]
        assert request_ctx._get_current_object() is ctx  # type: ignore[attr-defined]
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        assert isinstance(request, Request)
        assert request.__class__ is Request
        assert request.args["page"] == "3"
        assert request.method == "GET"


def test_private_and_dunder_names_reach_the_proxied_object(app: Phial) -> None:
    with app.test_request_context("/"):
        g._private = 1
        assert g._private == 1
        assert g.__dict__["_private"] == 1
        assert "_private" in g
        assert type(copy.copy(request)) is Request


def test_item_access_goes_to_the_proxied_object(app: Phial) -> None:
    app.secret_key = "k"
    with app.test_request_context("/"):
        session["n"] = 1
        assert session["n"] == 1
        assert session.get("n") == 1
        assert session.modified
        del session["n"]
        assert "n" not in session
        with pytest.raises(KeyError):
            session["missing"]


@pytest.mark.parametrize("name", ["request", "session", "request_ctx"])
def test_outside_a_request_every_access_says_so(name: str) -> None:
    # (By name: pytest's own look at a parameter would touch the unbound proxy.)
    proxy = getattr(phial.globals, name)
    with pytest.raises(RuntimeError, match="outside of request context"):
        proxy.anything  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(RuntimeError, match="outside of request context"):
        proxy["key"]  # type: ignore[index]
    with pytest.raises(RuntimeError, match="outside of request context"):
        proxy["key"] = 1  # type: ignore[index]
    assert not proxy


@pytest.mark.parametrize("name", ["current_app", "g"])
def test_outside_an_app_context_every_access_says_so(name: str) -> None:
    proxy = getattr(phial.globals, name)
    with pytest.raises(RuntimeError, match="outside of application context"):
        proxy.anything  # type: ignore[attr-defined]  # noqa: B018
    assert not proxy


def test_a_missing_attribute_is_an_attribute_error(app: Phial) -> None:
    with app.test_request_context("/"):
        assert not hasattr(request, "no_such_attribute")
        assert getattr(g, "missing", "default") == "default"


def test_setting_and_deleting_attributes_go_to_the_proxied_object(app: Phial) -> None:
    with app.test_request_context("/") as ctx:
        g.user = "ada"
        assert ctx.request is request._get_current_object()  # type: ignore[attr-defined]
        assert app_ctx.g.__dict__ == {"user": "ada"}
        del g.user
        assert "user" not in g
        with pytest.raises(AttributeError):
            del g.user
        g.__marker__ = 1  # a dunder name: through Werkzeug's proxy, to the same object
        assert app_ctx.g.__dict__ == {"__marker__": 1}
        del g.__marker__
        assert app_ctx.g.__dict__ == {}
        request.tag = "t"  # type: ignore[attr-defined]  # a plain attribute on the request
        assert ctx.request.tag == "t"  # type: ignore[attr-defined]
        del request.tag  # type: ignore[attr-defined]
        assert not hasattr(ctx.request, "tag")


@pytest.mark.parametrize("name", ["g", "request"])
def test_setting_an_attribute_outside_a_context_says_so(name: str) -> None:
    proxy = getattr(phial.globals, name)
    with pytest.raises(RuntimeError, match="outside of"):
        proxy.value = 1
    with pytest.raises(RuntimeError, match="outside of"):
        del proxy.value
