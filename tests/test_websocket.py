"""WebSocket views over ASGI, and their refusal over WSGI."""

from __future__ import annotations

import asyncio
import typing as t

import pytest

from phial import Phial, request
from phial.globals import websocket
from phial.testing import FlaskClient
from phial.websocket import WebsocketDisconnect

Message = dict[str, t.Any]


def connect(
    app: Phial,
    path: str,
    incoming: list[Message],
    query: bytes = b"",
    subprotocols: t.Sequence[str] = (),
) -> list[Message]:
    async def main() -> list[Message]:
        queue = [{"type": "websocket.connect"}, *incoming]
        sent: list[Message] = []

        async def receive() -> Message:
            return queue.pop(0) if queue else {"type": "websocket.disconnect", "code": 1000}

        async def send(message: t.MutableMapping[str, t.Any]) -> None:
            sent.append(dict(message))

        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query,
            "headers": [(b"host", b"example.test"), (b"x-token", b"t")],
            "subprotocols": list(subprotocols),
            "client": ("127.0.0.1", 1),
            "server": ("example.test", 80),
        }
        await app(scope, receive, send)
        return sent

    return asyncio.run(main())


def test_echo(app: Phial) -> None:
    torn_down: list[t.Any] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        torn_down.append(exc)

    @app.websocket("/echo/<name>")
    async def echo(name: str) -> None:
        await websocket.accept(subprotocol="chat")
        prefix = f"{name}{websocket.args['p']}{websocket.headers['X-Token']}{request.path}"
        while True:
            data = await websocket.receive()
            await websocket.send(f"{prefix}:{data!r}" if isinstance(data, bytes) else data)

    sent = connect(
        app,
        "/echo/n",
        [
            {"type": "websocket.receive", "text": "hi"},
            {"type": "websocket.receive", "bytes": b"\x00"},
            {"type": "websocket.disconnect", "code": 1001},
        ],
        query=b"p=!",
        subprotocols=["chat", "other"],
    )
    assert sent == [
        {"type": "websocket.accept", "subprotocol": "chat"},
        {"type": "websocket.send", "text": "hi"},
        {"type": "websocket.send", "text": "n!t/echo/n:b'\\x00'"},
    ]
    assert torn_down == [None]


def test_view_returning_closes_normally(app: Phial) -> None:
    @app.websocket("/once")
    async def once() -> None:
        await websocket.send(b"bye")

    assert connect(app, "/once", []) == [
        {"type": "websocket.accept", "subprotocol": None},
        {"type": "websocket.send", "bytes": b"bye"},
        {"type": "websocket.close", "code": 1000, "reason": ""},
    ]


def test_unknown_path_and_http_rule_are_refused(app: Phial) -> None:
    @app.route("/http")
    def http_only() -> str:
        return "x"

    assert connect(app, "/missing", []) == [{"type": "websocket.close", "code": 1008, "reason": ""}]
    assert connect(app, "/http", []) == [{"type": "websocket.close", "code": 1008, "reason": ""}]


def test_error_closes_with_1011(app: Phial) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.websocket("/boom")
    async def boom() -> None:
        await websocket.accept()
        raise RuntimeError("boom")

    assert connect(app, "/boom", [])[-1] == {"type": "websocket.close", "code": 1011, "reason": ""}


