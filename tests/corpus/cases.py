"""The raw-request corpus: bytes sent over a socket and the status expected.

Every case is sent as-is to each server in ``tests/test_corpus.py``. A case
may accept several statuses when a server may answer a malformed request
itself before phial sees it (both answers are clean 4xx). ``None`` in
``expect`` means the server may also close the connection without answering
(a request too broken to answer).
"""

from __future__ import annotations

import dataclasses
import zlib
from base64 import urlsafe_b64encode


@dataclasses.dataclass(frozen=True)
class Case:
    """One raw request and what must come back."""

    name: str
    raw: bytes
    #: Acceptable status codes; ``None`` also accepts a closed connection.
    expect: frozenset[int | None]
    #: Bytes the response (headers and body) must contain.
    contains: tuple[bytes, ...] = ()
    #: Bytes the response must not contain.
    absent: tuple[bytes, ...] = (b"Traceback", b"corpus secret detail")


def request(
    method: str,
    target: str,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
    host: str | None = "127.0.0.1",
    length: bool = True,
) -> bytes:
    """An HTTP/1.1 request with ``Connection: close``; ``Content-Length`` is
    added for a body unless ``length`` is false or a header sets it."""
    lines = [f"{method} {target} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    names = {name.lower() for name, _ in headers}
    lines.extend(f"{name}: {value}" for name, value in headers)
    if body and length and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin1") + body


def chunked(body: bytes, size: int = 8192) -> bytes:
    """``body`` in HTTP/1.1 chunked encoding."""
    out = [
        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
        for i in range(0, len(body), size)
    ]
    return b"".join(out) + b"0\r\n\r\n"


def multipart(parts: list[tuple[str, bytes]], extra: str = "") -> bytes:
    """A multipart body with boundary ``B``: ``(name, value)`` fields."""
    out = b"".join(
        f'--B\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in parts
    )
    return out + b"--B--\r\n"


def _case(name: str, raw: bytes, *expect: int | None, **kwargs: tuple[bytes, ...]) -> Case:
    return Case(name, raw, frozenset(expect), **kwargs)


_CHUNKED = (("Transfer-Encoding", "chunked"),)
_FORM = (("Content-Type", "application/x-www-form-urlencoded"),)
_MULTIPART = (("Content-Type", "multipart/form-data; boundary=B"),)
_JSON = (("Content-Type", "application/json"),)
_FORGED = "." + urlsafe_b64encode(zlib.compress(b'{"user":"mallory"}')).decode().rstrip("=")


CASES: list[Case] = [
    # Plain requests: the server and app are up and answering.
    _case("index", request("GET", "/"), 200, contains=(b"index",)),
    _case("literal", request("GET", "/x"), 200),
    _case("converter", request("GET", "/n/12"), 200, contains=(b"12",)),
    _case("static", request("GET", "/static/hello.txt"), 200, contains=(b"hello from static",)),
    # 1. Body limits (MAX_CONTENT_LENGTH = 100_000).
    _case(
        "declared-within", request("POST", "/echo", body=b"a" * 1000), 200, contains=(b"len=1000",)
    ),
    _case("declared-over", request("POST", "/echo", body=b"a" * 100_001), 413),
    _case(
        "declared-over-unsent",
        request("POST", "/echo", headers=(("Content-Length", "10000000"),)),
        413,
    ),
    _case(
        "expect-continue-over",
        request(
            "POST", "/echo", headers=(("Content-Length", "10000000"), ("Expect", "100-continue"))
        ),
        413,
    ),
    _case(
        "chunked-within",
        request("POST", "/echo", headers=_CHUNKED, body=chunked(b"a" * 50_000)),
        200,
        contains=(b"len=50000",),
    ),
    _case(
        "chunked-at-limit",
        request("POST", "/echo", headers=_CHUNKED, body=chunked(b"a" * 100_000)),
        200,
        contains=(b"len=100000",),
    ),
    _case(
        "chunked-over",
        request("POST", "/echo", headers=_CHUNKED, body=chunked(b"a" * 100_001)),
        413,
    ),
    _case(
        "chunked-form-over",
        request("POST", "/form", headers=_CHUNKED + _FORM, body=chunked(b"a=" + b"b" * 100_000)),
        413,
    ),
    # 2. Forms (MAX_FORM_MEMORY_SIZE = 1_000, MAX_FORM_PARTS = 10).
    _case(
        "urlencoded-within",
        request("POST", "/form", headers=_FORM, body=b"a=1&b=2"),
        200,
        contains=(b'"a":["1"]',),
    ),
    _case(
        "urlencoded-over", request("POST", "/form", headers=_FORM, body=b"a=" + b"b" * 1000), 413
    ),
    _case(
        "multipart-field-over",
        request("POST", "/form", headers=_MULTIPART, body=multipart([("a", b"x" * 1001)])),
        413,
    ),
    _case(
        "multipart-parts-over",
        request(
            "POST",
            "/form",
            headers=_MULTIPART,
            body=multipart([(f"a{i}", b"v") for i in range(11)]),
        ),
        413,
    ),
    _case(
        "multipart-name-star",
        request(
            "POST",
            "/form",
            headers=_MULTIPART,
            body=multipart([("a", b"v")], "; name*=UTF-8''evil"),
        ),
        200,
        contains=(b'"a":["v"]',),
        absent=(b"evil",),
    ),
    _case(
        "multipart-truncated",
        request(
            "POST",
            "/form",
            headers=_MULTIPART,
            body=b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nv',
        ),
        200,
        contains=(b'"form":{}',),
    ),
    _case(
        "multipart-no-crlf",
        request("POST", "/form", headers=_MULTIPART, body=b"--B\r\n" + b"x" * 90_000),
        200,
        413,
    ),
    # 3. JSON.
    _case(
        "json-ok",
        request("POST", "/json", headers=_JSON, body=b'{"a": [1]}'),
        200,
        contains=(b'"json":{"a":[1]}',),
    ),
    _case("json-syntax", request("POST", "/json", headers=_JSON, body=b"{"), 400),
    _case("json-invalid-utf8", request("POST", "/json", headers=_JSON, body=b'"\xff"'), 400),
    _case("json-lone-surrogate", request("POST", "/json", headers=_JSON, body=b'"\\ud800"'), 400),
    _case(
        "json-deep",
        request("POST", "/json", headers=_JSON, body=b"[" * 40_000 + b"]" * 40_000),
        400,
    ),
    _case(
        "json-wrong-type",
        request("POST", "/json", headers=(("Content-Type", "text/plain"),), body=b"{}"),
        415,
    ),
    # 4. Response headers: a value with a line break is refused, not sent.
    _case(
        "header-injection",
        request("GET", "/header?v=a%0d%0aSet-Cookie:%20evil=1"),
        500,
        absent=(b"evil=1", b"Traceback"),
    ),
    _case("header-nul", request("GET", "/header?v=a%00b"), 500),
    _case("header-plain", request("GET", "/header?v=ok"), 200, contains=(b"X-Echo: ok",)),
    # 5. Paths.
    _case("trailing-newline", request("GET", "/x%0A"), 404),
    _case("trailing-newline-converter", request("GET", "/n/1%0A"), 404),
    _case("static-dotdot", request("GET", "/static/../corpus_app.py"), 404, 400),
    _case("static-dotdot-encoded", request("GET", "/static/..%2Fcorpus_app.py"), 404, 400),
    _case("static-dotdot-dots-encoded", request("GET", "/static/%2e%2e/corpus_app.py"), 404, 400),
    _case("static-backslash", request("GET", "/static/..%5Ccorpus_app.py"), 404, 400),
    _case("static-absolute", request("GET", "/static//etc/passwd"), 404, 400, 308),
    _case("static-nul", request("GET", "/static/hello.txt%00.png"), 404, 400),
    _case("static-device", request("GET", "/static/CON"), 404, 400),
    _case("static-device-ext", request("GET", "/static/aux.txt"), 404, 400),
    _case("strict-slash", request("GET", "/dir"), 308, contains=(b"Location: ",)),
    _case("strict-slash-evil", request("GET", "//evil.example/dir"), 404, 308, 400),
    _case("strict-slash-backslash", request("GET", "/\\evil.example/dir"), 404, 308, 400),
    _case("strict-slash-encoded", request("GET", "/%2F%2Fevil.example/dir"), 404, 308, 400),
    # 6. Sessions.
    _case(
        "session-forged",
        request("GET", "/session", headers=(("Cookie", f"session={_FORGED}.AAAAAA.forged"),)),
        200,
        contains=(b'"session":{}', b"Vary: Cookie"),
    ),
    _case(
        "session-garbage",
        request("GET", "/session", headers=(("Cookie", "session=..."),)),
        200,
        contains=(b'"session":{}',),
    ),
    # 7. Host and errors.
    _case("host-space", request("GET", "/", host="a b"), 400),
    _case("host-bad-port", request("GET", "/", host="exa mple.com:80x"), 400),
    _case("host-letters-port", request("GET", "/x", host="example.com:80x"), 400),
    _case("host-control", request("GET", "/", host="exa\x01mple.com"), 400),
    _case("host-userinfo", request("GET", "/", host="user@example.com"), 400),
    _case("host-ipv6", request("GET", "/", host="[::1]:8080"), 200),
    _case("error-500", request("GET", "/boom"), 500),
    _case("not-found", request("GET", "/missing"), 404),
    _case("method-not-allowed", request("DELETE", "/x"), 405),
    # Malformed HTTP: the server answers or closes; never a 5xx, never a hang.
    _case(
        "garbage",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n\r\n",
        400,
        None,
    ),
    _case("bad-request-line", b"GET\r\n\r\n", 400, None),
    _case(
        "header-with-nul",
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\x00b\r\nConnection: close\r\n\r\n",
        400,
        None,
    ),
    _case(
        "duplicate-content-length",
        request(
            "POST",
            "/echo",
            headers=(("Content-Length", "3"), ("Content-Length", "4")),
            body=b"abcd",
            length=False,
        ),
        400,
        None,
    ),
    _case(
        "length-and-chunked",
        request(
            "POST",
            "/echo",
            headers=(("Content-Length", "4"), ("Transfer-Encoding", "chunked")),
            body=chunked(b"abcd"),
            length=False,
        ),
        400,
        None,
    ),
    _case(
        "negative-length",
        request("POST", "/echo", headers=(("Content-Length", "-1"),), length=False),
        400,
        None,
    ),
    _case(
        "bad-chunk-size",
        request("POST", "/echo", headers=_CHUNKED, body=b"zz\r\nabc\r\n0\r\n\r\n"),
        400,
        None,
    ),
    _case("streamed-download", request("GET", "/stream"), 200),
]

#: Every case name is unique (they are test ids).
assert len({case.name for case in CASES}) == len(CASES)

__all__ = ["CASES", "Case", "chunked", "multipart", "request"]
