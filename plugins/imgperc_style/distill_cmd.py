"""`imgperc distill`: the command and its options; the loss weights they set are
`.distill_loss.DistillLoss`, the training itself is `.distill`.

Light to import: torch, the teacher and the trainer load when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from imgperc.cli.options import SIZE_MIN
from imgperc.limits import FiniteFloatRange
from imgperc.losses.recipe import PIXEL_NORMS
from imgperc.train import common_options, split_settings

from .distill_loss import DistillLoss
from .net_choice import arch_options, pop_config
from .stylize import TASK

DEFAULT_ARCH = "light"
WEIGHT = FiniteFloatRange(min=0.0)


def parse_layers(value: str) -> tuple[str, ...]:
    """``"relu1_2, relu2_2"`` -> ``("relu1_2", "relu2_2")``."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


@click.command("distill")
@click.option("--teacher", required=True, metavar="NAME|PATH", help="The style to reproduce: a pretrained style, one you trained, or a style model file.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder of photos (searched recursively).")
@arch_options(DEFAULT_ARCH, "Student")
@click.option("--image-size", type=int, multiple=True, default=(256,), show_default=True,
              help="Photos are resized to this shorter side and stylized once by the teacher; repeat to train at several "
                   "(e.g. 512 and 768: the stroke scale users see at those sizes).")
@click.option("--crop-size", type=int, default=None, help="Side of the square training crops cut from them [default: the smallest --image-size]; smaller crops make loss-network terms cheaper.")
@click.option("--loss-network", default=DistillLoss.network, show_default=True, help="Loss network of the feature, likeness, style and content terms.")
@click.option("--pixel-weight", type=WEIGHT, default=DistillLoss.pixel, show_default=True, help="Per-pixel distance to the teacher's output.")
@click.option("--pixel-norm", type=click.Choice(PIXEL_NORMS), default=DistillLoss.pixel_norm, show_default=True, help="Distance of the per-pixel term (l1 or l2, on RGB in [0,1]).")
@click.option("--feature-weight", type=WEIGHT, default=DistillLoss.feature, show_default=True, help="Feature distance to the teacher's output.")
@click.option("--feature-layers", default=",".join(DistillLoss.feature_layers), show_default=True, help="Comma-separated taps of the feature term.")
@click.option("--likeness-weight", type=WEIGHT, default=DistillLoss.likeness, show_default=True,
              help="Likeness distance to the teacher's output (unit-normalised features, as `imgperc eval style` reports).")
@click.option("--likeness-layers", default=",".join(DistillLoss.likeness_layers), show_default=True, help="Comma-separated taps of the likeness term.")
@click.option("--style-weight", type=WEIGHT, default=DistillLoss.style, show_default=True, help="Gram distance to the teacher's output.")
@click.option("--style-layers", default=",".join(DistillLoss.style_layers), show_default=True, help="Comma-separated taps of the style term.")
@click.option("--content-weight", type=WEIGHT, default=DistillLoss.content, show_default=True, help="Feature distance to the photo itself.")
@click.option("--content-layer", default=DistillLoss.content_layer, show_default=True, help="Tap of the content term.")
@click.option("--painting-weight", type=WEIGHT, default=DistillLoss.painting, show_default=True, help="Gram distance to --style-image (at --style-layers).")
@click.option("--style-image", type=click.Path(path_type=Path), default=None, help="The painting the painting term compares with (as `imgperc eval style --style-image`).")
@click.option("--stability-weight", type=WEIGHT, default=DistillLoss.stability, show_default=True,
              help="Distance of the student's output on its input shifted 1-4 pixels, with a little noise, to its output "
                   "shifted alike: steadier video (Gupta et al. 2017), for one more student pass per batch.")
@click.option("--style-size", type=click.IntRange(min=SIZE_MIN), default=512, show_default=True, help="Longest side of --style-image, in pixels (as `imgperc eval style`).")
@common_options(iterations=20000, batch_size=4)
def distill_command(**values: Any) -> None:
    """Train a fast student net to reproduce a style model (knowledge distillation).

    The default student, `light`, has 10x fewer FLOPs than the pretrained styles. The result,
    RUN/model.safetensors, works with `imgperc stylize --model`; with --name, `imgperc stylize
    --style NAME` finds it. Runs resume from their folder; Ctrl-C saves a checkpoint and stops.
    Multi-process: torchrun --nproc-per-node N -m imgperc distill ...
    """
    from imgperc.hub import resolve_model
    from imgperc.train import train

    from .distill import DistillJob

    teacher = resolve_model(values.pop("teacher"), TASK, label="style")
    settings, options = split_settings(values, f"distill-{values['name'] or teacher.name}")
    config = pop_config(options)
    named = click.get_current_context().get_parameter_source("loss_network") is not ParameterSource.DEFAULT
    loss = DistillLoss(
        network=options.pop("loss_network"),
        pixel=options.pop("pixel_weight"),
        pixel_norm=options.pop("pixel_norm"),
        feature=options.pop("feature_weight"),
        feature_layers=parse_layers(options.pop("feature_layers")),
        style=options.pop("style_weight"),
        style_layers=parse_layers(options.pop("style_layers")),
        content=options.pop("content_weight"),
        content_layer=options.pop("content_layer"),
        painting=options.pop("painting_weight"),
        likeness=options.pop("likeness_weight"),
        likeness_layers=parse_layers(options.pop("likeness_layers")),
        stability=options.pop("stability_weight"),
    )
    job = DistillJob(teacher, options.pop("data"), config=config, loss=loss, network_fallback=not named, **options)
    train(job, settings)
