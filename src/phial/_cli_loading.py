"""Finding the application for the ``phial`` command, and loading ``.env`` files.

:class:`ScriptInfo` is what the command line knows about the app: an import
path (``--app``, ``FLASK_APP``/``PHIAL_APP``) or a factory, loaded once on
demand. The import path follows Flask 3.1's rules: ``module``, ``module:name``
or ``module:factory(args)`` with literal arguments, where ``module`` may be a
dotted name or a file path; without one, ``wsgi.py`` then ``app.py`` in the
current folder are tried. Everything here is re-exported by :mod:`phial.cli`.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import sys
import types
import typing as t

import click

from .app import Phial
from .sansio.app import _get_debug_flag

#: The environment variables that name the app, most specific first.
APP_ENV_VARS = ("PHIAL_APP", "FLASK_APP")


class NoAppException(click.UsageError):
    """The application could not be found or loaded; the message says what was tried."""


def get_debug_flag() -> bool:
    """Whether ``PHIAL_DEBUG`` or ``FLASK_DEBUG`` asks for debug mode
    (set and not ``0``, ``false`` or ``no``)."""
    return _get_debug_flag()


def get_load_dotenv(default: bool = True) -> bool:
    """Whether ``.env`` files should be loaded: ``default``, unless
    ``FLASK_SKIP_DOTENV`` (or ``PHIAL_SKIP_DOTENV``) is set to a true value."""
    value = os.environ.get("PHIAL_SKIP_DOTENV") or os.environ.get("FLASK_SKIP_DOTENV")
    if not value:
        return default
    return value.lower() in ("0", "false", "no")


def prepare_import(path: str) -> str:
    """Turn a file path or dotted name into an importable module name.

    For a file (``src/pkg/app.py``) the folder above the outermost package is
    put first on :data:`sys.path` and the dotted name (``pkg.app``) returned.
    """
    path = os.path.realpath(path)
    fname, ext = os.path.splitext(path)
    if ext == ".py":
        path = fname
    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)
    parts: list[str] = []
    # Walk up while the folder is a package, so "pkg/app.py" imports as "pkg.app".
    while True:
        path, name = os.path.split(path)
        parts.append(name)
        if not os.path.exists(os.path.join(path, "__init__.py")):
            break
    if sys.path[0] != path:
        sys.path.insert(0, path)
    return ".".join(reversed(parts))


def _is_missing_module(exc: ImportError, module_name: str) -> bool:
    """True when ``exc`` says ``module_name`` itself (or a parent package) does
    not exist, rather than that something the module imports is missing."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return False
    return module_name == exc.name or module_name.startswith(exc.name + ".")


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: t.Literal[True] = True
) -> Phial: ...


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool = ...
) -> Phial | None: ...


def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool = True
) -> Phial | None:
    """Import ``module_name`` and find the app in it (by ``app_name`` if given).

    A module that does not exist raises :class:`NoAppException` (or returns
    ``None`` when ``raise_if_not_found`` is false). An error raised while the
    module runs, including an :class:`ImportError` of something it imports, is
    re-raised unchanged so the user sees their own traceback.
    """
    try:
        __import__(module_name)
    except ImportError as e:
        if not _is_missing_module(e, module_name):
            raise
        if raise_if_not_found:
            raise NoAppException(f"Could not import {module_name!r}.") from None
        return None
    module = sys.modules[module_name]
    if app_name is None:
        return find_best_app(module)
    return find_app_by_string(module, app_name)


