"""`imgperc export MODEL -o FILE.onnx`: any image model (style, super-resolution, ...) as ONNX.

Light to import: torch, the hub and the exporter load when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from .options import force_option, output_option


def resolve_image_model(ref: str):
    """The model ``ref`` names (hub id, user model or file) whatever its image task."""
    from .. import plugins
    from ..errors import ImgpercError, InputError
    from ..hub import model_names, resolve_model

    tasks = sorted(plugins.registry("image_tasks"))
    errors = []
    for task in tasks:
        try:
            return resolve_model(ref, task)
        except ImgpercError as exc:
            errors.append(str(exc))
    if len(set(errors)) == 1:  # the same whatever the task: a missing or damaged file
        raise InputError(errors[0])
    known = ", ".join(name for task in tasks for name in model_names(task))
    raise InputError(f"'{ref}' is not a model of an image task ({', '.join(tasks)}); known: {known}; or give a model file")


@click.command("export")
@click.argument("model", metavar="MODEL")
@output_option("The ONNX file to write.", dir_okay=False, required=True)
@click.option("--opset", type=click.IntRange(min=13), default=17, show_default=True, help="ONNX operator set version.")
@force_option()
def export_command(model: str, output: Path, opset: int, force: bool) -> None:
    """Export MODEL (a style or super-resolution model: hub id, your model, or a file) to ONNX.

    The graph takes [N,3,H,W] RGB in [0,1] with dynamic N, H and W (multiples of the net's
    size multiple, in the file's metadata) and gives the net's output clamped to [0,1]. It is
    checked in ONNX Runtime against PyTorch before it is written. Needs `pip install 'imgperc[onnx]'`.
    """
    from ..atomic import check_writable
    from ..onnx_export import export_onnx, require_onnx

    require_onnx()
    check_writable(output, overwrite=force)
    loaded = resolve_image_model(model).load()
    quality = export_onnx(loaded.net, output, loaded.meta, opset=opset, overwrite=force)
    multiple = getattr(loaded.net, "size_multiple", 1)
    click.echo(f"{output} ({loaded.meta.get('architecture')}, task {loaded.meta.get('task')}; H and W multiples of {multiple}; "
               f"ONNX Runtime matches PyTorch at {quality:.0f} dB)")
