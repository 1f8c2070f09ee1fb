"""Fixtures for the example blog: an app on a fresh database per test."""

from __future__ import annotations

import typing as t

import pytest
from blog import create_app

from phial import Phial

if t.TYPE_CHECKING:
    from pathlib import Path

    from phial.testing import FlaskClient


@pytest.fixture
def app(tmp_path: Path) -> Phial:
    """The blog on its own database, with a fast live feed."""
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE": str(tmp_path / "blog.sqlite"),
            "FEED_POLL_INTERVAL": 0.01,
            "FEED_TIMEOUT": 0.2,
        }
    )


#: The protocols every blog test runs over: ``app.test_client(protocol=...)``.
CLIENT_PROTOCOLS = ["wsgi", "asgi"]


@pytest.fixture(params=CLIENT_PROTOCOLS)
def client(app: Phial, request: pytest.FixtureRequest) -> FlaskClient:
    """A test client of the blog."""
    return app.test_client(protocol=request.param)


class Auth:
    """Register and log in through the real forms."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def register(self, username: str = "ann", password: str = "password1") -> t.Any:
        return self.client.post("/auth/register", data={"username": username, "password": password})

    def login(self, username: str = "ann", password: str = "password1") -> t.Any:
        return self.client.post("/auth/login", data={"username": username, "password": password})

    def signup(self, username: str = "ann", password: str = "password1") -> t.Any:
        self.register(username, password)
        return self.login(username, password)

    def logout(self) -> t.Any:
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    """Helpers that register, log in and log out with :func:`client`."""
    return Auth(client)