def _call_factory(factory: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
    """Call an app factory. A TypeError from the call itself (the arguments do
    not fit) becomes :class:`_BadFactoryCall`; one raised inside is re-raised."""
    try:
        return factory(*args, **kwargs)
    except TypeError as e:
        tb = e.__traceback__
        # Only this frame in the traceback: the arguments did not fit the signature.
        if tb is not None and tb.tb_next is None:
            raise _BadFactoryCall from e
        raise


class _BadFactoryCall(Exception):
    """The factory could not be called with the given arguments."""


def find_best_app(module: types.ModuleType) -> Phial:
    """Find the app in ``module``: ``app`` or ``application``, else the only
    app instance, else a ``create_app`` or ``make_app`` factory callable
    without arguments."""
    for attr_name in ("app", "application"):
        app = getattr(module, attr_name, None)
        if isinstance(app, Phial):
            return app
    matches = [v for v in module.__dict__.values() if isinstance(v, Phial)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise NoAppException(
            f"Detected multiple phial applications in module '{module.__name__}'."
            f" Use '{module.__name__}:name' to specify the correct one."
        )
    for attr_name in ("create_app", "make_app"):
        factory = getattr(module, attr_name, None)
        if inspect.isfunction(factory):
            try:
                app = _call_factory(factory)
            except _BadFactoryCall:
                raise NoAppException(
                    f"Detected factory '{attr_name}' in module '{module.__name__}', but"
                    " could not call it without arguments. Use"
                    f" '{module.__name__}:{attr_name}(args)' to specify arguments."
                ) from None
            if isinstance(app, Phial):
                return app
    raise NoAppException(
        f"Failed to find phial application or factory in module '{module.__name__}'."
        f" Use '{module.__name__}:name' to specify one."
    )


def _parse_app_name(app_name: str) -> tuple[str, list[t.Any], dict[str, t.Any]]:
    """``"name"`` or ``"name(literal, key=literal)"`` → (name, args, kwargs)."""
    try:
        expr = ast.parse(app_name.strip(), mode="eval").body
    except SyntaxError:
        raise NoAppException(
            f"Failed to parse {app_name!r} as an attribute name or function call."
        ) from None
    if isinstance(expr, ast.Name):
        return expr.id, [], {}
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
        try:
            args = [ast.literal_eval(arg) for arg in expr.args]
            kwargs = {
                kw.arg: ast.literal_eval(kw.value) for kw in expr.keywords if kw.arg is not None
            }
        except ValueError:
            raise NoAppException(
                f"Failed to parse arguments as literal values: {app_name!r}."
            ) from None
        if len(kwargs) != len(expr.keywords):
            raise NoAppException(f"Failed to parse arguments as literal values: {app_name!r}.")
        return expr.func.id, args, kwargs
    raise NoAppException(f"Failed to parse {app_name!r} as an attribute name or function call.")


def find_app_by_string(module: types.ModuleType, app_name: str) -> Phial:
    """Find the app named by ``app_name`` in ``module``: an attribute, or a
    function called with the literal arguments written after its name."""
    name, args, kwargs = _parse_app_name(app_name)
    try:
        attr = getattr(module, name)
    except AttributeError:
        raise NoAppException(f"Failed to find attribute {name!r} in {module.__name__!r}.") from None
    if inspect.isfunction(attr):
        try:
            app = _call_factory(attr, *args, **kwargs)
        except _BadFactoryCall as e:
            raise NoAppException(
                f"The factory {app_name!r} in module {module.__name__!r} could not be"
                f" called with the specified arguments: {e.__cause__}"
            ) from None
    else:
        app = attr
    if isinstance(app, Phial):
        return app
    raise NoAppException(
        f"A valid phial application was not obtained from '{module.__name__}:{app_name}'."
    )


def _split_import_path(import_path: str) -> tuple[str, str | None]:
    """``"pkg.mod:create_app()"`` → ``("pkg.mod", "create_app()")``; a colon
    followed by a slash is a Windows drive (``C:\\app.py``), not a separator."""
    match = re.search(r":(?![\\/])", import_path)
    if match is None:
        return import_path, None
    return import_path[: match.start()], import_path[match.end() :]


class ScriptInfo:
    """What the command line knows about the app, and how to load it.

    :param app_import_path: ``module``, ``module:name`` or ``module:factory(args)``.
    :param create_app: A function that returns the app; takes precedence.
    :param set_debug_flag: Set ``app.debug`` from ``FLASK_DEBUG`` after loading.
    :param load_dotenv_defaults: Load ``.env`` and ``.flaskenv`` (unless
        ``FLASK_SKIP_DOTENV`` says not to).
    """

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: t.Callable[..., Phial] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        #: The import path of the app, if any.
        self.app_import_path = app_import_path
        #: The factory that returns the app, if any.
        self.create_app = create_app
        #: Arbitrary data commands may share.
        self.data: dict[t.Any, t.Any] = {}
        self.set_debug_flag = set_debug_flag
        #: Whether the default ``.env`` files are loaded.
        self.load_dotenv_defaults = get_load_dotenv(load_dotenv_defaults)
        self._loaded_app: Phial | None = None

    def load_app(self) -> Phial:
        """Load the app once (later calls return the same object).

        Raises :class:`NoAppException` saying what was tried when no app is found.
        """
        if self._loaded_app is not None:
            return self._loaded_app
        app: Phial | None
        if self.create_app is not None:
            app = self.create_app()
            if not isinstance(app, Phial):
                raise NoAppException(
                    f"The create_app function returned {type(app).__name__!r}, not a phial"
                    " application."
                )
        elif self.app_import_path:
            path, name = _split_import_path(self.app_import_path)
            app = locate_app(prepare_import(path), name)
        else:
            app = None
            for path in ("wsgi.py", "app.py"):
                app = locate_app(prepare_import(path), None, raise_if_not_found=False)
                if app is not None:
                    break
            if app is None:
                raise NoAppException(
                    "Could not locate a phial application. Use the 'phial --app' option,"
                    " the 'FLASK_APP' (or 'PHIAL_APP') environment variable, or a"
                    " 'wsgi.py' or 'app.py' file in the current directory."
                )
        if self.set_debug_flag:
            # Done here rather than in the app so a factory can read it early.
            app.debug = get_debug_flag()
        self._loaded_app = app
        return app


#: A decorator that passes the :class:`ScriptInfo` (creating it if needed).
pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Set environment variables from ``.env`` files, with python-dotenv.

    ``path`` takes precedence over ``.env``, which takes precedence over
    ``.flaskenv`` (both found by searching up from the current folder when
    ``load_defaults`` is true). Variables already in the environment are never
    overwritten. Returns whether at least one variable was set.

    Without python-dotenv nothing is loaded; if such files exist, a hint to
    install it is printed.
    """
    try:
        import dotenv
    except ImportError:
        if path or os.path.isfile(".env") or os.path.isfile(".flaskenv"):
            click.secho(
                " * Tip: There are .env files present. Install python-dotenv to use them.",
                fg="yellow",
                err=True,
            )
        return False
    data: dict[str, str | None] = {}
    if load_defaults:
        # Lowest precedence first, so later files overwrite earlier ones.
        for name in (".flaskenv", ".env"):
            found = dotenv.find_dotenv(name, usecwd=True)
            if found:
                data |= dotenv.dotenv_values(found, encoding="utf-8")
    if path is not None and os.path.isfile(path):
        data |= dotenv.dotenv_values(path, encoding="utf-8")
    loaded = False
    for key, value in data.items():
        if key in os.environ or value is None:
            continue
        os.environ[key] = value
        loaded = True
    return loaded
