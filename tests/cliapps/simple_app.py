"""An app named ``app`` with a route and a command."""

import click

from phial import Phial, current_app

app = Phial("simple_app")


@app.route("/")
def index() -> str:
    return "index"


@app.cli.command()
def hello() -> None:
    """Greet from the app."""
    click.echo(f"hello from {current_app.name}")
