"""Run Flask extensions unmodified: make ``import flask`` resolve to phial.

Flask extensions (Flask-Login, Flask-WTF, Flask-SQLAlchemy, Flask-CORS,
Flask-Caching, …) ``import flask`` themselves. After
:func:`install_flask_alias`, ``flask`` *is* the :mod:`phial` package and every
``flask.<name>`` submodule (``flask.globals``, ``flask.json.provider``,
``flask.sansio.scaffold``, …) *is* the module ``phial.<name>``, so extensions
get phial's app class, proxies, signals and wrappers. Without the call phial
never touches ``flask``.

When to call it: once, at the very start of the process, **before** any Flask
extension (or anything else that imports ``flask``) is imported — typically
the first lines of the module that creates the app::

    from phial.compat import install_flask_alias

    install_flask_alias()

    from flask_login import LoginManager  # now built on phial

Under the ``phial`` command use ``phial --flask-alias run`` or set
``PHIAL_FLASK_ALIAS=1``; the alias is then installed before the app is loaded.
If the real Flask was already imported in the process, the call raises
:class:`RuntimeError` rather than leave two frameworks mixed.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import typing as t

__all__ = ["flask_alias_installed", "install_flask_alias", "uninstall_flask_alias"]

_ALIAS = "flask"
_TARGET = "phial"


def _target_name(fullname: str) -> str:
    return _TARGET + fullname[len(_ALIAS) :]


def _is_alias_name(fullname: str) -> bool:
    return fullname == _ALIAS or fullname.startswith(_ALIAS + ".")


class _AliasLoader(importlib.abc.Loader):
    """Hands the import system an already imported phial module."""

    def __init__(self, module: types.ModuleType) -> None:
        self._module = module
        self._spec = module.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self._module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system stamped the alias spec onto the module before this
        # call; the module keeps its real identity (``phial.x``) for pickling,
        # ``importlib.reload`` and tracebacks.
        module.__spec__ = self._spec


class _FlaskAliasFinder(importlib.abc.MetaPathFinder):
    """Resolves ``flask`` and ``flask.*`` to ``phial`` and ``phial.*``."""

    def find_spec(
        self,
        fullname: str,
        path: t.Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if not _is_alias_name(fullname):
            return None
        target_name = _target_name(fullname)
        try:
            module = importlib.import_module(target_name)
        except ModuleNotFoundError as e:
            if e.name != target_name:
                raise  # a real import error inside phial: do not hide it
            # phial has no such module: let the import fail with the alias name.
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: phial (aliased as 'flask') has no"
                f" module {target_name!r}.",
                name=fullname,
            ) from None
        is_package = hasattr(module, "__path__")
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module), is_package=is_package)


def _installed_finder() -> _FlaskAliasFinder | None:
    for finder in sys.meta_path:
        if isinstance(finder, _FlaskAliasFinder):
            return finder
    return None


def flask_alias_installed() -> bool:
    """Whether :func:`install_flask_alias` is in effect."""
    return _installed_finder() is not None


def install_flask_alias() -> None:
    """Make ``import flask`` and ``import flask.<name>`` give phial's modules.

    Idempotent. Raises :class:`RuntimeError` if the real Flask is already
    imported: call this before importing any Flask extension.
    """
    existing = sys.modules.get(_ALIAS)
    if existing is not None and existing is not sys.modules.get(_TARGET):
        raise RuntimeError(
            "The real 'flask' package is already imported in this process, so phial can"
            " no longer stand in for it. Call phial.compat.install_flask_alias() (or use"
            " 'phial --flask-alias' / PHIAL_FLASK_ALIAS=1) before importing Flask"
            " extensions or anything else that imports flask."
        )
    if flask_alias_installed():
        return
    # First in line, so the installed Flask distribution is never found.
    sys.meta_path.insert(0, _FlaskAliasFinder())
    # Modules phial has already loaded are registered directly; the finder
    # handles the rest on demand.
    for name, module in list(sys.modules.items()):
        if module is not None and (name == _TARGET or name.startswith(_TARGET + ".")):
            sys.modules.setdefault(_ALIAS + name[len(_TARGET) :], module)
    importlib.import_module(_ALIAS)


def uninstall_flask_alias() -> None:
    """Undo :func:`install_flask_alias` (for tests); ``flask`` is unaliased.

    Modules that imported ``flask`` while the alias was in place keep the
    phial objects they got.
    """
    finder = _installed_finder()
    if finder is not None:
        sys.meta_path.remove(finder)
    for name in [n for n in sys.modules if _is_alias_name(n)]:
        module = sys.modules[name]
        if module is not None and module.__name__ == _target_name(name):
            del sys.modules[name]
