"""ASGI request bodies too large to receive before the view: streamed on demand.

The ASGI driver receives a body before the view runs only up to the config key
``ASGI_BODY_BUFFER_SIZE`` (default :data:`DEFAULT_BODY_BUFFER_SIZE`; ``None``
buffers every body, up to ``MAX_CONTENT_LENGTH``). Past that, the rest stays
with the server and is received when the view asks for it:

- async views await it: ``await request.get_data_async()`` (after which
  ``form``, ``files``, ``get_json()`` work as usual) or
  ``async for chunk in request.iter_body()`` (never holds the whole body);
- sync views, which run in the thread pool, read ``request.stream``, ``data``,
  ``form`` … as in Flask: each read waits for the event loop to receive the
  next chunk (the bridge below). On the loop itself such a read would block
  it, so it raises and says to await the body instead.

``MAX_CONTENT_LENGTH`` is enforced by counting: a body that grows past it
raises :class:`~werkzeug.exceptions.RequestEntityTooLarge` (413), never a
truncated body.
"""

from __future__ import annotations

import io
import typing as t

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from ._async import running_loop

if t.TYPE_CHECKING:
    import asyncio

#: Bytes of a request body the ASGI driver receives before the view runs when
#: ``ASGI_BODY_BUFFER_SIZE`` is not configured.
DEFAULT_BODY_BUFFER_SIZE = 1024 * 1024

#: The environ key holding a request's :class:`StreamingBody`.
ENVIRON_KEY = "phial.asgi_body"

Receive = t.Callable[[], t.Awaitable[t.MutableMapping[str, t.Any]]]


class StreamingBody:
    """The part of an ASGI request body not received yet, plus what was.

    :param received: the body received before the view (handed out first).
    :param limit: ``MAX_CONTENT_LENGTH``; the running total may not exceed it.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        receive: Receive,
        received: bytes,
        limit: int | None,
    ) -> None:
        self.loop = loop
        self._receive = receive
        self._pending = received
        self._total = len(received)
        self._limit = limit
        self.done = False

    async def next_chunk(self) -> bytes:
        """The next part of the body; ``b""`` once it has all been read."""
        if self._pending:
            first, self._pending = self._pending, b""
            return first
        while not self.done:
            message = await self._receive()
            if message["type"] != "http.request":
                self.done = True
                raise ClientDisconnected("The client disconnected while sending the body.")
            chunk: bytes = message.get("body", b"")
            self._total += len(chunk)
            if not message.get("more_body", False):
                self.done = True
            if self._limit is not None and self._total > self._limit:
                self.done = True
                raise RequestEntityTooLarge()
            if chunk:
                return chunk
        return b""

    async def read_all(self) -> bytes:
        """The rest of the body, received whole."""
        chunks = []
        while chunk := await self.next_chunk():
            chunks.append(chunk)
        return b"".join(chunks)


class BlockingBodyRead(RuntimeError):
    """A sync read of a streamed body on the event loop (it would block it)."""


class SyncReader(io.RawIOBase):
    """``wsgi.input`` for a streamed body: sync reads from a worker thread wait
    for the event loop to receive the next chunk."""

    def __init__(self, body: StreamingBody) -> None:
        super().__init__()
        self._body = body
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        if not self._left:
            self._left = self._next()
            if not self._left:
                return 0
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n

    def _next(self) -> bytes:
        body = self._body
        if body.done and not body._pending:
            return b""
        if running_loop() is body.loop:
            raise BlockingBodyRead(
                "This request body is larger than ASGI_BODY_BUFFER_SIZE and was not"
                " received before the view; reading it synchronously would block the"
                " event loop. In an async view, 'await request.get_data_async()' first"
                " (then request.form, files and get_json() work) or stream it with"
                " 'async for chunk in request.iter_body()'."
            )
        import asyncio  # loaded: body.loop is one of its loops

        return asyncio.run_coroutine_threadsafe(body.next_chunk(), body.loop).result()
