"""``Response._from_bytes`` builds what the constructor builds, without it."""

from __future__ import annotations

import typing as t

import pytest

from phial.wrappers import Response, _SafeHeaders


@pytest.mark.parametrize("status", [200, 201, 404, 299])
@pytest.mark.parametrize("extra", [[], [("X-One", "1")], [("X-One", "1"), ("X-Two", "2")]])
def test_from_bytes_equals_the_constructor(status: int, extra: list[tuple[str, str]]) -> None:
    body = b'{"a":1}\n'
    direct = Response._from_bytes(body, "application/json", status, extra)
    built = Response(
        body, status, [("Content-Type", "application/json"), *extra], content_type=None
    )
    assert type(direct) is Response
    assert type(direct.headers) is _SafeHeaders
    assert vars(direct.headers) == vars(built.headers)
    assert vars(direct).keys() == vars(built).keys()
    assert direct.status == built.status
    assert direct.status_code == built.status_code
    assert direct.headers.to_wsgi_list() == built.headers.to_wsgi_list()
    assert direct.get_data() == built.get_data()
    assert direct.direct_passthrough is built.direct_passthrough is False


def test_headers_made_without_init_are_empty_safe_headers() -> None:
    # _from_bytes relies on an empty _SafeHeaders being only its list.
    assert vars(_SafeHeaders()) == {"_list": []}


def test_from_bytes_headers_still_refuse_line_breaks() -> None:
    response = Response._from_bytes(b"x", "text/plain")
    response.headers["X-Ok"] = "fine"
    with pytest.raises(ValueError, match="line break"):
        response.headers["X-Bad"] = "a\r\nb"
    with pytest.raises(ValueError, match="line break"):
        response.headers.add("X-Bad\n", "v")
    assert response.headers.to_wsgi_list() == [
        ("Content-Type", "text/plain"),
        ("Content-Length", "1"),
        ("X-Ok", "fine"),
    ]


def test_from_bytes_accepts_any_iterable_of_extra_headers() -> None:
    def pairs() -> t.Iterator[tuple[str, str]]:
        yield ("X-Gen", "1")

    response = Response._from_bytes(b"", "text/plain", 200, pairs())
    assert response.headers.to_wsgi_list()[1] == ("X-Gen", "1")


@pytest.mark.parametrize("size", [0, 1, 9, 10, 255, 511, 512, 513, 4096, 100_000])
def test_from_bytes_content_length_for_every_size(size: int) -> None:
    # Lengths below 512 come from a table, larger ones are converted.
    body = b"x" * size
    direct = Response._from_bytes(body, "text/plain")
    built = Response(body, content_type="text/plain")
    assert direct.headers.to_wsgi_list() == built.headers.to_wsgi_list()
    assert direct.headers["Content-Length"] == str(size)
