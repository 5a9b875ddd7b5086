"""Hook implementations of the style plugin (entry point ``style``)."""

from __future__ import annotations

from imgperc import hookimpl

from . import ml5, nets


@hookimpl
def register_transform_nets(register) -> None:
    register("johnson", nets.johnson)
    register(ml5.ARCHITECTURE, ml5.ml5)


@hookimpl
def register_models(register) -> None:
    for spec in ml5.model_specs():
        register(spec)
