"""`imgperc train style`: the command and its options; the job they make is `.train.StyleJob`.

Light to import: torch and the trainer load when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from imgperc.limits import FINITE_FLOAT
from imgperc.train import common_options, split_settings

from .net_choice import arch_options, pop_config


@click.command("style")
@click.option("--style-image", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The style to learn.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder of content images (searched recursively).")
@click.option("--image-size", type=int, default=256, show_default=True, help="Training crops are this size squared.")
@click.option("--style-size", type=int, default=None, help="Longer side of the style image for its Gram targets [default: --image-size].")
@click.option("--preset", default=None, help="Loss recipe preset [default: paper, or the --loss-network's own].")
@click.option("--loss-network", default=None, help="Loss network (vgg16, vgg19, ...).")
@click.option("--content-weight", type=FINITE_FLOAT, default=None, help="Override the preset's content weight.")
@click.option("--style-weight", type=FINITE_FLOAT, default=None, help="Override the preset's style weight.")
@click.option("--tv-weight", type=FINITE_FLOAT, default=None, help="Override the preset's total-variation weight.")
@click.option("--style-layers", default=None, help="Comma-separated style taps replacing the preset's (e.g. relu1_2,relu2_2,relu3_1).")
@arch_options("johnson", "Style")
@click.option("--channels", type=int, default=None, help="johnson's first-layer width (the paper: 32), i.e. --config channels=N.")
@click.option("--residual-blocks", type=int, default=None, help="johnson's residual blocks (the paper: 5), i.e. --config residual_blocks=N.")
@common_options(iterations=40000, batch_size=4)
def train_style_command(**values: Any) -> None:
    """Train a fast style-transfer net on a folder of content images (Johnson et al., 2016).

    The paper's recipe by default: 256x256 crops, batch 4, 40,000 iterations, Adam 1e-3,
    VGG-16 content relu2_2 and style relu1_2/2_2/3_3/4_3, the johnson net. `--arch light` trains
    the fast CPU net instead (a tenth of the FLOPs). The result, RUN/model.safetensors,
    works with `imgperc stylize --model`; with --name, `imgperc stylize --style NAME` finds it.
    """
    from imgperc.train import train

    from .train import StyleJob, parse_layers

    style_image: Path = values["style_image"]
    default_out = f"style-{values['name'] or style_image.stem}"
    settings, options = split_settings(values, default_out)
    options["style_layers"] = parse_layers(options["style_layers"])
    options["config"] = pop_config(options, channels="channels", residual_blocks="residual_blocks")
    job = StyleJob(options.pop("style_image"), options.pop("data"), **options)
    train(job, settings)
