"""The shared options (`imgperc.cli.options`) are one definition wherever they appear: same flags,
help text, choices and bounds in every command of the live click tree (plugins included)."""

from __future__ import annotations

from typing import Iterator

import click
import numpy as np
from click.testing import CliRunner
from hardening_cli import one_error_line, run_cli
from PIL import Image

from imgperc.cli import options
from imgperc.cli.main import cli
from imgperc.lazy import LazyCommand

SHARED = {
    "--device": options.device_option(),
    "--precision": options.precision_option(),
    "--tile": options.tile_option(),
    "--size": options.size_option(),
    "--force": options.force_option(),
    "--quiet": options.quiet_option(),
}
# Commands whose --force means something else than overwriting outputs, with what it means.
OWN_FORCE = {
    "imgperc models pull": "download and convert again",
    "imgperc models ship": "replace a shipped model",
    "imgperc train": "start a run folder over",  # every trainer, through imgperc.train.common_options
    "imgperc distill": "start a run folder over",  # a trainer too
}


def _commands(command: click.Command, path: str = "imgperc") -> Iterator[tuple[str, click.Command]]:
    command = command.resolved if isinstance(command, LazyCommand) else command
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from _commands(command.get_command(ctx, name), f"{path} {name}")


def _uses() -> Iterator[tuple[str, click.Option]]:
    for line, command in _commands(cli):
        for param in command.params:
            if isinstance(param, click.Option):
                yield line, param


def _signature(param: click.Option) -> tuple:
    kind = param.type
    return (
        tuple(param.opts),
        param.help,
        param.metavar,
        tuple(getattr(kind, "choices", ()) or ()),
        getattr(kind, "min", None),
        getattr(kind, "max", None),
        param.is_flag,
    )


def test_every_shared_option_is_the_one_definition():
    wrong, seen = [], set()
    for line, param in _uses():
        name = param.opts[-1]
        if name not in SHARED or (name == "--force" and any(line.startswith(own) for own in OWN_FORCE)):
            continue
        seen.add(name)
        if _signature(param) != _signature(SHARED[name].option()):
            wrong.append(f"{line} {name}: {_signature(param)}")
    assert not wrong, "options that differ from imgperc.cli.options: " + "; ".join(wrong)
    assert seen == set(SHARED)


def test_every_output_option_is_o_and_a_path():
    outputs = [(line, p) for line, p in _uses() if "--output" in p.opts]
    assert {"imgperc stylize", "imgperc upscale", "imgperc gatys", "imgperc export", "imgperc eval sr"} <= {line for line, _ in outputs}
    for line, param in outputs:
        assert param.opts == ["-o", "--output"] and isinstance(param.type, click.Path), line


def test_size_has_one_bound_everywhere():
    bounds = {(line, p.type.min) for line, p in _uses() if p.opts[-1] in ("--size", "--style-size") and isinstance(p.type, click.IntRange)}
    assert {"imgperc stylize", "imgperc gatys", "imgperc eval style"} <= {line for line, _ in bounds}
    assert {low for _, low in bounds} == {options.SIZE_MIN}


def test_a_size_below_the_bound_is_a_one_line_error(tmp_path):
    picture = tmp_path / "p.png"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(picture)
    result = CliRunner().invoke(cli, ["stylize", "--style", "wave", "--size", "8", str(picture)])
    assert result.exit_code == 2 and "8 is not in the range x>=16" in result.output
    assert not (tmp_path / "p.wave.png").exists()


def test_gatys_takes_device(tmp_path, monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    picture = tmp_path / "p.png"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(picture)
    code, _, err = run_cli(capsys, "gatys", picture, "--style", picture, "--device", "cuda", "--size", "16")
    assert code == 1
    assert one_error_line(err) == "Error: device 'cuda' requested but no CUDA GPU is available (use --device cpu or auto)"
