"""Running coroutines from synchronous code and driving the pipeline.

phial writes its request pipeline once, as coroutines. The WSGI driver runs
them with :func:`drive`, which never suspends because on WSGI every user
callable has been made synchronous; the ASGI driver awaits them.

:mod:`asyncio` is imported only when a coroutine is actually run: a WSGI app
with only ``def`` views never loads it (it would add a tenth to phial's import
time and a megabyte of memory).
"""

from __future__ import annotations

import contextvars
import inspect
import sys
import threading
import typing as t
import weakref
from collections.abc import Coroutine
from functools import partial

from .globals import _cv_request

if t.TYPE_CHECKING:
    import asyncio

T = t.TypeVar("T")

#: The server's event loop, where the ASGI driver sets it: in a request's
#: context only once something may run there without the request context (a
#: pool job, a streamed or closed response, teardown), in a websocket's or a
#: background task's context at once. Synchronous user code run in a worker
#: thread sends its coroutines back to it (see :func:`server_loop`).
_cv_server_loop: contextvars.ContextVar[asyncio.AbstractEventLoop] = contextvars.ContextVar(
    "phial.server_loop"
)


#: The calling thread's persistent event loop for coroutines run from sync
#: code. Each thread's own context holds its loop, so one loop serves every app
#: in the thread for the thread's life (a loop per app would be garbage
#: collected unclosed with the app).
_cv_thread_loop: contextvars.ContextVar[asyncio.AbstractEventLoop] = contextvars.ContextVar(
    "phial.thread_loop"
)


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or ``None``; never imports asyncio.

    No loop can run before :mod:`asyncio` has been imported, so while it is not
    in ``sys.modules`` the answer is ``None`` at the cost of a dict lookup.
    """
    aio = sys.modules.get("asyncio")
    return None if aio is None else aio._get_running_loop()


def server_loop() -> asyncio.AbstractEventLoop | None:
    """The ASGI server's event loop, when the caller runs for an ASGI request
    (on the loop or in a thread started in the request's context, such as
    ``asyncio.to_thread`` or the driver's pool), else ``None``.

    The driver records the loop on the request context (one attribute, not a
    context variable set per request) and sets :data:`_cv_server_loop` only
    where the request context may be gone by the time code runs.
    """
    loop = _cv_server_loop.get(None)
    if loop is None:
        ctx = _cv_request.get(None)
        if ctx is not None:
            loop = ctx._asgi_loop
    return loop


def thread_loop() -> asyncio.AbstractEventLoop:
    """The calling thread's persistent event loop (made on first use)."""
    loop = _cv_thread_loop.get(None)
    if loop is None or loop.is_closed():
        import asyncio

        loop = asyncio.new_event_loop()
        _cv_thread_loop.set(loop)
    return loop


def drive(coro: Coroutine[t.Any, t.Any, T]) -> T:
    """Run a pipeline coroutine that is known not to suspend, and return its value."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]  # StopIteration carries T
    coro.close()
    raise RuntimeError(
        "A synchronous phial pipeline step awaited something. Call async functions"
        " through app.ensure_sync() when serving over WSGI."
    )


def is_async_callable(func: t.Any) -> bool:
    """Whether calling ``func`` returns a coroutine (functions, partials, objects)."""
    while isinstance(func, partial):
        func = func.func
    if inspect.iscoroutinefunction(func):
        return True
    call = getattr(func, "__call__", None)  # noqa: B004  # objects with an async __call__
    return call is not None and not inspect.isfunction(func) and inspect.iscoroutinefunction(call)


class LoopPerThread:
    """One persistent event loop per thread, for coroutines called from WSGI code.

    Creating a loop per call would break libraries that bind connections or
    locks to a loop; one loop per worker thread keeps them valid across requests.
    """

    def __init__(self) -> None:
        # The loops live in a dict the finalizer below holds, not in objects
        # that die with this one: collected in one cycle, a loop's sockets could
        # be finalised before anything closed it (a ResourceWarning).
        self._loops: dict[threading.Thread, asyncio.AbstractEventLoop] = {}
        self._local = threading.local()
        weakref.finalize(self, _close_loops, self._loops)

    @property
    def loops(self) -> list[asyncio.AbstractEventLoop]:
        """The loops of the threads that have one now."""
        return list(self._loops.values())

    def close(self) -> None:
        """Close the loops of every thread (those not running right now)."""
        _close_loops(self._loops)

    def _loop(self) -> asyncio.AbstractEventLoop:
        thread = threading.current_thread()
        loop = self._loops.get(thread)
        if loop is None or loop.is_closed():
            # Made in an empty context: the loop's own handles keep the context
            # current at creation, which must not be some request's (it would
            # keep that request, and so the app, alive as long as the loop).
            import asyncio

            loop = contextvars.Context().run(asyncio.new_event_loop)
            self._loops[thread] = loop
            # Thread-local data is dropped when the thread ends: the closer
            # then closes this thread's loop.
            self._local.closer = _ThreadEndCloser(self._loops, thread)
        return loop

    def run(self, coro: Coroutine[t.Any, t.Any, T]) -> T:
        """Run ``coro`` to completion and return its result."""
        found = server_loop()
        if found is not None and running_loop() is not found:
            import asyncio

            # An ASGI worker thread: the coroutine belongs on the server's loop,
            # with the caller's context so request and g stay visible.
            ctx = contextvars.copy_context()
            future: asyncio.Future[T] = asyncio.Future(loop=found)
            loop = found

            def start() -> None:
                task = ctx.run(loop.create_task, coro)
                asyncio.futures._chain_future(task, future)  # type: ignore[attr-defined]  # stdlib helper

            return _wait_on(found, future, start)
        if running_loop() is not None:
            coro.close()
            raise RuntimeError(
                "An async function was called synchronously from inside a running event"
                " loop. Await it instead, or call it from a thread."
            )
        return self._loop().run_until_complete(coro)


def _close_loops(loops: dict[threading.Thread, asyncio.AbstractEventLoop]) -> None:
    for loop in loops.values():
        if not loop.is_running() and not loop.is_closed():
            loop.close()
    loops.clear()


class _ThreadEndCloser:
    """Closes one thread's loop when that thread's local data is dropped."""

    __slots__ = ("loops", "thread")

    def __init__(
        self, loops: dict[threading.Thread, asyncio.AbstractEventLoop], thread: threading.Thread
    ) -> None:
        self.loops = loops
        self.thread = thread

    def __del__(self) -> None:
        loop = self.loops.pop(self.thread, None)
        if loop is not None and not loop.is_running() and not loop.is_closed():
            loop.close()


def _wait_on(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[T], start: t.Callable[[], None]
) -> T:
    import concurrent.futures

    done: concurrent.futures.Future[T] = concurrent.futures.Future()

    def relay(f: asyncio.Future[T]) -> None:
        if f.cancelled():
            done.cancel()
        elif (exc := f.exception()) is not None:
            done.set_exception(exc)
        else:
            done.set_result(f.result())

    def begin() -> None:
        future.add_done_callback(relay)
        start()

    loop.call_soon_threadsafe(begin)
    return done.result()


F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def mark_asgi3(func: F) -> F:
    """Mark ``func`` (a dual WSGI/ASGI ``__call__``) as a coroutine function.

    ASGI servers tell ASGI 3 from ASGI 2 by asking whether the app's
    ``__call__`` is a coroutine function (uvicorn uses
    ``asyncio.iscoroutinefunction``, others ``inspect``'s); a plain function
    that returns a coroutine for three arguments would be taken for ASGI 2.

    Before Python 3.12 the mark is an object of :mod:`asyncio`'s, which phial
    does not import for that alone: ``func`` is marked now if asyncio is loaded,
    else by :func:`mark_pending_asgi3` once it is (each new app calls it; a
    server that checks before that gets ASGI 2 answers from ``__call__``).
    """
    mark = getattr(inspect, "markcoroutinefunction", None)  # Python 3.12+
    if mark is not None:
        # inspect.iscoroutinefunction, and so asyncio's, honours this mark.
        return t.cast(F, mark(func))
    _unmarked.append(func)
    mark_pending_asgi3()
    return func


#: Functions :func:`mark_asgi3` has not given asyncio's mark yet.
_unmarked: list[t.Callable[..., t.Any]] = []


def mark_pending_asgi3() -> None:
    """Mark what :func:`mark_asgi3` left unmarked, if asyncio is loaded by now."""
    if not _unmarked:
        return
    coroutines = sys.modules.get("asyncio.coroutines")
    if coroutines is None:
        return
    marker = getattr(coroutines, "_is_coroutine", None)
    for func in _unmarked:
        func._is_coroutine = marker  # type: ignore[attr-defined]  # a marker attribute
    _unmarked.clear()
