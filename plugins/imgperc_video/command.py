"""`imgperc video`: any registered image task over video files.

The command's options are its own plus those of every task in the ``image_tasks`` registry
(an option several tasks share appears once; ``--model`` is the command's own). The task whose
selector option is given (``--style``, ``-x``, ...), or else the task that the ``--model``
records, is prepared from its option values and run through the frame pipeline (`.runner`).
Several clips are shared out between torchrun's processes, whole clips each
(`imgperc.scaleout`). Light to import: torch and the pipeline load when the command runs.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from imgperc import plugins
from imgperc.cli.options import device_option, force_option, output_option, quiet_option, size_option
from imgperc.cli.progress import CountProgress, count_progress
from imgperc.errors import InputError
from imgperc.limits import FiniteFloatRange
from imgperc.tasks import ImageTask

if TYPE_CHECKING:
    from rich.progress import TaskID

    from .process import VideoResult

_TIME = re.compile(r"^(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?|\.\d+)$")
LONG_S = 120.0  # a clip that will clearly take longer gets one line: how long, and what is faster
FAST_SIZE = 640  # the --size suggested then, for larger frames
DEFAULT_CONSISTENCY = 0.9  # measured in docs/video.md, "The option: --consistency S"
MODEL_HELP = (
    "A model by name or file. Alone it does its own task, read from the model (a style file "
    "stylizes, an upscaler upscales); with a task's option (--style, -x, ...) it is that task's model."
)


def parse_time(text: str | None, option: str) -> float | None:
    """Seconds from ``90``, ``1.5``, ``1:30`` or ``0:01:30.5``; None stays None."""
    if text is None:
        return None
    match = _TIME.match(text.strip())
    if match is None:
        raise InputError(f"{option}: '{text}' is not a time (use seconds like 12.5, or [H:]MM:SS[.ms])")
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


def _own_params() -> list[click.Parameter]:
    from .io import DEFAULT_PRESET, X264_PRESETS

    return [
        click.Argument(["inputs"], nargs=-1, required=True, type=click.Path(path_type=Path)),
        click.Option(["--model"], metavar="NAME|FILE", help=MODEL_HELP),
        output_option("Output video, or folder (needed for several inputs; default: INPUT.TAG.mp4 beside each input).").option(),
        size_option().option(),
        click.Option(["--crf"], type=click.IntRange(0, 51), default=18, show_default=True, help="H.264 quality (lower: better, bigger)."),
        click.Option(
            ["--preset"],
            type=click.Choice(X264_PRESETS),
            default=DEFAULT_PRESET,
            show_default=True,
            help="x264 speed: slower presets give smaller files at the same --crf, and take CPU from the network.",
        ),
        click.Option(["--start"], metavar="T", help="Start at T (seconds, or [H:]MM:SS[.ms])."),
        click.Option(["--duration"], metavar="T", help="Process only T of video."),
        click.Option(["--batch"], type=click.IntRange(min=1), metavar="N", help="Frames per network batch (default: by frame size)."),
        click.Option(
            ["--consistency"],
            type=FiniteFloatRange(0.0, 1.0),
            metavar="S",
            help="Temporal consistency: blend the previous output, warped along the optical flow, where the flow "
            "is reliable, at strength S (0: each frame on its own). Resets at scene cuts. Default: the strength the "
            f"style was measured best at (its metadata's video_consistency), else {DEFAULT_CONSISTENCY:g}.",
        ),
        click.Option(["--deflicker"], type=FiniteFloatRange(0.0, 1.0), metavar="S", hidden=True),  # deprecated: --consistency
        click.Option(["--stats"], is_flag=True, help="Print throughput, where the time went and the warping error (output vs source)."),
        device_option().option(),
        force_option().option(),
        quiet_option().option(),
    ]


def _flag(task: ImageTask) -> str:
    """How the user selects ``task`` (``--style``, ``-x``)."""
    for option in task.options:
        if option.name == task.selector:
            return "/".join(option.opts)
    return f"--{task.selector}"


def _takes_model(task: ImageTask) -> bool:
    return any(option.name == "model" for option in task.options)


class VideoCommand(click.Command):
    """A command whose options follow the image-task registry at the time it is used."""

    def __init__(self) -> None:
        super().__init__(
            "video",
            callback=self._run,
            params=_own_params(),
            help="Apply an image task (a style, an upscaler, ...) to every frame of each INPUT video.\n\n"
            "Keeps the frame rate, the audio (copied when the container allows), rotation and aspect "
            "ratio. Decoding, the network and encoding run concurrently. "
            "`torchrun --nproc-per-node N -m imgperc video ...` shares several clips between N processes.",
            short_help="Apply a style (or any image task) to a video.",
        )
        self._own = list(self.params)
        self._tasks: list[ImageTask] = []
        self._synced: tuple[int, tuple[str, ...]] | None = None

    def _sync(self) -> None:
        registry = plugins.registry("image_tasks")
        key = (id(registry), tuple(registry))
        if key == self._synced:
            return
        params, tasks = list(self._own), []
        names = {p.name: p for p in params}
        flags = {opt: p.name for p in params for opt in getattr(p, "opts", []) + getattr(p, "secondary_opts", [])}
        for task in registry.items.values():  # a task that cannot be made is left out, with a warning
            clash = [
                opt
                for option in task.options
                for opt in option.opts + option.secondary_opts
                if opt in flags and flags[opt] != option.name
            ]
            if clash:
                click.echo(f"Warning: image task '{task.name}' skipped in `imgperc video`: option {clash[0]} is taken", err=True)
                continue
            tasks.append(task)
            for option in task.options:
                if option.name not in names:
                    names[option.name] = option
                    params.append(option)
                    flags.update({opt: option.name for opt in option.opts + option.secondary_opts})
        self.params, self._tasks, self._synced = params, tasks, key

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        self._sync()
        return super().get_params(ctx)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._sync()
        rows = [(_flag(task), task.help) for task in self._tasks]
        with formatter.section("Tasks (give exactly one, or just a model)"):
            formatter.write_dl(rows or [("(none)", "no installed plugin provides an image task")])
        super().format_epilog(ctx, formatter)

    def select(self, values: dict[str, Any]) -> ImageTask:
        """The one task whose selector was given, else the one ``--model`` records; an
        InputError for none or several."""
        self._sync()
        chosen = [task for task in self._tasks if task.selected_by(values)]
        if len(chosen) == 1:
            if values.get("model") and not _takes_model(chosen[0]):
                raise InputError(f"{_flag(chosen[0])} takes no --model")
            return chosen[0]
        if not self._tasks:
            raise InputError("no installed plugin provides an image task (see `imgperc plugins`)")
        if not chosen and values.get("model"):
            return self._model_task(values["model"])
        if not chosen:
            offered = ", ".join(f"{_flag(task)} ({task.name})" for task in self._tasks)
            raise InputError(f"say what to do with the video: {offered}, or --model NAME|FILE")
        raise InputError(f"give only one task, not {' and '.join(_flag(task) for task in chosen)}")

    def _model_task(self, model: str) -> ImageTask:
        """The task whose model ``--model`` names (a hub or user model, or a file's metadata)."""
        from imgperc.hub import resolve_model

        found = resolve_model(model, None).task
        for task in self._tasks:
            if task.name == found and _takes_model(task):
                return task
        raise InputError(f"{model} is a '{found}' model, and no installed image task runs those (see `imgperc plugins`)")

    def _run(self, **values: Any) -> None:
        from imgperc.scaleout import Listing, main_first, processes, share

        from .io import check_range, expected_frames, probe
        from .process import check_target, fit_longest, process_video

        task = self.select(values)
        asked = _consistency(values)
        start = parse_time(values["start"], "--start") or 0.0
        duration = parse_time(values["duration"], "--duration")
        task_values = {option.name: values.get(option.name) for option in task.options}
        sources: tuple[Path, ...] = values["inputs"]
        clips = []
        for source, target in zip(sources, _targets(sources, values["output"], task.tag(task_values))):
            info = probe(source)
            check_range(info, start, duration)
            check_target(source, target, force=values["force"])
            clips.append((source, target, info))
        quiet = values["quiet"]
        with processes(values["device"]) as runtime:
            with main_first(runtime):
                transform = task.transform(task_values, values["device"])
            consistency = resolve_consistency(asked, transform)
            listing = Listing(runtime, quiet=quiet)
            with count_progress("frames", "fps", enabled=runtime.main and not quiet) as progress:
                for index, (source, target, info) in share(clips, runtime):
                    frames = expected_frames(info, start, duration)
                    bar = progress.add_task(f"{task.name} {source.name}", total=frames)
                    faster = _faster(task, task_values, fit_longest(info.width, info.height, values["size"]))
                    result = process_video(
                        source,
                        target,
                        transform,
                        size=values["size"],
                        crf=values["crf"],
                        preset=values["preset"],
                        start=start,
                        duration=duration,
                        batch_size=values["batch"],
                        consistency=consistency,
                        measure=values["stats"],
                        force=values["force"],
                        on_frames=_Pace(progress, bar, frames, source.name, faster),
                        info=info,
                    )
                    progress.update(bar, total=result.stats.frames, completed=result.stats.frames)
                    listing.add(index, _report(result, values["stats"], consistency))
            listing.close("videos")


class _Pace:
    """A clip's ``on_frames``: advances its bar, and after the first batch says in one line how
    long the clip will take if that is clearly long (over `LONG_S`), with what would be faster."""

    def __init__(self, progress: CountProgress, bar: TaskID, frames: int | None, name: str, faster: str) -> None:
        self.progress, self.bar, self.frames, self.name, self.faster = progress, bar, frames, name, faster
        self.started, self.first = time.perf_counter(), True

    def __call__(self, frames: int) -> None:
        self.progress.advance(self.bar, frames)
        first, self.first = self.first, False
        if not first or not self.frames:
            return
        rate = frames / max(time.perf_counter() - self.started, 1e-9)
        left = (self.frames - frames) / rate
        if left > LONG_S:
            hint = f"; faster: {self.faster}" if self.faster else ""
            self.progress.notice(f"{self.name}: about {_minutes(left)} to go at {rate:.2f} frames/s{hint}")


def _minutes(seconds: float) -> str:
    """``40 s``, ``19 min`` or ``2.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _faster(task: ImageTask, values: dict[str, Any], size: tuple[int, int]) -> str:
    """What would run faster than ``values``: the built-in model alike the chosen one
    (`imgperc.hub.store.builtin_alike`: ``wave`` -> ``wave-fast``) if there is one, and a
    smaller ``--size``; '' if neither."""
    from imgperc.errors import ModelNotAvailable
    from imgperc.hub import find_spec
    from imgperc.hub.store import builtin_alike

    choices = []
    for option in task.options:
        name = values.get(option.name)
        if option.name not in (task.selector, "model") or not isinstance(name, str):
            continue
        try:
            fast = builtin_alike(find_spec(name))
        except ModelNotAvailable:
            continue
        if fast is not None:
            choices.append(f"{option.opts[-1]} {fast} (built in)")
            break
    if max(size) > FAST_SIZE:
        choices.append(f"--size {FAST_SIZE}")
    return " or ".join(choices)


def _targets(sources: tuple[Path, ...], output: Path | None, tag: str) -> list[Path]:
    """Each clip's output: ``-o`` itself for one clip (unless it is a folder: an existing one or
    a name without extension), else NAME.TAG.mp4 beside it or in the ``-o`` folder; output
    folders are created; two clips with one output are refused."""
    from .io import CONTAINERS

    if output is not None and len(sources) == 1 and not output.is_dir() and (output.suffix or output.exists()):
        targets = [output]
    else:
        if output is not None and (output.is_file() or (not output.exists() and output.suffix.lower() in CONTAINERS)):
            raise InputError(f"{output}: several videos need an output folder")
        targets = [(output or source.parent) / f"{source.stem}.{tag}.mp4" for source in sources]
    if output is not None:
        for folder in {target.parent for target in targets}:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"cannot create output folder {folder}: {exc.strerror or exc}") from None
    claimed: dict[Path, Path] = {}
    for source, target in zip(sources, targets):
        if target.resolve() in claimed:
            raise InputError(f"{claimed[target.resolve()]} and {source} would both be written to {target}")
        claimed[target.resolve()] = source
    return targets


def resolve_consistency(asked: float | None, transform: object) -> float:
    """The blend strength a run uses: the one asked for, else the model's own measured default
    (``transform.consistency``, from its metadata), else :data:`DEFAULT_CONSISTENCY`."""
    if asked is not None:
        return asked
    own = getattr(transform, "consistency", None)
    return DEFAULT_CONSISTENCY if own is None else own


def _consistency(values: dict[str, Any]) -> float | None:
    """``--consistency``, or the value of the deprecated ``--deflicker`` (with a one-line note);
    None when neither is given (the model's or the command's default applies)."""
    old = values.get("deflicker")
    if old is None:
        return values["consistency"]
    if values["consistency"] is not None:
        raise InputError("--deflicker is the old name of --consistency: give only --consistency")
    click.echo(f"Note: --deflicker is deprecated; it now means --consistency {old:g} (flow-guided, see docs/video.md)", err=True)
    return old


def _report(result: VideoResult, stats: bool, consistency: float) -> str:
    """What one clip's run gave: its output, and with ``stats`` its speed, where the time went and
    the warping errors."""
    fps = float(result.info.fps)
    audio = "no audio" if result.audio == "none" else f"audio {result.audio}"
    lines = [f"{result.path}: {result.stats.frames} frames, {result.width}x{result.height}, {fps:g} fps, {audio}"]
    if stats:
        s = result.stats
        lines.append(
            f"time: {s.seconds:.1f} s, {s.fps:.2f} fps end-to-end; network alone {s.net_fps:.2f} fps "
            f"(busy {100 * s.net_busy:.0f}% of the time)"
        )
        per_frame = 1000 / max(s.frames, 1)
        cuts = f", {s.cuts} scene cut{'s' * (s.cuts != 1)}" if consistency else ""
        lines.append(
            f"per frame: network {s.net_seconds * per_frame:.1f} ms (main thread), flow {s.flow_seconds * per_frame:.1f} ms "
            f"(decoder thread), blending and measuring {s.blend_seconds * per_frame:.1f} ms (encoder thread){cuts}"
        )
        setting = f"--consistency {consistency:g}"
        if s.warp_ratio is None:
            lines.append(f"warping error: n/a (needs two frames and a source that moves or changes; {setting})")
        else:
            lines.append(
                f"warping error: {s.warp_ratio:.2f}x the source's = output {s.output_error:.3g} / source {s.source_error:.3g} "
                f"({setting}; lower is steadier, 1 is as steady as the source)"
            )
    return "\n".join(lines)


def video_command() -> VideoCommand:
    """A fresh `imgperc video` command."""
    return VideoCommand()
