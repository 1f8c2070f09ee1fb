"""phial.compat: the opt-in ``flask`` alias (each test in a fresh interpreter)."""

from __future__ import annotations

import pathlib
import sys
import textwrap

import pytest
from _subprocess import run_python

from phial.compat import flask_alias_installed, install_flask_alias, uninstall_flask_alias


def _check(code: str, **kwargs: object) -> str:
    """Run ``code`` in a new interpreter; it must exit 0. Returns its stdout."""
    result = run_python(["-c", textwrap.dedent(code)], **kwargs)  # type: ignore[arg-type]
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_flask_is_phial() -> None:
    out = _check(
        """
        import phial
        from phial.compat import flask_alias_installed, install_flask_alias
        assert not flask_alias_installed()
        install_flask_alias()
        assert flask_alias_installed()
        import flask
        assert flask is phial
        assert flask.Flask is phial.Phial
        from flask import (
            Blueprint, Response, current_app, g, jsonify, request, session, url_for,
        )
        assert request is phial.request and session is phial.session
        assert g is phial.g and current_app is phial.current_app
        assert Blueprint is phial.Blueprint and Response is phial.Response
        assert jsonify is phial.jsonify and url_for is phial.url_for
        print("ok")
        """
    )
    assert out == "ok\n"


SUBMODULES = [
    "globals", "ctx", "signals", "json", "json.provider", "json.tag", "sessions",
    "templating", "helpers", "wrappers", "views", "blueprints", "cli", "testing", "app",
    "config", "logging", "typing", "sansio", "sansio.app", "sansio.scaffold",
    "sansio.blueprints",
]  # fmt: skip


def test_every_submodule_is_phials_module() -> None:
    _check(
        f"""
        import importlib, sys
        from phial.compat import install_flask_alias
        install_flask_alias()
        for name in {SUBMODULES!r}:
            aliased = importlib.import_module("flask." + name)
            assert aliased is importlib.import_module("phial." + name), name
            assert sys.modules["flask." + name] is aliased, name
            # The module keeps its own identity.
            assert aliased.__name__ == "phial." + name, aliased.__name__
            assert aliased.__spec__.name == "phial." + name, aliased.__spec__
        import flask.json.provider as provider
        from flask.json.provider import DefaultJSONProvider
        from flask.globals import app_ctx, request_ctx
        from flask.ctx import AppContext
        from flask.signals import Namespace
        from flask.testing import FlaskClient
        import phial.globals, phial.ctx, phial.signals, phial.testing
        assert DefaultJSONProvider is provider.DefaultJSONProvider
        assert app_ctx is phial.globals.app_ctx and request_ctx is phial.globals.request_ctx
        assert AppContext is phial.ctx.AppContext and Namespace is phial.signals.Namespace
        assert FlaskClient is phial.testing.FlaskClient
        """
    )


def test_submodules_not_yet_imported_load_through_the_alias() -> None:
    # Installed before phial is imported at all: everything loads lazily.
    _check(
        """
        import sys
        from phial.compat import install_flask_alias
        for name in [n for n in sys.modules if n.startswith("phial.") and n != "phial.compat"]:
            del sys.modules[name]
        install_flask_alias()
        assert "phial.views" not in sys.modules
        from flask.views import MethodView
        import phial.views
        assert MethodView is phial.views.MethodView
        assert sys.modules["flask.views"] is phial.views
        """
    )


def test_install_is_idempotent() -> None:
    _check(
        """
        import sys
        from phial.compat import install_flask_alias, _FlaskAliasFinder
        install_flask_alias()
        install_flask_alias()
        import flask
        install_flask_alias()
        assert sum(isinstance(f, _FlaskAliasFinder) for f in sys.meta_path) == 1
        """
    )


def test_refuses_when_the_real_flask_is_imported() -> None:
    out = _check(
        """
        import flask
        from phial.compat import install_flask_alias, flask_alias_installed
        try:
            install_flask_alias()
        except RuntimeError as e:
            print(e)
        else:
            raise AssertionError("no error")
        assert not flask_alias_installed()
        import sys, phial
        assert sys.modules["flask"] is not phial
        """
    )
    assert "real 'flask' package is already imported" in out
    assert "before importing Flask extensions" in out


