"""A factory named ``make_app``."""

from phial import Phial


def make_app() -> Phial:
    return Phial("made_app")
