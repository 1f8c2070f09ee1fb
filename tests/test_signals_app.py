"""Signals sent during real requests: which, in what order, with what sender and values."""

from __future__ import annotations

import typing as t
from contextlib import ExitStack

import pytest
from blinker import Signal

from phial import (
    Phial,
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    got_request_exception,
    request_finished,
    request_started,
    request_tearing_down,
)
from phial.wrappers import Response

REQUEST_SIGNALS: dict[str, Signal] = {
    "appcontext_pushed": appcontext_pushed,
    "request_started": request_started,
    "got_request_exception": got_request_exception,
    "request_finished": request_finished,
    "request_tearing_down": request_tearing_down,
    "appcontext_tearing_down": appcontext_tearing_down,
    "appcontext_popped": appcontext_popped,
}

Record = tuple[str, t.Any, dict[str, t.Any]]


@pytest.fixture
def signal_app() -> Phial:
    """An app (not in testing mode) with a plain view and a failing one."""
    app = Phial("signals_app")

    @app.route("/")
    def index() -> str:
        return "hello"

    @app.route("/fail")
    def fail() -> str:
        raise ZeroDivisionError("view failed")

    return app


def _record(app: Phial, stack: ExitStack) -> list[Record]:
    """Connect a recorder for ``app`` to every request signal; return its log."""
    log: list[Record] = []
    for name, signal in REQUEST_SIGNALS.items():

        def receiver(sender: t.Any, _name: str = name, **kwargs: t.Any) -> None:
            log.append((_name, sender, kwargs))

        stack.enter_context(signal.connected_to(receiver, app))
    return log


def test_signals_of_a_successful_request(signal_app: Phial) -> None:
    with ExitStack() as stack:
        log = _record(signal_app, stack)
        response = signal_app.test_client().get("/")
    assert response.status_code == 200
    assert [name for name, _, _ in log] == [
        "appcontext_pushed",
        "request_started",
        "request_finished",
        "request_tearing_down",
        "appcontext_tearing_down",
        "appcontext_popped",
    ]
    assert all(sender is signal_app for _, sender, _ in log)
    kwargs = {name: kw for name, _, kw in log}
    assert kwargs["appcontext_pushed"] == {}
    assert kwargs["request_started"] == {}
    assert kwargs["appcontext_popped"] == {}
    finished = kwargs["request_finished"]["response"]
    assert isinstance(finished, Response)
    assert finished.get_data() == b"hello"
    assert kwargs["request_tearing_down"] == {"exc": None}
    assert kwargs["appcontext_tearing_down"] == {"exc": None}


def test_signals_of_a_failing_request(signal_app: Phial) -> None:
    with ExitStack() as stack:
        log = _record(signal_app, stack)
        response = signal_app.test_client().get("/fail")
    assert response.status_code == 500
    names = [name for name, _, _ in log]
    assert names == [
        "appcontext_pushed",
        "request_started",
        "got_request_exception",
        "request_finished",
        "request_tearing_down",
        "appcontext_tearing_down",
        "appcontext_popped",
    ]
    kwargs = {name: kw for name, _, kw in log}
    exception = kwargs["got_request_exception"]["exception"]
    assert isinstance(exception, ZeroDivisionError)
    assert kwargs["request_finished"]["response"].status_code == 500
    assert kwargs["request_tearing_down"]["exc"] is exception
    assert kwargs["appcontext_tearing_down"]["exc"] is exception


def test_signals_match_flask_order() -> None:
    flask = pytest.importorskip("flask")

    def names_for(app: t.Any, signals: dict[str, Signal]) -> list[str]:
        app.add_url_rule("/", "index", lambda: "hi")
        app.add_url_rule("/fail", "fail", lambda: 1 / 0)
        app.logger.disabled = True
        log: list[str] = []
        with ExitStack() as stack:
            for name, signal in signals.items():
                stack.enter_context(
                    signal.connected_to(lambda sender, _n=name, **kw: log.append(_n), app)
                )
            client = app.test_client()
            client.get("/")
            client.get("/fail")
        app.logger.disabled = False
        return log

    flask_signals = {name: getattr(flask, name) for name in REQUEST_SIGNALS}
    expected = names_for(flask.Flask("flask_reference"), flask_signals)
    assert names_for(Phial("signals_reference"), REQUEST_SIGNALS) == expected


def test_receivers_for_another_app_are_not_called(signal_app: Phial) -> None:
    other = Phial("other")
    with ExitStack() as stack:
        log = _record(other, stack)
        signal_app.test_client().get("/")
    assert log == []


