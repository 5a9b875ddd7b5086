"""Commands that apply an image task to image files: `imgperc stylize`, `imgperc upscale`, and
any plugin's own (``cli.add_command(ImageFilesCommand(task, NAME, help=...))`` in ``register_commands``).

The command takes INPUTS (files and folders), the task's own options, then ``-o``, ``-r``,
``--size`` (where asked for), ``--device``, ``--force`` and ``-q``; the work is done by
`imgperc.pipeline.files`, imported only when the command runs, so building the command (and
``--help``) stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

from .options import device_option, force_option, output_option, quiet_option, size_option

if TYPE_CHECKING:
    from ..tasks import ImageTask

# Extra --help sections, computed when help is shown: {title: [(name, description), ...]}.
Catalogue = Callable[[], dict[str, list[tuple[str, str]]]]


def model_rows(task: str, builtin: bool | None = None) -> list[tuple[str, str]]:
    """``(name, description)`` of every hub model of ``task``, then of the user's trained ones.

    ``builtin=True``: only the models shipped with their plugin; ``False``: all but those.
    """
    from ..hub import installed_path, specs
    from ..hub.user import user_models

    rows = []
    for spec in sorted((s for s in specs().values() if s.task == task), key=lambda s: s.id):
        if builtin is not None and (spec.builtin is not None) != builtin:
            continue
        where = "built in" if spec.builtin is not None else "installed" if installed_path(spec) else "downloaded on first use"
        aliases = f"; also {', '.join(spec.aliases)}" if spec.aliases else ""
        rows.append((spec.id, f"{spec.description} ({where}{aliases})"))
    users = [] if builtin else sorted(user_models(task))
    return rows + [(name, f"trained by you (`imgperc train {task} --name`)") for name in users]


def _file_options(resize: bool) -> list[click.Option]:
    return [
        output_option("Output file (one input) or folder (several).").option(),
        click.Option(["-r", "--recursive"], is_flag=True, help="Look for images in sub-folders too."),
        *([size_option().option()] if resize else []),
        device_option().option(),
        force_option().option(),
        quiet_option().option(),
    ]


class ImageFilesCommand(click.Command):
    """``NAME INPUTS... [task options] [-o PATH] [-r] [--size N] [--device D] [--force] [-q]``.

    ``resize`` adds ``--size``; ``catalogue`` lists what the task offers (styles, models) at the
    end of ``--help``.
    """

    def __init__(
        self,
        task: ImageTask,
        name: str,
        *,
        help: str,
        short_help: str | None = None,
        catalogue: Catalogue | None = None,
        resize: bool = False,
    ) -> None:
        params = [
            click.Argument(["inputs"], nargs=-1, required=True, type=click.Path(path_type=Path)),
            *task.options,
            *task.image_options,
            *_file_options(resize),
        ]
        super().__init__(name, params=params, callback=self._run, help=help, short_help=short_help)
        self.task = task
        self.catalogue = catalogue

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for title, rows in (self.catalogue() if self.catalogue else {}).items():
            with formatter.section(title):
                formatter.write_dl(rows or [("(none)", "none installed")])
        super().format_epilog(ctx, formatter)

    def _run(
        self,
        inputs: tuple[Path, ...],
        output: Path | None,
        recursive: bool,
        device: str,
        force: bool,
        quiet: bool,
        size: int | None = None,
        **values: Any,
    ) -> None:
        from ..pipeline.files import FileOptions, run_image_task

        files = FileOptions(inputs, output=output, recursive=recursive, size=size, device=device, force=force, quiet=quiet)
        run_image_task(self.task, values, files, verb=str(self.name))

