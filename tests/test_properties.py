"""Properties: parsing does not depend on how the body arrives, and the session
serializer round-trips.

Form-urlencoded and multipart bodies are fed through a ``wsgi.input`` that
returns chunks of random sizes (with ``Content-Length``, and chunked with
``wsgi.input_terminated``); the parsed result must equal what was encoded.
Query strings and cookies are checked to round-trip through their encoders.
"""

from __future__ import annotations

import io
import itertools
import typing as t
import uuid
from datetime import datetime, timezone
from unittest import mock
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.http import dump_cookie
from werkzeug.test import EnvironBuilder

from phial import Phial, _formparser, request, session
from phial.json.tag import TaggedJSONSerializer

settings.register_profile(
    "phial",
    max_examples=75,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("phial")

BOUNDARY = "phial-property-boundary-3f9a0c"

#: Text without lone surrogates (which no encoding can carry).
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
#: Multipart field names: kept to characters that need no quoting.
names = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1,
                max_size=12)  # fmt: skip
chunk_sizes = st.lists(st.integers(1, 64), min_size=1, max_size=20)


class ChunkedInput(io.RawIOBase):
    """A ``wsgi.input`` returning at most the next of ``sizes`` bytes per read."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data = io.BytesIO(data)
        self._sizes = itertools.cycle(sizes)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        limit = next(self._sizes)
        if size is not None and size >= 0:
            limit = min(limit, size)
        return self._data.read(limit)

    def readinto(self, buffer: t.Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        limit = next(self._sizes)
        if size is not None and size >= 0:
            limit = min(limit, size)
        return self._data.readline(limit)


def _environ(body: bytes, content_type: str, sizes: list[int], chunked: bool) -> t.Any:
    environ = EnvironBuilder(method="POST").get_environ()
    # Set here: the builder would replace a multipart boundary with its own.
    environ["CONTENT_TYPE"] = content_type
    environ["wsgi.input"] = ChunkedInput(body, sizes)
    if chunked:
        environ.pop("CONTENT_LENGTH", None)
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


APP = Phial("properties")
APP.config["SECRET_KEY"] = "property key"


def _parse(environ: t.Any) -> tuple[list[tuple[str, t.Any]], list[tuple[str, t.Any]]]:
    with APP.request_context(environ):
        form = list(request.form.items(multi=True))
        files = [(k, (f.filename, f.read())) for k, f in request.files.items(multi=True)]
    return form, files


@given(
    pairs=st.lists(st.tuples(text, text), max_size=10),
    sizes=chunk_sizes,
    chunked=st.booleans(),
)
def test_urlencoded_parsing_ignores_chunking(
    pairs: list[tuple[str, str]], sizes: list[int], chunked: bool
) -> None:
    body = urlencode(pairs).encode()
    environ = _environ(body, "application/x-www-form-urlencoded", sizes, chunked)
    # MultiDict groups values by key; that is the order to expect.
    assert _parse(environ) == (list(MultiDict(pairs).items(multi=True)), [])


def _multipart(fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]]) -> bytes:
    out = []
    for name, value in fields:
        out.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, filename, data in files:
        out.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}";'
            f' filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    return b"".join(out) + f"--{BOUNDARY}--\r\n".encode()


@given(
    fields=st.lists(st.tuples(names, text), max_size=6),
    files=st.lists(st.tuples(names, names, st.binary(max_size=300)), max_size=3),
    sizes=chunk_sizes,
    chunked=st.booleans(),
    read_size=st.integers(1, 80),
)
def test_multipart_parsing_ignores_chunking(
    fields: list[tuple[str, str]],
    files: list[tuple[str, str, bytes]],
    sizes: list[int],
    chunked: bool,
    read_size: int,
) -> None:
    body = _multipart(fields, files)
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    environ = _environ(body, content_type, sizes, chunked)
    expected_files = [(name, (filename, data)) for name, filename, data in files]
    expected = (
        list(MultiDict(fields).items(multi=True)),
        list(MultiDict(expected_files).items(multi=True)),
    )
    # The parser reads 64 KiB at a time; smaller reads make the decoder see
    # every possible split of the body.
    with mock.patch.object(_formparser, "_CHUNK", read_size):
        assert _parse(environ) == expected


@given(pairs=st.lists(st.tuples(text, text), max_size=10))
def test_query_parsing_round_trips(pairs: list[tuple[str, str]]) -> None:
    environ = EnvironBuilder().get_environ()
    environ["QUERY_STRING"] = urlencode(pairs)
    with APP.request_context(environ):
        assert list(request.args.items(multi=True)) == list(MultiDict(pairs).items(multi=True))


cookie_names = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.!", min_size=1, max_size=12
).filter(lambda n: not n.startswith(("__Host-", "__Secure-")))


@given(cookies=st.dictionaries(cookie_names, text, max_size=6))
def test_cookie_parsing_round_trips(cookies: dict[str, str]) -> None:
    parts = [dump_cookie(name, value).split("; Path=")[0] for name, value in cookies.items()]
    environ = EnvironBuilder().get_environ()
    environ["HTTP_COOKIE"] = "; ".join(parts)
    with APP.request_context(environ):
        assert request.cookies.to_dict() == cookies


# -- the session serializer -------------------------------------------------------------

datetimes = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(timezone.utc)
).map(lambda d: d.replace(microsecond=0))

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
    | st.binary(max_size=20)
    | st.uuids()
    | datetimes
    | text.map(Markup)
)


def _containers(inner: st.SearchStrategy[t.Any]) -> st.SearchStrategy[t.Any]:
    # A named function, not a lambda: Hypothesis checks that ``extend`` uses its
    # argument by reading its source, which it cannot always find for a lambda
    # (a HypothesisDeprecationWarning, an error under -W error, seen once).
    return (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(
            text | st.sampled_from([" t", " b", " m", " u", " d", " di"]), inner, max_size=4
        )
    )


#: JSON-ish values with every tagged type; dict keys include the tags' own
#: keys (" t", " di", ...) to check that tag lookalikes survive.
values = st.recursive(scalars, _containers, max_leaves=12)


def _same(a: t.Any, b: t.Any) -> bool:
    """Equal with the same types all the way down (``(1,) != [1]``, Markup stays Markup)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@given(value=values)
def test_tagged_serializer_round_trips(value: t.Any) -> None:
    serializer = TaggedJSONSerializer()
    assert _same(serializer.loads(serializer.dumps(value)), value)


@given(data=st.dictionaries(text, values, max_size=5))
def test_session_cookie_round_trips(data: dict[str, t.Any]) -> None:
    interface = APP.session_interface
    with APP.test_request_context():
        sess = interface.open_session(APP, request)
        assert sess is not None
        sess.update(data)
        response = APP.response_class()
        interface.save_session(APP, sess, response)
        cookie = response.headers.get("Set-Cookie")
    if not data:  # an emptied session deletes its cookie
        assert cookie is not None and "Max-Age=0" in cookie
        return
    assert cookie is not None
    value = cookie.split(";")[0].split("=", 1)[1]
    with APP.test_request_context(headers={"Cookie": f"session={value}"}):
        assert _same(dict(session), data)


def test_uuid_and_markup_are_tagged() -> None:
    serializer = TaggedJSONSerializer()
    uid = uuid.uuid4()
    assert serializer.loads(serializer.dumps({"u": uid, "m": Markup("<b>")})) == {
        "u": uid,
        "m": Markup("<b>"),
    }
