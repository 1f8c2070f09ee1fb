"""App factories: ``create_app`` without arguments, and others with them."""

from phial import Phial


def create_app() -> Phial:
    return Phial("factory_app")


def create_app2(foo: str, bar: str) -> Phial:
    return Phial(f"factory_{foo}_{bar}")


def no_app() -> None:
    return None


not_a_function = 42
