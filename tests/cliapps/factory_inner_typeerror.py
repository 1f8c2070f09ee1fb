"""A factory that fails with a TypeError of its own."""

from phial import Phial


def create_app() -> Phial:
    return Phial(1 + "x")  # type: ignore[operator]  # the error under test
