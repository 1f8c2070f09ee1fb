"""Finding the app for the command line (phial._cli_loading) and loading .env files."""

from __future__ import annotations

import os
import sys
import traceback
import types
from pathlib import Path

import pytest
from cliapps.isolation import CLIAPPS, TESTS, isolate_cli, write

from phial import Phial
from phial.cli import (
    NoAppException,
    ScriptInfo,
    find_best_app,
    get_load_dotenv,
    load_dotenv,
    locate_app,
    prepare_import,
)

# The autouse fixture is used by being imported.
__all__ = ["isolate_cli"]


# -- prepare_import ------------------------------------------------------------------


def test_prepare_import_file_in_package_gives_dotted_name() -> None:
    sys.path[:] = [p for p in sys.path if p != str(TESTS)]
    name = prepare_import(str(CLIAPPS / "pkg" / "inner.py"))
    assert name == "cliapps.pkg.inner"
    assert sys.path[0] == str(TESTS)


def test_prepare_import_package_init_gives_package_name() -> None:
    assert prepare_import(str(CLIAPPS / "pkg" / "__init__.py")) == "cliapps.pkg"


def test_prepare_import_dotted_name_adds_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(TESTS)
    assert prepare_import("cliapps.simple_app") == "cliapps.simple_app"
    assert sys.path[0] == str(TESTS)


def test_prepare_import_file_outside_package(tmp_path: Path) -> None:
    write(tmp_path / "standalone.py", "")
    assert prepare_import(str(tmp_path / "standalone.py")) == "standalone"
    assert sys.path[0] == str(tmp_path)


# -- locate_app ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "name", "app_name"),
    [
        ("cliapps.simple_app", None, "simple_app"),
        ("cliapps.application", None, "application_app"),
        ("cliapps.single", None, "single_app"),
        ("cliapps.factory", None, "factory_app"),
        ("cliapps.factory", "create_app", "factory_app"),
        ("cliapps.factory", "create_app()", "factory_app"),
        ("cliapps.factory", "create_app2('a', 'b')", "factory_a_b"),
        ("cliapps.factory", "create_app2('a', bar='c')", "factory_a_c"),
        ("cliapps.factory", ' create_app2(foo="x", bar="y") ', "factory_x_y"),
        ("cliapps.make_factory", None, "made_app"),
        ("cliapps.multiapp", "app2", "multi_2"),
        ("cliapps.pkg.inner", None, "cliapps.pkg.inner"),
    ],
)
def test_locate_app_finds(module: str, name: str | None, app_name: str) -> None:
    app = locate_app(module, name)
    assert isinstance(app, Phial)
    assert app.name == app_name


@pytest.mark.parametrize(
    ("module", "name", "message"),
    [
        ("cliapps.does_not_exist", None, "Could not import 'cliapps.does_not_exist'."),
        ("phial_no_such_top_module", None, "Could not import 'phial_no_such_top_module'."),
        ("cliapps.multiapp", None, "Detected multiple phial applications"),
        ("cliapps.no_app", None, "Failed to find phial application or factory"),
        ("cliapps.factory", "create_app(", "Failed to parse 'create_app(' as an attribute"),
        ("cliapps.factory", "a.b", "Failed to parse 'a.b' as an attribute"),
        ("cliapps.factory", "create_app2(foo)", "Failed to parse arguments as literal values"),
        ("cliapps.factory", "create_app2(**{})", "Failed to parse arguments as literal values"),
        ("cliapps.factory", "create_app2('a')", "could not be called with the specified"),
        ("cliapps.factory", "no_app", "A valid phial application was not obtained"),
        ("cliapps.factory", "not_a_function", "A valid phial application was not obtained"),
        ("cliapps.factory", "missing", "Failed to find attribute 'missing'"),
        ("cliapps.factory_needs_args", None, "could not call it without arguments"),
    ],
)
def test_locate_app_errors_say_what_was_tried(module: str, name: str | None, message: str) -> None:
    with pytest.raises(NoAppException) as exc_info:
        locate_app(module, name)
    assert message in exc_info.value.format_message()


def test_locate_app_multiple_apps_suggests_a_name() -> None:
    with pytest.raises(NoAppException, match=r"'cliapps.multiapp:name'"):
        locate_app("cliapps.multiapp", None)


def test_locate_app_missing_module_can_return_none() -> None:
    assert locate_app("cliapps.does_not_exist", None, raise_if_not_found=False) is None


def test_locate_app_reraises_the_users_error() -> None:
    with pytest.raises(RuntimeError, match="fails on purpose") as exc_info:
        locate_app("cliapps.broken", None)
    files = [frame.filename for frame in traceback.extract_tb(exc_info.tb)]
    assert str(CLIAPPS / "broken.py") in files


def test_locate_app_reraises_an_import_error_from_inside_the_module() -> None:
    with pytest.raises(ImportError) as exc_info:
        locate_app("cliapps.broken_import", None)
    assert not isinstance(exc_info.value, NoAppException)
    assert exc_info.value.name == "phial_no_such_module_for_tests"
    files = [frame.filename for frame in traceback.extract_tb(exc_info.tb)]
    assert str(CLIAPPS / "broken_import.py") in files


def test_locate_app_reraises_a_type_error_raised_inside_a_factory() -> None:
    with pytest.raises(TypeError, match="unsupported operand"):
        locate_app("cliapps.factory_inner_typeerror", None)
    with pytest.raises(TypeError, match="unsupported operand"):
        locate_app("cliapps.factory_inner_typeerror", "create_app()")


