"""phial's ImmutableMultiDict behaves as Werkzeug's, only quicker."""

from __future__ import annotations

import copy
import pickle
import typing as t

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict as Werkzeugs
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequestKeyError

from phial._multidict import ImmutableMultiDict, from_tokens, one_field

PAIRS = [("a", "1"), ("b", "x"), ("a", "2"), ("", ""), ("c", "3.5")]


def both(pairs: list[tuple[str, str]]) -> tuple[ImmutableMultiDict[str, str], Werkzeugs[str, str]]:
    return from_tokens([part for pair in pairs for part in pair]), Werkzeugs(pairs)


def test_looks_like_werkzeugs() -> None:
    ours, theirs = both(PAIRS)
    assert isinstance(ours, Werkzeugs)
    assert isinstance(ours, MultiDict)
    assert type(ours).__name__ == "ImmutableMultiDict"
    assert repr(ours) == repr(theirs)
    assert ours == theirs
    assert hash(ours) == hash(theirs)
    assert list(ours.lists()) == list(theirs.lists())
    assert ours.getlist("a") == ["1", "2"]
    assert ours["a"] == "1"
    with pytest.raises(BadRequestKeyError):
        ours["missing"]


def test_is_immutable() -> None:
    ours, _ = both(PAIRS)
    with pytest.raises(TypeError):
        ours["a"] = "3"
    with pytest.raises(TypeError):
        ours.add("a", "3")
    with pytest.raises(TypeError):
        ours.update({"a": "3"})
    mutable = ours.copy()
    assert type(mutable) is MultiDict
    mutable.add("a", "3")
    assert ours.getlist("a") == ["1", "2"]


def test_pickles_as_werkzeugs() -> None:
    ours, theirs = both(PAIRS)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps(ours, protocol)
        assert data == pickle.dumps(theirs, protocol)
        loaded = pickle.loads(data)
        assert type(loaded) is Werkzeugs
        assert list(loaded.lists()) == list(ours.lists())


def test_copies() -> None:
    ours, theirs = both(PAIRS)
    assert copy.copy(ours) is ours
    deep = copy.deepcopy(ours)
    assert isinstance(deep, Werkzeugs)
    assert list(deep.lists()) == list(theirs.lists())
    assert deep.getlist("a") is not ours.getlist("a")


def _raises_type_error(value: str) -> int:
    raise TypeError(value)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("a",), {}),
        (("missing",), {}),
        (("missing", "d"), {}),
        (("a", 0), {"type": int}),
        (("b", 0), {"type": int}),  # ValueError: the default
        (("b",), {"type": int}),
        (("c",), {"type": float}),
        (("c", -1), {"type": int}),
        (("missing", 7), {"type": int}),
        (("a", 0), {"type": _raises_type_error}),  # TypeError: the default too
        (("",), {}),
    ],
)
def test_get_is_werkzeugs(args: tuple[t.Any, ...], kwargs: dict[str, t.Any]) -> None:
    ours, theirs = both(PAIRS)
    assert ours.get(*args, **kwargs) == theirs.get(*args, **kwargs)


def test_get_lets_other_errors_through() -> None:
    def fails(value: str) -> str:
        raise KeyError(value)

    ours, theirs = both(PAIRS)
    for mapping in (ours, theirs):
        with pytest.raises(KeyError):
            mapping.get("a", type=fails)


def test_get_of_an_empty_list_is_the_default() -> None:
    # Not made by phial's parsers, but Werkzeug's get treats it as absent.
    ours = from_tokens(["a", "1"])
    dict.__setitem__(ours, "a", [])
    assert ours.get("a", "d") == "d"
    assert ours.get("a", "d", type=int) == "d"


def test_to_dict() -> None:
    ours, theirs = both(PAIRS)
    assert ours.to_dict() == theirs.to_dict()
    assert list(ours.to_dict()) == list(theirs.to_dict())
    assert type(ours.to_dict()) is dict
    flat_false = ours.to_dict(flat=False)
    assert flat_false == theirs.to_dict(flat=False)
    flat_false["a"].append("9")
    assert ours.getlist("a") == ["1", "2"]


def test_from_tokens_empty_and_one_field() -> None:
    assert from_tokens([]) == Werkzeugs()
    assert type(from_tokens([])) is ImmutableMultiDict
    field = one_field("page", "3")
    assert type(field) is ImmutableMultiDict
    assert list(field.lists()) == [("page", ["3"])]


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "", "c"]), st.text(max_size=3)), max_size=8))
def test_from_tokens_is_the_constructor(pairs: list[tuple[str, str]]) -> None:
    ours, theirs = both(pairs)
    assert list(ours.lists()) == list(theirs.lists())
    assert ours.to_dict() == theirs.to_dict()
