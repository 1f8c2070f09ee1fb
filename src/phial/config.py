"""The configuration mapping and the descriptor that forwards app attributes into it.

:class:`Config` is a :class:`dict` with loaders for the usual sources (Python files,
objects, environment variables, data files). Only UPPERCASE keys are taken from files,
objects and mappings, so that helpers and imports in a config module stay out of the
configuration.
"""

from __future__ import annotations

import errno
import json
import os
import types
import typing as t

from werkzeug.utils import import_string

if t.TYPE_CHECKING:
    import typing_extensions as te

T = t.TypeVar("T")

# errno values that mean "there is no such file", as opposed to "the file exists but could
# not be read". Only these are swallowed by ``silent=True``; a permission error is still a
# mistake worth reporting.
_MISSING_FILE_ERRNOS = frozenset({errno.ENOENT, errno.EISDIR, errno.ENOTDIR})


class _HasConfig(t.Protocol):
    config: Config


class ConfigAttribute(t.Generic[T]):
    """Forward an attribute of the owning object to a key of its ``config``.

    Used on the application class so that ``app.testing`` reads and writes
    ``app.config["TESTING"]``.

    :param name: The config key to forward to.
    :param get_converter: Called with the stored value when it is read, e.g. to turn a
        number of seconds into a :class:`~datetime.timedelta`.
    """

    def __init__(self, name: str, get_converter: t.Callable[[t.Any], T] | None = None) -> None:
        self.__name__ = name
        self.get_converter = get_converter

    @t.overload
    def __get__(self, obj: None, owner: type[t.Any] | None = None) -> te.Self: ...

    @t.overload
    def __get__(self, obj: _HasConfig, owner: type[t.Any] | None = None) -> T: ...

    def __get__(self, obj: _HasConfig | None, owner: type[t.Any] | None = None) -> T | te.Self:
        if obj is None:
            # Class access returns the descriptor so it can be introspected/documented.
            return self
        value = obj.config[self.__name__]
        if self.get_converter is not None:
            value = self.get_converter(value)
        return value  # type: ignore[no-any-return]  # the config dict is untyped; T is the caller's promise

    def __set__(self, obj: _HasConfig, value: t.Any) -> None:
        obj.config[self.__name__] = value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.__name__!r}>"


