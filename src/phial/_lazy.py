"""Class attributes whose value is imported on first access.

Some of Flask's class attributes default to a class from a heavy library:
``Phial.jinja_environment`` is :class:`phial.templating.Environment`, a Jinja2
subclass. Assigning it in the class body would import Jinja2 with phial; a
:func:`lazy_attribute` imports it when the attribute is first read instead.
"""

from __future__ import annotations

import importlib
import typing as t


class _LazyAttribute:
    """Imports ``module.name`` when first read, then puts the value in its place."""

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name
        self.owner: type | None = None
        self.attr = name

    def __set_name__(self, owner: type, attr: str) -> None:
        self.owner = owner
        self.attr = attr

    def __get__(self, instance: object, owner: type | None = None) -> t.Any:
        value = getattr(importlib.import_module(self.module), self.name)
        if self.owner is not None:
            # Replace the descriptor on the class that declared it: later reads
            # (subclasses' included) are plain attribute lookups.
            setattr(self.owner, self.attr, value)
        return value

    def __repr__(self) -> str:
        return f"<lazy {self.module}.{self.name}>"


def lazy_attribute(module: str, name: str) -> t.Any:
    """A class attribute whose value is ``module.name``, imported on first read.

    A subclass or an instance may still assign its own value as usual (the
    descriptor defines no ``__set__``).
    """
    return _LazyAttribute(module, name)