def test_handled_error_sends_no_got_request_exception(signal_app: Phial) -> None:
    signal_app.register_error_handler(ZeroDivisionError, lambda e: ("handled", 418))
    with ExitStack() as stack:
        log = _record(signal_app, stack)
        response = signal_app.test_client().get("/fail")
    assert response.status_code == 418
    assert "got_request_exception" not in [name for name, _, _ in log]


def test_async_receiver_is_run(signal_app: Phial) -> None:
    seen: list[t.Any] = []

    async def receiver(sender: t.Any, **kwargs: t.Any) -> None:
        seen.append(sender)

    with request_started.connected_to(receiver, signal_app):
        signal_app.test_client().get("/")
    assert seen == [signal_app]


def test_nothing_is_sent_without_receivers(
    signal_app: Phial, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    for name, signal in REQUEST_SIGNALS.items():
        assert not signal.receivers, f"{name} has receivers left from another test"
        monkeypatch.setattr(signal, "send", lambda *a, _n=name, **kw: sent.append(_n))
    client = signal_app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/fail").status_code == 500
    assert sent == []


def test_sent_once_a_receiver_connects(signal_app: Phial, monkeypatch: pytest.MonkeyPatch) -> None:
    # The counterpart of the test above: the patched send is really the one used.
    sent: list[t.Any] = []
    monkeypatch.setattr(request_started, "send", lambda *a, **kw: sent.append(a))
    with request_started.connected_to(lambda sender, **kw: None, signal_app):
        # WSGI only: over ASGI the pipeline awaits the receivers on the loop
        # itself (phial.signals._asend), not through the Signal.send patched here.
        signal_app.test_client(protocol="wsgi").get("/")
    assert sent == [(signal_app,)]


@pytest.mark.parametrize("protocol", ["wsgi", "asgi"])
def test_async_receivers_on_both_protocols(signal_app: Phial, protocol: str) -> None:
    import asyncio

    seen: list[str] = []

    async def on_start(sender: t.Any, **kwargs: t.Any) -> None:
        await asyncio.sleep(0)  # really suspends: it must be awaited, not driven
        seen.append("started")

    async def on_finish(sender: t.Any, response: Response, **kwargs: t.Any) -> None:
        await asyncio.sleep(0)
        seen.append(f"finished {response.status_code}")

    async def on_teardown(sender: t.Any, **kwargs: t.Any) -> None:
        await asyncio.sleep(0)
        seen.append("teardown")

    async def on_pushed(sender: t.Any, **kwargs: t.Any) -> None:
        await asyncio.sleep(0)
        seen.append("pushed")

    with ExitStack() as stack:
        stack.enter_context(request_started.connected_to(on_start, signal_app))
        stack.enter_context(request_finished.connected_to(on_finish, signal_app))
        stack.enter_context(request_tearing_down.connected_to(on_teardown, signal_app))
        stack.enter_context(appcontext_pushed.connected_to(on_pushed, signal_app))
        response = signal_app.test_client(protocol=protocol).get("/")
    assert response.status_code == 200
    # appcontext_pushed is sent from sync code: on the loop it is scheduled,
    # so it may finish at any point of the request; the pipeline's are in order.
    assert sorted(seen) == sorted(["pushed", "started", "finished 200", "teardown"])
    pipeline = [s for s in seen if s != "pushed"]
    assert pipeline == ["started", "finished 200", "teardown"]


def test_async_signal_from_sync_code_on_loop_is_scheduled() -> None:
    import asyncio

    from blinker import Namespace

    from phial.signals import _send

    sig = Namespace().signal("x")
    seen: list[str] = []

    async def receiver(sender: t.Any) -> None:
        seen.append(sender)

    async def failing(sender: t.Any) -> None:
        raise ValueError("logged, not raised")

    def never(f: t.Any) -> t.Any:
        raise AssertionError("ensure_sync must not run a coroutine on the loop")

    async def main() -> None:
        sig.connect(receiver)
        sig.connect(failing)
        _send(sig, "s", _async_wrapper=never)
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert seen == ["s"]


def test_muted_signal_is_not_sent_over_asgi(signal_app: Phial) -> None:
    seen: list[t.Any] = []

    async def receiver(sender: t.Any, **kwargs: t.Any) -> None:
        seen.append(sender)

    with request_started.connected_to(receiver, signal_app), request_started.muted():
        signal_app.test_client(protocol="asgi").get("/")
    assert seen == []
