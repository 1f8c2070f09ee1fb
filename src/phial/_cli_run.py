"""The ``phial run`` command: Werkzeug's development server, as in Flask 3.1.

Re-exported by :mod:`phial.cli`, which also adds the ``--debug`` option to it.
"""

from __future__ import annotations

import importlib.util
import os
import traceback
import typing as t

import click
from werkzeug.serving import is_running_from_reloader
from werkzeug.utils import import_string

from ._cli_loading import ScriptInfo, get_debug_flag, pass_script_info

if t.TYPE_CHECKING:
    import ssl

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class CertParamType(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """``--cert``: a certificate file, ``adhoc``, or the import path of an
    :class:`ssl.SSLContext`."""

    name = "path"

    def __init__(self) -> None:
        self.path_type = click.Path(exists=True, dir_okay=False, resolve_path=True)

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> t.Any:
        try:
            import ssl
        except ImportError:  # pragma: no cover - Python built without SSL
            raise click.BadParameter(
                'Using "--cert" requires Python to be compiled with SSL support.', ctx, param
            ) from None
        try:
            return self.path_type(value, param, ctx)
        except click.BadParameter:
            value = click.STRING(value, param, ctx)
            if value.lower() == "adhoc":
                # Werkzeug generates the certificate with cryptography.
                if importlib.util.find_spec("cryptography") is None:
                    raise click.BadParameter(
                        "Using ad-hoc certificates requires the cryptography library.",
                        ctx,
                        param,
                    ) from None
                return "adhoc"
            obj = import_string(value, silent=True)
            if isinstance(obj, ssl.SSLContext):
                return obj
            raise


def _validate_key(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--key`` goes with a certificate file; it turns ``cert`` into ``(cert, key)``."""
    import ssl

    cert = ctx.params.get("cert")
    is_adhoc = cert == "adhoc"
    is_context = isinstance(cert, ssl.SSLContext)
    if value is not None:
        if is_adhoc:
            raise click.BadParameter('When "--cert" is "adhoc", "--key" is not used.', ctx, param)
        if is_context:
            raise click.BadParameter(
                'When "--cert" is an SSLContext object, "--key" is not used.', ctx, param
            )
        if not cert:
            raise click.BadParameter('"--cert" must also be specified.', ctx, param)
        ctx.params["cert"] = cert, value
    elif cert and not (is_adhoc or is_context):
        raise click.BadParameter('Required when using "--cert".', ctx, param)
    return value


class SeparatedPathType(click.Path):
    """Several paths in one value, separated by :data:`os.pathsep` (``:`` or ``;``)."""

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> t.Any:
        # A value from the environment may arrive split already.
        items = list(value) if isinstance(value, (list, tuple)) else self.split_envvar_value(value)
        convert = super().convert  # zero-argument super() fails inside a comprehension
        return [convert(item, param, ctx) for item in items]


def show_server_banner(debug: bool | None, app_import_path: str | None) -> None:
    """Print the lines the development server starts with (not in the
    reloader's child process, which would print them twice)."""
    if is_running_from_reloader():
        return
    if app_import_path is not None:
        click.echo(f" * Serving phial app '{app_import_path}'")
    if debug is not None:
        click.echo(f" * Debug mode: {'on' if debug else 'off'}")


@click.command("run", short_help="Run a development server.")
@click.option("--host", "-h", default="127.0.0.1", help="The interface to bind to.")
@click.option("--port", "-p", default=5000, help="The port to bind to.")
@click.option(
    "--cert",
    type=CertParamType(),
    help="Specify a certificate file to use HTTPS.",
    is_eager=True,
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    callback=_validate_key,
    expose_value=False,
    help="The key file to use when specifying a certificate.",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Enable or disable the reloader. By default the reloader is active if debug is enabled.",
)
@click.option(
    "--debugger/--no-debugger",
    default=None,
    help="Enable or disable the debugger. By default the debugger is active if debug is enabled.",
)
@click.option(
    "--with-threads/--without-threads",
    default=True,
    help="Enable or disable multithreading.",
)
@click.option(
    "--extra-files",
    default=None,
    type=SeparatedPathType(),
    help=(
        "Extra files that trigger a reload on change. Multiple paths are"
        f" separated by {os.path.pathsep!r}."
    ),
)
@click.option(
    "--exclude-patterns",
    default=None,
    type=SeparatedPathType(),
    help=(
        "Files matching these fnmatch patterns will not trigger a reload"
        f" on change. Multiple patterns are separated by {os.path.pathsep!r}."
    ),
)
@pass_script_info
def run_command(
    info: ScriptInfo,
    host: str,
    port: int,
    reload: bool | None,
    debugger: bool | None,
    with_threads: bool,
    cert: ssl.SSLContext | tuple[str, str | None] | t.Literal["adhoc"] | None,
    extra_files: list[str] | None,
    exclude_patterns: list[str] | None,
) -> None:
    """Run a local development server.

    This server is for development purposes only. It does not provide
    the stability, security, or performance of production WSGI servers.

    The reloader and debugger are enabled by default with the '--debug'
    option.
    """
    app: WSGIApplication
    try:
        app = info.load_app()
    except Exception as e:
        if not is_running_from_reloader():
            raise
        # In the reloader's child, keep serving so that fixing the file reloads;
        # every request shows the error meanwhile.
        traceback.print_exc()
        err = e

        def app(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
            raise err from None

    debug = get_debug_flag()
    if reload is None:
        reload = debug
    if debugger is None:
        debugger = debug
    show_server_banner(debug, info.app_import_path)

    from werkzeug.serving import run_simple

    run_simple(
        host,
        port,
        app,
        use_reloader=reload,
        use_debugger=debugger,
        threaded=with_threads,
        ssl_context=cert,
        extra_files=extra_files,
        exclude_patterns=exclude_patterns,
    )
