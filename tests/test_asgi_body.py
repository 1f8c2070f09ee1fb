"""Large ASGI request bodies: streamed past ASGI_BODY_BUFFER_SIZE, awaited in
async views, bridged for sync views, MAX_CONTENT_LENGTH enforced by counting."""

from __future__ import annotations

import hashlib
import typing as t

import pytest
from test_asgi import body_of, make_scope, run_asgi

from phial import Phial, request
from phial._asgi_body import DEFAULT_BODY_BUFFER_SIZE
from phial.testing import FlaskClient

POST = make_scope(method="POST", headers=[(b"host", b"x"), (b"transfer-encoding", b"chunked")])


@pytest.fixture
def small_buffer(app: Phial) -> Phial:
    app.config["ASGI_BODY_BUFFER_SIZE"] = 10
    return app


def test_default_buffer_size_is_bounded() -> None:
    assert DEFAULT_BODY_BUFFER_SIZE == 1024 * 1024


def test_small_bodies_are_still_buffered_before_the_view(small_buffer: Phial) -> None:
    seen: list[t.Any] = []

    @small_buffer.post("/")
    async def index() -> str:
        seen.append(request.environ.get("phial.asgi_body"))
        return request.get_data(as_text=True)  # sync API in an async view: in memory

    assert body_of(run_asgi(small_buffer, POST, [b"abc", b"def"])) == b"abcdef"
    assert seen == [None]


def test_iter_body_streams_without_buffering(small_buffer: Phial) -> None:
    received: list[bytes] = []

    @small_buffer.post("/")
    async def index() -> dict[str, t.Any]:
        # Nothing past the buffer size was received before the view.
        assert request.environ["phial.asgi_body"] is not None
        async for chunk in request.iter_body():
            received.append(chunk)
        return {"chunks": len(received), "size": sum(map(len, received))}

    chunks = [b"x" * 8, b"y" * 8, b"z" * 8, b"w" * 8]
    rv = small_buffer.json.loads(body_of(run_asgi(small_buffer, POST, chunks)))
    assert rv == {"chunks": 3, "size": 32}  # the first two were buffered together
    assert b"".join(received) == b"".join(chunks)


def test_get_data_async_then_form(small_buffer: Phial) -> None:
    @small_buffer.post("/")
    async def index() -> dict[str, t.Any]:
        data = await request.get_data_async()
        return {"len": len(data), "form": request.form.to_dict(), "data": len(request.data)}

    scope = make_scope(
        method="POST",
        headers=[(b"host", b"x"), (b"content-type", b"application/x-www-form-urlencoded")],
    )
    body = [b"name=", b"a" * 20, b"&tag=", b"b" * 20]
    rv = small_buffer.json.loads(body_of(run_asgi(small_buffer, scope, body)))
    assert rv == {"len": 50, "form": {"name": "a" * 20, "tag": "b" * 20}, "data": 50}


def test_sync_view_reads_through_the_bridge(small_buffer: Phial) -> None:
    @small_buffer.post("/")
    def index() -> dict[str, t.Any]:
        data = request.get_data()  # a worker thread, waiting on the loop
        return {"sha": hashlib.sha256(data).hexdigest(), "len": len(data)}

    chunks = [bytes([i]) * 1000 for i in range(50)]
    rv = small_buffer.json.loads(body_of(run_asgi(small_buffer, POST, chunks)))
    data = b"".join(chunks)
    assert rv == {"sha": hashlib.sha256(data).hexdigest(), "len": len(data)}


def test_sync_read_on_the_loop_raises_clearly(small_buffer: Phial) -> None:
    small_buffer.testing = False
    errors: list[BaseException] = []

    @small_buffer.errorhandler(RuntimeError)
    def on_error(e: RuntimeError) -> tuple[str, int]:
        errors.append(e)
        return "error", 500

    @small_buffer.post("/")
    async def index() -> bytes:
        return request.get_data()  # would block the loop

    messages = run_asgi(small_buffer, POST, [b"x" * 8, b"x" * 8, b"x" * 8])
    assert messages[0]["status"] == 500
    assert "await request.get_data_async()" in str(errors[0])


