"""Image-to-image tasks that plugins offer to the generic pipelines (batches of files, video).

A task (stylize, upscale, ...) says which CLI options select and configure it, and turns
those option values into a ``Transform``: a callable on batches of frames. `imgperc video`
builds its options from every registered task, so a new plugin's task works there at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

from .errors import InputError, PluginError

if TYPE_CHECKING:
    import click
    import torch

    from .io import Image


class Transform(Protocol):
    """A prepared task: ``[N,3,H,W]`` float RGB in [0,1] -> ``[N,3,H*scale,W*scale]`` in [0,1].

    A transform may also have a ``consistency`` attribute: the temporal-consistency strength its
    model was measured best at (its metadata's ``video_consistency``), which `imgperc video`
    uses when ``--consistency`` is not given; None or absent: the command's default.
    """

    scale: int

    def __call__(self, batch: torch.Tensor) -> torch.Tensor: ...


def check_output(batch: torch.Tensor, result: object, scale: int) -> None:
    """A PluginError unless ``result`` is what a `Transform` of ``scale`` gives for ``batch``."""
    import torch

    n, _, h, w = batch.shape
    expected = (n, 3, h * scale, w * scale)
    if not isinstance(result, torch.Tensor) or tuple(result.shape) != expected:
        got = tuple(result.shape) if isinstance(result, torch.Tensor) else type(result).__name__
        raise PluginError(f"the task returned {got} for a batch of {tuple(batch.shape)}; expected {expected}")


def colour_output(image: Image, pixels: torch.Tensor) -> Image:
    """The default ``ImageTask.finish``: the input's metadata and alpha (resized to the new
    pixels) with the task's pixels, written in colour."""
    import dataclasses

    return dataclasses.replace(image.with_pixels(pixels), grayscale=False)


@dataclass(frozen=True)
class BenchNet:
    """What `imgperc bench --task NAME` times: the transform net ``net`` built with ``config``,
    run with the reflection ``pad`` the task's own command uses (None: the one the net asks
    for, `imgperc.inference.net_pad`, as `imgperc.inference.run_net` gives it by default)."""

    net: str
    config: Mapping[str, Any] = field(default_factory=dict)
    pad: int | None = 0


@dataclass(frozen=True)
class ImageTask:
    """One image task as registered through the ``register_image_tasks`` hook.

    ``selector`` is the name of the option whose presence picks this task (``style`` for
    ``--style``, ``scale`` for ``-x``), and ``also_selected_by`` names others that pick it too
    (``style_image`` for ``--style-image``): see `selected_by`; ``options`` are the click options it understands;
    ``image_options`` are those only whole images take, not video frames (an upscaler's
    ``--outscale``): image-file commands, the library and the server offer them, `imgperc video` does not;
    ``prepare(**values)`` builds the transform (image-file commands also pass ``device=`` when
    it takes one); ``tag(values)`` names outputs (``clip.wave.mp4``, ``clip.x4.mp4``);
    ``tag_patterns`` are fnmatch patterns of the tags it gives besides its models' names
    (``x4``, ``x4-*``), so that folders skip earlier outputs (`imgperc.pipeline.files.output_tags`);
    ``finish(image, pixels)``, if given, makes an output file's image from its input and the
    transformed pixels (default: `colour_output`);
    ``default_model`` is the model used when none is chosen (`imgperc.stylize` without a style),
    or a function of the options that gives it (an upscaler's depends on its scale): see `default`;
    ``bench`` is the net `imgperc bench` times for this task;
    ``bind(engine, model, **options)``, if given, makes the transform of a model already loaded
    (``model``: the `imgperc.hub.ResolvedModel`, its net in the inference ``engine``), so that
    `imgperc.load` loads a model of this task once and calls it with any of those keyword
    ``options`` (`prepare` should use it too, so both paths agree);
    ``run_fields`` are the metadata fields its models may record that change how they run, each
    with what it does (a style's ``video_consistency``): `imgperc models doc` shows them.
    """

    name: str
    help: str
    selector: str
    options: tuple[click.Option, ...]
    prepare: Callable[..., Transform]
    tag: Callable[[dict[str, Any]], str]
    tag_patterns: tuple[str, ...] = ()
    finish: Callable[[Image, torch.Tensor], Image] | None = None
    default_model: str | Callable[..., str] | None = None
    bench: BenchNet | None = None
    bind: Callable[..., Transform] | None = None
    also_selected_by: tuple[str, ...] = ()
    image_options: tuple[click.Option, ...] = ()
    run_fields: Mapping[str, str] = field(default_factory=dict)

    def selected_by(self, values: Mapping[str, Any]) -> bool:
        """Whether the option ``values`` given pick this task (a selector given, not empty)."""
        return any(values.get(name) not in (None, False, ()) for name in (self.selector, *self.also_selected_by))

    def default(self, **options: Any) -> str:
        """The model to use when none is named: ``default_model``, given ``options`` if it is a
        function; an InputError when the task has none."""
        if self.default_model is None:
            raise InputError(f"the '{self.name}' task has no default model: name one")
        return self.default_model(**options) if callable(self.default_model) else self.default_model

    def transform(self, values: Mapping[str, Any], device: str = "auto") -> Transform:
        """``prepare(**values)``, given ``device`` too where it takes one."""
        import inspect

        parameters = inspect.signature(self.prepare).parameters.values()
        if any(p.name == "device" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return self.prepare(**values, device=device)
        return self.prepare(**values)