def test_find_best_app_ignores_non_app_attribute_named_app() -> None:
    module = types.ModuleType("fake")
    module.app = "not an app"  # type: ignore[attr-defined]  # building a module by hand
    module.real = Phial("real")  # type: ignore[attr-defined]  # building a module by hand
    assert find_best_app(module).name == "real"


# -- ScriptInfo ----------------------------------------------------------------------


def test_script_info_loads_once_from_import_path() -> None:
    info = ScriptInfo(app_import_path="cliapps.factory:create_app2('x', 'y')")
    app = info.load_app()
    assert app.name == "factory_x_y"
    assert info.load_app() is app


def test_script_info_create_app_takes_precedence() -> None:
    made = Phial("made")
    info = ScriptInfo(app_import_path="cliapps.simple_app", create_app=lambda: made)
    assert info.load_app() is made


def test_script_info_create_app_must_return_an_app() -> None:
    info = ScriptInfo(create_app=lambda: "nope")
    with pytest.raises(NoAppException, match="not a phial application"):
        info.load_app()


def test_script_info_import_path_as_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CLIAPPS)
    info = ScriptInfo(app_import_path="pkg/inner.py:app")
    assert info.load_app().name == "cliapps.pkg.inner"


def test_script_info_windows_drive_is_not_a_separator() -> None:
    from phial._cli_loading import _split_import_path

    assert _split_import_path("C:\\code\\app.py") == ("C:\\code\\app.py", None)
    assert _split_import_path("C:/code/app.py:make()") == ("C:/code/app.py", "make()")
    assert _split_import_path("pkg.mod:app") == ("pkg.mod", "app")


@pytest.mark.parametrize("filename", ["wsgi.py", "app.py"])
def test_script_info_discovers_file_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filename: str
) -> None:
    write(tmp_path / filename, f"from phial import Phial\napp = Phial('found_{filename}')\n")
    monkeypatch.chdir(tmp_path)
    assert ScriptInfo().load_app().name == f"found_{filename}"


def test_script_info_prefers_wsgi_py(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "wsgi.py", "from phial import Phial\napp = Phial('from_wsgi')\n")
    write(tmp_path / "app.py", "from phial import Phial\napp = Phial('from_app')\n")
    monkeypatch.chdir(tmp_path)
    assert ScriptInfo().load_app().name == "from_wsgi"


def test_script_info_nothing_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NoAppException) as exc_info:
        ScriptInfo().load_app()
    message = exc_info.value.format_message()
    for hint in ("--app", "FLASK_APP", "wsgi.py", "app.py"):
        assert hint in message


def test_script_info_sets_debug_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = Phial("dbg")
    app.debug = False
    ScriptInfo(create_app=lambda: app).load_app()
    assert app.debug is True


def test_script_info_set_debug_flag_false_leaves_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = Phial("dbg")
    app.debug = False
    ScriptInfo(create_app=lambda: app, set_debug_flag=False).load_app()
    assert app.debug is False


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [(None, True, True), (None, False, False), ("1", True, False), ("0", True, True)],
)
def test_get_load_dotenv(
    monkeypatch: pytest.MonkeyPatch, value: str | None, default: bool, expected: bool
) -> None:
    if value is not None:
        monkeypatch.setenv("FLASK_SKIP_DOTENV", value)
    assert get_load_dotenv(default) is expected
    assert ScriptInfo(load_dotenv_defaults=default).load_dotenv_defaults is expected


# -- load_dotenv ---------------------------------------------------------------------


@pytest.fixture
def envdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with .flaskenv and .env, as the current directory."""
    write(tmp_path / ".flaskenv", "PHIAL_T_A=flaskenv\nPHIAL_T_B=flaskenv\nPHIAL_T_C=flaskenv\n")
    write(tmp_path / ".env", "PHIAL_T_B=env\nPHIAL_T_C=env\n")
    write(tmp_path / "custom.env", "PHIAL_T_C=custom\nPHIAL_T_D=custom\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_load_dotenv_precedence(envdir: Path) -> None:
    assert load_dotenv("custom.env") is True
    assert os.environ["PHIAL_T_A"] == "flaskenv"
    assert os.environ["PHIAL_T_B"] == "env"
    assert os.environ["PHIAL_T_C"] == "custom"
    assert os.environ["PHIAL_T_D"] == "custom"


def test_load_dotenv_never_overrides_the_environment(
    envdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHIAL_T_B", "outside")
    load_dotenv()
    assert os.environ["PHIAL_T_B"] == "outside"
    assert os.environ["PHIAL_T_A"] == "flaskenv"


def test_load_dotenv_without_defaults_loads_only_the_path(envdir: Path) -> None:
    assert load_dotenv("custom.env", load_defaults=False) is True
    assert "PHIAL_T_A" not in os.environ
    assert os.environ["PHIAL_T_C"] == "custom"


def test_load_dotenv_searches_parent_folders(envdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (envdir / "sub").mkdir()
    monkeypatch.chdir(envdir / "sub")
    assert load_dotenv() is True
    assert os.environ["PHIAL_T_B"] == "env"


def test_load_dotenv_nothing_to_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_dotenv() is False
    assert load_dotenv(tmp_path / "missing.env") is False


def test_load_dotenv_all_already_set_returns_false(
    envdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("PHIAL_T_A", "PHIAL_T_B", "PHIAL_T_C"):
        monkeypatch.setenv(key, "set")
    assert load_dotenv() is False


def test_load_dotenv_hint_without_python_dotenv(
    envdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "dotenv", None)  # makes `import dotenv` fail
    assert load_dotenv() is False
    assert "Install python-dotenv" in capsys.readouterr().err
    assert "PHIAL_T_A" not in os.environ


def test_load_dotenv_no_hint_without_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "dotenv", None)
    assert load_dotenv() is False
    assert capsys.readouterr().err == ""
