"""The application logger and the default handler that writes to the WSGI error stream."""

from __future__ import annotations

import logging
import sys
import typing as t

from werkzeug.local import LocalProxy


def _current_errors_stream() -> t.TextIO:
    # Imported here because phial.globals sits above this module in the import graph's
    # top layer, and logging is set up while the app module is still being imported.
    from .globals import _cv_request

    ctx = _cv_request.get(None)
    if ctx is not None:
        return ctx.request.environ["wsgi.errors"]  # type: ignore[no-any-return]  # WSGI environ is untyped
    return sys.stderr


wsgi_errors_stream: t.TextIO = LocalProxy(  # type: ignore[assignment]  # a proxy stands in for the stream
    _current_errors_stream
)
"""The stream the server provides for errors (``environ["wsgi.errors"]``) while a request
is being handled, else :data:`sys.stderr`. Resolved on every write, so one handler follows
whichever request is active.
"""


def has_level_handler(logger: logging.Logger) -> bool:
    """Tell whether a handler on ``logger`` or an ancestor it propagates to would emit a
    record at the logger's effective level.

    :param logger: The logger to check.
    """
    level = logger.getEffectiveLevel()
    current: logging.Logger | None = logger
    while current is not None:
        if any(handler.level <= level for handler in current.handlers):
            return True
        if not current.propagate:
            # Records stop here, so handlers further up never see them.
            break
        current = current.parent
    return False


default_handler: logging.StreamHandler[t.TextIO] = logging.StreamHandler(wsgi_errors_stream)
"""Handler added by :func:`create_logger` when nothing else would show the app's logs.
Remove it with ``app.logger.removeHandler(default_handler)`` to take full control."""
default_handler.setFormatter(
    logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")
)


class _HasNameAndDebug(t.Protocol):
    # Structural, so this module needn't import the app module (which imports this one).
    @property
    def name(self) -> str: ...

    @property
    def debug(self) -> bool: ...


def create_logger(app: _HasNameAndDebug) -> logging.Logger:
    """Return the logger named after the app, configured with defaults that respect any
    logging set up by the user.

    * If ``app.debug`` is true and the logger has no level of its own, it is set to
      :data:`logging.DEBUG`.
    * If no handler would show a record at the logger's effective level,
      :data:`default_handler` is added.

    :param app: The application; ``name`` and ``debug`` are read.
    """
    logger = logging.getLogger(app.name)
    if app.debug and not logger.level:
        logger.setLevel(logging.DEBUG)
    if not has_level_handler(logger):
        logger.addHandler(default_handler)
    return logger
