"""The ``phial`` command line (``python -m phial``), built like Flask 3.1's.

:class:`PhialGroup` (alias ``FlaskGroup``) adds ``--app``, ``--env-file``,
``--debug`` and ``--version`` and the ``run``, ``routes`` and ``shell``
commands, plus the commands of the loaded app's :attr:`~phial.Phial.cli`.
:class:`AppGroup` is the group apps and extensions add commands to; its
commands run inside an application context. Finding the app is in
:mod:`phial._cli_loading`, the ``run`` command in :mod:`phial._cli_run`; both
are re-exported here.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
import traceback
import typing as t
from functools import update_wrapper
from operator import itemgetter

import click
from click.core import ParameterSource

from ._cli_loading import APP_ENV_VARS as APP_ENV_VARS
from ._cli_loading import NoAppException as NoAppException
from ._cli_loading import ScriptInfo as ScriptInfo
from ._cli_loading import find_app_by_string as find_app_by_string
from ._cli_loading import find_best_app as find_best_app
from ._cli_loading import get_debug_flag as get_debug_flag
from ._cli_loading import get_load_dotenv as get_load_dotenv
from ._cli_loading import load_dotenv as load_dotenv
from ._cli_loading import locate_app as locate_app
from ._cli_loading import pass_script_info as pass_script_info
from ._cli_loading import prepare_import as prepare_import
from ._cli_run import CertParamType as CertParamType
from ._cli_run import SeparatedPathType as SeparatedPathType
from ._cli_run import run_command as run_command
from ._cli_run import show_server_banner as show_server_banner
from .globals import current_app

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def with_appcontext(f: F) -> F:
    """Run a click command callback inside the app's application context,
    loading the app through the :class:`ScriptInfo` unless one is active.

    Commands of an :class:`AppGroup` (``app.cli``) are wrapped automatically.
    """

    @click.pass_context
    def decorator(ctx: click.Context, /, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if not current_app:
            app = ctx.ensure_object(ScriptInfo).load_app()
            ctx.with_resource(app.app_context())
        return ctx.invoke(f, *args, **kwargs)

    return update_wrapper(decorator, f)  # type: ignore[return-value]  # same signature for click


class AppGroup(click.Group):
    """A click group whose commands run in an application context.

    ``command()`` wraps callbacks with :func:`with_appcontext` unless given
    ``with_appcontext=False``; ``group()`` makes nested :class:`AppGroup`\\ s.
    """

    def command(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Like :meth:`click.Group.command`; ``with_appcontext=False`` skips the context."""
        wrap_for_ctx = kwargs.pop("with_appcontext", True)
        if args and callable(args[0]):
            # Used bare, as ``@group.command``.
            func = args[0]
            return self.command(*args[1:], with_appcontext=wrap_for_ctx, **kwargs)(func)

        def decorator(f: t.Callable[..., t.Any]) -> click.Command:
            if wrap_for_ctx:
                f = with_appcontext(f)
            return t.cast(click.Command, click.Group.command(self, *args, **kwargs)(f))

        return decorator

    def group(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Like :meth:`click.Group.group`, but nested groups are :class:`AppGroup`\\ s."""
        kwargs.setdefault("cls", AppGroup)
        return super().group(*args, **kwargs)


# -- the group's own options ----------------------------------------------------------


def _version_callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from . import __version__

    werkzeug_version = importlib.metadata.version("werkzeug")
    click.echo(
        f"Python {platform.python_version()}\nPhial {__version__}\nWerkzeug {werkzeug_version}",
        color=ctx.color,
    )
    ctx.exit()


#: ``--version``: print the Python, phial and Werkzeug versions.
version_option = click.Option(
    ["--version"],
    help="Show the phial version.",
    expose_value=False,
    callback=_version_callback,
    is_flag=True,
    is_eager=True,
)


def _set_app(ctx: click.Context, param: click.Option, value: str | None) -> str | None:
    if value is None:
        return None
    ctx.ensure_object(ScriptInfo).app_import_path = value
    return value


# Eager and not exposed: the app path must be known before a command of the app
# is looked up, and the commands never receive it as an argument.
_app_option = click.Option(
    ["-A", "--app"],
    metavar="IMPORT",
    help=(
        "The phial application or factory function to load, in the form 'module:name'."
        " Module can be a dotted import or file path. Name is not required if it is"
        " 'app', 'application', 'create_app', or 'make_app', and can be 'name(args)' to"
        " pass arguments."
    ),
    envvar=list(APP_ENV_VARS),
    is_eager=True,
    expose_value=False,
    callback=_set_app,
)


def _set_debug(ctx: click.Context, param: click.Option, value: bool) -> bool | None:
    # Unset, the flag reads as False; that must not override FLASK_DEBUG from elsewhere.
    source = ctx.get_parameter_source(param.name)
    if source is None or source in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
        return None
    # Through the environment rather than ScriptInfo, so a factory can read it early.
    flag = "1" if value else "0"
    os.environ["FLASK_DEBUG"] = flag
    os.environ["PHIAL_DEBUG"] = flag
    return value


_debug_option = click.Option(
    ["--debug/--no-debug"],
    help="Set debug mode.",
    envvar=["PHIAL_DEBUG", "FLASK_DEBUG"],
    expose_value=False,
    callback=_set_debug,
)


def _env_file_callback(ctx: click.Context, param: click.Option, value: str | None) -> str | None:
    try:
        import dotenv  # noqa: F401  # only checking that it is installed
    except ImportError:
        # Without a file given, load_dotenv below still runs to print its hint.
        if value is not None:
            raise click.BadParameter(
                "python-dotenv must be installed to load an env file.", ctx=ctx, param=param
            ) from None
    info = ctx.ensure_object(ScriptInfo)
    if value is not None or info.load_dotenv_defaults:
        load_dotenv(value, load_defaults=info.load_dotenv_defaults)
    return value


# Declared before --app and --debug so their environment variables can come from the file.
_env_file_option = click.Option(
    ["-e", "--env-file"],
    type=click.Path(exists=True, dir_okay=False),
    help=(
        "Load environment variables from this file, taking precedence over those set by"
        " '.env' and '.flaskenv'. Variables set directly in the environment take highest"
        " precedence. python-dotenv must be installed."
    ),
    envvar=["PHIAL_ENV_FILE", "FLASK_ENV_FILE"],
    is_eager=True,
    expose_value=False,
    callback=_env_file_callback,
)


def _flask_alias_callback(ctx: click.Context, param: click.Option, value: bool) -> bool:
    if value:
        from .compat import install_flask_alias

        install_flask_alias()
    return value


# Eager, so ``import flask`` in the app and its extensions gives phial before the app loads.
_flask_alias_option = click.Option(
    ["--flask-alias"],
    is_flag=True,
    help=(
        "Make 'import flask' resolve to phial before the app is loaded, so Flask"
        " extensions run on phial (see phial.compat)."
    ),
    envvar="PHIAL_FLASK_ALIAS",
    is_eager=True,
    expose_value=False,
    callback=_flask_alias_callback,
)


# ``run`` lives in phial._cli_run; like Flask's, it takes ``--debug`` too.
run_command.params.insert(0, _debug_option)


# -- shell and routes --------------------------------------------------------------------


@click.command("shell", short_help="Run a shell in the app context.")
@with_appcontext
def shell_command() -> None:
    """Run an interactive Python shell in the context of a given
    phial application. The application will populate the default
    namespace of this shell according to its configuration.

    This is useful for executing small snippets of management code
    without having to manually configure the application.
    """
    import code

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy API
    banner = (
        f"Python {sys.version} on {sys.platform}\n"
        f"App: {app.import_name}\n"
        f"Instance: {app.instance_path}"
    )
    namespace: dict[str, t.Any] = {}
    # Like the plain interpreter, run PYTHONSTARTUP first.
    startup = os.environ.get("PYTHONSTARTUP")
    if startup and os.path.isfile(startup):
        with open(startup) as f:
            eval(compile(f.read(), startup, "exec"), namespace)
    namespace.update(app.make_shell_context())
    # site.py sets this hook for interactive sessions: history and tab completion.
    interactive_hook = getattr(sys, "__interactivehook__", None)
    if interactive_hook is not None:
        try:
            import readline
            from rlcompleter import Completer
        except ImportError:
            pass
        else:
            # Complete names from the shell's namespace, not from __main__.
            readline.set_completer(Completer(namespace).complete)
        interactive_hook()
    code.interact(banner=banner, local=namespace)


@click.command("routes", short_help="Show the routes for the app.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(("endpoint", "methods", "domain", "rule", "match")),
    default="endpoint",
    help=(
        "Method to sort routes by. 'match' is the order that phial will match routes"
        " when dispatching a request."
    ),
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS methods.")
@with_appcontext
def routes_command(sort: str, all_methods: bool) -> None:
    """Show all registered routes with endpoints and methods."""
    url_map = current_app.url_map
    rules = list(url_map.iter_rules())
    if not rules:
        click.echo("No routes were registered.")
        return
    ignored_methods = set() if all_methods else {"HEAD", "OPTIONS"}
    host_matching = url_map.host_matching
    has_domain = any(rule.host if host_matching else rule.subdomain for rule in rules)
    rows = []
    for rule in rules:
        row = [rule.endpoint, ", ".join(sorted((rule.methods or set()) - ignored_methods))]
        if has_domain:
            row.append((rule.host if host_matching else rule.subdomain) or "")
        row.append(rule.rule)
        rows.append(row)
    headers = ["Endpoint", "Methods"]
    sorts = ["endpoint", "methods"]
    if has_domain:
        headers.append("Host" if host_matching else "Subdomain")
        sorts.append("domain")
    headers.append("Rule")
    sorts.append("rule")
    # "match" (and "domain" when no rule has one) keeps the URL map's order.
    if sort in sorts:
        rows.sort(key=itemgetter(sorts.index(sort)))
    rows.insert(0, headers)
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    rows.insert(1, ["-" * width for width in widths])
    template = "  ".join(f"{{{i}:<{width}}}" for i, width in enumerate(widths))
    for row in rows:
        click.echo(template.format(*row))


# -- the group ---------------------------------------------------------------------------


class PhialGroup(AppGroup):
    """The ``phial`` command: built-in commands plus those of the loaded app.

    :param add_default_commands: Add ``run``, ``shell`` and ``routes``.
    :param create_app: A function returning the app; else ``--app`` and
        discovery find it (see :class:`ScriptInfo`).
    :param add_version_option: Add ``--version``.
    :param load_dotenv: Load ``.env`` and ``.flaskenv`` before anything else.
    :param set_debug_flag: Set ``app.debug`` from ``--debug``/``FLASK_DEBUG``.

    Commands registered in the ``flask.commands`` and ``phial.commands``
    entry-point groups are added too.
    """

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: t.Callable[..., t.Any] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: t.Any,
    ) -> None:
        params: list[click.Parameter] = list(extra.pop("params", None) or ())
        params.extend((_env_file_option, _flask_alias_option, _app_option, _debug_option))
        if add_version_option:
            params.append(version_option)
        extra.setdefault("context_settings", {}).setdefault("auto_envvar_prefix", "FLASK")
        super().__init__(params=params, **extra)
        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        if add_default_commands:
            self.add_command(run_command)
            self.add_command(shell_command)
            self.add_command(routes_command)
        self._loaded_plugin_commands = False

    def _load_plugin_commands(self) -> None:
        if self._loaded_plugin_commands:
            return
        for group in ("flask.commands", "phial.commands"):
            for ep in importlib.metadata.entry_points(group=group):
                self.add_command(ep.load(), ep.name)
        self._loaded_plugin_commands = True

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """A built-in or plugin command, else one of the app's (loading the app;
        an app that cannot be found prints an error and gives no command)."""
        self._load_plugin_commands()
        # Built-in and plugin commands work even when the app cannot be loaded.
        rv = super().get_command(ctx, name)
        if rv is not None:
            return rv
        info = ctx.ensure_object(ScriptInfo)
        try:
            app = info.load_app()
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
            return None
        # The app's commands and their parameter callbacks see the app context.
        if not current_app or current_app._get_current_object() is not app:  # type: ignore[attr-defined]  # LocalProxy API
            ctx.with_resource(app.app_context())
        return app.cli.get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Built-in, plugin and app commands; an app that fails to load is
        reported on stderr and its commands left out."""
        self._load_plugin_commands()
        rv = set(super().list_commands(ctx))
        info = ctx.ensure_object(ScriptInfo)
        try:
            rv.update(info.load_app().cli.list_commands(ctx))
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
        except Exception:
            # Listing is for --help: show the user's error but keep the built-ins.
            click.secho(f"{traceback.format_exc()}\n", err=True, fg="red")
        return sorted(rv)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: t.Any,
    ) -> click.Context:
        # Tells app.run() to do nothing: an unguarded app.run() in the app module
        # would otherwise start a server while a command imports the module.
        os.environ["FLASK_RUN_FROM_CLI"] = "true"
        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )
        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # PHIAL_FLASK_ALIAS first: eager options given on the command line (--help,
        # which may load the app to list its commands) run before environment-only ones.
        _flask_alias_option.handle_parse_result(ctx, {}, [])
        if (not args and self.no_args_is_help) or (
            len(args) == 1 and args[0] in self.get_help_option_names(ctx)
        ):
            # Help is printed while parsing; read --env-file and --app from the
            # environment first so the help lists the app's commands.
            _env_file_option.handle_parse_result(ctx, {}, [])
            _app_option.handle_parse_result(ctx, {}, [])
        try:
            return super().parse_args(ctx, args)
        except BaseException:
            # Printing help (or a usage error) may have loaded the app and pushed
            # its context; click skips cleanup when parsing ends in an error.
            ctx.close()
            raise


#: Flask's name for :class:`PhialGroup`.
FlaskGroup = PhialGroup

#: The ``phial`` command.
cli = PhialGroup(
    name="phial",
    help=(
        "A general utility script for phial applications.\n\n"
        "An application to load must be given with the '--app' option,"
        " 'FLASK_APP' or 'PHIAL_APP' environment variable, or with a 'wsgi.py' or"
        " 'app.py' file in the current directory."
    ),
)


def main() -> None:
    """Run the ``phial`` command (the console script and ``python -m phial``)."""
    cli.main()
