"""Background tasks: work that runs after the response has been sent.

:meth:`phial.Phial.add_background_task` lands here. The task runs inside an
app context of its own (the request's context is gone by then), ``def`` or
``async def`` alike, and an exception it raises is logged, never raised into
the server.

- Over ASGI the task is started on the server's event loop once the response
  is sent (sync functions run in the app's thread pool). The app keeps the
  running tasks and the lifespan shutdown waits for them before the
  ``after_serving`` functions run.
- Over WSGI there is no loop to hand work to: the task runs when the server
  closes the response body, in the worker thread that served the request, so
  that worker is busy until it finishes (the client already has the response).
- Called outside a request, the task starts at once: as a task on the running
  loop if there is one, else synchronously in the calling thread.
"""

from __future__ import annotations

import contextvars
import typing as t
from functools import partial

from ._async import _cv_server_loop, is_async_callable, running_loop, server_loop
from .globals import _cv_request

if t.TYPE_CHECKING:
    import asyncio

    from .app import Phial
    from .wrappers import Response

Task = t.Callable[[], t.Any]


def add_background_task(
    app: Phial, func: t.Callable[..., t.Any], args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
) -> None:
    """Arrange for ``func(*args, **kwargs)`` to run after the current response."""
    if not callable(func):
        raise TypeError(f"add_background_task() needs a callable, not {func!r}.")
    job = partial(func, *args, **kwargs)
    ctx = _cv_request.get(None)
    if ctx is None:
        loop = running_loop()
        if loop is not None:
            _spawn(app, loop, job)
        else:
            _run_sync(app, job)
        return

    def attach(response: Response) -> Response:
        response.call_on_close(partial(_after_response, app, job))
        return response

    # after_this_request: the job rides on whichever response is finally sent.
    ctx._after_request_functions.append(attach)


def _after_response(app: Phial, job: Task) -> None:
    """Called when the response is closed: hand the job to the server's loop
    over ASGI (this may run in a pool thread), or run it here over WSGI."""
    loop = server_loop()
    if loop is None:
        _run_sync(app, job)
    elif loop is running_loop():
        _spawn(app, loop, job)
    else:
        loop.call_soon_threadsafe(_spawn, app, loop, job)


def _run_sync(app: Phial, job: Task) -> None:
    with app.app_context():
        try:
            # Not through ensure_sync: its cache would keep every job.
            if is_async_callable(job):
                app.async_to_sync(job)()
            else:
                job()
        except Exception:
            app.logger.exception("A background task failed")


def _spawn(app: Phial, loop: asyncio.AbstractEventLoop, job: Task) -> None:
    # An empty context: the task must not see (or keep alive) the request's.
    task = contextvars.Context().run(loop.create_task, _run_async(app, loop, job))
    tasks: set[asyncio.Task[None]] = app._background_tasks
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _run_async(app: Phial, loop: asyncio.AbstractEventLoop, job: Task) -> None:
    from .asgi import call_async

    _cv_server_loop.set(loop)
    app_ctx = app.app_context()
    app_ctx.push()
    error: BaseException | None = None
    try:
        await call_async(app, job)
    except Exception as e:
        error = e
        app.logger.exception("A background task failed")
    finally:
        await app_ctx._apop(error)


async def wait_for_background_tasks(app: Phial) -> None:
    """Wait until no background task of ``app`` runs (including ones that
    running tasks add meanwhile)."""
    import asyncio  # running on its loop: loaded

    tasks: set[asyncio.Task[None]] = app._background_tasks
    while tasks:
        await asyncio.wait(list(tasks))
