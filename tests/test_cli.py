"""The ``phial`` command line: the group and its options, AppGroup, run, routes, shell."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import traceback
import typing as t
from pathlib import Path

import click
import pytest
from cliapps.isolation import CLIAPPS, TESTS, isolate_cli, write
from click.testing import CliRunner

import phial
from phial import Phial, current_app
from phial.cli import (
    AppGroup,
    FlaskGroup,
    NoAppException,
    PhialGroup,
    ScriptInfo,
    routes_command,
    shell_command,
    with_appcontext,
)
from phial.cli import cli as phial_cli

# The autouse fixture is used by being imported.
__all__ = ["isolate_cli"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def envdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with .flaskenv and .env, as the current directory."""
    write(tmp_path / ".flaskenv", "PHIAL_T_A=flaskenv\nPHIAL_T_B=flaskenv\nPHIAL_T_C=flaskenv\n")
    write(tmp_path / ".env", "PHIAL_T_B=env\nPHIAL_T_C=env\n")
    write(tmp_path / "custom.env", "PHIAL_T_C=custom\nPHIAL_T_D=custom\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_env_file_option_requires_python_dotenv(
    envdir: Path, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> None:
    monkeypatch.setitem(sys.modules, "dotenv", None)
    result = runner.invoke(PhialGroup(), ["-e", "custom.env", "--help"])
    assert result.exit_code == 2
    assert "python-dotenv must be installed" in result.output


def test_env_file_option_and_flaskenv_reach_commands(envdir: Path, runner: CliRunner) -> None:
    group = PhialGroup(create_app=lambda: Phial("envapp"))

    @group.command()
    def show() -> None:
        click.echo(f"{os.environ['PHIAL_T_B']} {os.environ['PHIAL_T_D']}")

    result = runner.invoke(group, ["-e", "custom.env", "show"])
    assert result.exit_code == 0, result.output
    assert result.output == "env custom\n"


def test_group_load_dotenv_false_skips_default_files(envdir: Path, runner: CliRunner) -> None:
    group = PhialGroup(create_app=lambda: Phial("envapp"), load_dotenv=False)

    @group.command()
    def show() -> None:
        click.echo(os.environ.get("PHIAL_T_A", "unset"))

    result = runner.invoke(group, ["show"])
    assert result.output == "unset\n"


def test_flask_app_from_flaskenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "envmod.py", "from phial import Phial\nmy = Phial('from_envfile')\n")
    write(tmp_path / ".flaskenv", "FLASK_APP=envmod:my\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(PhialGroup(), ["routes"])
    assert result.exit_code == 0, result.output
    assert "static" in result.output


# -- the group: options and command lookup --------------------------------------------


def test_flask_group_is_phial_group() -> None:
    assert FlaskGroup is PhialGroup


def test_version_option(runner: CliRunner) -> None:
    result = runner.invoke(PhialGroup(), ["--version"])
    assert result.exit_code == 0
    assert f"Phial {phial.__version__}" in result.output
    assert "Python " in result.output and "Werkzeug " in result.output


def test_version_option_can_be_left_out(runner: CliRunner) -> None:
    result = runner.invoke(PhialGroup(add_version_option=False), ["--version"])
    assert result.exit_code == 2


def test_app_option_loads_app_commands(runner: CliRunner) -> None:
    result = runner.invoke(PhialGroup(), ["--app", "cliapps.simple_app", "hello"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello from simple_app\n"


@pytest.mark.parametrize("var", ["FLASK_APP", "PHIAL_APP"])
def test_app_from_environment(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    monkeypatch.setenv(var, "cliapps.simple_app")
    result = runner.invoke(PhialGroup(), ["hello"])
    assert result.output == "hello from simple_app\n"


def test_phial_app_wins_over_flask_app(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_APP", "cliapps.no_app")
    monkeypatch.setenv("PHIAL_APP", "cliapps.simple_app")
    result = runner.invoke(PhialGroup(), ["hello"])
    assert result.output == "hello from simple_app\n"


def test_app_option_wins_over_environment(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_APP", "cliapps.no_app")
    result = runner.invoke(PhialGroup(), ["--app", "cliapps.simple_app", "hello"])
    assert result.output == "hello from simple_app\n"


def test_discovers_app_py_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> None:
    write(
        tmp_path / "app.py",
        "import click\nfrom phial import Phial\napp = Phial('cwd_app')\n"
        "@app.cli.command()\ndef where():\n    click.echo(app.name)\n",
    )
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(PhialGroup(), ["where"])
    assert result.output == "cwd_app\n"


def test_unknown_command_without_app_reports_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(PhialGroup(), ["nope"])
    assert result.exit_code == 2
    assert "Could not locate a phial application" in result.output
    assert "No such command 'nope'" in result.output


def test_builtin_command_reports_missing_app(runner: CliRunner) -> None:
    result = runner.invoke(PhialGroup(), ["--app", "cliapps.no_app", "routes"])
    assert result.exit_code == 2
    assert "Failed to find phial application or factory in module 'cliapps.no_app'" in (
        result.output
    )


def test_help_lists_app_commands(runner: CliRunner) -> None:
    result = runner.invoke(PhialGroup(), ["--app", "cliapps.simple_app", "--help"])
    assert result.exit_code == 0
    assert "hello" in result.output and "Greet from the app." in result.output
    for name in ("run", "routes", "shell"):
        assert name in result.output


def test_help_reads_app_from_environment(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_APP", "cliapps.simple_app")
    result = runner.invoke(PhialGroup(), ["--help"])
    assert "Greet from the app." in result.output
    result = runner.invoke(PhialGroup(), [])
    assert "Greet from the app." in result.output


def test_help_without_app_shows_error_and_builtins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(PhialGroup(), ["--help"])
    assert result.exit_code == 0
    assert "Error: Could not locate a phial application" in result.output
    assert "routes" in result.output


def test_help_with_broken_app_shows_user_traceback(runner: CliRunner) -> None:
    result = runner.invoke(PhialGroup(), ["--app", "cliapps.broken", "--help"])
    assert result.exit_code == 0
    assert "RuntimeError: cliapps.broken fails on purpose" in result.output
    assert "broken.py" in result.output
    assert "routes" in result.output


def test_broken_app_error_is_the_users_exception(runner: CliRunner) -> None:
    result = runner.invoke(PhialGroup(), ["--app", "cliapps.broken", "hello"])
    assert isinstance(result.exception, RuntimeError)
    assert result.exc_info is not None
    files = [frame.filename for frame in traceback.extract_tb(result.exc_info[2])]
    assert str(CLIAPPS / "broken.py") in files


def test_broken_import_is_not_wrapped(runner: CliRunner) -> None:
    result = runner.invoke(PhialGroup(), ["--app", "cliapps.broken_import", "routes"])
    assert isinstance(result.exception, ModuleNotFoundError)
    assert not isinstance(result.exception, NoAppException)


def test_debug_option_sets_environment_and_app(runner: CliRunner) -> None:
    app = Phial("dbg")
    group = PhialGroup(create_app=lambda: app)

    @group.command()
    def show() -> None:
        click.echo(f"{os.environ.get('FLASK_DEBUG')} {current_app.debug}")

    assert runner.invoke(group, ["--debug", "show"]).output == "1 True\n"
    app2 = Phial("dbg2")
    group2 = PhialGroup(create_app=lambda: app2)
    group2.add_command(show)
    assert runner.invoke(group2, ["--no-debug", "show"]).output == "0 False\n"


def test_debug_option_default_leaves_environment(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = PhialGroup(create_app=lambda: Phial("dbg"))

    @group.command()
    def show() -> None:
        click.echo(str(os.environ.get("FLASK_DEBUG")))

    assert runner.invoke(group, ["show"]).output == "None\n"
    monkeypatch.setenv("FLASK_DEBUG", "1")
    group2 = PhialGroup(create_app=lambda: Phial("dbg"))
    group2.add_command(show)
    assert runner.invoke(group2, ["show"]).output == "1\n"


def test_make_context_sets_run_from_cli(runner: CliRunner) -> None:
    group = PhialGroup(create_app=lambda: Phial("x"))

    @group.command()
    def show() -> None:
        click.echo(os.environ["FLASK_RUN_FROM_CLI"])

    assert runner.invoke(group, ["show"]).output == "true\n"


def test_group_keeps_extra_params_and_can_skip_defaults(runner: CliRunner) -> None:
    seen: list[str] = []
    extra = click.Option(["--flavor"], expose_value=False, callback=lambda c, p, v: seen.append(v))
    group = PhialGroup(add_default_commands=False, params=[extra], create_app=lambda: Phial("x"))
    assert "run" not in group.commands

    @group.command()
    def noop() -> None:
        pass

    result = runner.invoke(group, ["--flavor", "mint", "noop"])
    assert result.exit_code == 0
    assert seen == ["mint"]
    assert runner.invoke(group, ["run"]).exit_code == 2


def test_plugin_commands_from_entry_points(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    @click.command()
    def plugged() -> None:
        click.echo("plugged in")

    class EntryPoint:
        name = "plug"

        def load(self) -> click.Command:
            return plugged

    groups: list[str] = []

    def entry_points(group: str) -> list[EntryPoint]:
        groups.append(group)
        return [EntryPoint()] if group == "phial.commands" else []

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    group = PhialGroup(create_app=lambda: Phial("x"))
    assert runner.invoke(group, ["plug"]).output == "plugged in\n"
    assert groups == ["flask.commands", "phial.commands"]
    runner.invoke(group, ["plug"])
    assert len(groups) == 2  # loaded once


def test_main_and_python_m_phial() -> None:
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent / "src")}
    out = subprocess.run(
        [sys.executable, "-m", "phial", "--version"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"Phial {phial.__version__}" in out.stdout


def test_main_runs_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from phial.cli import main

    monkeypatch.setattr(sys, "argv", ["phial", "--version"])
    with pytest.raises(SystemExit) as exc_info:
        main()
    assert exc_info.value.code == 0
    assert "Phial" in capsys.readouterr().out
    assert phial_cli.name == "phial"


# -- AppGroup and with_appcontext -------------------------------------------------------


def test_app_cli_is_app_group_named_after_app() -> None:
    app = Phial("named_app")
    assert isinstance(app.cli, AppGroup)
    assert app.cli.name == "named_app"


def test_app_group_commands_run_in_app_context(app: Phial) -> None:
    @app.cli.command()
    def inside() -> None:
        click.echo(current_app.name)

    @app.cli.command(with_appcontext=False)
    def outside() -> None:
        click.echo(str(bool(current_app)))

    @app.cli.command
    def bare() -> None:
        click.echo(f"bare {current_app.name}")

    @app.cli.command("renamed")
    def other() -> None:
        click.echo("renamed")

    runner = app.test_cli_runner()
    assert runner.invoke(args=["inside"]).output == "test_app\n"
    assert runner.invoke(args=["outside"]).output == "False\n"
    assert runner.invoke(args=["bare"]).output == "bare test_app\n"
    assert runner.invoke(args=["renamed"]).output == "renamed\n"


def test_app_group_group_makes_app_groups(app: Phial) -> None:
    @app.cli.group()
    def db() -> None:
        pass

    assert isinstance(db, AppGroup)

    @db.command()
    def init() -> None:
        click.echo(f"init {current_app.name}")

    result = app.test_cli_runner().invoke(args=["db", "init"])
    assert result.output == "init test_app\n"


def test_with_appcontext_loads_app_from_script_info(runner: CliRunner) -> None:
    made = Phial("ctx_app")

    @click.command()
    @with_appcontext
    def cmd() -> None:
        click.echo(current_app.name)

    result = runner.invoke(cmd, obj=ScriptInfo(create_app=lambda: made))
    assert result.output == "ctx_app\n"


def test_with_appcontext_reuses_active_context(app: Phial, runner: CliRunner) -> None:
    @click.command()
    @with_appcontext
    def cmd() -> None:
        click.echo(current_app.name)

    with app.app_context():
        result = runner.invoke(cmd, obj=ScriptInfo(create_app=lambda: Phial("other")))
    assert result.output == "test_app\n"


def test_app_command_params_see_app_context(runner: CliRunner) -> None:
    app = Phial("param_app")

    def default_from_app() -> str:
        return str(current_app.name)

    @app.cli.command(with_appcontext=False)
    @click.option("--name", default=default_from_app)
    def show(name: str) -> None:
        click.echo(name)

    result = runner.invoke(PhialGroup(create_app=lambda: app), ["show"])
    assert result.output == "param_app\n"


def test_test_cli_runner_invokes_a_given_command(app: Phial) -> None:
    @click.command()
    @with_appcontext
    def cmd() -> None:
        click.echo(current_app.name)

    assert app.test_cli_runner().invoke(cmd).output == "test_app\n"


# -- routes ----------------------------------------------------------------------------


def _routes_app(cls: t.Any, **kwargs: t.Any) -> t.Any:
    app = cls("routes_app", **kwargs)

    def view() -> str:
        return ""

    app.add_url_rule("/", "index", view)
    app.add_url_rule("/post", "post_only", view, methods=["POST"])
    app.add_url_rule("/all", "all_methods", view, methods=["GET", "PUT", "DELETE"])
    app.add_url_rule("/z", "aaa_last_rule", view)
    return app


def _invoke_routes(app: t.Any, *args: str) -> str:
    if isinstance(app, Phial):
        command = routes_command
    else:
        from flask.cli import routes_command as command
    result = app.test_cli_runner().invoke(command, list(args))
    assert result.exit_code == 0, result.output
    return str(result.output)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--sort", "endpoint"],
        ["-s", "methods"],
        ["--sort", "rule"],
        ["--sort", "match"],
        ["--sort", "domain"],
        ["--all-methods"],
    ],
)
def test_routes_output_matches_flask(args: list[str]) -> None:
    flask = pytest.importorskip("flask")
    expected = _invoke_routes(_routes_app(flask.Flask), *args)
    assert _invoke_routes(_routes_app(Phial), *args) == expected


@pytest.mark.parametrize("sort", ["domain", "endpoint"])
def test_routes_subdomain_column_matches_flask(sort: str) -> None:
    flask = pytest.importorskip("flask")

    def build(cls: t.Any) -> t.Any:
        app = _routes_app(cls, subdomain_matching=True)
        app.config["SERVER_NAME"] = "example.test"
        app.add_url_rule("/", "api_index", lambda: "", subdomain="api")
        return app

    output = _invoke_routes(build(Phial), "--sort", sort)
    assert "Subdomain" in output
    assert output == _invoke_routes(build(flask.Flask), "--sort", sort)


def test_routes_host_column_matches_flask() -> None:
    flask = pytest.importorskip("flask")

    def build(cls: t.Any) -> t.Any:
        app = cls("hosts", host_matching=True, static_host="static.test")
        app.add_url_rule("/", "home", lambda: "", host="www.test")
        return app

    output = _invoke_routes(build(Phial), "--sort", "domain")
    assert "Host" in output and "www.test" in output
    assert output == _invoke_routes(build(flask.Flask), "--sort", "domain")


def test_routes_sorting_orders() -> None:
    output = _invoke_routes(_routes_app(Phial, static_folder=None), "--sort", "rule")
    rules = [line.split()[-1] for line in output.splitlines()[2:]]
    assert rules == sorted(rules)
    output = _invoke_routes(_routes_app(Phial, static_folder=None), "--sort", "match")
    endpoints = [line.split()[0] for line in output.splitlines()[2:]]
    assert endpoints == ["index", "post_only", "all_methods", "aaa_last_rule"]


def test_routes_all_methods_shows_head_and_options() -> None:
    output = _invoke_routes(_routes_app(Phial, static_folder=None))
    assert "HEAD" not in output and "OPTIONS" not in output
    output = _invoke_routes(_routes_app(Phial, static_folder=None), "--all-methods")
    assert "GET, HEAD, OPTIONS" in output


def test_routes_none_registered() -> None:
    app = Phial("empty", static_folder=None)
    assert _invoke_routes(app) == "No routes were registered.\n"


def test_routes_rejects_unknown_sort(app: Phial) -> None:
    result = app.test_cli_runner().invoke(args=["routes", "--sort", "size"])
    assert result.exit_code == 2


# -- shell -----------------------------------------------------------------------------


@pytest.fixture
def interact(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, t.Any]]:
    """Replace code.interact; each call's arguments are recorded."""
    import code

    calls: list[dict[str, t.Any]] = []
    monkeypatch.setattr(code, "interact", lambda **kwargs: calls.append(kwargs))
    monkeypatch.delattr(sys, "__interactivehook__", raising=False)
    return calls


def test_shell_namespace_and_banner(interact: list[dict[str, t.Any]], runner: CliRunner) -> None:
    result = runner.invoke(PhialGroup(), ["--app", "cliapps.shell_app", "shell"])
    assert result.exit_code == 0, result.output
    (call,) = interact
    namespace = call["local"]
    assert namespace["app"].name == "shell_app"
    assert namespace["answer"] == 42
    assert namespace["g"] is phial.g
    assert "App: shell_app" in call["banner"]
    assert f"Python {sys.version}" in call["banner"]
    assert "Instance: " in call["banner"]


def test_shell_runs_pythonstartup(
    interact: list[dict[str, t.Any]], app: Phial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    startup = write(tmp_path / "startup.py", "from_startup = 'yes'\napp = 'replaced'\n")
    monkeypatch.setenv("PYTHONSTARTUP", str(startup))
    app.test_cli_runner().invoke(shell_command)
    namespace = interact[0]["local"]
    assert namespace["from_startup"] == "yes"
    assert namespace["app"] is app  # the app's context wins over the startup file


def test_shell_calls_the_interactive_hook(
    interact: list[dict[str, t.Any]], app: Phial, monkeypatch: pytest.MonkeyPatch
) -> None:
    called: list[t.Any] = []
    monkeypatch.setattr(sys, "__interactivehook__", lambda: called.append("hook"), raising=False)
    readline = pytest.importorskip("readline")
    import rlcompleter  # noqa: F401  # imported first: importing it sets a completer too

    monkeypatch.setattr(readline, "set_completer", called.append)
    app.test_cli_runner().invoke(shell_command)
    completer, hook = called
    assert hook == "hook"
    assert completer.__self__.namespace is interact[0]["local"]


def test_make_shell_context(app: Phial) -> None:
    app.shell_context_processor(lambda: {"x": 1})
    context = app.make_shell_context()
    assert context["app"] is app
    assert context["g"] is phial.g
    assert context["x"] == 1


# -- run -------------------------------------------------------------------------------


@pytest.fixture
def run_simple(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[t.Any, ...], dict[str, t.Any]]]:
    """Replace werkzeug.serving.run_simple; each call's arguments are recorded."""
    calls: list[tuple[tuple[t.Any, ...], dict[str, t.Any]]] = []
    monkeypatch.setattr(
        "werkzeug.serving.run_simple", lambda *args, **kwargs: calls.append((args, kwargs))
    )
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    return calls


def test_run_defaults(run_simple: list[t.Any], runner: CliRunner) -> None:
    result = runner.invoke(PhialGroup(), ["--app", "cliapps.simple_app", "run"])
    assert result.exit_code == 0, result.output
    (args, kwargs) = run_simple[0]
    assert args[:2] == ("127.0.0.1", 5000)
    assert args[2].name == "simple_app"
    assert kwargs == {
        "use_reloader": False,
        "use_debugger": False,
        "threaded": True,
        "ssl_context": None,
        "extra_files": None,
        "exclude_patterns": None,
    }
    assert " * Serving phial app 'cliapps.simple_app'" in result.output
    assert " * Debug mode: off" in result.output


def test_run_options(run_simple: list[t.Any], runner: CliRunner, tmp_path: Path) -> None:
    one = write(tmp_path / "one.cfg", "")
    two = write(tmp_path / "two.cfg", "")
    result = runner.invoke(
        PhialGroup(),
        [
            "--app",
            "cliapps.simple_app",
            "run",
            "--host",
            "0.0.0.0",
            "-p",
            "8080",
            "--reload",
            "--debugger",
            "--without-threads",
            "--extra-files",
            f"{one}{os.pathsep}{two}",
            "--exclude-patterns",
            f"*.tmp{os.pathsep}*.log",
        ],
    )
    assert result.exit_code == 0, result.output
    (args, kwargs) = run_simple[0]
    assert args[:2] == ("0.0.0.0", 8080)
    assert kwargs["use_reloader"] is True
    assert kwargs["use_debugger"] is True
    assert kwargs["threaded"] is False
    assert kwargs["extra_files"] == [str(one), str(two)]
    assert kwargs["exclude_patterns"] == ["*.tmp", "*.log"]


def test_run_debug_turns_on_reloader_and_debugger(
    run_simple: list[t.Any], runner: CliRunner
) -> None:
    result = runner.invoke(PhialGroup(), ["--app", "cliapps.simple_app", "--debug", "run"])
    assert " * Debug mode: on" in result.output
    kwargs = run_simple[0][1]
    assert kwargs["use_reloader"] is True and kwargs["use_debugger"] is True
    result = runner.invoke(
        PhialGroup(), ["--app", "cliapps.simple_app", "run", "--debug", "--no-reload"]
    )
    kwargs = run_simple[1][1]
    assert kwargs["use_reloader"] is False and kwargs["use_debugger"] is True


def test_run_port_from_environment(
    run_simple: list[t.Any], runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_RUN_PORT", "7000")
    runner.invoke(PhialGroup(), ["--app", "cliapps.simple_app", "run"])
    assert run_simple[0][0][1] == 7000


def test_run_cert_and_key(run_simple: list[t.Any], runner: CliRunner, tmp_path: Path) -> None:
    cert = write(tmp_path / "cert.pem", "")
    key = write(tmp_path / "key.pem", "")
    base = ["--app", "cliapps.simple_app", "run"]
    result = runner.invoke(PhialGroup(), [*base, "--cert", str(cert), "--key", str(key)])
    assert result.exit_code == 0, result.output
    assert run_simple[0][1]["ssl_context"] == (str(cert), str(key))
    result = runner.invoke(PhialGroup(), [*base, "--key", str(key), "--cert", str(cert)])
    assert run_simple[1][1]["ssl_context"] == (str(cert), str(key))

    result = runner.invoke(PhialGroup(), [*base, "--cert", str(cert)])
    assert result.exit_code == 2 and 'Required when using "--cert".' in result.output
    result = runner.invoke(PhialGroup(), [*base, "--key", str(key)])
    assert result.exit_code == 2 and '"--cert" must also be specified.' in result.output


def test_run_cert_adhoc(
    run_simple: list[t.Any], runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    key = write(tmp_path / "key.pem", "")
    base = ["--app", "cliapps.simple_app", "run", "--cert", "adhoc"]
    real_find_spec = importlib.util.find_spec

    def without_cryptography(name: str, *args: t.Any) -> t.Any:
        return None if name == "cryptography" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_cryptography)
    result = runner.invoke(PhialGroup(), base)
    assert result.exit_code == 2 and "requires the cryptography library" in result.output

    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: object() if name == "cryptography" else real_find_spec(name, *args),
    )
    result = runner.invoke(PhialGroup(), [*base[:-1], "AdHoc"])
    assert result.exit_code == 0, result.output
    assert run_simple[0][1]["ssl_context"] == "adhoc"
    result = runner.invoke(PhialGroup(), [*base, "--key", str(key)])
    assert result.exit_code == 2 and 'When "--cert" is "adhoc"' in result.output


_SSL_CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)


def test_run_cert_ssl_context_import(
    run_simple: list[t.Any], runner: CliRunner, tmp_path: Path
) -> None:
    key = write(tmp_path / "key.pem", "")
    base = ["--app", "cliapps.simple_app", "run", "--cert", f"{__name__}._SSL_CONTEXT"]
    result = runner.invoke(PhialGroup(), base)
    assert result.exit_code == 0, result.output
    assert run_simple[0][1]["ssl_context"] is _SSL_CONTEXT
    result = runner.invoke(PhialGroup(), [*base, "--key", str(key)])
    assert result.exit_code == 2 and "SSLContext object" in result.output
    result = runner.invoke(PhialGroup(), ["--app", "cliapps.simple_app", "run", "--cert", "nope"])
    assert result.exit_code == 2


def test_run_broken_app_raises(run_simple: list[t.Any], runner: CliRunner) -> None:
    result = runner.invoke(PhialGroup(), ["--app", "cliapps.broken", "run"])
    assert isinstance(result.exception, RuntimeError)
    assert run_simple == []


def test_run_broken_app_in_reloader_serves_the_error(
    run_simple: list[t.Any], runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    result = runner.invoke(PhialGroup(), ["--app", "cliapps.broken", "run"])
    assert result.exit_code == 0, result.output
    assert "Serving" not in result.output  # the banner is the parent process's job
    served = run_simple[0][0][2]
    with pytest.raises(RuntimeError, match="fails on purpose"):
        served({}, lambda *a: None)


# -- app.run ---------------------------------------------------------------------------


def test_app_run_is_a_no_op_under_the_cli(
    run_simple: list[t.Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    Phial("x").run()
    assert run_simple == []
    # Also in the reloader's child process: the CLI's server is already running.
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    Phial("x").run()
    assert run_simple == []


def test_app_run_loads_dotenv_and_debug(
    run_simple: list[t.Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write(tmp_path / ".flaskenv", "FLASK_DEBUG=1\n")
    monkeypatch.chdir(tmp_path)
    app = Phial("runner")
    app.run(port=0)
    assert app.debug is True
    (args, kwargs) = run_simple[0]
    assert args == ("127.0.0.1", 0, app)
    assert kwargs["use_reloader"] is True and kwargs["threaded"] is True
    out = capsys.readouterr().out
    assert " * Serving phial app 'runner'" in out and " * Debug mode: on" in out


def test_app_run_without_dotenv_and_debug_argument_wins(
    run_simple: list[t.Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / ".flaskenv", "FLASK_DEBUG=1\n")
    monkeypatch.chdir(tmp_path)
    app = Phial("runner")
    app.run(load_dotenv=False)
    assert app.debug is False
    assert "FLASK_DEBUG" not in os.environ
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app.run(debug=False, host="0.0.0.0")
    assert app.debug is False
    assert run_simple[1][0][:2] == ("0.0.0.0", 5000)


def test_app_run_uses_server_name(run_simple: list[t.Any]) -> None:
    app = Phial("runner")
    app.config["SERVER_NAME"] = "example.test:8123"
    app.run(load_dotenv=False)
    assert run_simple[0][0][:2] == ("example.test", 8123)
