"""Hook implementations of the super-resolution plugin (entry point ``sr``)."""

from __future__ import annotations

from imgperc import hookimpl

from .nets import sr_johnson

ARCHITECTURE = "sr-johnson"


@hookimpl
def register_transform_nets(register) -> None:
    register(ARCHITECTURE, sr_johnson)


@hookimpl
def register_trainers(register) -> None:
    from .train import train_sr_command

    register("sr", train_sr_command)
