"""`imgperc train decoder`: the command and its options; the job they make is
`.train_decoder.DecoderJob`. Light to import: torch loads when the command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from imgperc.limits import FINITE_FLOAT
from imgperc.train import common_options, split_settings


@click.command("decoder")
@click.option("--level", type=click.IntRange(1, 3), required=True,
              help="Which VGG-19 features the decoder inverts: 1 = relu1_1, 2 = relu2_1, 3 = relu3_1.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder of natural photos (searched recursively); no paintings are needed.")
@click.option("--width", type=click.IntRange(8, 128), default=64, show_default=True,
              help="Channels of the decoder's full-resolution convs (VGG's own is 64); fewer is faster.")
@click.option("--image-size", type=click.IntRange(32, 1024), default=256, show_default=True, help="Training crops are this size squared.")
@click.option("--feature-weight", type=FINITE_FLOAT, default=None,
              help="Weight of the feature reconstruction term against the per-pixel term (weight 1); "
                   "default per level: 1e-5, 2.5e-7, 1e-7 (about equal terms for a slightly blurred photo).")
@click.option("--input-divisor", type=click.IntRange(1, 4096), default=None,
              help="Divide the features by this before decoding (default per level: 64, 256, 256, about their RMS).")
@click.option("--fit-photos", type=click.IntRange(0, 4096), default=None,
              help="At the end, refit the last conv by least squares on this many photos (0: no fit; default "
                   "64 at level 1, whose decoder is that one linear conv, 0 at levels 2 and 3).")
@common_options(iterations=8000, batch_size=8)
def train_decoder_command(**values: Any) -> None:
    """Train a decoder for any-style transfer (--style-image) on a folder of photos.

    The result, RUN/model.safetensors, is an imgperc model file of task 'style-decoder'.
    """
    from imgperc.train import train

    from .train_decoder import DecoderJob

    default_out = f"decoder-{values['name'] or 'relu%d_1-w%d' % (values['level'], values['width'])}"
    settings, options = split_settings(values, default_out)
    train(DecoderJob(options.pop("level"), options.pop("data"), **options), settings)
