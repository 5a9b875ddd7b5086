"""The transform net a style trainer builds: ``--arch`` and its config, checked before any work.

`imgperc train style` and `imgperc distill` share these options: ``--arch`` (any registered
transform net), ``--width``/``--depth`` (the ``light`` net's config) and ``--config KEY=N`` for
any net's config. `checked_config` fills in the net's defaults and builds it on the meta device
to prove it runs and keeps the image size, so a bad choice is a one-line error, not a crash
later. Light to import (torch loads with the check), so the commands' ``--help`` need no torch.
"""

from __future__ import annotations

from typing import Any, Callable

import click

from imgperc import plugins
from imgperc.errors import ConfigError, InputError
from imgperc.netconfig import full_config


def arch_options(default: str, role: str) -> Callable[[Callable], Callable]:
    """The ``--arch``, ``--width``, ``--depth`` and ``--config`` options (``role``: "Student", "Style")."""
    options = [
        click.option("--arch", default=default, show_default=True, help=f"{role} transform net (any registered one, e.g. johnson, ml5, light)."),
        click.option("--width", type=int, default=None, help=f"{role} net config 'width' (light: channels at 1/4 resolution) [default: the net's]."),
        click.option("--depth", type=int, default=None, help=f"{role} net config 'depth' (light: residual blocks) [default: the net's]."),
        click.option("--config", "config_pairs", multiple=True, metavar="KEY=N", help=f"Other {role.lower()} net config (repeat), e.g. --arch johnson --config channels=16."),
    ]

    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def parse_config(pairs: tuple[str, ...]) -> dict[str, int]:
    """``("channels=16", ...)`` -> ``{"channels": 16}`` (whole numbers, as net configs take)."""
    config = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        try:
            config[key.strip()] = int(value)
        except ValueError:
            sep = ""
        if not (sep and key.strip()):
            raise InputError(f"--config takes KEY=WHOLE_NUMBER, got {pair!r}")
    return config


def pop_config(options: dict[str, Any], **shorthands: str) -> dict[str, int]:
    """The config the options give (removed from ``options``): ``--config`` pairs, then
    ``--width``/``--depth`` and any ``shorthands`` (option name -> config key) that were given."""
    config = parse_config(options.pop("config_pairs"))
    for option, key in {"width": "width", "depth": "depth", **shorthands}.items():
        if (value := options.pop(option)) is not None:
            config[key] = value
    return config


def checked_config(arch: str, config: dict[str, Any], role: str) -> dict[str, Any]:
    """``arch``'s full config (its defaults filled in), checked to build a net that runs and
    keeps the image size; a one-line error naming ``role`` and the architecture otherwise."""
    import torch

    builder = plugins.registry("transform_nets").get(arch)
    try:
        full = full_config(builder, config)
    except ConfigError as exc:
        raise ConfigError(f"{role} {arch}: {exc}") from None
    try:
        with torch.device("meta"):
            net = builder(**full)
            side = 16 * getattr(net, "size_multiple", 1)
            shape = tuple(net(torch.empty(1, 3, side, side)).shape)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise InputError(f"{role} {arch} {full} cannot run: {exc}") from None
    if shape != (1, 3, side, side):
        raise InputError(f"{role} {arch} {full} turns a {side}x{side} RGB image into shape {list(shape)}, not a stylized image of the same size")
    return full
