"""A parser for ``application/x-www-form-urlencoded`` bodies held in memory.

It gives the same fields as Werkzeug's form parser (with phial's parser class
and Werkzeug's defaults) for the same body, in fewer steps:

- the body must be UTF-8 as a whole; if it is not, there are no fields (Werkzeug's
  parser is silent about the error and gives an empty form);
- fields are split on ``&`` only (``;`` is part of a name or value); empty fields
  are skipped; a field without ``=`` has the value ``""``; only the first ``=``
  separates name from value;
- ``+`` is a space; ``%XX`` escapes are decoded after splitting (so ``%26`` is a
  ``&`` inside a value); a ``%`` not followed by two hex digits stays as written;
- decoded bytes that are not UTF-8 are written back as uppercase ``%XX`` escapes
  (``%ff`` becomes ``%FF``).

The speed comes from decoding every name and value in one pass: they are joined
with NUL bytes, unescaped and decoded together, then split again. When that
gives more pieces than there were tokens, a token held a NUL itself (raw or as
``%00``), and each is decoded alone.
"""

from __future__ import annotations

import re
import typing as t
from codecs import escape_decode
from urllib.parse import unquote_to_bytes

#: Every byte but the two separators becomes ``x``, which ``bytes.translate``
#: then deletes (quicker than deleting the 254 other bytes by name).
_SEPARATORS_ONLY = bytes(b if b in b"&=" else 0x78 for b in range(256))

#: Byte values, for ``in`` tests: ``37 in data`` is a ``memchr``, where
#: ``b"%" in data`` takes the slower substring path.
_PERCENT = ord("%")
_PLUS = ord("+")

#: The separators of a body whose every field is ``name=value``, for up to
#: 1,024 fields: ``=&=&...=``.
_REGULAR = b"=&" * 1023 + b"="

#: ``+`` is a space; ``&`` and ``=`` become the NUL joining the tokens.
_TOKENIZE = bytes.maketrans(b"+&=", b" \x00\x00")

#: An undecodable byte, as the ``surrogateescape`` error handler leaves it.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _unescape(data: bytes) -> bytes:
    """``data`` with its ``%XX`` escapes decoded, as :func:`~urllib.parse.unquote_to_bytes`
    does, in C when every ``%`` starts a valid escape."""
    # Each "%" becomes "\x" (after doubling backslashes, so there is no other
    # escape), which the bytes-literal decoder turns into one byte, or refuses
    # when it is not followed by two hex digits.
    try:
        return escape_decode(data.replace(b"\\", b"\\\\").replace(b"%", b"\\x"))[0]
    except ValueError:
        return unquote_to_bytes(data)


def _quote_byte(match: re.Match[str]) -> str:
    return f"%{ord(match.group()) - 0xDC00:02X}"


def _decode(data: bytes) -> str:
    """UTF-8 text; bytes that are not UTF-8 become uppercase ``%XX`` escapes."""
    try:
        return data.decode()
    except UnicodeDecodeError:
        return _ESCAPED_BYTE.sub(_quote_byte, data.decode("utf-8", "surrogateescape"))


def _decode_tokens(joined: bytes) -> list[str]:
    """The NUL-joined tokens in ``joined``, unescaped and decoded."""
    if _PERCENT in joined:
        joined = _unescape(joined)
    try:
        text = joined.decode()
    except UnicodeDecodeError:
        text = _decode(joined)
    return text.split("\x00")


def split_urlencoded(body: bytes) -> list[str]:
    """The fields of an urlencoded ``body``, in order, as one list of names
    and values alternately: ``["name", "value", "name", "value", ...]``."""
    if not body.isascii():
        try:
            body.decode()
        except UnicodeDecodeError:
            return []
    separators = body.translate(_SEPARATORS_ONLY).translate(None, b"x")
    count = len(separators)
    if count & 1 and separators == _REGULAR[:count]:
        # Every field is "name=value" (no field is empty, none lacks "=" or
        # has a second one): one translation makes the NUL-joined tokens.
        # (What _decode_tokens does, written out: this is the usual body.)
        joined = body.translate(_TOKENIZE)
        if _PERCENT in joined:
            try:
                joined = escape_decode(joined.replace(b"\\", b"\\\\").replace(b"%", b"\\x"))[0]
            except ValueError:
                joined = unquote_to_bytes(joined)
        try:
            texts = joined.decode().split("\x00")
        except UnicodeDecodeError:
            texts = _decode(joined).split("\x00")
        if len(texts) == count + 1:
            return texts
    if _PLUS in body:
        body = body.replace(b"+", b" ")
    tokens: list[bytes] = []
    for field in body.split(b"&"):
        if field:
            name, _, value = field.partition(b"=")
            tokens.append(name)
            tokens.append(value)
    if not tokens:
        return []
    texts = _decode_tokens(b"\x00".join(tokens))
    if len(texts) != len(tokens):
        # A NUL in a name or value (raw or as "%00") split it: decode each alone.
        texts = [_decode(_unescape(token) if _PERCENT in token else token) for token in tokens]
    return texts


def parse_urlencoded(body: bytes) -> t.Iterable[tuple[str, str]]:
    """The ``(name, value)`` fields of an urlencoded ``body``, in order."""
    pairs = iter(split_urlencoded(body))
    return zip(pairs, pairs, strict=False)
