"""`imgperc train sr`: the command and its options; the job they make is `.train.SRJob`.

Light to import: torch and the trainer load when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from imgperc.limits import FINITE_FLOAT
from imgperc.train import common_options, split_settings

from .choices import LOSSES, SCALES, SKIPS, TRAIN_DEGRADATIONS
from .plugin import NETS


@click.command("sr")
@click.option("--scale", type=click.Choice([str(s) for s in SCALES]), required=True, help="Upscaling factor.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder of high-resolution images (searched recursively).")
@click.option("--loss", type=click.Choice(list(LOSSES)), default="feat", show_default=True,
              help="feat: the paper's VGG relu2_2 feature loss; perceptual: feature loss + L1 pixel term + TV "
                   "(clean, sharp); pixel: the paper's per-pixel (L2) baseline; l1: mean absolute error (best PSNR).")
@click.option("--arch", type=click.Choice(list(NETS)), default="sr-johnson", show_default=True,
              help="sr-johnson: the paper's net (most work after upsampling); sr-shuffle: all convs at the input "
                   "resolution, pixel-shuffle upsampling (about 12x cheaper).")
@click.option("--degradation", type=click.Choice(TRAIN_DEGRADATIONS), default="blur", show_default=True,
              help="How low-resolution inputs are made: blur (the paper: Gaussian sigma 1, then bicubic), bicubic "
                   "(the benchmark protocol of imgperc eval sr: Pillow bicubic, 8-bit) or real (a random second-order "
                   "chain of blur, resize, noise and JPEG, as Real-ESRGAN: for phone photos and old JPEGs).")
@click.option("--mild-share", type=FINITE_FLOAT, default=None, metavar="P",
              help="With --degradation real: the share of samples that take the first-order \"camera and one save\" "
                   "chain (optional blur, bicubic shrink, noise, JPEG) instead of the second-order one (default 0.5).")
@click.option("--augment/--no-augment", "augment_data", default=False, show_default=True,
              help="Random flips, 90-degree rotations and rescaling of the training patches.")
@click.option("--patch-size", type=int, default=288, show_default=True, help="High-resolution training patches are this size squared.")
@click.option("--preset", default=None, help="Loss recipe preset replacing the one --loss picks.")
@click.option("--loss-network", default=None, help="Loss network for --loss feat (vgg16, vgg19, ...).")
@click.option("--content-weight", type=FINITE_FLOAT, default=None, help="Override the feature-loss weight.")
@click.option("--tv-weight", type=FINITE_FLOAT, default=None, help="Override the total-variation weight.")
@click.option("--pixel-weight", type=FINITE_FLOAT, default=None, help="Override the per-pixel weight.")
@click.option("--channels", type=int, default=None, help="Filters per layer (default: sr-johnson 64, as the paper; sr-shuffle 32).")
@click.option("--residual-blocks", type=int, default=None, help="Residual blocks (default: sr-johnson 4, as the paper; sr-shuffle 6).")
@click.option("--skip", type=click.Choice(SKIPS), default="bicubic", show_default=True,
              help="bicubic: the net adds detail to a bicubic enlargement; none: the paper's tanh output.")
@common_options(iterations=200000, batch_size=4)
def train_sr_command(**values: Any) -> None:
    """Train a super-resolution net (Johnson et al., 2016) on a folder of images.

    Low-resolution inputs: see --degradation. The result, RUN/model.safetensors, is an imgperc model file of task 'sr'.
    """
    from imgperc.train import train

    from .train import SRJob

    values["scale"] = int(values["scale"])
    default_out = f"sr-{values['name'] or 'x%d-%s' % (values['scale'], values['loss'])}"
    settings, options = split_settings(values, default_out)
    job = SRJob(options.pop("scale"), options.pop("data"), **options)
    train(job, settings)