def test_error_propagates_when_testing(app: Phial) -> None:
    @app.websocket("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        connect(app, "/boom", [])


def test_accept_checks_subprotocol_and_headers(app: Phial) -> None:
    @app.websocket("/")
    async def index() -> None:
        with pytest.raises(ValueError, match="did not offer"):
            await websocket.accept(subprotocol="nope")
        await websocket.accept(headers={"X-Hello": "1"})
        await websocket.accept()  # a second accept does nothing
        await websocket.close(4000, "\u00e9" * 100)
        with pytest.raises(WebsocketDisconnect):
            await websocket.receive()

    sent = connect(app, "/", [])
    assert sent[0]["headers"] == [(b"x-hello", b"1")]
    assert sent[1]["code"] == 4000
    assert len(sent[1]["reason"].encode()) <= 123
    assert len(sent) == 2


def test_client_disconnect_ends_the_view(app: Phial) -> None:
    seen: list[int] = []

    @app.websocket("/")
    async def index() -> None:
        try:
            await websocket.receive()
        except WebsocketDisconnect as e:
            seen.append(e.code)
            raise

    connect(app, "/", [{"type": "websocket.disconnect", "code": 1001}])
    assert seen == [1001]


def test_proxy_outside_a_websocket() -> None:
    with pytest.raises(RuntimeError, match="outside of a websocket"):
        websocket.accepted  # noqa: B018


def test_http_request_to_websocket_rule(app: Phial, client: FlaskClient) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        raise AssertionError("not reached")

    rv = client.get("/ws")
    assert rv.status_code == 400
    assert b"WebSocket connections only" in rv.data


def test_test_client_websocket(app: Phial, client: FlaskClient) -> None:
    @app.websocket("/chat")
    async def chat() -> None:
        await websocket.accept(
            subprotocol=websocket.subprotocols[0], headers={"X-Room": websocket.args["room"]}
        )
        while True:
            data = await websocket.receive()
            if data == "quit":
                await websocket.close(4001)
                return
            await websocket.send(app.json.dumps({"echo": data, "cookie": request.cookies.get("c")}))

    client.set_cookie("c", "v")
    with client.websocket("/chat?room=r", subprotocols=["v1"]) as ws:
        assert (ws.subprotocol, ws.headers) == ("v1", [(b"x-room", b"r")])
        ws.send("hi")
        assert ws.receive_json() == {"echo": "hi", "cookie": "v"}
        ws.send_json([1])
        assert ws.receive_json() == {"echo": "[1]", "cookie": "v"}
        ws.send("quit")
        with pytest.raises(WebsocketDisconnect) as info:
            ws.receive()
        assert info.value.code == 4001


def test_test_client_websocket_refused_and_errors(app: Phial, client: FlaskClient) -> None:
    @app.websocket("/boom")
    async def boom() -> None:
        await websocket.accept()
        await websocket.receive()
        raise RuntimeError("boom")

    with pytest.raises(WebsocketDisconnect) as info, client.websocket("/missing"):
        pass
    assert info.value.code == 1008
    with pytest.raises(RuntimeError, match="boom"), client.websocket("/boom") as ws:
        ws.send(b"x")
        ws.receive()


def test_test_client_websocket_close(app: Phial, client: FlaskClient) -> None:
    codes: list[int] = []

    @app.websocket("/")
    async def index() -> None:
        try:
            await websocket.receive()
        except WebsocketDisconnect as e:
            codes.append(e.code)

    with client.websocket("/") as ws:
        ws.close(1001)
    assert codes == [1001]


def test_websocket_hooks_app_and_blueprint(app: Phial, client: FlaskClient) -> None:
    from phial import Blueprint, g

    calls: list[str] = []
    bp = Blueprint("chat", __name__, url_prefix="/<room>")

    @bp.url_value_preprocessor
    def pull_room(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        assert values is not None
        g.room = values.pop("room")

    @app.before_websocket
    def app_before() -> None:
        calls.append("app-before")

    @bp.before_websocket
    async def bp_before() -> None:
        calls.append(f"bp-before:{g.room}")

    @bp.before_app_websocket
    def any_before() -> None:
        calls.append("any-before")

    @bp.after_websocket
    def bp_after(rv: t.Any) -> t.Any:
        calls.append(f"bp-after:{rv}")
        return rv

    @bp.after_app_websocket
    async def any_after(rv: t.Any) -> t.Any:
        calls.append(f"any-after:{rv}")
        return rv

    @bp.websocket("/ws")
    async def room_ws() -> str:
        await websocket.send(f"room {g.room} {request.endpoint}")
        return "done"

    @app.websocket("/plain")
    async def plain() -> None:
        await websocket.send("plain")

    # deferred: the blueprint's websocket rule only exists once registered
    assert "chat.room_ws" not in app.view_functions
    app.register_blueprint(bp)
    assert "chat.room_ws" in app.view_functions

    with client.websocket("/r1/ws") as ws:
        assert ws.receive() == "room r1 chat.room_ws"
    assert calls == [
        "app-before",
        "any-before",
        "bp-before:r1",
        "bp-after:done",
        "any-after:done",
    ]
    calls.clear()
    with client.websocket("/plain") as ws:
        assert ws.receive() == "plain"
    # blueprint-scoped hooks skip app websockets; app_ forms run for every one
    assert calls == ["app-before", "any-before", "any-after:None"]


def test_before_websocket_value_refuses(app: Phial, client: FlaskClient) -> None:
    ran: list[bool] = []

    @app.before_websocket
    def deny() -> str | None:
        return "no" if request.args.get("deny") else None

    @app.websocket("/ws")
    async def ws_view() -> None:
        ran.append(True)
        await websocket.send("hi")

    with pytest.raises(WebsocketDisconnect) as info, client.websocket("/ws?deny=1"):
        pass
    assert info.value.code == 1008
    assert ran == []
    with client.websocket("/ws") as ws:
        assert ws.receive() == "hi"
    assert ran == [True]


def test_http_exception_after_accept_closes_1008(app: Phial, client: FlaskClient) -> None:
    from phial import abort

    @app.websocket("/ws")
    async def ws_view() -> None:
        await websocket.accept()
        abort(403)

    with client.websocket("/ws") as ws, pytest.raises(WebsocketDisconnect) as info:
        ws.receive()
    assert info.value.code == 1008


def test_upgrade_request_over_wsgi_gets_400(app: Phial, client: FlaskClient) -> None:
    @app.websocket("/ws")
    async def ws_view() -> None:
        raise AssertionError("a websocket view never runs for an HTTP request")

    rv = client.get(
        "/ws",
        headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"},
    )
    assert rv.status_code == 400
    assert b"WebSocket connections only" in rv.data
