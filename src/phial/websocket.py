"""The ``websocket`` object a websocket view talks through (ASGI only).

A view registered with ``@app.websocket(rule)`` runs when a client opens a
WebSocket on ``rule``. ``request`` describes the handshake (``args``,
``headers``, cookies); the ``websocket`` proxy sends and receives. The methods
are coroutines: write websocket views with ``async def``.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from werkzeug.datastructures import Headers, MultiDict

    from .wrappers import Request

Message = t.MutableMapping[str, t.Any]


class WebsocketDisconnect(Exception):
    """Raised by :meth:`Websocket.receive` when the client has closed the
    connection; ``code`` is the close code it sent."""

    def __init__(self, code: int = 1000) -> None:
        super().__init__(f"The client closed the WebSocket (code {code}).")
        self.code = code


class Websocket:
    """One WebSocket connection, on top of the ASGI ``websocket`` messages.

    ``receive`` and ``send`` accept the connection first if the view has not.
    """

    def __init__(
        self,
        scope: t.Mapping[str, t.Any],
        receive: t.Callable[[], t.Awaitable[Message]],
        send: t.Callable[[Message], t.Awaitable[None]],
        request: Request,
    ) -> None:
        self._scope = scope
        self._receive = receive
        self._send = send
        #: The handshake request.
        self.request = request
        #: Whether the connection was accepted.
        self.accepted = False
        #: Whether the connection is closed (by either side).
        self.closed = False

    @property
    def args(self) -> MultiDict[str, str]:
        """The handshake URL's query arguments."""
        return self.request.args

    @property
    def headers(self) -> Headers:
        """The handshake request's headers."""
        return self.request.headers

    @property
    def path(self) -> str:
        """The path the client connected to."""
        return self.request.path

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return list(self._scope.get("subprotocols") or ())

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: t.Mapping[str, str] | t.Iterable[tuple[str, str]] | None = None,
    ) -> None:
        """Accept the connection, optionally choosing one of :attr:`subprotocols`."""
        if self.accepted:
            return
        if subprotocol is not None and subprotocol not in self.subprotocols:
            raise ValueError(
                f"The client did not offer the subprotocol {subprotocol!r};"
                f" it offered {self.subprotocols!r}."
            )
        message: dict[str, t.Any] = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            items = headers.items() if isinstance(headers, t.Mapping) else headers
            message["headers"] = [
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in items
            ]
        await self._send(message)
        self.accepted = True

    async def receive(self) -> str | bytes:
        """The next message (``str`` for text, ``bytes`` for binary frames).

        Raises :class:`WebsocketDisconnect` when the client has gone.
        """
        if self.closed:
            raise WebsocketDisconnect(1000)
        await self.accept()
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self.closed = True
            raise WebsocketDisconnect(int(message.get("code", 1005)))
        text = message.get("text")
        if text is not None:
            return t.cast(str, text)
        return t.cast(bytes, message.get("bytes") or b"")

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message."""
        await self.accept()
        if isinstance(data, str):
            await self._send({"type": "websocket.send", "text": data})
        else:
            await self._send({"type": "websocket.send", "bytes": bytes(data)})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (before :meth:`accept` this refuses it)."""
        if self.closed:
            return
        self.closed = True
        # A close frame carries at most 123 bytes of reason.
        reason = reason.encode()[:123].decode(errors="ignore")
        await self._send({"type": "websocket.close", "code": code, "reason": reason})
