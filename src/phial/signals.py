"""Flask's signals, built on blinker, and the helper the framework sends them with.

Extensions use blinker's own API on these objects: ``signal.connect(fn, app)``,
``signal.connected_to(fn, app)``, ``signal.send(app, **kwargs)``. Inside phial, signals
are sent with :func:`_send`, which skips all of blinker's work when no receiver is
connected, which is the common case on the request path.
"""

from __future__ import annotations

import inspect
import logging
import typing as t

from blinker import Namespace, Signal

from ._async import running_loop

if t.TYPE_CHECKING:
    import asyncio

__all__ = [
    "Namespace",
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "got_request_exception",
    "message_flashed",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "template_rendered",
]

# blinker.Namespace is re-exported unchanged: extensions create their own signals with it,
# and a subclass would add nothing but a type they can't rely on.

_signals = Namespace()

template_rendered = _signals.signal("template-rendered")
"""Sent after a template is rendered, with ``template`` and ``context``."""
before_render_template = _signals.signal("before-render-template")
"""Sent before a template is rendered, with ``template`` and ``context``."""
request_started = _signals.signal("request-started")
"""Sent when a request context is set up, before any request handling."""
request_finished = _signals.signal("request-finished")
"""Sent after the response is built, with ``response``."""
request_tearing_down = _signals.signal("request-tearing-down")
"""Sent when the request context is torn down, with ``exc`` (may be ``None``)."""
got_request_exception = _signals.signal("got-request-exception")
"""Sent when an unhandled exception reaches the app, with ``exception``."""
appcontext_tearing_down = _signals.signal("appcontext-tearing-down")
"""Sent when the app context is torn down, with ``exc`` (may be ``None``)."""
appcontext_pushed = _signals.signal("appcontext-pushed")
"""Sent when an app context is pushed."""
appcontext_popped = _signals.signal("appcontext-popped")
"""Sent when an app context is popped."""
message_flashed = _signals.signal("message-flashed")
"""Sent when a message is flashed, with ``message`` and ``category``."""


class _LifecycleWatch:
    """Whether a receiver was ever connected to a signal the request
    lifecycle sends.

    Until one is, the drivers' fast lane skips asking each of these signals
    for receivers on every request (see ``Phial._lane_quiet``). Disconnecting
    is not tracked: once set, the lane asks each signal per request again.
    """

    def __init__(self) -> None:
        self.heard = False


#: The one watch. (An instance: reading an instance's attribute costs less
#: than reading a class's, and the drivers read it on every request.)
_lifecycle_watch = _LifecycleWatch()


def _heard(signal: Signal, **kwargs: t.Any) -> None:
    _lifecycle_watch.heard = True


#: The signals sent around each request (got_request_exception only leaves the
#: lane's error path, which asks for its receivers itself).
_LIFECYCLE_SIGNALS = (
    request_started,
    request_finished,
    request_tearing_down,
    appcontext_pushed,
    appcontext_popped,
    appcontext_tearing_down,
)
for _signal in _LIFECYCLE_SIGNALS:
    # blinker sends receiver_connected from connect(), connect_via() and
    # connected_to(); _heard is a module function, so the weak reference lives.
    _signal.receiver_connected.connect(_heard)


def _send(
    signal: Signal,
    sender: t.Any,
    /,
    *,
    _async_wrapper: t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]] | None = None,
    **kwargs: t.Any,
) -> None:
    """Send ``signal`` from ``sender`` only if something is connected to it.

    ``Signal.receivers`` is blinker's dict of all connected receivers, for any sender.
    When it is empty the send would call nothing, so this returns before building
    blinker's per-sender receiver list and before the caller's keyword arguments are
    forwarded. The result list is dropped: no framework code reads it.

    :param signal: The signal to send.
    :param sender: Passed to receivers as the first argument; usually the app.
    :param _async_wrapper: Passed on to :meth:`blinker.Signal.send` to run coroutine
        receivers (the app's ``ensure_sync``).
    :param kwargs: Passed to receivers as keyword arguments.
    """
    if not signal.receivers:
        return
    if _async_wrapper is not None and running_loop() is not None:
        # On the ASGI server's loop (a context pushed or popped there): running
        # a coroutine receiver to completion would block the loop, so it is
        # scheduled on the loop instead. The pipeline awaits them (_asend).
        _async_wrapper = _schedule
    if _async_wrapper is None:
        signal.send(sender, **kwargs)
    else:
        signal.send(sender, _async_wrapper=_async_wrapper, **kwargs)


async def _asend(signal: Signal, sender: t.Any, /, **kwargs: t.Any) -> None:
    """Send ``signal`` from the event loop: coroutine receivers are awaited in
    turn (so they finish before the pipeline goes on), sync ones called."""
    if not signal.receivers or getattr(signal, "is_muted", False):  # Signal.muted()
        return
    for receiver in signal.receivers_for(sender):
        rv = receiver(sender, **kwargs)
        if inspect.isawaitable(rv):
            await rv


#: Receiver tasks scheduled by _send on a running loop; held so they are not
#: garbage collected before they finish.
_pending: set[asyncio.Task[t.Any]] = set()


def _schedule(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """Wrap a coroutine receiver so calling it starts a task on the running loop."""

    def start(*args: t.Any, **kwargs: t.Any) -> None:
        loop = running_loop()
        assert loop is not None, "_send schedules only on a running loop"
        task = loop.create_task(func(*args, **kwargs))
        _pending.add(task)
        task.add_done_callback(_finished)

    return start


def _finished(task: asyncio.Task[t.Any]) -> None:
    _pending.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger("phial.signals").error(
            "An async signal receiver failed", exc_info=task.exception()
        )
