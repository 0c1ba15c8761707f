"""CLI groups that also offer the commands other installed packages declare under an entry-point group.

The portal imports no such package: ``flask toast sandbox`` comes from the ``toast_sandbox`` package (a development
tool) through the ``tablecloth.toast_commands`` entry point in pyproject.toml, loaded only when it is run or listed.
"""
from importlib.metadata import EntryPoint, entry_points

import click
from flask.cli import AppGroup


class PluginGroup(AppGroup):
    """An ``AppGroup`` plus the commands installed under the entry-point group ``plugins`` (as Flask's own CLI
    does for ``flask.commands``, one level down)."""

    def __init__(self, name: str, *, plugins: str, **attrs) -> None:
        super().__init__(name, **attrs)
        self.plugins = plugins

    def _installed(self) -> dict[str, EntryPoint]:
        return {point.name: point for point in entry_points(group=self.plugins)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._installed()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and (point := self._installed().get(name)):
            command = point.load()
        return command
