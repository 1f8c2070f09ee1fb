"""The in-memory urlencoded parser gives what Werkzeug's form parser gives."""

from __future__ import annotations

import io
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request as WerkzeugRequest

from phial._urlencoded import _unescape, parse_urlencoded


def werkzeug_form(body: bytes) -> list[tuple[str, list[str]]]:
    """The form Werkzeug's own request parses from ``body`` (the reference), as
    ``(name, values)`` in order of first appearance."""
    builder = EnvironBuilder(
        method="POST",
        input_stream=io.BytesIO(body),
        content_type="application/x-www-form-urlencoded",
    )
    environ = builder.get_environ()
    environ["CONTENT_LENGTH"] = str(len(body))
    return list(WerkzeugRequest(environ).form.lists())


def form(body: bytes) -> list[tuple[str, list[str]]]:
    """What phial's parser gives for ``body``, in the same shape."""
    return list(ImmutableMultiDict(parse_urlencoded(body)).lists())


#: Pieces that exercise every branch: separators, escapes valid and not, bytes
#: that are not UTF-8, NULs, backslashes (the C unescaper's own escape char).
PIECES = [
    b"&", b"=", b"+", b";", b"%", b"%2", b"%26", b"%3D", b"%3d", b"%2B", b"%25", b"%20",
    b"%C3", b"%bc", b"%BC", b"%ff", b"%FF", b"%00", b"%0", b"%zz", b"%%", b"%E2%82",
    b"%AC", b"%ED%A0%80", b"%F0%9F%98%80", b"\x00", b"\\", b"\\x41", b"\\x", b"\\\\",
    b"\\n", b"\\u00e9", b"a", b"bc", b" ", "ü".encode(), "€".encode(), b"\xc3", b"\xff",
    b"\x80", b"\xef\xbb\xbf", b"\r\n",
]  # fmt: skip

bodies = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=30).map(b"".join),
    st.binary(max_size=60),
)


@settings(max_examples=600, deadline=None, database=None)
@given(bodies)
def test_fields_are_werkzeugs(body: bytes) -> None:
    assert form(body) == werkzeug_form(body)


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.lists(
        st.tuples(st.text(max_size=12), st.text(max_size=12)).filter(
            lambda kv: not any("\ud800" <= c <= "\udfff" for c in kv[0] + kv[1])
        ),
        max_size=8,
    )
)
def test_encoded_text_round_trips(pairs: list[tuple[str, str]]) -> None:
    from urllib.parse import urlencode

    body = urlencode(pairs).encode()
    assert list(parse_urlencoded(body)) == pairs
    assert form(body) == werkzeug_form(body)


@settings(max_examples=400, deadline=None, database=None)
@given(st.lists(st.sampled_from(PIECES), max_size=20).map(b"".join))
def test_unescape_is_unquote_to_bytes(data: bytes) -> None:
    assert _unescape(data) == unquote_to_bytes(data)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b"", []),
        (b"&&&", []),
        (b"a=1&b=3&a=2", [("a", "1"), ("b", "3"), ("a", "2")]),  # repeated keys kept in order
        (b"a&b=&=c", [("a", ""), ("b", ""), ("", "c")]),  # blank values kept
        (b"=", [("", "")]),
        (b"a=1=2", [("a", "1=2")]),  # only the first "=" separates
        (b"a=1;b=2", [("a", "1;b=2")]),  # ";" is not a separator
        (b"a+b=c+d%2B", [("a b", "c d+")]),
        (b"a=%26%3D&b", [("a", "&="), ("b", "")]),  # escapes decoded after splitting
        (b"a=%zz%4%", [("a", "%zz%4%")]),  # malformed escapes stay as written
        (b"a=%C3%BC%ff", [("a", "ü%FF")]),  # decoded non-UTF-8 is re-escaped, uppercase
        (b"a=%ED%A0%80", [("a", "%ED%A0%80")]),  # a surrogate is not UTF-8
        (b"a=%C3\xc3\xbc", [("a", "%C3ü")]),
        (b"a=\xc3\xbc", [("a", "ü")]),
        (b"a=1&b=\xff", []),  # a body that is not UTF-8 has no fields
        (b"a=%00\x00&b", [("a", "\x00\x00"), ("b", "")]),
        (b"\\x41=\\%41", [("\\x41", "\\A")]),
        (b"\xef\xbb\xbfa=1", [("\ufeffa", "1")]),  # a BOM is part of the name
    ],
)
def test_fields(body: bytes, fields: list[tuple[str, str]]) -> None:
    assert list(parse_urlencoded(body)) == fields
    assert form(body) == werkzeug_form(body)


@pytest.mark.parametrize(
    ("body", "general"),
    [
        (b"a=1", False),
        (b"a=1&b=%32+x&c=", False),
        (b"=&=", False),
        (b"a=1&b", True),  # a field without "="
        (b"a=1=2", True),  # a second "="
        (b"a=1&&b=2", True),  # an empty field
        (b"a=%00", True),  # a NUL splits a token: each is decoded alone
        (b"a=1&" * 1024 + b"a=1", True),  # more fields than the regular pattern holds
    ],
)
def test_regular_bodies_skip_the_general_path(
    body: bytes, general: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phial import _urlencoded

    calls: list[bytes] = []
    decode_tokens = _urlencoded._decode_tokens

    def spy(joined: bytes) -> list[str]:
        calls.append(joined)
        return decode_tokens(joined)

    monkeypatch.setattr(_urlencoded, "_decode_tokens", spy)
    assert form(body) == werkzeug_form(body)
    assert bool(calls) is general
