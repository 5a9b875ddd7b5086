"""The `imgperc` root command. Task commands come from plugins; this file only hosts them.

Nothing here imports torch: commands import what they need when they run, so `--help`,
`--version` and `imgperc plugins` are instant, and Ctrl-C at any moment is one line.
"""

from __future__ import annotations

import logging
import signal
import sys
import warnings
from contextlib import contextmanager
from typing import Iterator

import click

from .. import __version__, plugins
from ..errors import ImgpercError, Stopped, echo_error
from ..lazy import LazyCommand
from .eval_cmd import eval_group
from .models_cmd import models
from .plugins_cmd import plugins_command
from .train_cmd import train_group


class PluginGroup(click.Group):
    """The root group: core commands plus whatever the loaded plugins add (loaded lazily)."""

    def _plugin_commands(self) -> dict[str, click.Command]:
        return plugins.host().commands(reserved=self.commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.commands.get(cmd_name) or self._plugin_commands().get(cmd_name)


@click.group(cls=PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="imgperc")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors (and the libraries' warnings).")
@click.option("-v", "--verbose", count=True, help="More detail, and the libraries' warnings (repeat for more).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: int) -> None:
    """Fast neural style transfer and perceptual super-resolution (Johnson et al., 2016)."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["verbose"] = verbose
    if not (debug or verbose):
        ctx.with_resource(_libraries_quiet())


@contextmanager
def _libraries_quiet() -> Iterator[None]:
    """Hide the warnings and log lines of libraries (torch, PIL, ...): imgperc's own warnings stay."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"(?!imgperc)")
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


cli.add_command(LazyCommand("bench", "imgperc.cli.bench_cmd:bench_command", "Images/s, ms/image, achieved GFLOP/s and peak memory of a net through the engine."))
cli.add_command(LazyCommand("export", "imgperc.cli.export_cmd:export_command", "Export MODEL (a style or super-resolution model: hub id, your model, or a file) to ONNX."))
cli.add_command(plugins_command)
cli.add_command(models)
cli.add_command(train_group)
cli.add_command(eval_group)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one-line errors and non-zero exit codes; tracebacks only with --debug."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="imgperc", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _aborted()
    except Stopped as exc:  # e.g. a training run that saved its checkpoint on Ctrl-C
        click.echo(f"Stopped ({exc})", err=True)
        _aborted()
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ImgpercError as exc:
        if debug:
            raise
        echo_error(exc)
        sys.exit(1)
    except Exception as exc:  # unexpected: still one line unless --debug
        if debug:
            raise
        click.echo(f"Error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True)
        sys.exit(1)


def _aborted() -> None:
    """Ctrl-C: one line and exit 130; another Ctrl-C while exiting ends the process at once."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    click.echo("Aborted.", err=True)
    sys.exit(130)