def test_uninstall_restores_the_real_flask() -> None:
    _check(
        """
        import sys, phial
        from phial.compat import install_flask_alias, uninstall_flask_alias, flask_alias_installed
        install_flask_alias()
        import flask.json.provider
        uninstall_flask_alias()
        assert not flask_alias_installed()
        assert not [n for n in sys.modules if n == "flask" or n.startswith("flask.")]
        import flask
        assert flask is not phial and flask.__name__ == "flask"
        assert flask.Flask is not phial.Phial
        uninstall_flask_alias()  # nothing to undo: harmless
        assert "flask" in sys.modules
        """
    )


def test_phial_never_imports_flask_without_the_alias() -> None:
    _check(
        """
        import sys
        import phial, phial.cli, phial.testing, phial.views, phial.compat, phial.modules
        with phial.Phial(__name__).test_request_context():
            pass
        assert "flask" not in sys.modules
        assert not [n for n in sys.modules if n.startswith("flask")]
        """
    )


def test_missing_submodule_names_the_alias() -> None:
    out = _check(
        """
        from phial.compat import install_flask_alias
        install_flask_alias()
        try:
            import flask.no_such_module
        except ModuleNotFoundError as e:
            print(e.name)
            print(e)
        """
    )
    name, message = out.splitlines()
    assert name == "flask.no_such_module"
    assert "phial (aliased as 'flask') has no module 'phial.no_such_module'" in message


def test_import_errors_inside_phial_are_not_hidden(tmp_path: pathlib.Path) -> None:
    # A phial module whose own import fails reports the missing dependency,
    # not a missing flask.* module.
    (tmp_path / "broken.py").write_text("import no_such_dependency\n")
    out = _check(
        f"""
        import phial
        from phial.compat import install_flask_alias
        phial.__path__.append({str(tmp_path)!r})
        install_flask_alias()
        try:
            import flask.broken
        except ModuleNotFoundError as e:
            print(e.name)
        """,
    )
    assert out == "no_such_dependency\n"


APP_FILE = """
import flask
import phial

app = flask.Flask(__name__)


@app.cli.command("which")
def which():
    print("phial" if flask is phial else "flask")
"""


def test_cli_flag_installs_the_alias(tmp_path: pathlib.Path) -> None:
    (tmp_path / "aliasapp.py").write_text(APP_FILE)
    args = ["-m", "phial", "--app", "aliasapp", "which"]
    result = run_python(["-m", "phial", "--flask-alias", *args[2:]], cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "phial\n"
    result = run_python(args, cwd=str(tmp_path), env={"PHIAL_FLASK_ALIAS": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "phial\n"
    # Without the alias the module builds a real Flask app, which phial's
    # command does not take for a phial app.
    result = run_python(args, cwd=str(tmp_path), env={"PHIAL_FLASK_ALIAS": "0"})
    assert result.returncode != 0
    assert "Failed to find phial application" in result.stderr


def test_cli_help_with_the_alias_lists_app_commands(tmp_path: pathlib.Path) -> None:
    (tmp_path / "aliasapp.py").write_text(APP_FILE)
    result = run_python(
        ["-m", "phial", "--app", "aliasapp", "--help"],
        cwd=str(tmp_path),
        env={"PHIAL_FLASK_ALIAS": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert "which" in result.stdout
    assert "--flask-alias" in result.stdout


def test_cli_reads_the_alias_setting_from_dotenv_files(tmp_path: pathlib.Path) -> None:
    (tmp_path / "aliasapp.py").write_text(APP_FILE)
    (tmp_path / ".flaskenv").write_text("PHIAL_FLASK_ALIAS=1\n")
    result = run_python(["-m", "phial", "--app", "aliasapp", "which"], cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "phial\n"


def test_in_process_refusal_leaves_the_real_flask_alone() -> None:
    # This process may hold the real Flask (a test dependency): the alias must
    # refuse, and uninstalling must not drop the real modules.
    import flask

    with pytest.raises(RuntimeError, match="before importing Flask extensions"):
        install_flask_alias()
    assert not flask_alias_installed()
    uninstall_flask_alias()
    assert sys.modules["flask"] is flask
    assert flask.__name__ == "flask"
