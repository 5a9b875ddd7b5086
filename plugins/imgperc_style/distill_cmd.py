"""`imgperc distill`: the command, its options and the loss weights they set (`DistillLoss`);
the training itself is `.distill`.

Light to import: torch, the teacher and the trainer load when the command runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from imgperc.errors import InputError
from imgperc.limits import FiniteFloatRange
from imgperc.losses import network_def
from imgperc.losses.recipe import PIXEL_NORMS, VGG19_STYLE_LAYERS
from imgperc.train import common_options, split_settings

from .net_choice import arch_options, pop_config
from .stylize import TASK

DEFAULT_ARCH = "light"
WEIGHT = FiniteFloatRange(min=0.0)


@dataclass(frozen=True)
class DistillLoss:
    """Weights of the distillation terms, each a distance of the student's output to a target.

    ``pixel``: to the teacher's output (``pixel_norm`` l1 or l2 on [0,1] RGB); ``feature``: to
    the teacher's output's loss-network features at each of ``feature_layers``; ``style``: to
    its Gram matrices at ``style_layers`` (each layer's term divided by its channels squared, as
    in the vgg19-relu3 preset); ``content``: to the photo's features at ``content_layer``;
    ``painting``: to the style image's Gram matrices at ``style_layers`` (divided likewise).
    """

    network: str = "vgg19"
    pixel: float = 1.0
    pixel_norm: str = "l1"
    feature: float = 1e-5
    feature_layers: tuple[str, ...] = ("relu2_2",)
    style: float = 0.0
    style_layers: tuple[str, ...] = VGG19_STYLE_LAYERS
    content: float = 0.0
    content_layer: str = "relu2_2"
    painting: float = 0.0

    @property
    def taps(self) -> tuple[str, ...]:
        """The loss-network taps the non-zero terms read."""
        taps = [*(self.feature_layers if self.feature else ()), *(self.style_layers if self.style or self.painting else ())]
        return tuple(dict.fromkeys([*taps, *((self.content_layer,) if self.content else ())]))

    def validate(self) -> "DistillLoss":
        """One-line errors for a norm, layers or weights that cannot make a loss."""
        if self.pixel_norm not in PIXEL_NORMS:
            raise InputError(f"--pixel-norm must be one of {', '.join(PIXEL_NORMS)}, got {self.pixel_norm!r}")
        checks = ((self.feature, "feature", self.feature_layers, "feature"), (self.style, "style", self.style_layers, "style"),
                  (self.painting, "painting", self.style_layers, "style"))
        for weight, option, layers, layer_option in checks:
            if weight and not layers:
                raise InputError(f"--{option}-weight {weight} needs at least one layer in --{layer_option}-layers")
        if not (self.pixel or self.taps):
            raise InputError("every distillation weight is 0: give --pixel-weight, --feature-weight, --style-weight, "
                             "--content-weight or --painting-weight")
        if self.taps:
            network_def(self.network).order(self.taps)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (layers as lists, as they come back from a run's run.json; ``painting``
        only when used, so that runs started before the term existed still resume)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if k != "painting" or v}


def parse_layers(value: str) -> tuple[str, ...]:
    """``"relu1_2, relu2_2"`` -> ``("relu1_2", "relu2_2")``."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


@click.command("distill")
@click.option("--teacher", required=True, metavar="NAME|PATH", help="The style to reproduce: a pretrained style, one you trained, or a style model file.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder of photos (searched recursively).")
@arch_options(DEFAULT_ARCH, "Student")
@click.option("--image-size", type=int, default=256, show_default=True, help="Photos are resized to this shorter side and stylized once by the teacher.")
@click.option("--crop-size", type=int, default=None, help="Side of the square training crops cut from them [default: --image-size]; smaller crops make loss-network terms cheaper.")
@click.option("--loss-network", default=DistillLoss.network, show_default=True, help="Loss network of the feature, style and content terms.")
@click.option("--pixel-weight", type=WEIGHT, default=DistillLoss.pixel, show_default=True, help="Per-pixel distance to the teacher's output.")
@click.option("--pixel-norm", type=click.Choice(PIXEL_NORMS), default=DistillLoss.pixel_norm, show_default=True)
@click.option("--feature-weight", type=WEIGHT, default=DistillLoss.feature, show_default=True, help="Feature distance to the teacher's output.")
@click.option("--feature-layers", default=",".join(DistillLoss.feature_layers), show_default=True, help="Comma-separated taps of the feature term.")
@click.option("--style-weight", type=WEIGHT, default=DistillLoss.style, show_default=True, help="Gram distance to the teacher's output.")
@click.option("--style-layers", default=",".join(DistillLoss.style_layers), show_default=True, help="Comma-separated taps of the style term.")
@click.option("--content-weight", type=WEIGHT, default=DistillLoss.content, show_default=True, help="Feature distance to the photo itself.")
@click.option("--content-layer", default=DistillLoss.content_layer, show_default=True, help="Tap of the content term.")
@click.option("--painting-weight", type=WEIGHT, default=DistillLoss.painting, show_default=True, help="Gram distance to --style-image (at --style-layers).")
@click.option("--style-image", type=click.Path(path_type=Path), default=None, help="The painting the painting term compares with (as `imgperc eval style --style-image`).")
@click.option("--style-size", type=click.IntRange(min=16), default=512, show_default=True, help="Longest side of --style-image, in pixels (as `imgperc eval style`).")
@common_options(iterations=20000, batch_size=4)
def distill_command(**values: Any) -> None:
    """Train a fast student net to reproduce a style model (knowledge distillation).

    The default student, `light`, costs a tenth of the pretrained styles' FLOPs. The result,
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
    )
    job = DistillJob(teacher, options.pop("data"), config=config, loss=loss, **options)
    train(job, settings)