@pytest.mark.parametrize("kind", ["async-iter", "async-data", "sync"])
def test_max_content_length_counts_streamed_bodies(small_buffer: Phial, kind: str) -> None:
    small_buffer.config["MAX_CONTENT_LENGTH"] = 30
    got: list[int] = []

    if kind == "sync":

        @small_buffer.post("/")
        def sync_view() -> str:
            got.append(len(request.get_data()))
            return "read"

    else:

        @small_buffer.post("/")
        async def async_view() -> str:
            if kind == "async-iter":
                size = 0
                async for chunk in request.iter_body():
                    size += len(chunk)
                got.append(size)
            else:
                got.append(len(await request.get_data_async()))
            return "read"

    messages = run_asgi(small_buffer, POST, [b"x" * 8] * 5)  # 40 > 30
    assert messages[0]["status"] == 413
    assert got == []  # never a truncated body
    messages = run_asgi(small_buffer, POST, [b"x" * 8] * 3 + [b"x" * 6])  # exactly 30
    assert (messages[0]["status"], got) == (200, [30])


def test_buffer_size_none_buffers_everything(app: Phial) -> None:
    app.config["ASGI_BODY_BUFFER_SIZE"] = None

    @app.post("/")
    async def index() -> str:
        return str(len(request.get_data()))

    assert body_of(run_asgi(app, POST, [b"x" * 1000] * 2000)) == b"2000000"


def test_client_leaving_mid_body_is_400(small_buffer: Phial) -> None:
    @small_buffer.post("/")
    async def index() -> str:
        return str(len(await request.get_data_async()))

    # run_asgi sends a disconnect once the listed chunks are used up and the
    # last one still says more_body: emulate by a trailing non-final chunk.
    async def main() -> list[dict[str, t.Any]]:
        sent: list[dict[str, t.Any]] = []
        incoming = [
            {"type": "http.request", "body": b"x" * 8, "more_body": True},
            {"type": "http.request", "body": b"x" * 8, "more_body": True},
            {"type": "http.disconnect"},
        ]

        async def receive() -> dict[str, t.Any]:
            return incoming.pop(0) if incoming else {"type": "http.disconnect"}

        async def send(message: t.MutableMapping[str, t.Any]) -> None:
            sent.append(dict(message))

        await small_buffer(POST, receive, send)
        return sent

    import asyncio

    assert asyncio.run(main())[0]["status"] == 400


def test_async_body_api_on_both_protocols(app: Phial, client: FlaskClient) -> None:
    @app.post("/data")
    async def data() -> str:
        return (await request.get_data_async(as_text=True)).upper()

    @app.post("/iter")
    async def chunks() -> str:
        return str(sum([len(c) async for c in request.iter_body()]))

    assert client.post("/data", data="abc").data == b"ABC"
    assert client.post("/iter", data="x" * 200_000).data == b"200000"


def test_sync_view_reads_a_streamed_urlencoded_form(small_buffer: Phial) -> None:
    # The body has a Content-Length, but past the buffer size it is still with
    # the server: the form parser reads it through the bridge.
    @small_buffer.post("/")
    def index() -> dict[str, t.Any]:
        return {"form": request.form.to_dict(), "data": request.get_data(as_text=True)}

    chunks = [b"name=", b"a" * 20, b"&tag=", b"b" * 20]
    scope = make_scope(
        method="POST",
        headers=[
            (b"host", b"x"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(sum(map(len, chunks))).encode()),
        ],
    )
    rv = small_buffer.json.loads(body_of(run_asgi(small_buffer, scope, chunks)))
    assert rv == {"form": {"name": "a" * 20, "tag": "b" * 20}, "data": ""}