class Config(dict[str, t.Any]):
    """A :class:`dict` holding an application's configuration, with loaders.

    :param root_path: Relative file names given to :meth:`from_pyfile` and
        :meth:`from_file` are resolved against this directory, usually the
        application's root path.
    :param defaults: Initial values.
    """

    def __init__(
        self,
        root_path: str | os.PathLike[str],
        defaults: dict[str, t.Any] | None = None,
    ) -> None:
        super().__init__(defaults or {})
        self.root_path = root_path

    def from_envvar(self, variable_name: str, silent: bool = False) -> bool:
        """Load a Python config file named by an environment variable.

        Equivalent to ``config.from_pyfile(os.environ[variable_name])`` with a helpful
        error when the variable is not set.

        :param variable_name: The environment variable holding the file name.
        :param silent: Return ``False`` instead of raising if the variable is unset or
            the file is missing.
        :return: ``True`` if the file was loaded.
        """
        filename = os.environ.get(variable_name)
        if not filename:
            if silent:
                return False
            raise RuntimeError(
                f"The environment variable {variable_name!r} is not set, so the"
                " configuration could not be loaded. Set it to the path of a"
                " configuration file, for example:\n\n"
                f"    export {variable_name}=/path/to/config.py"
            )
        return self.from_pyfile(filename, silent=silent)

    def from_prefixed_env(
        self, prefix: str = "FLASK", *, loads: t.Callable[[str], t.Any] = json.loads
    ) -> bool:
        """Load environment variables whose names start with ``{prefix}_``.

        The prefix and its underscore are dropped to form the key. Each value is passed
        through ``loads``; if that raises, the raw string is kept, so the default turns
        ``"true"`` into ``True`` and ``"42"`` into ``42`` but leaves ``"hello"`` alone.
        Variables are applied in sorted order.

        A double underscore in the key sets an item in a nested dict:
        ``FLASK_DB__HOST`` sets ``config["DB"]["HOST"]``. Missing intermediate dicts are
        created.

        The default prefix is ``"FLASK"`` so that deployments written for Flask keep
        working unchanged.

        :param prefix: Only variables starting with this, followed by ``_``, are loaded.
        :param loads: Converts each string value.
        :return: Always ``True``.
        """
        start = f"{prefix}_"
        for env_key in sorted(os.environ):
            if not env_key.startswith(start):
                continue
            raw = os.environ[env_key]
            try:
                value = loads(raw)
            except Exception:
                # Anything that isn't valid for ``loads`` is meant as a plain string.
                value = raw
            key = env_key[len(start) :]
            if "__" not in key:
                self[key] = value
                continue
            *parents, leaf = key.split("__")
            target: dict[str, t.Any] = self
            for part in parents:
                target = target.setdefault(part, {})
            target[leaf] = value
        return True

    def from_pyfile(self, filename: str | os.PathLike[str], silent: bool = False) -> bool:
        """Execute a Python file and load its uppercase globals.

        :param filename: The file to run, relative to :attr:`root_path` unless absolute.
        :param silent: Return ``False`` instead of raising if the file does not exist.
        :return: ``True`` if the file was loaded.
        """
        path = os.path.join(self.root_path, filename)
        module = types.ModuleType("config")
        module.__file__ = path
        try:
            with open(path, mode="rb") as f:
                source = f.read()
        except OSError as e:
            if silent and e.errno in _MISSING_FILE_ERRNOS:
                return False
            e.strerror = f"Unable to load configuration file ({e.strerror})"
            raise
        # Compile with the real path so tracebacks from a broken config point at it.
        exec(compile(source, path, "exec"), module.__dict__)
        self.from_object(module)
        return True

    def from_object(self, obj: object | str) -> None:
        """Load the uppercase attributes of an object, class or module.

        Strings are import paths, resolved with :func:`werkzeug.utils.import_string`
        (``"myapp.settings.Production"``). Class attributes are read from the class
        itself, so properties are not evaluated; pass an instance to use them.

        :param obj: The object, or an import string naming it.
        """
        if isinstance(obj, str):
            obj = import_string(obj)
        for key in dir(obj):
            if key.isupper():
                self[key] = getattr(obj, key)

    def from_file(
        self,
        filename: str | os.PathLike[str],
        load: t.Callable[[t.IO[t.Any]], t.Mapping[str, t.Any]],
        silent: bool = False,
        text: bool = True,
    ) -> bool:
        """Load a data file with the given ``load`` function, then :meth:`from_mapping`.

        ::

            import json, tomllib
            app.config.from_file("config.json", load=json.load)
            app.config.from_file("config.toml", load=tomllib.load, text=False)

        :param filename: The file to read, relative to :attr:`root_path` unless absolute.
        :param load: Called with the open file; must return a mapping.
        :param silent: Return ``False`` instead of raising if the file does not exist.
        :param text: Open the file in text mode (UTF-8); ``False`` opens it in binary.
        :return: ``True`` if the file was loaded.
        """
        path = os.path.join(self.root_path, filename)
        try:
            if text:
                with open(path, encoding="utf-8") as f:
                    obj = load(f)
            else:
                with open(path, mode="rb") as f:
                    obj = load(f)
        except OSError as e:
            if silent and e.errno in _MISSING_FILE_ERRNOS:
                return False
            e.strerror = f"Unable to load configuration file ({e.strerror})"
            raise
        return self.from_mapping(obj)

    def from_mapping(self, mapping: t.Mapping[str, t.Any] | None = None, **kwargs: t.Any) -> bool:
        """Load the uppercase keys of a mapping and of keyword arguments.

        :return: Always ``True``.
        """
        items: dict[str, t.Any] = {}
        if mapping is not None:
            items.update(mapping)
        items.update(kwargs)
        for key, value in items.items():
            if key.isupper():
                self[key] = value
        return True

    def get_namespace(
        self, namespace: str, lowercase: bool = True, trim_namespace: bool = True
    ) -> dict[str, t.Any]:
        """Return the options whose keys start with ``namespace``, as a new dict.

        ::

            app.config["IMAGE_STORE_PATH"] = "/var/app/images"
            app.config.get_namespace("IMAGE_STORE_")  # {"path": "/var/app/images"}

        Handy for passing options as keyword arguments to a function or class.

        :param namespace: The key prefix, usually ending in ``_``.
        :param lowercase: Lowercase the resulting keys.
        :param trim_namespace: Drop the prefix from the resulting keys.
        """
        result: dict[str, t.Any] = {}
        for key, value in self.items():
            if not key.startswith(namespace):
                continue
            name = key[len(namespace) :] if trim_namespace else key
            result[name.lower() if lowercase else name] = value
        return result

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"
