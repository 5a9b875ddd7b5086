"""`imgperc plugins`: what is loaded and what each plugin provides."""

from __future__ import annotations

import json

import click

from .. import plugins


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List loaded plugins, their versions and what each provides."""
    host = plugins.host()
    ctx.find_root().command.list_commands(ctx)  # makes plugins add (and record) their commands
    host.load_all()
    infos = list(host.infos.values())
    if as_json:
        click.echo(json.dumps([info.__dict__ for info in infos], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="imgperc plugins")
    for column in ("plugin", "version", "module", "provides"):
        table.add_column(column)
    for info in infos:
        provides = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in info.provides.items())
        if info.error:
            provides = f"[red]failed: {info.error}[/red]" + (f"; {provides}" if provides else "")
        table.add_row(info.name, info.version, info.module, provides or "-")
    Console().print(table)
