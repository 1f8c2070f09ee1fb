from __future__ import annotations

import typing as t

import blinker
import pytest

from phial import signals
from phial.signals import Namespace, _send

FLASK_SIGNALS = [
    "template_rendered",
    "before_render_template",
    "request_started",
    "request_finished",
    "request_tearing_down",
    "got_request_exception",
    "appcontext_tearing_down",
    "appcontext_pushed",
    "appcontext_popped",
    "message_flashed",
]


@pytest.mark.parametrize("name", FLASK_SIGNALS)
def test_flask_signals_exist_with_flask_names(name: str) -> None:
    signal = getattr(signals, name)
    assert isinstance(signal, blinker.NamedSignal)
    assert signal.name == name.replace("_", "-")
    assert signals._signals[signal.name] is signal


def test_namespace_is_blinker_compatible() -> None:
    ns = Namespace()
    assert isinstance(ns, blinker.Namespace)
    assert ns.signal("x") is ns.signal("x")


def test_connect_send_by_sender() -> None:
    app, other = object(), object()
    calls: list[tuple[object, dict[str, t.Any]]] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        calls.append((sender, kwargs))

    signals.message_flashed.connect(receiver, app)
    try:
        signals.message_flashed.send(other, message="no")
        signals.message_flashed.send(app, message="hi", category="info")
    finally:
        signals.message_flashed.disconnect(receiver, app)
    assert calls == [(app, {"message": "hi", "category": "info"})]


def test_send_helper_delivers_when_connected() -> None:
    app = object()
    calls: list[tuple[object, dict[str, t.Any]]] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        calls.append((sender, kwargs))

    with signals.request_finished.connected_to(receiver, app):
        _send(signals.request_finished, app, response="r")
    _send(signals.request_finished, app, response="after")
    assert calls == [(app, {"response": "r"})]


def test_send_helper_skips_blinker_when_nothing_connected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sig = Namespace().signal("lonely")

    def fail(*args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise AssertionError("send should not be called without receivers")

    monkeypatch.setattr(sig, "send", fail)
    _send(sig, object(), x=1)  # must not raise


def test_send_helper_passes_async_wrapper() -> None:
    sig = Namespace().signal("async")
    results: list[str] = []

    async def receiver(sender: object, **kwargs: t.Any) -> None:
        results.append(kwargs["value"])

    def run_sync(
        fn: t.Callable[..., t.Coroutine[t.Any, t.Any, t.Any]],
    ) -> t.Callable[..., t.Any]:
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            coro = fn(*args, **kwargs)
            try:
                coro.send(None)
            except StopIteration as stop:
                return stop.value
            raise AssertionError("receiver should not suspend")

        return wrapper

    sig.connect(receiver)
    _send(sig, object(), _async_wrapper=run_sync, value="ran")
    assert results == ["ran"]
