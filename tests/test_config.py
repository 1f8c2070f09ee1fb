from __future__ import annotations

import json
import os
import sys
import types
import typing as t
from datetime import timedelta
from pathlib import Path

import pytest

from phial.config import Config, ConfigAttribute


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_init_defaults_and_root_path(tmp_path: Path) -> None:
    config = Config(tmp_path, {"DEBUG": True})
    assert config.root_path == tmp_path
    assert config["DEBUG"] is True
    assert Config(tmp_path) == {}


def test_repr_names_class() -> None:
    assert repr(Config(".", {"A": 1})) == "<Config {'A': 1}>"


def test_from_pyfile_loads_uppercase_only(tmp_path: Path) -> None:
    _write(tmp_path / "settings.py", "import os\nSECRET_KEY = 'x'\nlower = 1\nFILE = __file__\n")
    config = Config(tmp_path)
    assert config.from_pyfile("settings.py") is True
    assert config["SECRET_KEY"] == "x"
    assert "lower" not in config and "os" not in config
    assert config["FILE"] == os.path.join(tmp_path, "settings.py")


def test_from_pyfile_absolute_path_ignores_root(tmp_path: Path) -> None:
    path = _write(tmp_path / "abs.py", "A = 1\n")
    config = Config("/nonexistent-root")
    config.from_pyfile(str(path))
    assert config["A"] == 1


def test_from_pyfile_missing_raises_with_filename(tmp_path: Path) -> None:
    config = Config(tmp_path)
    with pytest.raises(OSError) as info:
        config.from_pyfile("missing.py")
    assert "Unable to load configuration file" in str(info.value)
    assert "missing.py" in str(info.value)


def test_from_pyfile_missing_silent_returns_false(tmp_path: Path) -> None:
    config = Config(tmp_path)
    assert config.from_pyfile("missing.py", silent=True) is False
    # A directory is "not a config file" too.
    assert config.from_pyfile(str(tmp_path), silent=True) is False
    assert config == {}


def test_from_pyfile_syntax_error_names_file(tmp_path: Path) -> None:
    _write(tmp_path / "bad.py", "A = (\n")
    with pytest.raises(SyntaxError) as info:
        Config(tmp_path).from_pyfile("bad.py")
    assert info.value.filename == os.path.join(tmp_path, "bad.py")


def test_from_envvar_loads_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "env.py", "FROM_ENV = 'yes'\n")
    monkeypatch.setenv("PHIAL_TEST_SETTINGS", str(path))
    config = Config(tmp_path)
    assert config.from_envvar("PHIAL_TEST_SETTINGS") is True
    assert config["FROM_ENV"] == "yes"


def test_from_envvar_unset_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHIAL_TEST_SETTINGS", raising=False)
    with pytest.raises(RuntimeError) as info:
        Config(".").from_envvar("PHIAL_TEST_SETTINGS")
    message = str(info.value)
    assert "'PHIAL_TEST_SETTINGS' is not set" in message
    assert "export PHIAL_TEST_SETTINGS=" in message


def test_from_envvar_unset_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHIAL_TEST_SETTINGS", raising=False)
    assert Config(".").from_envvar("PHIAL_TEST_SETTINGS", silent=True) is False


def test_from_envvar_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHIAL_TEST_SETTINGS", str(tmp_path / "nope.py"))
    config = Config(tmp_path)
    assert config.from_envvar("PHIAL_TEST_SETTINGS", silent=True) is False
    with pytest.raises(OSError, match=r"nope\.py"):
        config.from_envvar("PHIAL_TEST_SETTINGS")


