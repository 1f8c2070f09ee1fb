"""A ``create_app`` factory that requires an argument."""

from phial import Phial


def create_app(config: str) -> Phial:
    return Phial(f"app_{config}")
