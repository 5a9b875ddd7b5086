"""`imgperc eval video`: the command, its table and its plot; the measure is `.evaluate`.

Light to import: numpy, OpenCV and the measure load when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from imgperc.atomic import atomic_path, check_writable
from imgperc.cli.options import force_option, output_option
from imgperc.cli.progress import count_progress
from imgperc.report import ReportFiles, print_table

if TYPE_CHECKING:
    from .evaluate import VideoEvaluation

DEFAULT_GAP = 10


def _table(result: VideoEvaluation) -> Table:
    short = result.short
    share = sum(short.reliable) / max(len(short.reliable), 1)
    table = Table(title=f"{Path(result.source).name}, {result.frames} frames at {result.width}x{result.height}: warping error "
                        f"(masked MSE, RGB in [0, 1], {100 * share:.0f}% of pixels reliable; lower is steadier)")
    table.add_column("clip", no_wrap=True)
    table.add_column("t vs t+1", justify="right", no_wrap=True)
    table.add_column("x source", justify="right", no_wrap=True)
    if result.long is not None:
        table.add_column(f"t vs t+{result.long.gap}", justify="right", no_wrap=True)
        table.add_column("x source", justify="right", no_wrap=True)
    for name in ["source", *result.outputs]:
        cells = []
        for _, series in result.series():
            mean, ratio = series.mean(name), series.ratio(name) if name != "source" else None
            cells += ["n/a" if mean is None else f"{mean:.4g}", "" if ratio is None else f"{ratio:.2f}"]
        table.add_row(name, *cells)
    return table


@click.command("video")
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("outputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--long-term", "gap", type=click.IntRange(min=0), default=DEFAULT_GAP, show_default=True, metavar="K",
              help="Also compare frame t with t+K (the consecutive flows chained); 0: only consecutive frames.")
@click.option("--start", metavar="T", help="The part of SOURCE the outputs show starts at T (seconds, or [H:]MM:SS[.ms]), as given to `imgperc video`.")
@click.option("--duration", metavar="T", help="... and lasts T, as given to `imgperc video`.")
@output_option("Folder for the CSV, JSON and plot (PNG).", file_okay=False, default=Path("."), show_default=True)
@force_option()
def eval_video_command(
    source: Path,
    outputs: tuple[Path, ...],
    gap: int,
    start: str | None,
    duration: str | None,
    output: Path,
    force: bool,
) -> None:
    """Temporal consistency of processed clips: the warping error against their source.

    OUTPUTS are processed versions of SOURCE (`imgperc video` results, say). Optical flow between consecutive SOURCE frames (OpenCV DIS), occluded pixels masked by a
    forward-backward check, each clip's frame t+1 warped onto frame t, mean squared difference
    in RGB (Lai et al., 2018). Prints each output's figure and its ratio to the source's own,
    and writes eval-video-SOURCE.csv, .json and .png (per-frame plot) to --output.
    """
    from .command import parse_time
    from .evaluate import evaluate_video
    from .io import probe
    from .plot import line_plot

    first = parse_time(start, "--start") or 0.0
    length = parse_time(duration, "--duration")
    report = ReportFiles(output, f"eval-video-{source.stem}", force)
    report.prepare()
    plot = report.result("png")
    check_writable(plot, overwrite=force)
    total = probe(source).frames if start is None and duration is None else None
    with count_progress("frames", "fps") as progress:
        bar = progress.add_task(f"eval video {source.name}", total=total)
        result = evaluate_video(source, list(outputs), gap=gap, start=first, duration=length,
                                on_frame=lambda done: progress.update(bar, completed=done))
    print_table(_table(result))
    report.write(result.to_csv(), result.to_json())
    image = line_plot(result.short.frames, result.short.errors, f"{Path(result.source).name}: warping error, frame t vs t+1 (log scale)")
    with atomic_path(plot, overwrite=force) as tmp:
        image.save(tmp, "PNG")
    click.echo(str(plot))
