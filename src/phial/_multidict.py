"""The :class:`~werkzeug.datastructures.ImmutableMultiDict` phial builds for
``request.args`` and ``request.form``.

It is a subclass of Werkzeug's with the same name, so it prints, compares,
copies and pickles as Werkzeug's does (a pickle names Werkzeug's class, so it
loads without phial) and passes every ``isinstance`` check. Only two methods
that views call on every request are quicker: :meth:`~ImmutableMultiDict.get`
and :meth:`~ImmutableMultiDict.to_dict` read the stored lists directly instead
of going through ``__getitem__`` and ``items()``; what they return is what
Werkzeug's return.

:func:`from_tokens` builds one from a parser's output without Werkzeug's
constructor, which adds the fields one at a time.
"""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import ImmutableMultiDict as _Base

_K = t.TypeVar("_K")
_V = t.TypeVar("_V")

# Unbound dict methods: the class refuses its own ``update``/``setdefault``
# (it is immutable), and these skip a lookup through its MRO.
_new: t.Callable[[type], t.Any] = dict.__new__
_update: t.Callable[[t.Any, t.Any], None] = dict.update
_items: t.Callable[[t.Any], t.Iterable[tuple[t.Any, list[t.Any]]]] = dict.items
_lookup: t.Callable[[t.Any, t.Any], list[t.Any] | None] = dict.get
_setitem: t.Callable[[t.Any, t.Any, t.Any], None] = dict.__setitem__


class ImmutableMultiDict(_Base[_K, _V]):
    """Werkzeug's :class:`~werkzeug.datastructures.ImmutableMultiDict`, with
    quicker ``get`` and ``to_dict``."""

    __slots__ = ()

    # One signature for the base's overloads: users see ``request.args`` and
    # ``request.form`` typed as Werkzeug's classes, never this one.
    def get(  # type: ignore[override]  # see above
        self, key: t.Any, default: t.Any = None, type: t.Callable[[t.Any], t.Any] | None = None
    ) -> t.Any:
        """The first value for ``key``, converted by ``type`` if given;
        ``default`` if there is none or ``type`` raises ValueError or TypeError."""
        values = _lookup(self, key)
        if not values:
            return default
        if type is None:
            return values[0]
        try:
            return type(values[0])
        except (ValueError, TypeError):
            return default

    def to_dict(self, flat: bool = True) -> t.Any:
        """A plain dict: each key's first value, or with ``flat=False`` a copy
        of each key's list of values."""
        if flat:
            # A loop, not a comprehension: on Python 3.11 a comprehension is
            # a function call of its own, which costs more here than the loop.
            rv = {}
            for key, values in _items(self):
                rv[key] = values[0]
            return rv
        return super().to_dict(flat)

    def __reduce_ex__(self, protocol: t.SupportsIndex) -> tuple[t.Any, ...]:
        # Pickled as Werkzeug's class, so a pickle loads without phial.
        return _Base, (list(self.items(multi=True)),)


def from_tokens(tokens: list[str]) -> ImmutableMultiDict[str, str]:
    """The fields of ``tokens``, names and values alternately, in order (what
    ``ImmutableMultiDict(pairs)`` holds)."""
    rv: ImmutableMultiDict[str, str] = _new(ImmutableMultiDict)
    if not tokens:
        return rv
    pairs = iter(tokens)
    # zip() without ``strict=``: the keyword argument alone doubles its cost
    # here, and ``tokens`` has an even length by construction. A loop, not a
    # comprehension: on Python 3.11 that is a function call of its own.
    lists: dict[str, list[str]] = {}
    for name, value in zip(pairs, pairs):  # noqa: B905
        lists[name] = [value]
    if len(lists) * 2 != len(tokens):
        # A name came more than once: its later values replaced the first.
        lists = {}
        pairs = iter(tokens)
        for name, value in zip(pairs, pairs, strict=False):
            if name in lists:
                lists[name].append(value)
            else:
                lists[name] = [value]
    _update(rv, lists)
    return rv


def one_field(name: str, value: str) -> ImmutableMultiDict[str, str]:
    """The one field ``name=value``."""
    rv: ImmutableMultiDict[str, str] = _new(ImmutableMultiDict)
    _setitem(rv, name, [value])
    return rv
