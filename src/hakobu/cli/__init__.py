"""The `hakobu` command line. Importing the command modules registers their commands."""

from hakobu.cli import provisioning, sandbox_commands
from hakobu.cli.app import app, main

app.add_typer(sandbox_commands.sandbox_app, name="sandbox")

__all__ = ["app", "main", "provisioning"]