def test_from_prefixed_env_default_prefix_and_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("FLASK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("FLASK_STRING", "hello")
    monkeypatch.setenv("FLASK_BOOL", "true")
    monkeypatch.setenv("FLASK_INT", "42")
    monkeypatch.setenv("FLASK_LIST", "[1, 2]")
    monkeypatch.setenv("FLASKNOPE", "1")
    monkeypatch.setenv("OTHER_INT", "1")
    config = Config(".")
    assert config.from_prefixed_env() is True
    assert config == {"STRING": "hello", "BOOL": True, "INT": 42, "LIST": [1, 2]}


def test_from_prefixed_env_custom_prefix_and_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHIALT_A", "1")
    config = Config(".")
    config.from_prefixed_env("PHIALT", loads=lambda s: f"<{s}>")
    assert config == {"A": "<1>"}


def test_from_prefixed_env_nested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHIALT_EXIST__OK", "1")
    monkeypatch.setenv("PHIALT_NEW__DEEP__KEY", '"v"')
    config = Config(".", {"EXIST": {"KEPT": True}})
    config.from_prefixed_env("PHIALT")
    assert config["EXIST"] == {"KEPT": True, "OK": 1}
    assert config["NEW"] == {"DEEP": {"KEY": "v"}}


def test_from_prefixed_env_sorted_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # "A" sorts before "A__B", so the scalar is replaced by a dict and then filled in.
    monkeypatch.setenv("PHIALT_A__B", "2")
    monkeypatch.setenv("PHIALT_A", "{}")
    seen: list[str] = []

    def loads(value: str) -> t.Any:
        seen.append(value)
        return json.loads(value)

    config = Config(".")
    config.from_prefixed_env("PHIALT", loads=loads)
    assert seen == ["{}", "2"]
    assert config["A"] == {"B": 2}


class _Settings:
    DEBUG = True
    SECRET_KEY = "s"
    not_config = 1


def test_from_object_class_and_instance() -> None:
    config = Config(".")
    config.from_object(_Settings)
    assert config == {"DEBUG": True, "SECRET_KEY": "s"}
    config2 = Config(".")
    config2.from_object(_Settings())
    assert config2["SECRET_KEY"] == "s"


def test_from_object_import_string(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("phial_test_settings_mod")
    module.VALUE = 3  # type: ignore[attr-defined]  # building a module on the fly
    module.lower = 4  # type: ignore[attr-defined]  # building a module on the fly
    monkeypatch.setitem(sys.modules, "phial_test_settings_mod", module)
    config = Config(".")
    config.from_object("phial_test_settings_mod")
    assert config == {"VALUE": 3}


def test_from_file_text_json(tmp_path: Path) -> None:
    _write(tmp_path / "c.json", json.dumps({"A": "é", "b": 2}))
    config = Config(tmp_path)
    assert config.from_file("c.json", load=json.load) is True
    assert config == {"A": "é"}


def test_from_file_binary(tmp_path: Path) -> None:
    (tmp_path / "c.bin").write_bytes(b'{"A": 1}')
    received: list[object] = []

    def load(f: t.IO[t.Any]) -> dict[str, t.Any]:
        data = f.read()
        received.append(data)
        return json.loads(data)  # type: ignore[no-any-return]  # json is untyped

    config = Config(tmp_path)
    config.from_file("c.bin", load=load, text=False)
    assert received == [b'{"A": 1}']
    assert config["A"] == 1


def test_from_file_missing(tmp_path: Path) -> None:
    config = Config(tmp_path)
    assert config.from_file("none.json", load=json.load, silent=True) is False
    with pytest.raises(OSError) as info:
        config.from_file("none.json", load=json.load)
    assert "Unable to load configuration file" in str(info.value)
    assert "none.json" in str(info.value)


def test_from_file_unreadable_not_silenced(tmp_path: Path) -> None:
    def load(f: t.IO[t.Any]) -> dict[str, t.Any]:
        raise PermissionError(13, "Permission denied")

    _write(tmp_path / "c.json", "{}")
    # silent only covers a missing file, not one that can't be read.
    with pytest.raises(PermissionError, match="Unable to load configuration file"):
        Config(tmp_path).from_file("c.json", load=load, silent=True)


def test_from_mapping_uppercase_and_kwargs() -> None:
    config = Config(".")
    assert config.from_mapping({"A": 1, "b": 2}, C=3, d=4) is True
    assert config == {"A": 1, "C": 3}
    config.from_mapping(None, A=5)
    assert config["A"] == 5
    # kwargs win over the mapping.
    config.from_mapping({"E": 1}, E=2)
    assert config["E"] == 2


def test_get_namespace() -> None:
    config = Config(
        ".",
        {"IMAGE_STORE_TYPE": "fs", "IMAGE_STORE_PATH": "/p", "IMAGE_STORE_Base": "b", "X": 1},
    )
    assert config.get_namespace("IMAGE_STORE_") == {"type": "fs", "path": "/p", "base": "b"}
    assert config.get_namespace("IMAGE_STORE_", lowercase=False) == {
        "TYPE": "fs",
        "PATH": "/p",
        "Base": "b",
    }
    assert config.get_namespace("IMAGE_STORE_", trim_namespace=False) == {
        "image_store_type": "fs",
        "image_store_path": "/p",
        "image_store_base": "b",
    }


class _App:
    testing = ConfigAttribute[bool]("TESTING")
    lifetime = ConfigAttribute("LIFETIME", get_converter=lambda v: timedelta(seconds=v))

    def __init__(self) -> None:
        self.config = Config(".", {"TESTING": False, "LIFETIME": 30})


def test_config_attribute_forwards_get_and_set() -> None:
    app = _App()
    assert app.testing is False
    app.testing = True
    assert app.config["TESTING"] is True
    app.config["TESTING"] = False
    assert app.testing is False


def test_config_attribute_converter_and_class_access() -> None:
    app = _App()
    assert app.lifetime == timedelta(seconds=30)
    app.lifetime = 5  # the converter only applies on read
    assert app.config["LIFETIME"] == 5
    descriptor = _App.__dict__["testing"]
    assert isinstance(descriptor, ConfigAttribute)
    assert _App.testing is descriptor
    assert repr(descriptor) == "<ConfigAttribute 'TESTING'>"
