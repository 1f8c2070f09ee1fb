"""The public :class:`Blueprint`: the sans-I/O blueprint plus files and CLI commands."""

from __future__ import annotations

import os
import typing as t

from werkzeug.utils import cached_property

from .globals import current_app
from .helpers import _max_age_from_config, _send_static_file
from .sansio.blueprints import Blueprint as SansioBlueprint
from .sansio.blueprints import BlueprintSetupState as BlueprintSetupState
from .sansio.scaffold import _sentinel

if t.TYPE_CHECKING:
    import click

    from .sansio.app import App
    from .wrappers import Response


class Blueprint(SansioBlueprint):
    """A set of routes, hooks, handlers, templates, static files and CLI
    commands to register on an app, possibly several times and nested.

    Takes the arguments of :class:`phial.sansio.blueprints.Blueprint`.
    """

    @cached_property
    def cli(self) -> click.Group:
        """The click group of the blueprint's commands (``@bp.cli.command()``): a
        :class:`phial.cli.AppGroup`, whose commands run inside an app context.

        At registration they become ``phial <cli_group> <command>``, or commands
        of the app's own group when ``cli_group`` is ``None``. Made on first use,
        so that blueprints without commands never import click.
        """
        from .cli import AppGroup  # here, not at the top: the CLI imports the app

        return AppGroup(self.name)

    def _register_cli(self, app: App, name: str, options: dict[str, t.Any]) -> None:
        never_made = "cli" not in self.__dict__ and type(self).cli is Blueprint.cli
        if never_made or not self.cli.commands:
            return
        # The app's group comes with phial's CLI; an app without one cannot run them.
        app_cli: click.Group | None = getattr(app, "cli", None)
        if app_cli is None:
            return
        group = options.get("cli_group", self.cli_group)
        if group is None:
            for command_name, command in self.cli.commands.items():
                app_cli.add_command(command, command_name)
            return
        self.cli.name = name if group is _sentinel else group
        app_cli.add_command(self.cli)

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """Cache max-age for the blueprint's static files: the current app's
        ``SEND_FILE_MAX_AGE_DEFAULT`` (``None`` means the browser revalidates)."""
        return _max_age_from_config(current_app.config)

    def send_static_file(self, filename: str) -> Response:
        """Serve ``filename`` from :attr:`static_folder` (the ``<name>.static`` view)."""
        return _send_static_file(self, filename)

    def open_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> t.IO[t.Any]:
        """Open a file relative to the blueprint's :attr:`root_path` for reading."""
        if mode not in {"r", "rt", "rb"}:
            raise ValueError("Resources can only be opened for reading.")
        path = os.path.join(self.root_path, resource)
        if mode == "rb":
            return open(path, mode)  # the caller closes it
        return open(path, mode, encoding=encoding)  # the caller closes it
