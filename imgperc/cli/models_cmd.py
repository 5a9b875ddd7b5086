"""`imgperc models list|pull|path|rm`: the model hub from the command line.

The hub (and torch with it) is imported when a subcommand runs, not to list them.
"""

from __future__ import annotations

import json

import click


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


@click.group()
def models() -> None:
    """Pretrained models: list, pull, locate, remove."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--task", help="Only models of this task (style, sr, loss-network, ...).")
def list_models(as_json: bool, task: str | None) -> None:
    """Available and installed models."""
    from rich.console import Console
    from rich.table import Table

    from .. import hub

    rows = []
    for spec in sorted(hub.specs().values(), key=lambda s: (s.task, s.id)):
        if task and spec.task != task:
            continue
        path = hub.installed_path(spec)
        rows.append(
            {
                "id": spec.id,
                "task": spec.task,
                "installed": path is not None,
                "builtin": spec.builtin is not None,
                "size": path.stat().st_size if path else spec.download_size,
                "license": spec.license,
                "aliases": list(spec.aliases),
                "description": spec.description,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    for column in ("id", "task", "status", "size", "license", "description"):
        table.add_column(column)
    for row in rows:
        status = "built-in" if row["builtin"] else ("installed" if row["installed"] else "available")
        table.add_row(row["id"], row["task"], status, _size(row["size"]), row["license"], row["description"])
    Console().print(table)


@models.command("pull")
@click.argument("names", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Download and convert again even if installed.")
def pull(names: tuple[str, ...], force: bool) -> None:
    """Download and install models."""
    from .. import hub

    for name in names:
        spec = hub.find_spec(name)
        path = hub.pull(spec, force=force) if force else hub.ensure(spec.id)
        click.echo(f"{spec.id}: {path}")


@models.command("path")
@click.argument("name")
def path(name: str) -> None:
    """Print where an installed model lives (fails if it is not installed)."""
    from .. import hub

    spec = hub.find_spec(name)
    local = hub.installed_path(spec)
    if local is None:
        raise click.ClickException(f"model '{spec.id}' is not installed (run `imgperc models pull {spec.id}`)")
    click.echo(str(local))


@models.command("rm")
@click.argument("names", nargs=-1, required=True)
def rm(names: tuple[str, ...]) -> None:
    """Remove installed models."""
    from .. import hub

    for name in names:
        spec = hub.find_spec(name)
        click.echo(f"removed {spec.id}" if hub.remove(spec) else f"{spec.id} was not installed")
