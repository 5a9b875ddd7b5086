"""`imgperc models list|pull|path|rm|ship|doc|average`: the model hub from the command line.

The hub (and torch with it) is imported when a subcommand runs, not to list them.
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

import click

from .options import force_option, output_option

if TYPE_CHECKING:
    from pathlib import Path

    from rich.table import Table


def _size(n: int) -> str:
    """A file size in decimal units, as the docs give them (``6.7 MB``, ``307 kB``)."""
    if n < 1000:
        return f"{n} B"
    if n < 1000**2:
        return f"{n / 1000:.0f} kB"
    return f"{n / 1000**2:.1f} MB" if n < 1000**3 else f"{n / 1000**3:.1f} GB"


@click.group()
def models() -> None:
    """Pretrained models, built in or yours: list, pull, path, rm, ship."""


def list_rows(task: str | None) -> list[dict[str, Any]]:
    """What `models list` shows: every hub model and every model you trained, by task and id."""
    from .. import hub
    from ..hub.user import describe_user_model, user_models
    from ..modelfile import read_metadata

    rows = []
    for spec in hub.specs().values():
        path = hub.installed_path(spec)
        status = "built-in" if spec.builtin is not None else "installed" if path is not None else "available"
        rows.append(
            {
                "id": spec.id,
                "task": spec.task,
                "status": status,
                "installed": path is not None,
                "builtin": spec.builtin is not None,
                "user": False,
                "size": path.stat().st_size if path else spec.download_size,
                "license": spec.license,
                "aliases": list(spec.aliases),
                "description": spec.description,
            }
        )
    for name, path in user_models().items():
        meta = read_metadata(path)
        rows.append(
            {
                "id": name,
                "task": meta.get("task"),
                "status": "trained",
                "installed": True,
                "builtin": False,
                "user": True,
                "size": path.stat().st_size,
                "license": meta.get("license", ""),
                "aliases": [],
                "description": describe_user_model(meta),
            }
        )
    return sorted((row for row in rows if not task or row["task"] == task), key=lambda row: (str(row["task"]), row["id"]))


def models_tables(rows: list[dict[str, Any]], *, wide: bool = False) -> list[Table]:
    """One table per task; the id column is never cut, the description wraps (``wide``: the
    licence and aliases too, nothing wrapped)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    tables = []
    for task, group in itertools.groupby(rows, key=lambda row: row["task"]):
        table = Table(title=f"{task} models", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        table.add_column("id", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("size", no_wrap=True, justify="right")
        if wide:
            table.add_column("license", no_wrap=True)
            table.add_column("aliases", no_wrap=True)
        table.add_column("description", no_wrap=wide)
        for row in group:
            extra = [row["license"], ", ".join(row["aliases"])] if wide else []
            cells = [row["id"], row["status"], _size(row["size"]), *extra, row["description"]]
            table.add_row(*(Text(str(cell)) for cell in cells))  # plain text: names are no markup
        tables.append(table)
    return tables


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: one JSON object per model.")
@click.option("--wide", is_flag=True, help="Add the licence and aliases, one line per model (no wrapping).")
@click.option("--task", help="Only models of this task (style, sr, loss-network, ...).")
def list_models(as_json: bool, wide: bool, task: str | None) -> None:
    """Available, installed, built-in and your trained models, by task."""
    from ..report import print_table

    rows = list_rows(task)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no models of task '{task}'" if task else "no models")
        return
    for table in models_tables(rows, wide=wide):
        print_table(table)


@models.command("pull")
@click.argument("names", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Download and convert again even if installed.")
def pull(names: tuple[str, ...], force: bool) -> None:
    """Download and install models."""
    from .. import hub
    from ..hub.user import find_model

    for name in names:
        found = find_model(name)
        if not isinstance(found, hub.ModelSpec):
            click.echo(f"{name}: {found} (trained by you: nothing to download)")
            continue
        path = hub.pull(found, force=force) if force else hub.ensure(found.id)
        click.echo(f"{found.id}: {path}")


@models.command("path")
@click.argument("name")
def path(name: str) -> None:
    """Print where an installed model lives (fails if not installed)."""
    from .. import hub
    from ..hub.user import find_model

    found = find_model(name)
    if isinstance(found, hub.ModelSpec):
        local = hub.installed_path(found)
        if local is None:
            raise click.ClickException(f"model '{found.id}' is not installed (run `imgperc models pull {found.id}`)")
        found = local
    click.echo(str(found))


@models.command("rm")
@click.argument("names", nargs=-1, required=True)
def rm(names: tuple[str, ...]) -> None:
    """Remove downloaded or trained models (built-in ones stay)."""
    from .. import hub
    from ..hub.store import check_removable
    from ..hub.user import find_model, remove_user_model

    found = {name: find_model(name) for name in names}  # every name is checked before anything is removed
    for model in found.values():
        if isinstance(model, hub.ModelSpec):
            check_removable(model)
    for name, model in found.items():
        if isinstance(model, hub.ModelSpec):
            click.echo(f"removed {model.id}" if hub.remove(model) else f"{model.id} was not installed")
        else:
            remove_user_model(name)
            click.echo(f"removed {name} (trained by you)")


def _json_object(path: str | None) -> dict[str, Any]:
    """The JSON object in the file at ``path`` (none: empty)."""
    from pathlib import Path

    from ..errors import InputError

    if path is None:
        return {}
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path} as JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InputError(f"{path} must hold a JSON object (the fields to record), not {type(value).__name__}")
    return value


@models.command("ship")
@click.argument("args", nargs=-1, required=True, metavar="[RUN/model.safetensors] NAME")
@click.option("--scores", "results", multiple=True, type=click.Path(exists=True, dir_okay=False), metavar="EVAL.json",
              help="Record the scores of an `imgperc eval TASK` JSON file in NAME's metadata (repeat).")
@click.option("--method", help="With --scores: the JSON's method that is NAME (default: NAME itself).")
@click.option("--metadata", type=click.Path(exists=True, dir_okay=False), metavar="FILE.json",
              help="A JSON object of fields to record (source, license, training_data, training_recipe, note; see docs/models.md).")
@click.option("--note", help="A note to record (what the structured fields cannot say).")
@click.option("--force", is_flag=True, help="Replace a shipped model of the same NAME.")
def ship(args: tuple[str, ...], results: tuple[str, ...], method: str | None, metadata: str | None, note: str | None, force: bool) -> None:
    """Ship a trained run as a built-in model (maintainers).

    RUN/model.safetensors NAME writes NAME.safetensors into the weights folder of the plugin of
    the run's task, in fp16, with the run's metadata. NAME alone (with --scores, --metadata or
    --note) updates an already shipped model's metadata. Paths are recorded relative to the current folder.
    """
    from pathlib import Path

    from ..hub.ship import ship as ship_run, update_shipped

    if len(args) > 2 or (len(args) == 1 and not (results or metadata or note)):
        raise click.UsageError("give RUN/model.safetensors NAME, or NAME with --scores EVAL.json, --metadata FILE.json or --note TEXT")
    extra, name = {**_json_object(metadata), **({"note": note} if note else {})}, args[-1]
    if len(args) == 2:
        target = ship_run(Path(args[0]), name, extra=extra, force=force)
    if len(args) == 1 or results:
        target = update_shipped(name, results=[Path(p) for p in results], method=method, extra=extra if len(args) == 1 else None)
    click.echo(target)


def _mix(text: str | None) -> list[float] | None:
    """``--weights 0.25,0.75`` as floats (None: not given)."""
    from ..errors import InputError

    if text is None:
        return None
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f"--weights takes numbers separated by commas (like 0.25,0.75), got {text!r}") from None


@models.command("average")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="MODEL.safetensors...")
@click.option("--weights", "mix", metavar="W1,W2,...", help="One weight per file, positive, summing to 1 (default: equal).")
@output_option("The model file to write.", dir_okay=False, required=True)
@force_option()
def average(files: tuple[str, ...], mix: str | None, output: Path, force: bool) -> None:
    """Average the weights of fine-tuned runs into one model file.

    Every float tensor of OUTPUT is the weighted sum of the files' tensors. The files must be
    the same net (task, architecture, config) and fine-tunes of one another (a phase and the
    phase it started from). Ship the result with `imgperc models ship`.
    """
    from pathlib import Path

    from ..hub.average import average_models

    weights = _mix(mix) or [1 / len(files)] * len(files)
    click.echo(average_models([Path(f) for f in files], weights, output, force=force))


@models.command("doc")
def doc() -> None:
    """Print docs/models.md: every model and its provenance.

    The provenance comes from each built-in model's metadata.
    """
    from .models_doc import markdown

    click.echo(markdown(), nl=False)
